# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

# import frappe
from frappe.model.document import Document


class CRMLead(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		campaign: DF.Data | None
		channel: DF.Literal["", "Website", "Phone", "Email", "Messenger", "Social", "Referral", "Exhibition", "Other"]
		client: DF.Link | None
		company_name: DF.Data | None
		contact: DF.Link | None
		converted_on: DF.Datetime | None
		deal: DF.Link | None
		email: DF.Data | None
		first_response_on: DF.Datetime | None
		interest: DF.SmallText | None
		lead_name: DF.Data
		lost_comment: DF.SmallText | None
		lost_reason: DF.Link | None
		mobile_no: DF.Data | None
		mobile_no_normalized: DF.Data | None
		phone: DF.Data | None
		phone_normalized: DF.Data | None
		received_on: DF.Datetime | None
		responsible: DF.Link | None
		source: DF.Link | None
		status: DF.Literal["New", "In Progress", "Qualified", "Converted", "Disqualified"]
		utm_campaign: DF.Data | None
		utm_content: DF.Data | None
		utm_medium: DF.Data | None
		utm_source: DF.Data | None
		utm_term: DF.Data | None
		website: DF.Data | None
	# end: auto-generated types
	pass
