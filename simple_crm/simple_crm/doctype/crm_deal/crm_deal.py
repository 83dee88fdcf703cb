# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

# import frappe
from frappe.model.document import Document


class CRMDeal(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF
		from simple_crm.simple_crm.doctype.crm_deal_competitor.crm_deal_competitor import CRMDealCompetitor
		from simple_crm.simple_crm.doctype.crm_deal_contact.crm_deal_contact import CRMDealContact
		from simple_crm.simple_crm.doctype.crm_deal_item.crm_deal_item import CRMDealItem
		from simple_crm.simple_crm.doctype.crm_deal_manager.crm_deal_manager import CRMDealManager

		amount: DF.Currency
		client: DF.Link | None
		co_managers: DF.Table[CRMDealManager]
		competitors: DF.Table[CRMDealCompetitor]
		contacts: DF.Table[CRMDealContact]
		counterparty: DF.Link | None
		currency: DF.Link | None
		deal_name: DF.Data | None
		expected_close_date: DF.Date | None
		items: DF.Table[CRMDealItem]
		items_total: DF.Currency
		lost_at_stage: DF.Data | None
		lost_comment: DF.SmallText | None
		lost_on: DF.Date | None
		lost_reason: DF.Link | None
		pipeline: DF.Link
		probability: DF.Percent
		responsible: DF.Link | None
		source_lead: DF.Link | None
		stage: DF.Literal[None]
		stage_type: DF.Literal["", "Open", "Won", "Lost"]
		won_on: DF.Date | None
	# end: auto-generated types
	pass
