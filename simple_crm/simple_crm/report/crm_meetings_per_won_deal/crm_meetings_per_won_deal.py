# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

"""How many meetings a won deal took, per manager.

- Won deals: deals won in the period (`won_on`), under their responsible manager.
- Meetings: the tasks of type Meeting done (status Done) about those deals (`reference_doctype` CRM Deal,
  `reference_name` the deal), whenever they were held and whoever held them: the meetings that led to the
  deal.
- Meetings per won deal: meetings / won deals, empty for a manager who won nothing.
- Won deals without a meeting: the deals among them with no meeting at all.

Every manager in the user's scope has a row (simple_crm.report_managers: a sales manager themself, a head
of sales their teams, a director everyone), zeros included. Two grouped reads (below), each table under
the user's row-level condition, the manager and team filters only narrowing.
"""

import frappe
from frappe import _
from frappe.utils import cint, flt

from simple_crm.report_filters import (
	SQLConditions,
	get_period,
	link_value,
	list_link,
	require_permission,
	responsible_users,
	visible,
)
from simple_crm.report_managers import full_names, keys_of, roster, scope

DEAL = "CRM Deal"
TASK = "CRM Task"
MEETING = "Meeting"
DONE = "Done"

# Two reads: the period's won deals per manager, each manager's range of the (responsible, won_on, amount)
# index read in turn (the managers named in the query) and counted as it is read; and their meetings, read
# from the done meetings about deals (the (task_type, status, reference_doctype, reference_name) index of
# CRM Task) joined to the deals by name, far fewer rows than looking up the meetings of each won deal, and
# grouped on the binary value of the manager (cheaper per row than the utf8mb4 collation).
WON_SQL = """
select `tabCRM Deal`.`responsible` as manager, count(*) as deals_won
from `tabCRM Deal`
where {conditions}
group by `tabCRM Deal`.`responsible`
"""

MEETINGS_SQL = """
select `tabCRM Deal`.`responsible` as manager,
	count(*) as meetings,
	count(distinct `tabCRM Deal`.`name`) as deals_with_meetings
from `tabCRM Task`
join `tabCRM Deal` on `tabCRM Deal`.`name` = `tabCRM Task`.`reference_name`
where `tabCRM Task`.`task_type` = %(meeting)s
	and `tabCRM Task`.`status` = %(done)s
	and `tabCRM Task`.`reference_doctype` = 'CRM Deal'
	and {task_visible}
	and {conditions}
group by cast(`tabCRM Deal`.`responsible` as binary)
"""


def execute(filters: dict | None = None):
	filters = frappe._dict(filters or {})
	period = get_period(filters)
	team = link_value(filters, "team", "CRM Sales Team", _("Team"))
	managers = scope(responsible_users(filters))
	require_permission(TASK)
	groups = get_groups(period, managers)
	data = get_data(groups, roster(managers, team), period)
	totals = total_row(data)
	return get_columns(), [*data, totals], None, get_chart(data), get_summary(totals)


def get_columns() -> list[dict]:
	return [
		{"fieldname": "manager", "label": _("Manager"), "fieldtype": "Link", "options": "User", "width": 200},
		{"fieldname": "manager_name", "label": _("Manager Name"), "fieldtype": "Data", "width": 180},
		{"fieldname": "deals_won", "label": _("Deals Won"), "fieldtype": "Int", "width": 110},
		{"fieldname": "meetings", "label": _("Meetings Held"), "fieldtype": "Int", "width": 120},
		{
			"fieldname": "meetings_per_deal",
			"label": _("Meetings per Won Deal"),
			"fieldtype": "Float",
			"precision": 2,
			"width": 170,
		},
		{
			"fieldname": "deals_without_meetings",
			"label": _("Won Without Meetings"),
			"fieldtype": "Int",
			"width": 170,
		},
	]


def get_groups(period, managers: list[str] | None) -> list[frappe._dict]:
	"""Per responsible manager: the deals won in the period, their meetings, the deals without one."""
	if managers is not None and not managers:
		return []
	conditions = SQLConditions().add(
		"`tabCRM Deal`.`won_on` between %(first_day)s and %(last_day)s",
		first_day=period.start,
		last_day=period.end,
	)
	conditions.add(visible(DEAL))
	won_conditions = SQLConditions().add(conditions.sql(), **conditions.values)
	won_conditions.add_in("`tabCRM Deal`.`responsible`", "managers", keys_of(DEAL, "responsible", managers))
	won = frappe.db.sql(WON_SQL.format(conditions=won_conditions.sql()), won_conditions.values, as_dict=True)
	conditions.add_in("`tabCRM Deal`.`responsible`", "managers", managers)
	held = frappe.db.sql(
		MEETINGS_SQL.format(conditions=conditions.sql(), task_visible=visible(TASK) or "1 = 1"),
		{**conditions.values, "meeting": MEETING, "done": DONE},
		as_dict=True,
	)
	meetings = {row.manager: row for row in held}
	groups = []
	for row in won:
		found = meetings.get(row.manager) or frappe._dict(meetings=0, deals_with_meetings=0)
		groups.append(
			frappe._dict(
				manager=row.manager,
				deals_won=row.deals_won,
				meetings=found.meetings,
				deals_without_meetings=cint(row.deals_won) - cint(found.deals_with_meetings),
			)
		)
	return groups


def get_data(groups: list[frappe._dict], managers: list[str], period) -> list[dict]:
	found = {group.manager: group for group in groups if group.manager}
	names = full_names([*managers, *found])
	data = []
	for manager in sorted(set(managers) | set(found)):
		group = found.get(manager) or frappe._dict()
		deals_won = cint(group.deals_won)
		meetings = cint(group.meetings)
		data.append(
			{
				"manager": manager,
				"manager_name": names.get(manager, manager),
				"deals_won": deals_won,
				"meetings": meetings,
				"meetings_per_deal": per_deal(meetings, deals_won),
				"deals_without_meetings": cint(group.deals_without_meetings),
				"deals_link": list_link(DEAL, {"responsible": manager, "won_on": period.between()}),
			}
		)
	data.sort(key=lambda r: (r["manager_name"].lower(), r["manager"]))
	return data


def per_deal(meetings: int, deals: int) -> float | None:
	"""Meetings per won deal, two decimals; None (an empty cell) without won deals."""
	return flt(meetings / deals, 2) if deals else None


def total_row(data: list[dict]) -> dict:
	deals_won = sum(row["deals_won"] for row in data)
	meetings = sum(row["meetings"] for row in data)
	return {
		"manager": None,
		"manager_name": _("Total"),
		"deals_won": deals_won,
		"meetings": meetings,
		# over all the deals, not the mean of the managers' ratios
		"meetings_per_deal": per_deal(meetings, deals_won),
		"deals_without_meetings": sum(row["deals_without_meetings"] for row in data),
		"is_total": 1,
	}


def get_chart(data: list[dict]) -> dict:
	"""Meetings per won deal per manager (those who won something)."""
	rows = [row for row in data if row["deals_won"]]
	return {
		"data": {
			"labels": [row["manager_name"] for row in rows],
			"datasets": [
				{"name": _("Meetings per Won Deal"), "values": [row["meetings_per_deal"] for row in rows]}
			],
		},
		"type": "bar",
		"fieldtype": "Float",
		"colors": ["#5e64ff"],
	}


def get_summary(totals: dict) -> list[dict]:
	return [
		{"value": totals["deals_won"], "label": _("Deals Won"), "datatype": "Int", "indicator": "Green"},
		{"value": totals["meetings"], "label": _("Meetings Held"), "datatype": "Int"},
		{
			"value": totals["meetings_per_deal"] or 0,
			"label": _("Meetings per Won Deal"),
			"datatype": "Float",
		},
		{
			"value": totals["deals_without_meetings"],
			"label": _("Won Without Meetings"),
			"datatype": "Int",
			"indicator": "Orange" if totals["deals_without_meetings"] else "Green",
		},
	]
