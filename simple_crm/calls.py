"""Who is on the line: linking a call to the lead, client or contact its number belongs to."""

import frappe

from simple_crm.duplicates import drop_converted_leads, lookup


def client_of_contact(contact: str) -> str | None:
	"""The client a contact works for, if exactly one."""
	clients = frappe.get_all(
		"Dynamic Link",
		filters={"parenttype": "Contact", "parent": contact, "link_doctype": "CRM Client"},
		pluck="link_name",
		distinct=True,
	)
	return clients[0] if len(clients) == 1 else None


def find_caller(phone_normalized: str | None) -> dict | None:
	"""The record a normalised number belongs to, from the CRM Contact Point index, if it is one.

	One record is one lead, or one client (together with at most one of its contacts, since a
	client that is a person shares the number with its contact). A lead that has been converted is
	left out: its client and contact carry the number now. Anything ambiguous gives None.
	"""
	if not phone_normalized:
		return None
	matches = drop_converted_leads(lookup({("Phone", phone_normalized)}))
	leads, clients, contacts = set(), set(), set()
	for match in matches:
		doctype, name = match.reference_doctype, match.reference_name
		if doctype == "CRM Lead":
			leads.add(name)
		elif doctype == "CRM Client":
			clients.add(name)
		elif doctype == "Contact":
			contacts.add(name)
			client = client_of_contact(name)
			if client:
				clients.add(client)
		elif doctype == "CRM Counterparty":
			client = frappe.db.get_value("CRM Counterparty", name, "client")
			if not client:
				return None
			clients.add(client)
	if leads:
		return {"lead": leads.pop()} if len(leads) == 1 and not clients and not contacts else None
	if len(clients) > 1 or len(contacts) > 1 or not (clients or contacts):
		return None
	return {"client": next(iter(clients), None), "contact": next(iter(contacts), None)}
