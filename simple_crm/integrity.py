"""What may not be deleted while other records depend on it.

Frappe already refuses to delete a record that a live Link or Dynamic Link field points at
(`check_if_doc_is_linked` / `check_if_doc_is_dynamically_linked` in frappe.model.delete_doc): a client
with deals, orders, counterparties, calls or contacts (contacts link through Dynamic Link rows), a
deal with orders, a lead a client came from. It names the first record it finds and nothing else,
and it is skipped by `delete_doc(..., force=True)`.

The checks here run from `on_trash`, before Frappe's, and add what that check lacks:
- the whole list of what blocks the deletion, counted per kind, so the user knows what to move;
- a rule links cannot express: a converted lead is history and is never deleted.

Every error is a `frappe.LinkExistsError`, so the REST API answers 417 as for Frappe's own refusal.
Frappe's check stays in place behind these for links added later (a new doctype pointing at clients).
"""

import frappe
from frappe import _
from frappe.utils import get_link_to_form

from simple_crm.constants import APP_MODULE, LEAD_CONVERTED

SHOWN_PER_KIND = 5


class RecordInUseError(frappe.LinkExistsError):
	"""Other records depend on the one being deleted."""


class ClientInUseError(RecordInUseError):
	pass


class DealInUseError(RecordInUseError):
	pass


class ConvertedLeadDeletionError(frappe.LinkExistsError):
	pass


# (doctype, link field) pairs that point at a record of each kind
CLIENT_LINKS = (
	("CRM Deal", "client"),
	("CRM Order", "client"),
	("CRM Counterparty", "client"),
	("CRM Call", "client"),
	("CRM Client", "holding"),
	("CRM Lead", "client"),
)
DEAL_LINKS = (
	("CRM Order", "deal"),
	("CRM Call", "deal"),
	("CRM Lead", "deal"),
)


def linked_contacts(doctype: str, name: str) -> list[str]:
	return frappe.get_all(
		"Dynamic Link",
		filters={"parenttype": "Contact", "link_doctype": doctype, "link_name": name},
		pluck="parent",
		distinct=True,
	)


def referencing_tasks(doctype: str, name: str) -> list[str]:
	return frappe.get_all(
		"CRM Task", filters={"reference_doctype": doctype, "reference_name": name}, pluck="name"
	)


def dependents(doctype: str, name: str, links) -> dict[str, list[str]]:
	"""Names of the records pointing at (doctype, name), per doctype; empty kinds left out."""
	found: dict[str, list[str]] = {}
	for link_doctype, fieldname in links:
		names = frappe.get_all(
			link_doctype,
			filters={fieldname: name, "name": ("!=", name)},
			pluck="name",
			order_by="creation asc",
		)
		if names:
			found.setdefault(link_doctype, []).extend(names)
	contacts = linked_contacts(doctype, name)
	if contacts:
		found["Contact"] = contacts
	tasks = referencing_tasks(doctype, name)
	if tasks:
		found["CRM Task"] = tasks
	return found


def describe_dependents(found: dict[str, list[str]]) -> str:
	from simple_crm.security.read_paths import shown_list

	lines = []
	for doctype, names in found.items():
		# records the user cannot see are counted, not named
		shown = shown_list(
			doctype, names[:SHOWN_PER_KIND], render=lambda n, dt=doctype: get_link_to_form(dt, n)
		)
		if len(names) > SHOWN_PER_KIND:
			shown += ", …"
		lines.append("<li>{}</li>".format(_("{0}: {1} ({2})").format(_(doctype), len(names), shown)))
	return "<ul>{}</ul>".format("".join(lines))


def check_client_can_be_deleted(doc, method=None) -> None:
	"""A client with deals, orders, counterparties, calls, contacts or tasks stays."""
	found = dependents(doc.doctype, doc.name, CLIENT_LINKS)
	if found:
		frappe.throw(
			_("Client {0} cannot be deleted while these records depend on it:").format(frappe.bold(doc.name))
			+ describe_dependents(found),
			ClientInUseError,
			title=_("Client in Use"),
		)


def check_deal_can_be_deleted(doc, method=None) -> None:
	"""A deal with orders (imported from accounting), calls or tasks stays."""
	found = dependents(doc.doctype, doc.name, DEAL_LINKS)
	if found:
		frappe.throw(
			_("Deal {0} cannot be deleted while these records depend on it:").format(frappe.bold(doc.name))
			+ describe_dependents(found),
			DealInUseError,
			title=_("Deal in Use"),
		)


def check_lead_can_be_deleted(doc, method=None) -> None:
	"""A converted lead is the history of a client: it is never deleted."""
	if doc.get("status") == LEAD_CONVERTED or doc.get("client") or doc.get("converted_on"):
		frappe.throw(
			_("Lead {0} has been converted into client {1} and cannot be deleted").format(
				frappe.bold(doc.name), frappe.bold(doc.get("client") or "")
			),
			ConvertedLeadDeletionError,
			title=_("Converted Lead"),
		)


# --- links that name nothing ---------------------------------------------------------------------------


def check_links_exist(doc, method=None) -> None:
	"""Every Link and Dynamic Link of the app's records (and of their child rows) names a stored record.

	Frappe checks links before `validate`, except one case: when the link feeds fields through
	`fetch_from`, it reads those values with `frappe.db.get_value(..., as_dict=True)`, gets None for a name
	that does not exist, and skips the check (`BaseDocument.get_invalid_links`, Frappe 15). So a lead with
	source "No Such Source" (its channel is fetched from the source), a deal with a co-manager user or a
	product that does not exist was saved. Runs for every doctype (doc_events "*", before_validate) and
	returns at once for those of other modules."""
	if doc.flags.ignore_links or doc.meta.module != APP_MODULE:
		return
	for row in [doc, *doc.get_all_children()]:
		for df in row.meta.get_link_fields() + row.meta.get_dynamic_link_fields():
			value = row.get(df.fieldname)
			if not value or not row.meta.get_fields_to_fetch(df.fieldname):
				continue  # Frappe has checked it
			doctype = df.options if df.fieldtype == "Link" else row.get(df.options)
			if doctype and not frappe.db.exists(doctype, value):
				prefix = _("Row #{0}: ").format(row.idx) if row is not doc else ""
				frappe.throw(
					prefix
					+ _("{0}: {1} {2} does not exist").format(
						_(row.meta.get_label(df.fieldname)), _(doctype), frappe.bold(value)
					),
					frappe.LinkValidationError,
					title=_("Not Found"),
				)
