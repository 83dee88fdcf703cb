# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

"""Lead conversion per manager per month: leads received, how many of them were converted, how soon the
company first responded and how often later than the lead SLA.

- A lead counts in the month it was received (`received_on`) under its responsible manager; leads nobody is
  responsible for form a row of their own.
- Converted: the lead's status is Converted. Only the conversion sets it (it fills in `converted_on` with it,
  see CRMLead.validate_conversion_marks), so it is counted whenever the conversion happened: the row tells
  what became of the leads received that month.
- First response: minutes from `received_on` to `first_response_on` (when the lead first left New). The
  median is over the leads responded to; a lead never responded to is left out of it.
- SLA breach (`lead_sla_minutes` of Simple CRM Settings, the deadline the escalation job uses): the first
  response came after received_on + SLA, or there has been none and that moment has passed.

Two aggregate queries over the leads received in the period that the user may see (the row-level condition
of CRM Lead) and that the filters keep, both through the index on (received_on, responsible, status,
first_response_on, channel, source), which holds every column they read: the counts (GROUP BY manager and
month) and the medians (the middle one or two response times of each group, ranked by a window function:
the median of an even count is the mean of its two middle values); a third ranks all the responses for the
total row's median.
"""

import datetime

import frappe
from frappe import _
from frappe.utils import cint, flt, now_datetime

from simple_crm.automation.common import settings
from simple_crm.constants import LEAD_CONVERTED
from simple_crm.report_filters import (
	ReportFilterError,
	SQLConditions,
	get_period,
	link_value,
	list_link,
	responsible_users,
	share,
	visible,
)

LEAD = "CRM Lead"
# a month per chart label: a longer period is refused rather than drawn
MAX_MONTHS = 120

# the manager a lead counts under (nobody for an empty value), its month (YYYYMM) and response time
MANAGER = "nullif(`tabCRM Lead`.`responsible`, '')"
MONTH = "extract(year_month from `tabCRM Lead`.`received_on`)"
SECONDS = "timestampdiff(second, `tabCRM Lead`.`received_on`, `tabCRM Lead`.`first_response_on`)"
# Grouping by the manager's name, a long text column compared by its collation, costs several times more
# than the rest of the queries: the groups are keyed by the name's CRC32 instead. The lowest and highest name
# in a group tell when two managers share a CRC32; then the report groups by the names themselves.
HASHED = f"crc32({MANAGER})"

COUNTS_SQL = """
select {key} as manager_key, {month} as month,
	min({manager}) as responsible, max({manager}) as other_responsible,
	count(*) as leads,
	sum(`tabCRM Lead`.`status` = %(converted)s) as converted,
	sum(`tabCRM Lead`.`first_response_on` is not null) as responded,
	sum(coalesce(`tabCRM Lead`.`first_response_on`, %(now)s)
		> `tabCRM Lead`.`received_on` + interval %(sla)s minute) as sla_breaches
from `tabCRM Lead`
where {conditions}
group by manager_key, month
"""

MEDIANS_SQL = """
select manager_key, month, avg(seconds) as median_seconds
from (
	select {key} as manager_key, {month} as month, {seconds} as seconds,
		row_number() over (partition by {key}, {month} order by {seconds}) as place,
		count(*) over (partition by {key}, {month}) as responded
	from `tabCRM Lead`
	where {conditions} and `tabCRM Lead`.`first_response_on` is not null
) ranked
where place in ((responded + 1) div 2, responded div 2 + 1)
group by manager_key, month
"""


def execute(filters: dict | None = None):
	filters = frappe._dict(filters or {})
	period = get_period(filters)
	months = months_of(period)
	groups, total_median = get_groups(filters, period)
	data = get_data(groups, period)
	totals = total_row(groups, total_median)
	return (
		get_columns(),
		[*data, totals],
		None,
		get_chart(groups, months),
		get_summary(totals),
	)


def get_columns() -> list[dict]:
	return [
		{"fieldname": "manager", "label": _("Manager"), "fieldtype": "Link", "options": "User", "width": 200},
		{"fieldname": "manager_name", "label": _("Manager Name"), "fieldtype": "Data", "width": 180},
		{"fieldname": "month", "label": _("Month"), "fieldtype": "Data", "width": 90},
		{"fieldname": "leads", "label": _("Leads Received"), "fieldtype": "Int", "width": 120},
		{"fieldname": "converted", "label": _("Converted"), "fieldtype": "Int", "width": 110},
		{"fieldname": "conversion", "label": _("Conversion, %"), "fieldtype": "Percent", "width": 120},
		{"fieldname": "responded", "label": _("Responded"), "fieldtype": "Int", "width": 110},
		{
			"fieldname": "median_response_minutes",
			"label": _("Median First Response, min"),
			"fieldtype": "Float",
			"precision": 1,
			"width": 190,
		},
		{"fieldname": "sla_breaches", "label": _("SLA Breaches"), "fieldtype": "Int", "width": 120},
	]


def get_groups(filters, period) -> tuple[list[frappe._dict], float | None]:
	"""One row per (responsible manager, month as YYYYMM) with the leads received then, and the median
	response of all of them (minutes)."""
	conditions = lead_conditions(filters, period)
	values = {
		**conditions.values,
		"converted": LEAD_CONVERTED,
		"sla": max(0, cint(settings().lead_sla_minutes)),
		"now": now_datetime(),
	}
	key = HASHED
	groups = aggregate(COUNTS_SQL, key, MONTH, conditions, values)
	if any(g.responsible != g.other_responsible for g in groups):
		key = MANAGER  # two managers share a CRC32
		groups = aggregate(COUNTS_SQL, key, MONTH, conditions, values)
	medians = {
		(m.manager_key, m.month): m.median_seconds
		for m in aggregate(MEDIANS_SQL, key, MONTH, conditions, values)
	}
	names = full_names([g.responsible for g in groups if g.responsible])
	for group in groups:
		group.median_minutes = minutes(medians.get((group.manager_key, group.month)))
		group.manager_name = names.get(group.responsible)
	if len(groups) > 1:
		# every response in one partition
		overall = aggregate(MEDIANS_SQL, "0", "0", conditions, values)
		total_median = minutes(overall[0].median_seconds) if overall else None
	else:
		total_median = groups[0].median_minutes if groups else None
	return groups, total_median


def lead_conditions(filters, period) -> SQLConditions:
	conditions = SQLConditions()
	conditions.add(
		"`tabCRM Lead`.`received_on` >= %(start)s and `tabCRM Lead`.`received_on` < %(after_end)s",
		start=period.first_moment,
		after_end=period.after_end,
	)
	conditions.add_in("`tabCRM Lead`.`responsible`", "managers", responsible_users(filters))
	source = link_value(filters, "source", "CRM Lead Source", _("Source"))
	if source:
		conditions.add("`tabCRM Lead`.`source` = %(source)s", source=source)
	channel = filters.get("channel")
	if channel:
		channels = [o for o in (frappe.get_meta(LEAD).get_options("channel") or "").split("\n") if o]
		if channel not in channels:
			frappe.throw(
				_("{0} must be one of {1}, got {2}").format(
					_("Channel"), ", ".join(_(c) for c in channels), frappe.bold(str(channel)[:40])
				),
				ReportFilterError,
				title=_("Invalid Filter"),
			)
		conditions.add("`tabCRM Lead`.`channel` = %(channel)s", channel=channel)
	conditions.add(visible(LEAD))
	return conditions


def aggregate(sql: str, key: str, month: str, conditions: SQLConditions, values: dict) -> list[frappe._dict]:
	query = sql.format(key=key, month=month, manager=MANAGER, seconds=SECONDS, conditions=conditions.sql())
	return frappe.db.sql(query, values, as_dict=True)


def get_data(groups: list[frappe._dict], period) -> list[dict]:
	rows = []
	for group in groups:
		first, last = month_bounds(group.month, period)
		rows.append(
			{
				"manager": group.responsible,
				"manager_name": (group.manager_name or group.responsible)
				if group.responsible
				else _("Not assigned"),
				"month": month_label(group.month),
				"leads": cint(group.leads),
				"converted": cint(group.converted),
				"conversion": share(group.converted, group.leads),
				"responded": cint(group.responded),
				"median_response_minutes": group.median_minutes,
				"sla_breaches": cint(group.sla_breaches),
				"leads_link": list_link(
					LEAD,
					{
						"responsible": group.responsible or ["is", "not set"],
						"received_on": ["Between", [str(first), str(last)]],
					},
				),
			}
		)
	# managers by name (nobody's leads last), each manager's months in order
	rows.sort(key=lambda r: (not r["manager"], r["manager_name"].lower(), r["manager"] or "", r["month"]))
	return rows


def total_row(groups: list[frappe._dict], total_median: float | None) -> dict:
	leads = sum(cint(g.leads) for g in groups)
	converted = sum(cint(g.converted) for g in groups)
	return {
		"manager": None,
		"manager_name": _("Total"),
		"month": None,
		"leads": leads,
		"converted": converted,
		"conversion": share(converted, leads),
		"responded": sum(cint(g.responded) for g in groups),
		"median_response_minutes": total_median,
		"sla_breaches": sum(cint(g.sla_breaches) for g in groups),
		"is_total": 1,
	}


def get_chart(groups: list[frappe._dict], months: list[int]) -> dict:
	"""Conversion per month over everyone in the report; a month without leads shows 0."""
	leads: dict[int, int] = {}
	converted: dict[int, int] = {}
	for group in groups:
		month = cint(group.month)
		leads[month] = leads.get(month, 0) + cint(group.leads)
		converted[month] = converted.get(month, 0) + cint(group.converted)
	return {
		"data": {
			"labels": [month_label(m) for m in months],
			"datasets": [
				{
					"name": _("Conversion, %"),
					"values": [share(converted.get(m, 0), leads.get(m, 0)) or 0 for m in months],
				}
			],
		},
		"type": "bar",
		"fieldtype": "Percent",
		"colors": ["#5e64ff"],
	}


def get_summary(totals: dict) -> list[dict]:
	return [
		{"value": totals["leads"], "label": _("Leads Received"), "datatype": "Int"},
		{"value": totals["converted"], "label": _("Converted"), "datatype": "Int", "indicator": "Green"},
		{"value": totals["conversion"] or 0, "label": _("Conversion, %"), "datatype": "Percent"},
		{
			"value": totals["median_response_minutes"] or 0,
			"label": _("Median First Response, min"),
			"datatype": "Float",
		},
		{
			"value": totals["sla_breaches"],
			"label": _("SLA Breaches"),
			"datatype": "Int",
			"indicator": "Red" if totals["sla_breaches"] else "Green",
		},
	]


# --- helpers ----------------------------------------------------------------------------------------------


def months_of(period) -> list[int]:
	"""The months the period touches, as YYYYMM numbers (the form the query groups by)."""
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


def month_label(month) -> str:
	month = cint(month)
	return f"{month // 100:04d}-{month % 100:02d}"


def month_bounds(month, period) -> tuple[datetime.date, datetime.date]:
	"""The first and last day of `month` (YYYYMM) within the period."""
	month = cint(month)
	first = datetime.date(month // 100, month % 100, 1)
	following = datetime.date(first.year + first.month // 12, first.month % 12 + 1, 1)
	last = following - datetime.timedelta(days=1)
	return max(first, period.start), min(last, period.end)


def minutes(seconds) -> float | None:
	return None if seconds is None else flt(flt(seconds) / 60, 1)


def full_names(users: list[str]) -> dict[str, str]:
	if not users:
		return {}
	rows = frappe.get_all("User", filters={"name": ("in", sorted(set(users)))}, fields=["name", "full_name"])
	return {row.name: row.full_name for row in rows}
