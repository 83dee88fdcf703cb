# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class CRMIntegrationLog(Document):
	"""Written by simple_crm.integrations.common only: one row per message a channel received or sent."""

	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		attempts: DF.Int
		channel: DF.Literal["Web Form", "Website API", "Telephony", "E-mail", "SMS", "Telegram", "Accounting"]
		direction: DF.Literal["Inbound", "Outbound"]
		error: DF.SmallText | None
		event_id: DF.Data | None
		inquiry: DF.Code | None
		next_attempt_on: DF.Datetime | None
		payload: DF.Code | None
		received_on: DF.Datetime | None
		reference_doctype: DF.Link | None
		reference_name: DF.DynamicLink | None
		remote_address: DF.Data | None
		status: DF.Literal[
			"Received", "Processed", "Duplicate", "Rejected", "Queued", "Sent", "Delivered", "Failed"
		]
		summary: DF.SmallText | None
	# end: auto-generated types

	pass


def on_doctype_update():
	"""The retry and delivery jobs of the outgoing channels read the rows of one channel and direction in
	a given status, due by next_attempt_on."""
	import frappe

	frappe.db.add_index(
		"CRM Integration Log",
		["channel", "direction", "status", "next_attempt_on"],
		"channel_status_due_index",
	)
