"""Telephony endpoints: the PBX's call events (public, signed) and the Desk's Call button.

The logic lives in simple_crm.integrations.telephony (the CRM's own event format, recording a call) and
simple_crm.integrations.zadarma (Zadarma's notifications and API)."""

import frappe
from frappe.rate_limiter import rate_limit

from simple_crm.integrations import telephony
from simple_crm.integrations import zadarma as zadarma_adapter
from simple_crm.security.input import checked_arguments


@frappe.whitelist(allow_guest=True, methods=["POST"])
@rate_limit(limit=telephony.RATE_LIMIT, seconds=60)
def event():
	"""A call event in the CRM's format, signed with HMAC-SHA256 of the body (header X-CRM-Signature)."""
	return telephony.receive_event()


@frappe.whitelist(allow_guest=True, methods=["GET", "POST"])
@rate_limit(limit=telephony.RATE_LIMIT, seconds=60)
def zadarma():
	"""Zadarma's call notifications (POST, signed) and its check of the URL (GET ?zd_echo=)."""
	return zadarma_adapter.receive()


@frappe.whitelist(methods=["GET"])
@checked_arguments
def call_options(doctype: str, name: str) -> dict:
	"""The numbers a record can be called at, and whether the PBX can ring the user first."""
	return telephony.call_options(doctype, name)


@frappe.whitelist(methods=["POST"])
@checked_arguments
def start_call(doctype: str, name: str, phone: str | None = None) -> dict:
	"""Click-to-call: the PBX rings the user's extension, then the record's number (in the background)."""
	return telephony.start_call(doctype, name, phone or None)


@frappe.whitelist(methods=["POST"])
@checked_arguments
def log_call(
	doctype: str,
	name: str,
	phone: str,
	direction: str = "Outbound",
	call_status: str = "Answered",
	duration: int = 0,
	topic: str | None = None,
	result: str | None = None,
	comment: str | None = None,
) -> str:
	"""Log a call about a lead, client, contact or deal the user can see; returns the CRM Call."""
	return telephony.log_call(doctype, name, phone, direction, call_status, duration, topic, result, comment)


@frappe.whitelist(methods=["GET"])
@checked_arguments
def recording(call: str):
	"""Play the recording of a call kept on the PBX (a redirect to a fresh link)."""
	return zadarma_adapter.recording_redirect(call)
