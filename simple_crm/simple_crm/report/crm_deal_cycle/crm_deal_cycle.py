# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

"""How long deals take to win: deals won in the period, per pipeline or per responsible manager.

A deal's cycle is the number of days from its creation to the day it was won (`won_on` minus the date of
`creation`; won the day it was created = 0 days). Per group: the number of won deals, the median and the
90th percentile of their cycles, their average and total amount.

The percentiles interpolate linearly between the two nearest ranks (simple_crm.utils.percentiles: the
median of 4, 6, 10, 30 days is 8, their 90th percentile 24). SQL counts the deals per group and number of
days; the percentiles are read from those counts, no deal is loaded one by one.

A deal won before it was created in the CRM (history brought in by an import with its old won date) has
no cycle to measure: it counts among the won deals and their amounts, not in the days, and the report
says how many there are.
"""

import frappe
from frappe import _
from frappe.utils import flt, get_fullname

from simple_crm.pipelines import WON
from simple_crm.report_filters import (
	Period,
	SQLConditions,
	choice,
	currency,
	get_period,
	link_value,
	list_link,
	responsible_users,
	visible,
)
from simple_crm.utils.percentiles import percentiles

BY_PIPELINE, BY_MANAGER = "Pipeline", "Manager"
GROUPINGS = (BY_PIPELINE, BY_MANAGER)
GROUP_FIELDS = {BY_PIPELINE: "pipeline", BY_MANAGER: "responsible"}
MEDIAN, P90 = 0.5, 0.9


def execute(filters: dict | None = None):
	filters = frappe._dict(filters or {})
	period = get_period(filters)
	group_by = choice(filters, "group_by", _("Group By"), GROUPINGS, BY_PIPELINE)
	pipeline = link_value(filters, "pipeline", "CRM Pipeline", _("Pipeline"))
	users = responsible_users(filters)
	field = GROUP_FIELDS[group_by]

	groups: dict[str | None, frappe._dict] = {}
	overall = frappe._dict(deals=0, amount=0.0, days=[], without_cycle=0)
	for count in won_deal_days(period, pipeline, users, field):
		group = groups.setdefault(
			count.grp or None, frappe._dict(deals=0, amount=0.0, days=[], without_cycle=0)
		)
		for target in (group, overall):
			target.deals += count.deals
			target.amount += flt(count.amount)
			if count.days is None or count.days < 0:
				target.without_cycle += count.deals
			else:
				target.days.append((count.days, count.deals))

	money = currency()
	links = Links(period, pipeline, users)
	data = [
		make_row(key, group, field, money, links)
		for key, group in sorted(
			groups.items(), key=lambda item: (-item[1].deals, item[0] is None, item[0] or "")
		)
	]
	message = None
	if overall.without_cycle:
		message = _(
			"Deals won before they were created in the CRM (imported history) count among the won deals but not in the days: {0}"
		).format(overall.without_cycle)
	return (
		get_columns(group_by),
		data,
		message,
		get_chart(data, field),
		get_summary(overall, money),
	)


def won_deal_days(period: Period, pipeline: str | None, users: list[str] | None, field: str) -> list[dict]:
	"""Deals won in the period per group and cycle length in days: how many, and their amount."""
	where = SQLConditions()
	where.add("`tabCRM Deal`.`stage_type` = %(won)s", won=WON)
	where.add("`tabCRM Deal`.`won_on` between %(start)s and %(end)s", start=period.start, end=period.end)
	if pipeline:
		where.add("`tabCRM Deal`.`pipeline` = %(pipeline)s", pipeline=pipeline)
	where.add_in("`tabCRM Deal`.`responsible`", "users", users)
	where.add(visible("CRM Deal"))
	return frappe.db.sql(
		f"""select `tabCRM Deal`.`{field}` as grp,
			datediff(`tabCRM Deal`.`won_on`, `tabCRM Deal`.`creation`) as days,
			count(*) as deals, sum(`tabCRM Deal`.`amount`) as amount
		from `tabCRM Deal`
		where {where.sql()}
		group by grp, days""",
		where.values,
		as_dict=True,
	)


def cycle(group: dict) -> tuple[float | None, float | None]:
	"""Median and 90th percentile of the group's days (exact to 0.1 day: see simple_crm.utils.percentiles)."""
	median, p90 = percentiles(group.days, (MEDIAN, P90))
	return (
		None if median is None else flt(median, 1),
		None if p90 is None else flt(p90, 1),
	)


class Links:
	"""Desk list addresses of the won deals behind a row."""

	def __init__(self, period: Period, pipeline: str | None, users: list[str] | None):
		self.filters = {
			"stage_type": WON,
			"won_on": period.between(),
			"pipeline": pipeline,
			"responsible": None if users is None else users[0] if len(users) == 1 else ["in", users],
		}

	def deals(self, field: str, value: str | None) -> str:
		return list_link("CRM Deal", {**self.filters, field: value or ["is", "not set"]})


def make_row(key: str | None, group: dict, field: str, money: str | None, links: Links) -> dict:
	median, p90 = cycle(group)
	row = {
		field: key,
		"deals": group.deals,
		"median_days": median,
		"p90_days": p90,
		"average_amount": flt(group.amount / group.deals, 2),
		"amount": flt(group.amount, 2),
		"currency": money,
		"deals_link": links.deals(field, key),
	}
	if field == "responsible":
		row["manager_name"] = get_fullname(key) if key else None
	return row


def get_columns(group_by: str) -> list[dict]:
	if group_by == BY_MANAGER:
		columns = [
			{
				"fieldname": "responsible",
				"label": _("Manager"),
				"fieldtype": "Link",
				"options": "User",
				"width": 220,
			},
			{"fieldname": "manager_name", "label": _("Manager Name"), "fieldtype": "Data", "width": 180},
		]
	else:
		columns = [
			{
				"fieldname": "pipeline",
				"label": _("Pipeline"),
				"fieldtype": "Link",
				"options": "CRM Pipeline",
				"width": 200,
			}
		]
	return [
		*columns,
		{"fieldname": "deals", "label": _("Won Deals"), "fieldtype": "Int", "width": 100},
		{
			"fieldname": "median_days",
			"label": _("Median Days"),
			"fieldtype": "Float",
			"precision": 1,
			"width": 120,
		},
		{
			"fieldname": "p90_days",
			"label": _("90th Percentile, Days"),
			"fieldtype": "Float",
			"precision": 1,
			"width": 160,
		},
		{
			"fieldname": "average_amount",
			"label": _("Average Amount"),
			"fieldtype": "Currency",
			"options": "currency",
			"width": 150,
		},
		{
			"fieldname": "amount",
			"label": _("Won Amount"),
			"fieldtype": "Currency",
			"options": "currency",
			"width": 150,
		},
	]


def get_chart(data: list[dict], field: str) -> dict | None:
	"""Median (and 90th percentile) days per pipeline or manager."""
	rows = [row for row in data if row["median_days"] is not None]
	if not rows:
		return None
	no_group = _("No Manager") if field == "responsible" else _("No Pipeline")
	return {
		"data": {
			"labels": [row.get("manager_name") or row[field] or no_group for row in rows],
			"datasets": [
				{"name": _("Median Days"), "values": [row["median_days"] for row in rows]},
				{"name": _("90th Percentile, Days"), "values": [row["p90_days"] for row in rows]},
			],
		},
		"type": "bar",
		"colors": ["#5e64ff", "#ffa00a"],
	}


def get_summary(overall: dict, money: str | None) -> list[dict]:
	median, p90 = cycle(overall)
	return [
		{"value": overall.deals, "label": _("Won Deals"), "datatype": "Int", "indicator": "Green"},
		{"value": median, "label": _("Median Days"), "datatype": "Float", "indicator": "Blue"},
		{"value": p90, "label": _("90th Percentile, Days"), "datatype": "Float", "indicator": "Blue"},
		{
			"value": flt(overall.amount / overall.deals, 2) if overall.deals else None,
			"label": _("Average Amount"),
			"datatype": "Currency",
			"currency": money,
			"indicator": "Green",
		},
	]
