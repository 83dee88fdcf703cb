# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

"""Where leads come from and what they bring: per lead source and channel, optionally per UTM tag.

The leads are those received in the period (`received_on`), counted per source and channel (the lead's
own channel: a manager may set another one than its source's); converted are those of them whose status is
Converted now. Conversion is converted / received. Revenue is the amount of the won deals made from those
leads (CRM Deal.source_lead), whenever the deal was won, and won deals their number: the period picks the
leads, the deals follow them.

Rows count what the user may see: leads under the lead's row-level condition, deals under the deal's as
well. Manager and team narrow the leads (their responsible manager); the revenue of a lead's deals counts
for the lead's row whoever works the deal now.
"""

import frappe
from frappe import _
from frappe.utils import flt

from simple_crm.constants import LEAD_CONVERTED
from simple_crm.pipelines import WON
from simple_crm.report_filters import (
	Period,
	SQLConditions,
	choice,
	currency,
	get_period,
	list_link,
	require_permission,
	responsible_users,
	share,
	visible,
)

# group-by choice -> the lead's UTM field
UTM_FIELDS = {"UTM Source": "utm_source", "UTM Medium": "utm_medium", "UTM Campaign": "utm_campaign"}
GROUPINGS = ("", *UTM_FIELDS)


def execute(filters: dict | None = None):
	filters = frappe._dict(filters or {})
	period = get_period(filters)
	users = responsible_users(filters)
	group_by = choice(filters, "group_by", _("Group By"), GROUPINGS, "")
	utm = UTM_FIELDS.get(group_by)
	require_permission("CRM Deal")  # the revenue is read from deals

	keys = ("source", "channel", *((utm,) if utm else ()))
	rows: dict[tuple, frappe._dict] = {}
	for count in received_leads(period, users, utm):
		row = row_of(rows, count, keys)
		row.leads += count.leads
		row.converted += int(count.converted or 0)
	for count in won_deals(period, users, utm):
		# a won deal's lead is one of the leads counted (the same conditions on the lead)
		row = row_of(rows, count, keys)
		row.won_deals += count.won_deals
		row.revenue += flt(count.revenue)

	ordered = sorted(
		rows.values(),
		key=lambda r: (-r.leads, -r.revenue, r.source is None, r.source or "", r.channel or ""),
	)
	money = currency()
	links = Links(period, users, utm)
	data = [make_row(row, utm, money, links) for row in ordered]
	return (
		get_columns(group_by, utm),
		data,
		None,
		get_chart(ordered),
		get_summary(ordered, money),
	)


def row_of(rows: dict, count: dict, keys: tuple[str, ...]) -> frappe._dict:
	"""The report row of a counted group; an empty value and no value are one group (not set)."""
	key = tuple(count.get(k) or None for k in keys)
	if key not in rows:
		rows[key] = frappe._dict(zip(keys, key, strict=True), leads=0, converted=0, won_deals=0, revenue=0.0)
	return rows[key]


# --- reading -----------------------------------------------------------------------------------------------


def lead_conditions(period: Period, users: list[str] | None) -> SQLConditions:
	where = SQLConditions()
	where.add(
		"`tabCRM Lead`.`received_on` >= %(start)s and `tabCRM Lead`.`received_on` < %(after_end)s",
		start=period.first_moment,
		after_end=period.after_end,
	)
	where.add_in("`tabCRM Lead`.`responsible`", "users", users)
	where.add(visible("CRM Lead"))
	return where


def group_columns(utm: str | None) -> str:
	columns = "`tabCRM Lead`.`source`, `tabCRM Lead`.`channel`"
	return f"{columns}, `tabCRM Lead`.`{utm}`" if utm else columns


def received_leads(period: Period, users: list[str] | None, utm: str | None) -> list[dict]:
	"""Leads received in the period and how many of them are converted, per source, channel (and UTM)."""
	where = lead_conditions(period, users)
	where.values["converted"] = LEAD_CONVERTED
	return frappe.db.sql(
		f"""select {group_columns(utm)}, count(*) as leads,
			sum(`tabCRM Lead`.`status` = %(converted)s) as converted
		from `tabCRM Lead`
		where {where.sql()}
		group by {group_columns(utm)}""",
		where.values,
		as_dict=True,
	)


def won_deals(period: Period, users: list[str] | None, utm: str | None) -> list[dict]:
	"""Won deals made from those leads: their number and amount, per the lead's source, channel (and UTM)."""
	where = lead_conditions(period, users)
	# the won deals that have a lead, read from the index (stage_type, source_lead, ...) alone
	where.add("`tabCRM Deal`.`stage_type` = %(won)s and `tabCRM Deal`.`source_lead` is not null", won=WON)
	where.add(visible("CRM Deal"))
	return frappe.db.sql(
		f"""select {group_columns(utm)}, count(*) as won_deals, sum(`tabCRM Deal`.`amount`) as revenue
		from `tabCRM Deal`
		join `tabCRM Lead` on `tabCRM Lead`.`name` = `tabCRM Deal`.`source_lead`
		where {where.sql()}
		group by {group_columns(utm)}""",
		where.values,
		as_dict=True,
	)


# --- shaping -----------------------------------------------------------------------------------------------


class Links:
	"""Desk list addresses of the leads behind a row."""

	def __init__(self, period: Period, users: list[str] | None, utm: str | None):
		self.period, self.utm = period, utm
		self.responsible = None if users is None else users[0] if len(users) == 1 else ["in", users]

	def leads(self, row: dict, **extra) -> str:
		filters = {"received_on": self.period.between()}
		for key in ("source", "channel", *((self.utm,) if self.utm else ())):
			filters[key] = row.get(key) or ["is", "not set"]
		filters.update(responsible=self.responsible, **extra)
		return list_link("CRM Lead", filters)


def make_row(row, utm: str | None, money: str | None, links: Links) -> dict:
	out = {
		"source": row.source,
		"channel": _(row.channel, context="CRM Lead") if row.channel else None,
		"leads": row.leads,
		"converted": row.converted,
		"conversion": share(row.converted, row.leads),
		"won_deals": row.won_deals,
		"revenue": flt(row.revenue, 2),
		"currency": money,
		"leads_link": links.leads(row),
		"converted_link": links.leads(row, status=LEAD_CONVERTED) if row.converted else None,
	}
	if utm:
		out["utm"] = row.get(utm)
	return out


def get_columns(group_by: str, utm: str | None) -> list[dict]:
	columns = [
		{
			"fieldname": "source",
			"label": _("Source"),
			"fieldtype": "Link",
			"options": "CRM Lead Source",
			"width": 180,
		},
		{"fieldname": "channel", "label": _("Channel"), "fieldtype": "Data", "width": 120},
	]
	if utm:
		columns.append({"fieldname": "utm", "label": _(group_by), "fieldtype": "Data", "width": 160})
	columns += [
		{"fieldname": "leads", "label": _("Leads Received"), "fieldtype": "Int", "width": 120},
		{"fieldname": "converted", "label": _("Converted"), "fieldtype": "Int", "width": 110},
		{"fieldname": "conversion", "label": _("Conversion, %"), "fieldtype": "Percent", "width": 120},
		{"fieldname": "won_deals", "label": _("Won Deals"), "fieldtype": "Int", "width": 100},
		{
			"fieldname": "revenue",
			"label": _("Revenue"),
			"fieldtype": "Currency",
			"options": "currency",
			"width": 150,
		},
	]
	return columns


def get_chart(rows: list[dict]) -> dict | None:
	"""Each source's share of the leads and of the revenue, side by side: counts and money on one axis
	would hide one of them, shares put both on 0-100% and show a source that brings many leads but
	little revenue (or the other way round)."""
	per_source: dict[str | None, list] = {}
	for row in rows:
		leads_revenue = per_source.setdefault(row.source, [0, 0.0])
		leads_revenue[0] += row.leads
		leads_revenue[1] += flt(row.revenue)
	if not per_source:
		return None
	all_leads = sum(v[0] for v in per_source.values())
	all_revenue = sum(v[1] for v in per_source.values())
	return {
		"data": {
			"labels": [source or _("No Source") for source in per_source],
			"datasets": [
				{
					"name": _("Leads, % of all"),
					"values": [share(v[0], all_leads) or 0 for v in per_source.values()],
				},
				{
					"name": _("Revenue, % of all"),
					"values": [share(v[1], all_revenue) or 0 for v in per_source.values()],
				},
			],
		},
		"type": "bar",
		"colors": ["#5e64ff", "#29cd42"],
	}


def get_summary(rows: list[dict], money: str | None) -> list[dict]:
	leads = sum(r.leads for r in rows)
	converted = sum(r.converted for r in rows)
	return [
		{"value": leads, "label": _("Leads Received"), "datatype": "Int", "indicator": "Blue"},
		{"value": converted, "label": _("Converted"), "datatype": "Int", "indicator": "Green"},
		{
			"value": share(converted, leads),
			"label": _("Conversion, %"),
			"datatype": "Percent",
			"indicator": "Green",
		},
		{
			"value": sum(r.won_deals for r in rows),
			"label": _("Won Deals"),
			"datatype": "Int",
			"indicator": "Green",
		},
		{
			"value": flt(sum(flt(r.revenue) for r in rows), 2),
			"label": _("Revenue"),
			"datatype": "Currency",
			"currency": money,
			"indicator": "Green",
		},
	]
