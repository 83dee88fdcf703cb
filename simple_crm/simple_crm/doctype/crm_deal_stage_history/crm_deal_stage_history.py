# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document


class CRMDealStageHistory(Document):
	"""Written by the deal only (simple_crm.stage_history): nobody creates or edits a row by hand."""

	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		amount: DF.Currency
		currency: DF.Link | None
		days_in_stage: DF.Float
		deal: DF.Link
		deal_creation: DF.Datetime | None
		deal_responsible: DF.Link | None
		entered_on: DF.Datetime | None
		left_on: DF.Datetime | None
		moved_by: DF.Link | None
		next_stage: DF.Data | None
		pipeline: DF.Link | None
		responsible: DF.Link | None
		stage: DF.Data | None
		stage_order: DF.Int
		stage_type: DF.Literal["", "Open", "Won", "Lost"]
	# end: auto-generated types

	pass


def on_doctype_update():
	# the funnel reads the stays of a period's deals per deal; the deal's own history is read by deal
	frappe.db.add_index("CRM Deal Stage History", ["deal", "entered_on"], "deal_entered_on_index")
	# the funnel reads the finished stays of a period's new deals (by the deal's creation) per stage and days
	frappe.db.add_index(
		"CRM Deal Stage History",
		["pipeline", "deal_creation", "stage", "days_in_stage", "left_on", "deal"],
		"funnel_stay_index",
	)
	# a manager's or a team's stays (by the deal's responsible manager today), for the funnel (a period's new
	# deals) and the amount-per-stage report (the stays that began in a period), from an index alone
	frappe.db.add_index(
		"CRM Deal Stage History",
		["pipeline", "deal_responsible", "deal_creation", "stage", "days_in_stage", "left_on"],
		"funnel_responsible_index",
	)
	frappe.db.add_index(
		"CRM Deal Stage History",
		["pipeline", "deal_responsible", "entered_on", "stage", "amount"],
		"entered_responsible_index",
	)
	# the amount-per-stage report reads the stays that began in a period per pipeline and stage
	frappe.db.add_index(
		"CRM Deal Stage History",
		["pipeline", "entered_on", "stage", "amount", "deal"],
		"pipeline_entered_on_index",
	)
