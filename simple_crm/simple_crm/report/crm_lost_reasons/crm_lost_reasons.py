# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

"""Why deals are lost and leads disqualified: per lost reason and per the stage a deal was lost at.

- Lost deals: deals in a stage of type Lost whose `lost_on` (the day they were lost) is in the period,
  counted and their amounts summed.
- Disqualified leads: leads with the status Disqualified received in the period. A lead keeps no date of
  its disqualification (the controller stamps when it was received, first answered and converted, see
  CRMLead.set_first_response), so these are the leads of the period's intake that ended disqualified.

Shares are of the report's own total (the rows shown), so each share column adds up to 100%. Leads have
no pipeline and no stage: with a pipeline chosen only deals are shown, and grouped by stage the leads sit
in the row without a stage. Filters only narrow what the user may see (simple_crm.report_filters).
"""

import frappe
from frappe import _
from frappe.utils import flt

from simple_crm.pipelines import LOST
from simple_crm.report_filters import (
	Period,
	ReportFilterError,
	SQLConditions,
	choice,
	currency,
	get_period,
	link_value,
	list_link,
	require_permission,
	responsible_users,
	share,
	visible,
)

DISQUALIFIED = "Disqualified"
DEALS_AND_LEADS, DEALS, LEADS = "Deals and Leads", "Deals", "Leads"
KINDS = (DEALS_AND_LEADS, DEALS, LEADS)
BY_REASON, BY_STAGE, BY_REASON_AND_STAGE = "Reason", "Stage", "Reason and Stage"
GROUPINGS = (BY_REASON, BY_STAGE, BY_REASON_AND_STAGE)
GROUP_KEYS = {
	BY_REASON: ("lost_reason",),
	BY_STAGE: ("lost_at_stage",),
	BY_REASON_AND_STAGE: ("lost_reason", "lost_at_stage"),
}


def execute(filters: dict | None = None):
	filters = frappe._dict(filters or {})
	period = get_period(filters)
	kind = choice(filters, "kind", _("Records"), KINDS, DEALS_AND_LEADS)
	group_by = choice(filters, "group_by", _("Group By"), GROUPINGS, BY_REASON)
	pipeline = link_value(filters, "pipeline", "CRM Pipeline", _("Pipeline"))
	users = responsible_users(filters)
	if kind == LEADS and pipeline:
		frappe.throw(
			_("Leads have no pipeline: clear the pipeline filter to see disqualified leads"),
			ReportFilterError,
			title=_("Invalid Filter"),
		)
	with_deals = kind != LEADS
	with_leads = kind != DEALS and not pipeline
	if with_leads:
		require_permission("CRM Lead")
	if not with_deals:
		group_by = BY_REASON  # a lead has no stage

	counts = []
	if with_deals:
		counts += lost_deals(period, pipeline, users)
	if with_leads:
		counts += disqualified_leads(period, users)

	keys = GROUP_KEYS[group_by]
	rows = roll_up(counts, keys)
	total = totals(rows)
	links = Links(period, pipeline, users)
	money = currency()
	data = [make_row(row, total, links, keys, money, with_deals, with_leads) for row in sort_rows(rows)]
	message = None
	if kind == DEALS_AND_LEADS and pipeline:
		message = _("Leads have no pipeline: with a pipeline chosen, only its lost deals are shown.")
	return (
		get_columns(group_by, with_deals, with_leads),
		data,
		message,
		get_chart(counts, with_deals, with_leads),
		get_summary(total, money, with_deals, with_leads),
	)


# --- reading -----------------------------------------------------------------------------------------------


def lost_deals(period: Period, pipeline: str | None, users: list[str] | None) -> list[dict]:
	"""Lost deals per (reason, stage lost at): count and amount."""
	where = SQLConditions()
	where.add("`tabCRM Deal`.`stage_type` = %(lost)s", lost=LOST)
	where.add("`tabCRM Deal`.`lost_on` between %(start)s and %(end)s", start=period.start, end=period.end)
	if pipeline:
		where.add("`tabCRM Deal`.`pipeline` = %(pipeline)s", pipeline=pipeline)
	where.add_in("`tabCRM Deal`.`responsible`", "users", users)
	where.add(visible("CRM Deal"))
	return frappe.db.sql(
		f"""select `tabCRM Deal`.`lost_reason`, `tabCRM Deal`.`lost_at_stage`,
			count(*) as deals, sum(`tabCRM Deal`.`amount`) as amount, 0 as leads
		from `tabCRM Deal`
		where {where.sql()}
		group by `tabCRM Deal`.`lost_reason`, `tabCRM Deal`.`lost_at_stage`""",
		where.values,
		as_dict=True,
	)


def disqualified_leads(period: Period, users: list[str] | None) -> list[dict]:
	"""Disqualified leads received in the period, per reason."""
	where = SQLConditions()
	where.add("`tabCRM Lead`.`status` = %(status)s", status=DISQUALIFIED)
	where.add(
		"`tabCRM Lead`.`received_on` >= %(start)s and `tabCRM Lead`.`received_on` < %(after_end)s",
		start=period.first_moment,
		after_end=period.after_end,
	)
	where.add_in("`tabCRM Lead`.`responsible`", "users", users)
	where.add(visible("CRM Lead"))
	return frappe.db.sql(
		f"""select `tabCRM Lead`.`lost_reason`, null as lost_at_stage,
			0 as deals, 0 as amount, count(*) as leads
		from `tabCRM Lead`
		where {where.sql()}
		group by `tabCRM Lead`.`lost_reason`""",
		where.values,
		as_dict=True,
	)


# --- shaping -----------------------------------------------------------------------------------------------


def roll_up(counts: list[dict], keys: tuple[str, ...]) -> list[frappe._dict]:
	"""The counted groups added up per `keys` (a few rows: one per reason and stage)."""
	rows: dict[tuple, frappe._dict] = {}
	for count in counts:
		key = tuple(count.get(k) or None for k in keys)
		row = rows.setdefault(
			key, frappe._dict(dict(zip(keys, key, strict=True)), deals=0, amount=0.0, leads=0)
		)
		row.deals += int(count.deals or 0)
		row.amount += flt(count.amount)
		row.leads += int(count.leads or 0)
	return list(rows.values())


def totals(rows: list[dict]) -> frappe._dict:
	return frappe._dict(
		deals=sum(r.deals for r in rows),
		amount=sum(r.amount for r in rows),
		leads=sum(r.leads for r in rows),
	)


def sort_rows(rows: list[dict]) -> list[dict]:
	"""Most lost first; rows without a reason or stage after the named ones."""
	return sorted(
		rows,
		key=lambda r: (
			-(r.deals + r.leads),
			-r.amount,
			r.get("lost_reason") is None,
			r.get("lost_reason") or "",
			r.get("lost_at_stage") is None,
			r.get("lost_at_stage") or "",
		),
	)


class Links:
	"""Desk list addresses of the records behind a row."""

	def __init__(self, period: Period, pipeline: str | None, users: list[str] | None):
		self.period, self.pipeline = period, pipeline
		self.responsible = None if users is None else users[0] if len(users) == 1 else ["in", users]

	@staticmethod
	def _value(value):
		return value if value else ["is", "not set"]

	def deals(self, row: dict, keys: tuple[str, ...]) -> str:
		filters = {"stage_type": LOST, "lost_on": self.period.between()}
		for key in keys:
			filters[key] = self._value(row.get(key))
		filters.update(pipeline=self.pipeline, responsible=self.responsible)
		return list_link("CRM Deal", filters)

	def leads(self, row: dict, keys: tuple[str, ...]) -> str:
		filters = {"status": DISQUALIFIED, "received_on": self.period.between()}
		if "lost_reason" in keys:
			filters["lost_reason"] = self._value(row.get("lost_reason"))
		filters["responsible"] = self.responsible
		return list_link("CRM Lead", filters)


def make_row(row, total, links: Links, keys, money: str | None, with_deals: bool, with_leads: bool) -> dict:
	out = {key: row.get(key) for key in keys}
	if with_deals:
		out.update(
			deals=row.deals,
			deals_share=share(row.deals, total.deals),
			amount=flt(row.amount, 2),
			amount_share=share(row.amount, total.amount),
			currency=money,
			deals_link=links.deals(row, keys) if row.deals else None,
		)
	if with_leads:
		out.update(
			leads=row.leads,
			leads_share=share(row.leads, total.leads),
			leads_link=links.leads(row, keys) if row.leads else None,
		)
	if with_deals and with_leads:
		out.update(
			total=row.deals + row.leads,
			total_share=share(row.deals + row.leads, total.deals + total.leads),
		)
	return out


def get_columns(group_by: str, with_deals: bool, with_leads: bool) -> list[dict]:
	columns = []
	if "lost_reason" in GROUP_KEYS[group_by]:
		columns.append(
			{
				"fieldname": "lost_reason",
				"label": _("Lost Reason"),
				"fieldtype": "Link",
				"options": "CRM Lost Reason",
				"width": 200,
			}
		)
	if "lost_at_stage" in GROUP_KEYS[group_by]:
		columns.append(
			{"fieldname": "lost_at_stage", "label": _("Lost at Stage"), "fieldtype": "Data", "width": 160}
		)
	if with_deals:
		columns += [
			{"fieldname": "deals", "label": _("Lost Deals"), "fieldtype": "Int", "width": 110},
			{"fieldname": "deals_share", "label": _("Deals, %"), "fieldtype": "Percent", "width": 100},
			{
				"fieldname": "amount",
				"label": _("Lost Amount"),
				"fieldtype": "Currency",
				"options": "currency",
				"width": 150,
			},
			{"fieldname": "amount_share", "label": _("Amount, %"), "fieldtype": "Percent", "width": 100},
		]
	if with_leads:
		columns += [
			{"fieldname": "leads", "label": _("Disqualified Leads"), "fieldtype": "Int", "width": 140},
			{"fieldname": "leads_share", "label": _("Leads, %"), "fieldtype": "Percent", "width": 100},
		]
	if with_deals and with_leads:
		columns += [
			{"fieldname": "total", "label": _("Deals and Leads"), "fieldtype": "Int", "width": 130},
			{"fieldname": "total_share", "label": _("Of All, %"), "fieldtype": "Percent", "width": 100},
		]
	return columns


def get_chart(counts: list[dict], with_deals: bool, with_leads: bool) -> dict | None:
	"""Lost deals and disqualified leads per reason, whatever the rows are grouped by."""
	rows = sort_rows(roll_up(counts, ("lost_reason",)))
	if not rows:
		return None
	datasets = []
	if with_deals:
		datasets.append({"name": _("Lost Deals"), "values": [r.deals for r in rows]})
	if with_leads:
		datasets.append({"name": _("Disqualified Leads"), "values": [r.leads for r in rows]})
	return {
		"data": {"labels": [r.lost_reason or _("No Reason") for r in rows], "datasets": datasets},
		"type": "bar",
		"barOptions": {"stacked": 1},
		"colors": (["#e24c4c"] if with_deals else []) + (["#f8814f"] if with_leads else []),
	}


def get_summary(total, money: str | None, with_deals: bool, with_leads: bool) -> list[dict]:
	summary = []
	if with_deals:
		summary += [
			{"value": total.deals, "label": _("Lost Deals"), "datatype": "Int", "indicator": "Red"},
			{
				"value": flt(total.amount, 2),
				"label": _("Lost Amount"),
				"datatype": "Currency",
				"currency": money,
				"indicator": "Red",
			},
		]
	if with_leads:
		summary.append(
			{"value": total.leads, "label": _("Disqualified Leads"), "datatype": "Int", "indicator": "Orange"}
		)
	return summary
