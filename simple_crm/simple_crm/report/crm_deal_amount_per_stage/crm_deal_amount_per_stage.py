# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

"""The average deal amount per stage of a pipeline: of the open deals standing in it today, and of the
deals at the moment they entered it in the period.

One row per stage of the pipeline, in its order (won and lost included):

- **Open deals now**, their **amount** and **average amount**: the deals of the pipeline in the stage
  today (for the won and lost stages: none, they are not open);
- **Entered in the period**, their **average amount when entering**: the stays in the stage that began
  in the period (a deal that entered twice counts twice), with the deal's amount at that moment, as the
  stage history recorded it (simple_crm.stage_history).

Deals are those the user may see and the manager and team filters keep (by the deal's responsible
manager today). Averages are of the rows that have an amount (a deal without one counts as 0).
"""

import frappe
from frappe import _
from frappe.utils import flt

from simple_crm import pipelines
from simple_crm.pipelines import OPEN
from simple_crm.report_filters import (
	Period,
	SQLConditions,
	currency,
	get_period,
	list_link,
	responsible_users,
	visible,
)
from simple_crm.simple_crm.report.crm_sales_funnel.crm_sales_funnel import get_pipeline
from simple_crm.stage_history import stays_query


def execute(filters: dict | None = None):
	filters = frappe._dict(filters or {})
	period = get_period(filters)
	pipeline = get_pipeline(filters)
	users = responsible_users(filters)
	money = currency()

	now = {row.stage: row for row in open_deals_now(pipeline, users)}
	entered = {row.stage: row for row in stays_entered(period, pipeline, users)}
	data = []
	for stage in pipelines.get_stages(pipeline):
		current = now.get(stage.stage_name) if stage.stage_type == OPEN else None
		stays = entered.get(stage.stage_name)
		data.append(
			{
				"stage": stage.stage_name,
				"stage_label": _(stage.stage_name),
				"stage_type": stage.stage_type,
				"open_deals": current.deals if current else 0,
				"open_amount": flt(current.amount, 2) if current else 0,
				"open_average": average(current),
				"entered": stays.deals if stays else 0,
				"entered_average": average(stays),
				"open_deals_link": deals_link(pipeline, users, stage.stage_name),
				"currency": money,
			}
		)
	return get_columns(), data, None, get_chart(data), get_summary(data, money)


def conditions(users: list[str] | None) -> SQLConditions:
	where = SQLConditions()
	where.add_in("`tabCRM Deal`.`responsible`", "users", users)
	where.add(visible("CRM Deal"))
	return where


def open_deals_now(pipeline: str, users: list[str] | None) -> list[dict]:
	where = conditions(users)
	where.add("`tabCRM Deal`.`pipeline` = %(pipeline)s", pipeline=pipeline)
	where.add("`tabCRM Deal`.`stage_type` = %(open)s", open=OPEN)
	return frappe.db.sql(
		f"""select `tabCRM Deal`.`stage`, count(*) as deals, sum(`tabCRM Deal`.`amount`) as amount
		from `tabCRM Deal` where {where.sql()} group by `tabCRM Deal`.`stage`""",
		where.values,
		as_dict=True,
	)


def stays_entered(period: Period, pipeline: str, users: list[str] | None) -> list[dict]:
	"""Stays that began in the period per stage, with the amounts at entry, of the deals the user may see and
	the manager filter keeps: from the history's indexes alone (simple_crm.stage_history.stays_query)."""
	where = SQLConditions()
	where.add("`history`.`pipeline` = %(pipeline)s", pipeline=pipeline)
	where.add(
		"`history`.`entered_on` >= %(start)s and `history`.`entered_on` < %(after_end)s",
		start=period.first_moment,
		after_end=period.after_end,
	)
	return stays_query(
		"`history`.`stage`, count(*) as deals, sum(`history`.`amount`) as amount",
		"`history`.`stage`",
		where,
		users,
		("stage", "amount"),
		responsible_index="entered_responsible_index",
	)


def average(row: dict | None) -> float | None:
	if not row or not row.deals:
		return None
	return flt(flt(row.amount) / row.deals, 2)


def deals_link(pipeline: str, users: list[str] | None, stage: str) -> str:
	return list_link(
		"CRM Deal",
		{
			"pipeline": pipeline,
			"stage": stage,
			"responsible": None if users is None else users[0] if len(users) == 1 else ["in", users],
		},
	)


def get_columns() -> list[dict]:
	money = {"fieldtype": "Currency", "options": "currency", "width": 170}
	return [
		{"fieldname": "stage_label", "label": _("Stage"), "fieldtype": "Data", "width": 200},
		{"fieldname": "open_deals", "label": _("Open Deals Now"), "fieldtype": "Int", "width": 130},
		{"fieldname": "open_amount", "label": _("Their Amount"), **money},
		{"fieldname": "open_average", "label": _("Average Amount Now"), **money},
		{"fieldname": "entered", "label": _("Entered in Period"), "fieldtype": "Int", "width": 140},
		{"fieldname": "entered_average", "label": _("Average Amount When Entering"), **money, "width": 220},
	]


def get_chart(data: list[dict]) -> dict | None:
	if not any(row["open_average"] or row["entered_average"] for row in data):
		return None
	return {
		"data": {
			"labels": [row["stage_label"] for row in data],
			"datasets": [
				{"name": _("Average Amount Now"), "values": [row["open_average"] or 0 for row in data]},
				{
					"name": _("Average Amount When Entering"),
					"values": [row["entered_average"] or 0 for row in data],
				},
			],
		},
		"type": "bar",
		"colors": ["#5e64ff", "#ffa00a"],
	}


def get_summary(data: list[dict], money: str | None) -> list[dict]:
	deals = sum(row["open_deals"] for row in data)
	amount = sum(row["open_amount"] for row in data)
	return [
		{"value": deals, "label": _("Open Deals Now"), "datatype": "Int", "indicator": "Blue"},
		{
			"value": flt(amount, 2),
			"label": _("Open Amount"),
			"datatype": "Currency",
			"currency": money,
			"indicator": "Blue",
		},
		{
			"value": flt(amount / deals, 2) if deals else None,
			"label": _("Average Open Deal"),
			"datatype": "Currency",
			"currency": money,
			"indicator": "Green",
		},
	]
