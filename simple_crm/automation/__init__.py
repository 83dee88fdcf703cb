"""The CRM's automation: every scheduled and background job, one module per job family.

The schedule is `scheduler_events` in hooks.py; every rule is switched on or off, and its numbers set, in
Simple CRM Settings > Automation. What the jobs share (settings with defaults, doing an action exactly
once, notifications in the recipient's language, bounded runs with a one-line summary in the Scheduled
Job Log) is in `common`.

- `new_leads`: a call-back task for the responsible manager of every new lead, made after the lead's
  transaction commits; `catch_up` makes the ones a lost job did not.
- `lead_sla`: leads still New past the SLA go to the head of sales, and optionally to another member of
  the team.
- `task_reminders`: reminders at Remind At, overdue notices (assignee, then head of sales), the morning
  summary of each manager's tasks.
- `deal_follow_up`: one follow-up task for a deal idle for N days.
- `digest`: the daily digest for heads of sales and directors.
- `client_classes`: nightly activity level and ABC class of every client.
- `important_dates`: tasks ahead of birthdays and contract dates, once a year.
- `hand_over`: large hand-overs in the background.
"""
