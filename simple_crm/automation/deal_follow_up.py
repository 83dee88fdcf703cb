"""A follow-up task for every open deal nobody has touched for N days, and the deal's last activity.

Activity on a deal is a call or a task about it, an e-mail (Communication) or a comment (Comment of type
Comment; Info and the other system comments are not) whose reference is the deal, and a move of the deal
to another stage. Each of them moves the deal's `last_activity_on` forward as it happens (`record_activity`:
one direct update of the deal's row, never backwards, without touching `modified` or writing a Version),
so the nightly job reads idle deals straight from the (stage_type, last_activity_on) index instead of
searching every activity table. A new deal starts with its creation time.

`create_follow_up_tasks` (daily, Simple CRM Settings > Automation > Follow-Up Task for Idle Deals) gives
each open deal idle for `deal_inactivity_days` one Call task for its responsible manager (their head of
sales while that user is disabled), due within a day and linked to the deal, and notifies the manager.
The task is activity itself, so the next follow-up of that deal comes only after N more idle days. The
action is claimed under a key holding the `last_activity_on` it answered: a second run, or a run going on
at the same time, makes nothing twice, and a deal nobody can be given the task (no manager) is claimed
as well, so it does not come back every night until something happens on it.
"""

from datetime import datetime, timedelta

import frappe
from frappe import _
from frappe.utils import cint, get_datetime, now_datetime

from simple_crm.automation.common import (
	SYSTEM_USER,
	JobRun,
	as_system,
	claim,
	desk_link,
	head_of_sales,
	in_language,
	notify,
	settings,
)

JOB = "deal_follow_up"
DEAL = "CRM Deal"
OPEN = "Open"
# the follow-up task is due this long after the job makes it
DUE_IN = timedelta(days=1)
# the kinds of comment that are someone's words about the deal (not likes, assignments, attachments...)
ACTIVITY_COMMENT_TYPES = ("Comment",)


# --- the deal's last activity ----------------------------------------------------------------------------


def record_activity(deal: str | None, at: datetime | str | None = None) -> None:
	"""The deal had activity at `at` (now when not given; never later than now): move its
	`last_activity_on` forward to it. A direct update of the one column, so the deal's `modified` and its
	version history stay as they are; an earlier time than the stored one changes nothing."""
	if not deal:
		return
	now = now_datetime()
	at = min(get_datetime(at), now) if at else now
	frappe.db.sql(
		"""update `tabCRM Deal` set `last_activity_on` = %(at)s
		where `name` = %(deal)s and (`last_activity_on` is null or `last_activity_on` < %(at)s)""",
		{"deal": deal, "at": at},
	)


def on_comment_insert(doc, method=None) -> None:
	"""doc_events Comment.after_insert: a comment written on a deal is activity on it."""
	if doc.reference_doctype == DEAL and doc.comment_type in ACTIVITY_COMMENT_TYPES:
		record_activity(doc.reference_name, doc.creation)


def on_communication_insert(doc, method=None) -> None:
	"""doc_events Communication.after_insert: an e-mail (or any communication) about a deal is activity
	on it, at the time it was sent or received."""
	if doc.reference_doctype == DEAL:
		record_activity(doc.reference_name, doc.communication_date or doc.creation)


# --- the job ---------------------------------------------------------------------------------------------


def create_follow_up_tasks() -> str:
	"""Scheduler (daily_long): one follow-up task for each open deal idle for N days, at most the batch
	size per run (the oldest first; the rest the next night). Returns the run's summary line."""
	run = JobRun(JOB)
	config = settings()
	if not config.deal_follow_up_enabled:
		return run.finish()
	days = max(1, cint(config.deal_inactivity_days))
	for deal in run.take(idle_deals(now_datetime() - timedelta(days=days), run.limit + 1)):
		with run.item(deal.name):
			follow_up(deal, days, run)
	return run.finish()


def idle_deals(before: datetime, limit: int) -> list[frappe._dict]:
	"""Open deals whose last activity is older than `before` and that have not had their follow-up for it,
	the longest idle first. The (stage_type, last_activity_on) index gives them in order; the claim of each
	is one primary-key lookup."""
	return frappe.db.sql(
		"""select `deal`.`name`, `deal`.`deal_name`, `deal`.`responsible`, `deal`.`last_activity_on`
		from `tabCRM Deal` `deal`
		where `deal`.`stage_type` = %(open)s and `deal`.`last_activity_on` < %(before)s
			and not exists (select 1 from `tabCRM Automation Mark` `mark`
				where `mark`.`name` = concat(%(prefix)s, `deal`.`name`, ':',
					cast(`deal`.`last_activity_on` as char)) collate utf8mb4_unicode_ci)
		order by `deal`.`last_activity_on`, `deal`.`name`
		limit %(limit)s""",
		{"open": OPEN, "before": before, "prefix": f"{JOB}:", "limit": limit},
		as_dict=True,
	)


def follow_up_key(deal: str, last_activity_on) -> str:
	"""The claim of the follow-up answering the deal's idleness since `last_activity_on` (formatted as
	MariaDB casts a DATETIME(6) to text, so `idle_deals` can look it up)."""
	return f"{JOB}:{deal}:{get_datetime(last_activity_on).strftime('%Y-%m-%d %H:%M:%S.%f')}"


def follow_up(deal: frappe._dict, days: int, run: JobRun) -> None:
	# the deal's row, locked until this follow-up commits: activity or a close since the job read it wins
	current = frappe.db.get_value(
		DEAL, deal.name, ["stage_type", "last_activity_on"], as_dict=True, for_update=True
	)
	if (
		not current
		or current.stage_type != OPEN
		or get_datetime(current.last_activity_on) != get_datetime(deal.last_activity_on)
	):
		run.count("active again")
		return
	manager = manager_of(deal)
	if not claim(follow_up_key(deal.name, deal.last_activity_on), JOB, DEAL, deal.name, user=manager):
		run.count("already done")
		return
	if not manager:
		run.count("without a manager")
		return
	with as_system(), in_language(manager):
		task = make_task(deal, manager, days)
		notify(
			manager,
			task.subject,
			_("Nothing has happened on deal {0} for {1} days. Call the client: {2}").format(
				deal_title(deal), days, desk_link(DEAL, deal.name)
			),
			"CRM Task",
			task.name,
		)
	run.count("follow-up tasks")


def manager_of(deal: frappe._dict) -> str | None:
	"""Who follows the deal up: its responsible manager, or their head of sales while they are disabled."""
	if not deal.responsible:
		return None
	if frappe.db.get_value("User", deal.responsible, "enabled"):
		return deal.responsible
	head = head_of_sales(deal.responsible)
	return head if head and frappe.db.get_value("User", head, "enabled") else None


def make_task(deal: frappe._dict, manager: str, days: int):
	subject = _("Follow up on deal {0}: no activity for {1} days").format(deal_title(deal), days)
	return frappe.get_doc(
		{
			"doctype": "CRM Task",
			"subject": subject[:140],
			"task_type": "Call",
			"assigned_to": manager,
			"author": SYSTEM_USER,
			"due_on": now_datetime() + DUE_IN,
			"reference_doctype": DEAL,
			"reference_name": deal.name,
			"description": _(
				"No call, task, e-mail, comment or stage move on this deal since {0}. Call the client and move the deal on, or close it."
			).format(frappe.utils.format_datetime(deal.last_activity_on)),
		}
	).insert(ignore_permissions=True)


def deal_title(deal: frappe._dict) -> str:
	return f"{deal.name} ({deal.deal_name})" if deal.deal_name else deal.name
