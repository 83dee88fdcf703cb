"""Lead actions for the Desk and REST clients."""

import frappe

from simple_crm.conversion import convert_lead
from simple_crm.security.input import checked_arguments


@frappe.whitelist(methods=["POST"])
@checked_arguments
def convert(
	lead: str,
	client_type: str = "Organisation",
	create_deal: bool = True,
	deal_amount: float | None = None,
	existing_client: str | None = None,
	existing_contact: str | None = None,
) -> dict:
	"""Convert a lead into a client, a contact and (optionally) a deal; returns their names.

	The user must be able to change the lead, to create what the conversion creates, and to see the
	client and change the contact they ask to reuse.
	"""
	frappe.has_permission("CRM Lead", "write", lead, throw=True)
	if existing_client:
		frappe.has_permission("CRM Client", "read", existing_client, throw=True)
	else:
		frappe.has_permission("CRM Client", "create", throw=True)
	if existing_contact:
		frappe.has_permission("Contact", "write", existing_contact, throw=True)
	else:
		frappe.has_permission("Contact", "create", throw=True)
	if create_deal:
		frappe.has_permission("CRM Deal", "create", throw=True)

	return convert_lead(
		lead,
		client_type=client_type,
		create_deal=create_deal,
		deal_amount=deal_amount,
		existing_client=existing_client or None,
		existing_contact=existing_contact or None,
	)
