# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

"""What each manager did in the period beside what they sold: calls, meetings, e-mails, tasks, won deals.

One row per manager in the user's scope (simple_crm.report_managers: a sales manager themself, a head of
sales their teams, a director everyone), zeros included for the members and heads of the teams in scope; a
director also gets a row for anyone else with activity in the period. What a row counts:

- calls (CRM Call by `manager`, `started_at` in the period): inbound and outbound, answered and missed,
  talk time (the sum of `duration`, seconds);
- meetings held: tasks of type Meeting done (`completed_on` in the period) by their assignee;
- e-mails sent: Frappe's Communications (medium Email, sent) about a CRM record dated in the period, by
  the manager: the user whose e-mail address is the sender, else the user who wrote it (an e-mail sent
  through a shared mailbox keeps the writer as its owner);
- tasks done (any type, `completed_on` in the period) and tasks overdue: due in the period, already past
  due and still open (Open or In Progress);
- deals won (`won_on` in the period) and their amounts, by the responsible manager. Amounts are summed as
  they are, in the CRM's default currency.

A manager with won deals but neither calls nor meetings in the period is flagged ("sales without calls"):
the deal was closed somewhere the CRM did not see, or the activity was not logged.

Every query is one GROUP BY over index ranges of the period (see below), with the row-level condition of its
doctype for the current user (the same the lists use) and the manager/team filters, which only narrow.
"""

import datetime

import frappe
from frappe import _
from frappe.utils import cint, flt, now_datetime

from simple_crm.constants import OPEN_TASK_STATUSES, ROW_LEVEL_DOCTYPES
from simple_crm.report_filters import (
	SQLConditions,
	currency,
	get_period,
	link_value,
	list_link,
	require_permission,
	responsible_users,
	visible,
)
from simple_crm.report_managers import full_names, keys_of, roster, scope
from simple_crm.security.read_paths import reference_condition

CALL = "CRM Call"
TASK = "CRM Task"
DEAL = "CRM Deal"
MEETING = "Meeting"
DONE = "Done"
# e-mails are counted under a person, never under the system's users
NOT_PEOPLE = ("Administrator", "Guest")

COUNTS = (
	"calls",
	"calls_inbound",
	"calls_outbound",
	"calls_answered",
	"calls_missed",
	"talk_time",
	"meetings",
	"emails_sent",
	"tasks_done",
	"tasks_overdue",
	"deals_won",
	"revenue",
)

# How the big reads stay fast (a year of a site with 2,000,000 calls and 1,000,000 tasks holds 1.5 million
# calls and half a million done tasks):
# - calls, done tasks and won deals are read per user, the users named in the query (`keys_of`), from an
#   index that starts with the user and the period column ((manager, started_at, ...) of CRM Call,
#   (assigned_to, status, completed_on, ...) of CRM Task, (responsible, won_on, amount) of CRM Deal, see
#   their on_doctype_update): MariaDB reads the period's range of each user in turn and counts it as it
#   reads, with no temporary table to sort;
# - overdue tasks (few) are read from the open tasks' (status, due_on) index and grouped on the binary value
#   of the user: comparing through the utf8mb4 collation row by row costs more than the rest of the query.
CALLS_SQL = """
select `tabCRM Call`.`manager` as manager,
	count(*) as calls,
	sum(`tabCRM Call`.`direction` = 'Inbound') as calls_inbound,
	sum(`tabCRM Call`.`call_status` = 'Answered') as calls_answered,
	sum(`tabCRM Call`.`duration`) as talk_time
from `tabCRM Call`
where {conditions}
group by `tabCRM Call`.`manager`
"""

DONE_TASKS_SQL = """
select `tabCRM Task`.`assigned_to` as manager,
	count(*) as tasks_done,
	sum(`tabCRM Task`.`task_type` = %(meeting)s) as meetings
from `tabCRM Task`
where {conditions}
group by `tabCRM Task`.`assigned_to`
"""

OVERDUE_TASKS_SQL = """
select `tabCRM Task`.`assigned_to` as manager, count(*) as tasks_overdue
from `tabCRM Task`
where {conditions}
group by cast(`tabCRM Task`.`assigned_to` as binary)
"""

WON_DEALS_SQL = """
select `tabCRM Deal`.`responsible` as manager,
	count(*) as deals_won,
	sum(ifnull(`tabCRM Deal`.`amount`, 0)) as revenue
from `tabCRM Deal`
where {conditions}
group by `tabCRM Deal`.`responsible`
"""

# The e-mails are counted per (sender, writer) first, then each pair is given to the sender's user, else to
# the writer: a few pairs are joined to the users, not every e-mail.
EMAIL_AUTHOR = "ifnull(`sender_user`.`name`, `sent`.`owner`)"
EMAILS_SQL = f"""
select {EMAIL_AUTHOR} as manager, sum(`sent`.`emails`) as emails_sent
from (
	select `tabCommunication`.`sender`, `tabCommunication`.`owner`, count(*) as emails
	from `tabCommunication`
	where {{conditions}}
	group by `tabCommunication`.`sender`, `tabCommunication`.`owner`
) `sent`
left join (
	select `email`, min(`name`) as `name` from `tabUser` where ifnull(`email`, '') != '' group by `email`
) `sender_user` on `sender_user`.`email` = `sent`.`sender`
where {{authors}}
group by {EMAIL_AUTHOR}
"""


def execute(filters: dict | None = None):
	filters = frappe._dict(filters or {})
	period = get_period(filters)
	team = link_value(filters, "team", "CRM Sales Team", _("Team"))
	managers = scope(responsible_users(filters))
	for doctype in (TASK, DEAL):
		require_permission(doctype)
	rows = get_rows(period, managers, team)
	data = get_data(rows, period)
	totals = total_row(data)
	return (
		get_columns(),
		[*data, totals],
		None,
		get_chart(data),
		get_summary(totals),
	)


def get_columns() -> list[dict]:
	def count(fieldname: str, label: str, width: int = 110) -> dict:
		return {"fieldname": fieldname, "label": label, "fieldtype": "Int", "width": width}

	return [
		{"fieldname": "manager", "label": _("Manager"), "fieldtype": "Link", "options": "User", "width": 200},
		{"fieldname": "manager_name", "label": _("Manager Name"), "fieldtype": "Data", "width": 170},
		count("calls", _("Calls"), 80),
		count("calls_inbound", _("Inbound Calls")),
		count("calls_outbound", _("Outbound Calls")),
		count("calls_answered", _("Answered Calls")),
		count("calls_missed", _("Missed Calls")),
		{"fieldname": "talk_time", "label": _("Talk Time"), "fieldtype": "Duration", "width": 120},
		count("meetings", _("Meetings Held")),
		count("emails_sent", _("E-mails Sent")),
		count("tasks_done", _("Tasks Done")),
		count("tasks_overdue", _("Tasks Overdue")),
		count("deals_won", _("Deals Won"), 100),
		{
			"fieldname": "revenue",
			"label": _("Revenue"),
			"fieldtype": "Currency",
			"options": "currency",
			"width": 140,
		},
		{
			"fieldname": "sales_without_calls",
			"label": _("Sales Without Calls"),
			"fieldtype": "Check",
			"width": 140,
		},
	]


# --- reading ----------------------------------------------------------------------------------------------


def get_rows(period, managers: list[str] | None, team: str | None) -> dict[str, dict]:
	"""manager -> their counts: the roster's managers with zeros, and everyone the queries find."""
	rows: dict[str, dict] = {user: dict.fromkeys(COUNTS, 0) for user in roster(managers, team)}
	if managers is not None and not managers:
		return rows
	for found in (
		read_calls(period, managers),
		read_done_tasks(period, managers),
		read_overdue_tasks(period, managers),
		read_won_deals(period, managers),
		read_emails(period, managers),
	):
		for group in found:
			if not group.manager:
				continue  # a call no manager took, a task nobody is assigned to: nobody's activity
			row = rows.setdefault(group.manager, dict.fromkeys(COUNTS, 0))
			for key, value in group.items():
				if key != "manager":
					row[key] = flt(value) if key == "revenue" else cint(value)
	return rows


def in_period(column: str, conditions: SQLConditions, period) -> SQLConditions:
	return conditions.add(
		f"{column} >= %(start)s and {column} < %(after_end)s",
		start=period.first_moment,
		after_end=period.after_end,
	)


def read_calls(period, managers) -> list[frappe._dict]:
	"""Calls per manager. A call's direction and status are required and have two options each (the form and
	every other path validate them), so the outbound and missed calls are the rest: two sums fewer per call
	read (a fifth of the query's time on a year of 1.5 million calls).

	A user who sees every call gets the sums of the managers' days (simple_crm.call_days): the period is whole
	days, and each day's row holds what its calls would add up to (a year: 0.05 s instead of 1 s)."""
	condition = visible(CALL)
	if not condition:
		rows = read_call_days(period, managers)
	else:
		conditions = in_period("`tabCRM Call`.`started_at`", SQLConditions(), period)
		conditions.add_in("`tabCRM Call`.`manager`", "managers", keys_of(CALL, "manager", managers))
		conditions.add(condition)
		rows = frappe.db.sql(CALLS_SQL.format(conditions=conditions.sql()), conditions.values, as_dict=True)
	for row in rows:
		row.calls_outbound = cint(row.calls) - cint(row.calls_inbound)
		row.calls_missed = cint(row.calls) - cint(row.calls_answered)
	return rows


def read_call_days(period, managers) -> list[frappe._dict]:
	conditions = SQLConditions().add(
		"`tabCRM Call Day`.`day` between %(first_day)s and %(last_day)s",
		first_day=period.start,
		last_day=period.end,
	)
	conditions.add_in("`tabCRM Call Day`.`manager`", "managers", managers)
	return frappe.db.sql(
		f"""select `tabCRM Call Day`.`manager` as manager, sum(`calls`) as calls,
			sum(`calls_inbound`) as calls_inbound, sum(`calls_answered`) as calls_answered,
			sum(`talk_time`) as talk_time
		from `tabCRM Call Day`
		where {conditions.sql()}
		group by `tabCRM Call Day`.`manager`
		having sum(`calls`) != 0""",
		conditions.values,
		as_dict=True,
	)


def read_done_tasks(period, managers) -> list[frappe._dict]:
	conditions = SQLConditions().add("`tabCRM Task`.`status` = %(done)s", done=DONE)
	in_period("`tabCRM Task`.`completed_on`", conditions, period)
	conditions.add_in("`tabCRM Task`.`assigned_to`", "managers", keys_of(TASK, "assigned_to", managers))
	conditions.add(visible(TASK))
	return frappe.db.sql(
		DONE_TASKS_SQL.format(conditions=conditions.sql()),
		{**conditions.values, "meeting": MEETING},
		as_dict=True,
	)


def read_overdue_tasks(period, managers) -> list[frappe._dict]:
	"""Open tasks due in the period and already past due now."""
	due_before = overdue_until(period)
	if due_before <= period.first_moment:
		return []
	conditions = SQLConditions().add("`tabCRM Task`.`status` in %(open)s", open=tuple(OPEN_TASK_STATUSES))
	conditions.add(
		"`tabCRM Task`.`due_on` >= %(start)s and `tabCRM Task`.`due_on` < %(due_before)s",
		start=period.first_moment,
		due_before=due_before,
	)
	conditions.add_in("`tabCRM Task`.`assigned_to`", "managers", managers)
	conditions.add(visible(TASK))
	return frappe.db.sql(
		OVERDUE_TASKS_SQL.format(conditions=conditions.sql()), conditions.values, as_dict=True
	)


def read_won_deals(period, managers) -> list[frappe._dict]:
	conditions = SQLConditions().add(
		"`tabCRM Deal`.`won_on` between %(first_day)s and %(last_day)s",
		first_day=period.start,
		last_day=period.end,
	)
	conditions.add_in("`tabCRM Deal`.`responsible`", "managers", keys_of(DEAL, "responsible", managers))
	conditions.add(visible(DEAL))
	return frappe.db.sql(WON_DEALS_SQL.format(conditions=conditions.sql()), conditions.values, as_dict=True)


def read_emails(period, managers) -> list[frappe._dict]:
	"""E-mails sent about the CRM's records (those the user may see) by people."""
	conditions = SQLConditions().add(
		"`tabCommunication`.`communication_type` = 'Communication' "
		"and `tabCommunication`.`communication_medium` = 'Email' "
		"and `tabCommunication`.`sent_or_received` = 'Sent' "
		"and `tabCommunication`.`reference_doctype` in %(crm_doctypes)s",
		crm_doctypes=tuple(ROW_LEVEL_DOCTYPES),
	)
	in_period("`tabCommunication`.`communication_date`", conditions, period)
	conditions.add(reference_condition("Communication", frappe.session.user))
	authors = SQLConditions().add(f"{EMAIL_AUTHOR} not in %(not_people)s", not_people=NOT_PEOPLE)
	authors.add_in(EMAIL_AUTHOR, "managers", managers)
	sql = EMAILS_SQL.format(conditions=conditions.sql(), authors=authors.sql())
	return frappe.db.sql(sql, {**conditions.values, **authors.values}, as_dict=True)


def add_communication_index() -> None:
	"""Frappe indexes its Communication by record, not by date: the period's e-mails about the CRM's records
	(`read_emails`) are read from (reference_doctype, communication_date), a range per CRM doctype, instead
	of every e-mail and comment the site keeps (run after every migrate, see simple_crm.install)."""
	frappe.db.add_index(
		"Communication", ["reference_doctype", "communication_date"], "crm_reference_date_index"
	)


def overdue_until(period):
	"""Tasks due before this moment are past due: the end of the period, or now when it is earlier."""
	return min(period.after_end, now_datetime())


# --- rows -------------------------------------------------------------------------------------------------


def get_data(rows: dict[str, dict], period) -> list[dict]:
	names = full_names(rows)
	money = currency()
	data = []
	for manager, counts in rows.items():
		row = {"manager": manager, "manager_name": names.get(manager, manager), **counts, "currency": money}
		row["sales_without_calls"] = int(sales_without_calls(row))
		row["links"] = drill_down(manager, period)
		data.append(row)
	data.sort(key=lambda r: (r["manager_name"].lower(), r["manager"]))
	return data


def sales_without_calls(row: dict) -> bool:
	return bool(row["deals_won"]) and not row["calls"] and not row["meetings"]


def drill_down(manager: str, period) -> dict[str, str]:
	"""Column -> the Desk list of the records a count of the row counts (the list applies the user's own
	visibility, as the report does)."""
	between = period.between()
	calls = {"manager": manager, "started_at": between}
	done = {"assigned_to": manager, "status": DONE, "completed_on": between}
	deals = list_link(DEAL, {"responsible": manager, "won_on": between})
	overdue_to = overdue_until(period) - datetime.timedelta(seconds=1)
	return {
		"calls": list_link(CALL, calls),
		"calls_inbound": list_link(CALL, {**calls, "direction": "Inbound"}),
		"calls_outbound": list_link(CALL, {**calls, "direction": "Outbound"}),
		"calls_answered": list_link(CALL, {**calls, "call_status": "Answered"}),
		"calls_missed": list_link(CALL, {**calls, "call_status": "Missed"}),
		"meetings": list_link(TASK, {**done, "task_type": MEETING}),
		"tasks_done": list_link(TASK, done),
		"tasks_overdue": list_link(
			TASK,
			{
				"assigned_to": manager,
				"status": ["in", list(OPEN_TASK_STATUSES)],
				"due_on": ["Between", [str(period.first_moment), str(overdue_to)]],
			},
		),
		"deals_won": deals,
		"revenue": deals,
	}


def total_row(data: list[dict]) -> dict:
	totals = {key: sum(row[key] for row in data) for key in COUNTS}
	return {
		"manager": None,
		"manager_name": _("Total"),
		**totals,
		"revenue": flt(totals["revenue"]),
		"currency": currency(),
		"sales_without_calls": sum(row["sales_without_calls"] for row in data),
		"is_total": 1,
	}


def get_chart(data: list[dict]) -> dict:
	"""Calls beside won deals per manager."""
	return {
		"data": {
			"labels": [row["manager_name"] for row in data],
			"datasets": [
				{"name": _("Calls"), "values": [row["calls"] for row in data]},
				{"name": _("Deals Won"), "values": [row["deals_won"] for row in data]},
			],
		},
		"type": "bar",
		"colors": ["#5e64ff", "#29cd42"],
	}


def get_summary(totals: dict) -> list[dict]:
	flagged = totals["sales_without_calls"]
	return [
		{"value": totals["calls"], "label": _("Calls"), "datatype": "Int"},
		{"value": totals["talk_time"], "label": _("Talk Time"), "datatype": "Duration"},
		{"value": totals["meetings"], "label": _("Meetings Held"), "datatype": "Int"},
		{"value": totals["emails_sent"], "label": _("E-mails Sent"), "datatype": "Int"},
		{
			"value": totals["tasks_overdue"],
			"label": _("Tasks Overdue"),
			"datatype": "Int",
			"indicator": "Red" if totals["tasks_overdue"] else "Green",
		},
		{"value": totals["deals_won"], "label": _("Deals Won"), "datatype": "Int", "indicator": "Green"},
		{
			"value": totals["revenue"],
			"label": _("Revenue"),
			"datatype": "Currency",
			"currency": totals["currency"],
		},
		{
			"value": flagged,
			"label": _("Sales Without Calls"),
			"datatype": "Int",
			"indicator": "Red" if flagged else "Green",
		},
	]
