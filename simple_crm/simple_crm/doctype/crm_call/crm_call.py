# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

# import frappe
from frappe.model.document import Document


class CRMCall(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		call_id: DF.Data | None
		call_status: DF.Literal["Answered", "Missed"]
		client: DF.Link | None
		comment: DF.SmallText | None
		contact: DF.Link | None
		deal: DF.Link | None
		direction: DF.Literal["Inbound", "Outbound"]
		duration: DF.Duration | None
		lead: DF.Link | None
		manager: DF.Link | None
		phone: DF.Data
		phone_normalized: DF.Data | None
		recording_url: DF.Data | None
		result: DF.Data | None
		started_at: DF.Datetime
		topic: DF.Data | None
	# end: auto-generated types
	pass
