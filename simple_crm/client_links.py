"""Records that hang off a client (deals, orders, calls) take the client of what they are linked to, and a
counterparty they name must belong to their client. One place for what the deal, the order and the call
each did in their own words."""

import frappe
from frappe import _

from simple_crm.security.read_paths import shown


class CounterpartyClientError(frappe.ValidationError):
	pass


def client_of(doctype: str, name: str | None) -> str | None:
	"""The client a deal, counterparty or order belongs to."""
	return frappe.db.get_value(doctype, name, "client") if name else None


def set_client_from(doc, *sources: tuple[str, str]) -> None:
	"""Fill an empty `client` from the first linked record that has one: sources are (fieldname, doctype)."""
	for fieldname, doctype in sources:
		if doc.client:
			return
		doc.client = client_of(doctype, doc.get(fieldname))


def check_counterparty_client(doc, error: type[frappe.ValidationError] = CounterpartyClientError) -> None:
	"""The counterparty of `doc` belongs to `doc`'s client (a client the user cannot see is not named)."""
	if not doc.counterparty:
		return
	owner = client_of("CRM Counterparty", doc.counterparty)
	if owner != doc.client:
		frappe.throw(
			_("Counterparty {0} belongs to client {1}, not to client {2} of this {3}").format(
				frappe.bold(doc.counterparty),
				shown("CRM Client", owner),
				frappe.bold(doc.client or _("(none)")),
				_(doc.doctype),
			),
			error,
		)
