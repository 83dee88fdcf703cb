"""SMS from the Desk and REST clients: to one record (its form), to a selection (its list), and Frappe's own
SMS dialog. The work is in simple_crm.integrations.sms; messages are queued here and sent in the background."""

import frappe
from frappe import _

from simple_crm.integrations import sms
from simple_crm.security.input import checked_arguments


@frappe.whitelist(methods=["GET"])
def options() -> dict:
	"""What the Send SMS dialog of a list needs to know: whether SMS are on, the longest message and the most
	records in one send."""
	values = sms.config()
	return {"enabled": values.enabled, "max_parts": values.max_parts, "bulk_limit": values.bulk_limit}


@frappe.whitelist(methods=["GET"])
@checked_arguments
def recipients(doctype: str, name: str) -> dict:
	"""What the Send SMS dialog of a record offers: the record's mobile numbers and the longest message."""
	values = sms.config()
	doctype = sms.check_doctype(doctype)
	[name] = sms.visible_records(doctype, [name])
	return {
		"enabled": values.enabled,
		"phones": sms.record_numbers(doctype, [name])[name],
		"max_parts": values.max_parts,
		"bulk_limit": values.bulk_limit,
	}


@frappe.whitelist(methods=["POST"])
@checked_arguments
def send(doctype: str, name: str, message: str, phone: str | None = None) -> dict:
	"""Queue an SMS to one contact, lead or client the user can see: at `phone`, one of the record's mobile
	numbers, or at its preferred one. Returns how many were queued and the numbers."""
	return sms.send_to_record(doctype, name, message, phone or None)


@frappe.whitelist(methods=["POST"])
@checked_arguments
def send_bulk(doctype: str, names: list | str, message: str) -> dict:
	"""Queue the same SMS to records chosen in a list (all of them visible to the user, at most the limit of
	Simple CRM Settings). Returns how many were queued and the records skipped, with the reason."""
	return sms.send_to_records(doctype, names, message)


@frappe.whitelist(methods=["POST"])
def frappe_send_sms(receiver_list, msg, sender_name: str = "", success_msg: bool = True):
	"""Frappe's `send_sms` (its SMS dialog) sends any text to any number at the company's expense: here only a
	System Manager may, and while the CRM's SMS channel is on it is queued and logged as the CRM's own."""
	from frappe.core.doctype.sms_settings import sms_settings

	if "System Manager" not in frappe.get_roles():
		frappe.throw(
			_("Send SMS to a contact, lead or client from its form or list"),
			frappe.PermissionError,
			title=_("Not Permitted"),
		)
	if not sms.config().enabled:
		return sms_settings.send_sms(receiver_list, msg, sender_name, success_msg)
	receivers = frappe.parse_json(receiver_list) if isinstance(receiver_list, str) else receiver_list
	if not isinstance(receivers, list):
		receivers = [receivers]
	queued = sms.queue_for_frappe(receivers, msg if isinstance(msg, str) else "", "SMS dialog")
	if frappe.utils.cint(success_msg):
		frappe.msgprint(_("SMS queued: {0}").format(len(queued)))
	return {"queued": len(queued)}
