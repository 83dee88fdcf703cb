# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

"""Plan vs fact per manager and month: the targets (CRM Sales Target) beside the deals won.

- Plan: the manager's target for the month. Without a pipeline filter it is their target over all pipelines
  (the one without a pipeline) or, when they have none, the sum of their per-pipeline targets; with a
  pipeline filter, their target for that pipeline. No target: the plan is empty, and so is the % of plan.
- Fact: the deals won in the month (stage type Won, `won_on` in the month) under their responsible manager,
  their amount summed as it is (in the CRM's currency) and counted.
- With a team filter the rows are grouped by month under a row of the team: the team's own target (the
  same choice between an all-pipelines target and per-pipeline ones) or, when the team has none, the sum of
  its people's plans, against the sum of its people's facts. A team's people are its head and members, as
  in every report (simple_crm.report_filters.responsible_users).

Rows exist for a manager and month with a target or a won deal. The period is whole months: from the month
of From Month to the month of To Month.

What a user sees: the managers whose targets they may read (CRM Sales Target's rule: themselves and, for a
head of sales, their team members) and, among the deals, only those the row-level rule of CRM Deal lets them
see; a team row only for a team the user sees whole (its head, a director, an administrator). Filters only
narrow that: a sales manager naming a colleague or another team gets no rows.

Aggregate queries (GROUP BY manager or team and month): the targets, and the won deals read from CRM Deal's
`won_deals_index` (stage_type, won_on, responsible, pipeline, amount, ...) alone.
"""

import datetime

import frappe
from frappe import _
from frappe.utils import cint, flt, get_last_day

from simple_crm.permissions.roles import sees_everything, team_users
from simple_crm.report_filters import (
	Period,
	ReportFilterError,
	SQLConditions,
	currency,
	get_period,
	link_value,
	list_link,
	require_permission,
	responsible_users,
	share,
	visible,
)
from simple_crm.simple_crm.doctype.crm_sales_target.crm_sales_target import led_teams, read_condition

TARGET = "CRM Sales Target"
DEAL = "CRM Deal"
WON = "Won"
# a month per chart label: a longer period is refused rather than drawn
MAX_MONTHS = 120

# each (manager or team, month): the all-pipelines target if there is one, else the per-pipeline ones summed
TARGETS_SQL = """
select `tabCRM Sales Target`.`{who}` as who,
	extract(year_month from `tabCRM Sales Target`.`month`) as month,
	sum(ifnull(`tabCRM Sales Target`.`pipeline`, '') = '') as general_targets,
	sum(if(ifnull(`tabCRM Sales Target`.`pipeline`, '') = '', `tabCRM Sales Target`.`planned_amount`, 0))
		as general_amount,
	sum(if(ifnull(`tabCRM Sales Target`.`pipeline`, '') = '', `tabCRM Sales Target`.`planned_deals`, 0))
		as general_deals,
	sum(`tabCRM Sales Target`.`planned_amount`) as all_amount,
	sum(`tabCRM Sales Target`.`planned_deals`) as all_deals
from `tabCRM Sales Target`
where {conditions}
group by who, month
"""

WON_SQL = """
select `tabCRM Deal`.`responsible` as who,
	extract(year_month from `tabCRM Deal`.`won_on`) as month,
	sum(`tabCRM Deal`.`amount`) as won_amount,
	count(*) as won_deals
from `tabCRM Deal`
where {conditions}
group by who, month
"""


def execute(filters: dict | None = None):
	filters = frappe._dict(filters or {})
	require_permission(DEAL)
	period = month_period(filters)
	months = months_of(period)
	pipeline = link_value(filters, "pipeline", "CRM Pipeline", _("Pipeline"))
	team = link_value(filters, "team", "CRM Sales Team", _("Team"))
	managers = report_managers(filters)

	plans = get_plans("manager", managers, period, pipeline) if managers != [] else {}
	facts = get_facts(managers, period, pipeline) if managers != [] else {}
	rows = manager_rows(plans, facts, period, pipeline)
	team_rows = []
	if team and not filters.get("manager") and sees_whole_team(team):
		team_plans = get_plans("team", [team], period, pipeline)
		team_rows = make_team_rows(team, team_plans, rows, period, pipeline)
		data = grouped_by_month(team_rows, rows)
	else:
		data = rows

	top = team_rows if team_rows else rows
	return get_columns(), data, None, get_chart(top, months), get_summary(top)


def get_columns() -> list[dict]:
	money = currency()
	return [
		{"fieldname": "month", "label": _("Month"), "fieldtype": "Data", "width": 90},
		{"fieldname": "manager", "label": _("Manager"), "fieldtype": "Link", "options": "User", "width": 200},
		{"fieldname": "manager_name", "label": _("Manager Name"), "fieldtype": "Data", "width": 180},
		{
			"fieldname": "team",
			"label": _("Sales Team"),
			"fieldtype": "Link",
			"options": "CRM Sales Team",
			"width": 160,
		},
		{
			"fieldname": "planned_amount",
			"label": _("Planned Amount"),
			"fieldtype": "Currency",
			"options": money,
			"width": 140,
		},
		{
			"fieldname": "won_amount",
			"label": _("Won Amount"),
			"fieldtype": "Currency",
			"options": money,
			"width": 140,
		},
		{
			"fieldname": "amount_percent",
			"label": _("Amount, % of Plan"),
			"fieldtype": "Percent",
			"width": 140,
		},
		{"fieldname": "planned_deals", "label": _("Planned Won Deals"), "fieldtype": "Int", "width": 140},
		{"fieldname": "won_deals", "label": _("Won Deals"), "fieldtype": "Int", "width": 100},
		{
			"fieldname": "deals_percent",
			"label": _("Won Deals, % of Plan"),
			"fieldtype": "Percent",
			"width": 150,
		},
	]


# --- filters and scope ------------------------------------------------------------------------------------


def month_period(filters) -> Period:
	"""The filters' period widened to whole months."""
	period = get_period(filters)
	return Period(period.start.replace(day=1), get_last_day(period.end))


def report_managers(filters) -> list[str] | None:
	"""The managers whose rows the user gets: those whose targets they may read (None: everyone), narrowed
	by the manager and team filters."""
	user = frappe.session.user
	allowed = None if sees_everything(user) else team_users(user)
	wanted = responsible_users(filters)
	if wanted is None:
		return allowed
	if allowed is None:
		return wanted
	return [u for u in wanted if u in allowed]


def sees_whole_team(team: str) -> bool:
	user = frappe.session.user
	return sees_everything(user) or team in led_teams(user)


# --- queries ----------------------------------------------------------------------------------------------


def get_plans(who: str, names: list[str] | None, period: Period, pipeline: str | None) -> dict:
	"""{(manager or team, YYYYMM): (planned amount, planned won deals)} of the targets the user may read."""
	conditions = SQLConditions()
	column = f"`tabCRM Sales Target`.`{who}`"
	conditions.add(
		"`tabCRM Sales Target`.`month` between %(start)s and %(end)s", start=period.start, end=period.end
	)
	conditions.add(f"ifnull({column}, '') != ''")
	conditions.add_in(column, "names", names)
	if pipeline:
		conditions.add("`tabCRM Sales Target`.`pipeline` = %(pipeline)s", pipeline=pipeline)
	conditions.add(read_condition(frappe.session.user))
	groups = frappe.db.sql(
		TARGETS_SQL.format(who=who, conditions=conditions.sql()), conditions.values, as_dict=True
	)
	plans = {}
	for g in groups:
		if cint(g.general_targets):
			plans[(g.who, cint(g.month))] = (flt(g.general_amount), cint(g.general_deals))
		else:
			plans[(g.who, cint(g.month))] = (flt(g.all_amount), cint(g.all_deals))
	return plans


def get_facts(managers: list[str] | None, period: Period, pipeline: str | None) -> dict:
	"""{(manager, YYYYMM): (won amount, won deals)} of the won deals the user may see."""
	conditions = SQLConditions()
	conditions.add("`tabCRM Deal`.`stage_type` = %(won)s", won=WON)
	conditions.add("`tabCRM Deal`.`won_on` between %(start)s and %(end)s", start=period.start, end=period.end)
	conditions.add("`tabCRM Deal`.`responsible` is not null")
	conditions.add_in("`tabCRM Deal`.`responsible`", "managers", managers)
	if pipeline:
		conditions.add("`tabCRM Deal`.`pipeline` = %(pipeline)s", pipeline=pipeline)
	conditions.add(visible(DEAL))
	groups = frappe.db.sql(WON_SQL.format(conditions=conditions.sql()), conditions.values, as_dict=True)
	return {(g.who, cint(g.month)): (flt(g.won_amount), cint(g.won_deals)) for g in groups}


# --- rows -------------------------------------------------------------------------------------------------


def manager_rows(plans: dict, facts: dict, period: Period, pipeline: str | None) -> list[dict]:
	names = full_names({who for who, _month in (*plans, *facts)})
	rows = []
	for who, month in sorted({*plans, *facts}):
		plan = plans.get((who, month))
		fact = facts.get((who, month), (0.0, 0))
		row = make_row(month, plan, fact)
		row.update(manager=who, manager_name=names.get(who) or who)
		row.update(links(month, period, pipeline, manager=who))
		rows.append(row)
	# managers by name, each manager's months in order
	rows.sort(key=lambda r: (r["manager_name"].lower(), r["manager"], r["month"]))
	return rows


def make_team_rows(team: str, team_plans: dict, rows: list[dict], period: Period, pipeline) -> list[dict]:
	"""One row of the team per month with a team target or a row of its people."""
	by_month: dict[int, list[dict]] = {}
	for row in rows:
		by_month.setdefault(row["month_key"], []).append(row)
	team_rows = []
	for month in sorted({m for _team, m in team_plans} | set(by_month)):
		people = by_month.get(month, [])
		plan = team_plans.get((team, month))
		if plan is None and any(r["planned_amount"] is not None for r in people):
			plan = (
				sum(flt(r["planned_amount"]) for r in people),
				sum(cint(r["planned_deals"]) for r in people),
			)
		fact = (sum(r["won_amount"] for r in people), sum(r["won_deals"] for r in people))
		row = make_row(month, plan, fact)
		row.update(team=team, manager_name=team, is_team=1)
		row.update(links(month, period, pipeline, team=team))
		team_rows.append(row)
	return team_rows


def grouped_by_month(team_rows: list[dict], rows: list[dict]) -> list[dict]:
	"""Each month's team row with its people's rows under it (a tree in the Desk)."""
	data = []
	for team_row in team_rows:
		data.append({**team_row, "indent": 0})
		data.extend(
			{**row, "indent": 1}
			for row in sorted(rows, key=lambda r: (r["manager_name"].lower(), r["manager"]))
			if row["month_key"] == team_row["month_key"]
		)
	return data


def make_row(month: int, plan: tuple | None, fact: tuple) -> dict:
	planned_amount, planned_deals = plan if plan is not None else (None, None)
	won_amount, won_deals = fact
	return {
		"month": month_label(month),
		"month_key": month,
		"manager": None,
		"manager_name": None,
		"team": None,
		"planned_amount": planned_amount,
		"won_amount": flt(won_amount),
		"amount_percent": share(won_amount, planned_amount, 1),
		"planned_deals": planned_deals,
		"won_deals": cint(won_deals),
		"deals_percent": share(won_deals, planned_deals, 1),
	}


def links(month: int, period: Period, pipeline: str | None, manager=None, team=None) -> dict:
	"""Where the plan and the fact of a row come from, as Desk lists (which apply the user's own rules)."""
	first, last = month_bounds(month, period)
	targets = {"month": str(first), "pipeline": pipeline}
	targets.update({"manager": manager} if manager else {"team": team})
	deals = {"stage_type": WON, "won_on": ["Between", [str(first), str(last)]], "pipeline": pipeline}
	if manager:
		deals["responsible"] = manager
	return {
		"targets_link": list_link(TARGET, targets),
		"deals_link": list_link(DEAL, deals) if manager else None,
	}


# --- chart and summary ------------------------------------------------------------------------------------


def get_chart(rows: list[dict], months: list[int]) -> dict:
	"""Planned and won amounts per month over the report's rows (the team's, when grouped by team)."""
	planned: dict[int, float] = {}
	won: dict[int, float] = {}
	for row in rows:
		month = row["month_key"]
		planned[month] = planned.get(month, 0) + flt(row["planned_amount"])
		won[month] = won.get(month, 0) + flt(row["won_amount"])
	return {
		"data": {
			"labels": [month_label(m) for m in months],
			"datasets": [
				{"name": _("Plan"), "values": [planned.get(m, 0) for m in months]},
				{"name": _("Fact"), "values": [won.get(m, 0) for m in months]},
			],
		},
		"type": "bar",
		"fieldtype": "Currency",
		"options": currency(),
		"colors": ["#a0aec0", "#5e64ff"],
	}


def get_summary(rows: list[dict]) -> list[dict]:
	totals = summary_totals(rows)
	amount_met = totals["won_amount"] >= flt(totals["planned_amount"])
	deals_met = totals["won_deals"] >= cint(totals["planned_deals"])
	return [
		{
			"value": totals["planned_amount"] or 0,
			"label": _("Planned Amount"),
			"datatype": "Currency",
			"currency": currency(),
		},
		{
			"value": totals["won_amount"],
			"label": _("Won Amount"),
			"datatype": "Currency",
			"currency": currency(),
			"indicator": "Green" if amount_met else "Red",
		},
		{"value": totals["amount_percent"] or 0, "label": _("Amount, % of Plan"), "datatype": "Percent"},
		{"value": totals["planned_deals"] or 0, "label": _("Planned Won Deals"), "datatype": "Int"},
		{
			"value": totals["won_deals"],
			"label": _("Won Deals"),
			"datatype": "Int",
			"indicator": "Green" if deals_met else "Red",
		},
		{"value": totals["deals_percent"] or 0, "label": _("Won Deals, % of Plan"), "datatype": "Percent"},
	]


def summary_totals(rows: list[dict]) -> dict:
	"""The period's totals: plans summed over the rows with one (None when none has), facts over all rows."""
	planned = [r for r in rows if r["planned_amount"] is not None]
	planned_amount = sum(flt(r["planned_amount"]) for r in planned) if planned else None
	planned_deals = sum(cint(r["planned_deals"]) for r in planned) if planned else None
	won_amount = flt(sum(r["won_amount"] for r in rows))
	won_deals = sum(r["won_deals"] for r in rows)
	return {
		"planned_amount": planned_amount,
		"won_amount": won_amount,
		"amount_percent": share(won_amount, planned_amount, 1),
		"planned_deals": planned_deals,
		"won_deals": won_deals,
		"deals_percent": share(won_deals, planned_deals, 1),
	}


# --- months -----------------------------------------------------------------------------------------------


def months_of(period: Period) -> list[int]:
	"""The months of the period, as YYYYMM numbers (the form the queries group by)."""
	count = (period.end.year - period.start.year) * 12 + period.end.month - period.start.month + 1
	if count > MAX_MONTHS:
		frappe.throw(
			_("The period can cover at most {0} months, not {1}").format(MAX_MONTHS, count),
			ReportFilterError,
			title=_("Invalid Filter"),
		)
	months = []
	year, month = period.start.year, period.start.month
	for _i in range(count):
		months.append(year * 100 + month)
		year, month = (year + 1, 1) if month == 12 else (year, month + 1)
	return months


def month_label(month: int) -> str:
	return f"{month // 100:04d}-{month % 100:02d}"


def month_bounds(month: int, period: Period) -> tuple[datetime.date, datetime.date]:
	first = datetime.date(month // 100, month % 100, 1)
	return max(first, period.start), min(get_last_day(first), period.end)


def full_names(users: set[str]) -> dict[str, str]:
	if not users:
		return {}
	return dict(
		frappe.get_all(
			"User", filters={"name": ("in", list(users))}, fields=["name", "full_name"], as_list=True
		)
	)
