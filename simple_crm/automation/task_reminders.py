"""Tasks: reminders at Remind At, overdue notices, the morning summary of each manager's tasks.

Three scheduled jobs, each switched on or off in Simple CRM Settings > Automation:

- `send_due_reminders` (every minute): an open task with an assignee whose Remind At has come (and is not
  older than `REMINDER_LOOK_BACK_HOURS`, so a scheduler that was down does not flood anyone with stale
  reminders) reminds its assignee once per Remind At value (`task-remind:<task>:<remind at>`): moving the
  reminder gives a new one.
- `notify_overdue_tasks` (every few minutes): an open task past its due time tells its assignee once per
  due time (`task-overdue:<task>:<due>`); once it has been overdue for `overdue_escalation_hours`, the
  assignee's head of sales is told once too (`task-overdue-head:<task>:<due>`). Tasks that went overdue
  more than `OVERDUE_LOOK_BACK_DAYS` before their notice was due are left alone (an old backlog).
- `send_morning_summaries` (hourly): at `morning_summary_hour` (the system's time zone) every user with
  open tasks due today or overdue gets one summary of their own tasks, once a day
  (`task-summary:<user>:<date>`). A day with more users than the batch size goes on in a follow-up job
  enqueued by the run, not at the next hourly run (which is past the hour).

Every notice is rendered in its recipient's language and marked in the same transaction as it is made,
one record per transaction (see common.JobRun), so a run that dies half-way is finished by the next one
without a notice twice or one missed.
"""

import frappe
from frappe import _
from frappe.query_builder import CustomFunction
from frappe.query_builder.functions import Concat
from frappe.utils import (
	add_days,
	add_to_date,
	escape_html,
	format_datetime,
	get_datetime,
	get_fullname,
	getdate,
	now_datetime,
)

from simple_crm.automation.common import (
	MARK,
	JobRun,
	claim,
	claimed_keys,
	desk_link,
	head_of_sales,
	in_language,
	notify,
	settings,
)
from simple_crm.constants import OPEN_TASK_STATUSES

TASK = "CRM Task"
REMINDERS_JOB = "task_reminders"
OVERDUE_JOB = "overdue_tasks"
SUMMARY_JOB = "morning_summary"

# a reminder whose time passed longer ago than this is not sent any more
REMINDER_LOOK_BACK_HOURS = 24
# an overdue notice (or its escalation) not sent within this many days of falling due is not sent any more
OVERDUE_LOOK_BACK_DAYS = 7
# the most tasks one summary lists; the rest is a count and the link to the list
SUMMARY_MAX_TASKS = 50

# the key parts written from a datetime, the same in Python (strftime) and in SQL (DATE_FORMAT)
_KEY_TIME = "%Y%m%d%H%M%S"
_SQL_KEY_TIME = "%Y%m%d%H%i%s"
DateFormat = CustomFunction("DATE_FORMAT", ["date", "format"])


def reminder_key(task: str, remind_at) -> str:
	return f"task-remind:{task}:{get_datetime(remind_at).strftime(_KEY_TIME)}"


def overdue_key(task: str, due_on) -> str:
	return f"task-overdue:{task}:{get_datetime(due_on).strftime(_KEY_TIME)}"


def escalation_key(task: str, due_on) -> str:
	return f"task-overdue-head:{task}:{get_datetime(due_on).strftime(_KEY_TIME)}"


def summary_key(user: str, day) -> str:
	return f"task-summary:{user}:{getdate(day).strftime('%Y%m%d')}"


def _key_of(prefix: str, task, moment):
	"""The key of a task's mark computed in SQL, as `reminder_key` and the others write it in Python."""
	return Concat(prefix, task.name, ":", DateFormat(moment, _SQL_KEY_TIME))


# --- reminders ----------------------------------------------------------------------------------------


def send_due_reminders() -> str:
	"""Scheduler (every minute): remind assignees of their open tasks whose Remind At has come."""
	run = JobRun(REMINDERS_JOB)
	if not settings().task_reminders_enabled:
		return run.finish()
	now = now_datetime()
	task, mark = frappe.qb.DocType(TASK), frappe.qb.DocType(MARK)
	names = (
		frappe.qb.from_(task)
		.left_join(mark)
		.on(mark.name == _key_of("task-remind:", task, task.remind_at))
		.select(task.name)
		.where(
			(task.remind_at <= now)
			& (task.remind_at >= add_to_date(now, hours=-REMINDER_LOOK_BACK_HOURS))
			& task.status.isin(OPEN_TASK_STATUSES)
			& task.assigned_to.isnotnull()
			& (task.assigned_to != "")
			& mark.name.isnull()
		)
		.orderby(task.remind_at)
		.orderby(task.name)
		.limit(run.limit + 1)
		.run(pluck=True)
	)
	for name in run.take(names):
		with run.item(name):
			run.count(remind(name, now))
	return run.finish()


def remind(name: str, now=None) -> str:
	"""Remind the assignee of one task (once per Remind At); returns what was done, for the summary."""
	now = now or now_datetime()
	task = _task(name)
	if not task or not _is_open(task) or not task.remind_at:
		return "skipped"
	remind_at = get_datetime(task.remind_at)
	if remind_at > now or remind_at < add_to_date(now, hours=-REMINDER_LOOK_BACK_HOURS):
		return "skipped"
	if not claim(reminder_key(task.name, remind_at), REMINDERS_JOB, TASK, task.name, task.assigned_to):
		return "already reminded"
	user = task.assigned_to
	with in_language(user):
		if task.due_on:
			subject = _("Reminder: {0}, due {1}").format(_bold(task.subject), format_datetime(task.due_on))
		else:
			subject = _("Reminder: {0}").format(_bold(task.subject))
		notify(user, subject, _task_lines(task, user), TASK, task.name)
	return "reminded"


# --- overdue tasks ------------------------------------------------------------------------------------


def notify_overdue_tasks() -> str:
	"""Scheduler (every few minutes): tell assignees of their overdue tasks, and later their heads."""
	run = JobRun(OVERDUE_JOB)
	values = settings()
	if not values.overdue_tasks_enabled:
		return run.finish()
	now = now_datetime()
	hours = max(0, values.overdue_escalation_hours)
	escalate_by = add_to_date(now, hours=-hours)
	look_back = add_to_date(now, days=-OVERDUE_LOOK_BACK_DAYS)
	task = frappe.qb.DocType(TASK)
	told, escalated = frappe.qb.DocType(MARK).as_("told"), frappe.qb.DocType(MARK).as_("escalated")
	names = (
		frappe.qb.from_(task)
		.left_join(told)
		.on(told.name == _key_of("task-overdue:", task, task.due_on))
		.left_join(escalated)
		.on(escalated.name == _key_of("task-overdue-head:", task, task.due_on))
		.select(task.name)
		.where(
			(task.due_on < now)
			& (task.due_on >= add_to_date(escalate_by, days=-OVERDUE_LOOK_BACK_DAYS))
			& task.status.isin(OPEN_TASK_STATUSES)
			& task.assigned_to.isnotnull()
			& (task.assigned_to != "")
			& (
				(told.name.isnull() & (task.due_on >= look_back))
				| (escalated.name.isnull() & (task.due_on <= escalate_by))
			)
		)
		.orderby(task.due_on)
		.orderby(task.name)
		.limit(run.limit + 1)
		.run(pluck=True)
	)
	for name in run.take(names):
		with run.item(name):
			for what in tell_overdue(name, hours, now):
				run.count(what)
	return run.finish()


def tell_overdue(name: str, escalation_hours: int, now=None) -> list[str]:
	"""The overdue notices of one task that are due and not yet sent; returns what was done."""
	now = now or now_datetime()
	task = _task(name)
	if not task or not _is_open(task) or not task.due_on:
		return []
	due = get_datetime(task.due_on)
	if due >= now:
		return []
	user = task.assigned_to
	done = []
	if due >= add_to_date(now, days=-OVERDUE_LOOK_BACK_DAYS) and claim(
		overdue_key(task.name, due), OVERDUE_JOB, TASK, task.name, user
	):
		with in_language(user):
			subject = _("Task overdue: {0}, was due {1}").format(_bold(task.subject), format_datetime(due))
			notify(user, subject, _task_lines(task, user), TASK, task.name)
		done.append("overdue")
	escalate_by = add_to_date(now, hours=-escalation_hours)
	if not add_to_date(escalate_by, days=-OVERDUE_LOOK_BACK_DAYS) <= due <= escalate_by:
		return done
	head = head_of_sales(user)
	if claim(escalation_key(task.name, due), OVERDUE_JOB, TASK, task.name, head):
		if head and head != user:
			with in_language(head):
				subject = _("{0}'s task has been overdue for {1} hours: {2}").format(
					escape_html(get_fullname(user)), escalation_hours, _bold(task.subject)
				)
				notify(head, subject, _task_lines(task, head), TASK, task.name)
			done.append("escalated")
		else:
			# the assignee leads the team (or is in none): nobody above to tell
			done.append("no head of sales to escalate to")
	return done


# --- morning summary ----------------------------------------------------------------------------------


def send_morning_summaries(day: str | None = None) -> str:
	"""Scheduler (hourly): at the summary hour, each user's open tasks due today and overdue.

	`day` is given only by the follow-up job of a day with more users than one run takes: it goes on with
	that day's summaries (whatever the hour, as long as it is still that day)."""
	run = JobRun(SUMMARY_JOB)
	values = settings()
	now = now_datetime()
	today = getdate(now)
	if not values.morning_summary_enabled:
		return run.finish()
	if day is None and now.hour != values.morning_summary_hour:
		return run.finish()
	if day is not None and getdate(day) != today:
		return run.finish()
	candidates = _users_with_tasks_due(today)
	done = claimed_keys([summary_key(user, today) for user in candidates])
	users = [user for user in candidates if summary_key(user, today) not in done]
	for user in run.take(users):
		with run.item(user):
			run.count(send_summary(user, today))
	if run.more:
		_continue_later(today, users[run.limit])
	return run.finish()


def _users_with_tasks_due(today) -> list[str]:
	"""Enabled users with open tasks due before tomorrow, in name order."""
	task = frappe.qb.DocType(TASK)
	user = frappe.qb.DocType("User")
	return (
		frappe.qb.from_(task)
		.join(user)
		.on(user.name == task.assigned_to)
		.select(task.assigned_to)
		.distinct()
		.where(
			task.status.isin(OPEN_TASK_STATUSES)
			& (task.due_on < get_datetime(add_days(today, 1)))
			& (user.enabled == 1)
		)
		.orderby(task.assigned_to)
		.run(pluck=True)
	)


def _continue_later(today, next_user: str) -> None:
	"""The follow-up run of the day, from `next_user` on (named by it: the run enqueueing it is itself
	one, and a job is not enqueued twice for the same point)."""
	frappe.enqueue(
		"simple_crm.automation.task_reminders.send_morning_summaries",
		queue="default",
		enqueue_after_commit=True,
		job_id=f"simple_crm:morning-summaries:{getdate(today)}:{next_user}",
		deduplicate=True,
		day=str(getdate(today)),
	)


def send_summary(user: str, today) -> str:
	"""One user's summary of `today` (once); returns what was done."""
	start, tomorrow = get_datetime(today), get_datetime(add_days(today, 1))
	mine = [["assigned_to", "=", user], ["status", "in", OPEN_TASK_STATUSES]]
	today_filters = [*mine, ["due_on", ">=", start], ["due_on", "<", tomorrow]]
	overdue_filters = [*mine, ["due_on", "<", start]]
	fields = ["name", "subject", "due_on"]
	due_today = frappe.get_all(
		TASK, filters=today_filters, fields=fields, order_by="due_on asc, name asc", limit=SUMMARY_MAX_TASKS
	)
	overdue = frappe.get_all(
		TASK,
		filters=overdue_filters,
		fields=fields,
		order_by="due_on desc, name asc",
		limit=SUMMARY_MAX_TASKS,
	)
	if not due_today and not overdue:
		return "nothing due"
	if not claim(summary_key(user, today), SUMMARY_JOB, None, None, user):
		return "already sent"
	today_count = frappe.db.count(TASK, today_filters)
	overdue_count = frappe.db.count(TASK, overdue_filters)
	# today's first, then the most recently overdue: what the day's work is, within the length of a message
	shown = (due_today + overdue)[:SUMMARY_MAX_TASKS]
	with in_language(user):
		subject = _("Your tasks for today: {0} due today, {1} overdue").format(today_count, overdue_count)
		parts = []
		for title, rows in ((_("Due Today"), due_today), (_("Overdue"), overdue)):
			listed = [t for t in rows if t in shown]
			if listed:
				items = "".join(
					f"<li><a href='{desk_link(TASK, t.name)}'>{escape_html(t.subject)}</a>: "
					f"{format_datetime(t.due_on)}</li>"
					for t in listed
				)
				parts.append(f"<p><b>{title}</b></p><ul>{items}</ul>")
		hidden = today_count + overdue_count - len(shown)
		if hidden > 0:
			parts.append("<p>{}</p>".format(_("And {0} more in the task list").format(hidden)))
		notify(user, subject, "".join(parts))
	return "sent"


# --- shared -------------------------------------------------------------------------------------------


def _task(name: str) -> frappe._dict | None:
	return frappe.db.get_value(
		TASK,
		name,
		[
			"name",
			"subject",
			"status",
			"assigned_to",
			"due_on",
			"remind_at",
			"reference_doctype",
			"reference_name",
		],
		as_dict=True,
	)


def _is_open(task) -> bool:
	return task.status in OPEN_TASK_STATUSES and bool(task.assigned_to)


def _bold(text: str) -> str:
	return f"<b>{escape_html(text or '')}</b>"


def _task_lines(task, user: str) -> str:
	"""The body of a notice about `task` for `user`: due time, the linked record (when `user` may read
	it: a notice never names a record its reader cannot open) and the link to the task."""
	lines = [
		_("Due: {0}").format(format_datetime(task.due_on)) if task.due_on else _("No due time"),
	]
	record = _readable_record(task, user)
	if record:
		lines.append(
			_("Record: {0}").format(
				f"<a href='{desk_link(task.reference_doctype, task.reference_name)}'>"
				f"{escape_html(_(task.reference_doctype))} {escape_html(record)}</a>"
			)
		)
	lines.append(f"<a href='{desk_link(TASK, task.name)}'>{_('Open the task')}</a>")
	return "<br>".join(lines)


def _readable_record(task, user: str) -> str | None:
	"""The title of the task's linked record, or None when there is none or `user` may not read it."""
	doctype, name = task.reference_doctype, task.reference_name
	if not doctype or not name or not frappe.db.exists(doctype, name):
		return None
	if not frappe.has_permission(doctype, "read", doc=name, user=user):
		return None
	title_field = frappe.get_meta(doctype).get_title_field()
	title = frappe.db.get_value(doctype, name, title_field) if title_field != "name" else None
	return f"{title} ({name})" if title and title != name else name
