"""1C's standard exchange with a website (CommerceML 2 over HTTP), the CRM's side.

1C calls this one URL with `type=sale&mode=...`; the method checks the caller itself (HTTP Basic with the
integration user's API key and secret, then the session cookie it hands out) and answers in the protocol's
plain text. The logic lives in simple_crm.integrations.commerceml."""

import frappe

from simple_crm.integrations.commerceml import protocol


@frappe.whitelist(allow_guest=True, methods=["GET", "POST"])
def exchange(type: str | None = None, mode: str | None = None, filename: str | None = None, **kwargs):
	"""checkauth, init, file, import, query and success of 1C's `type=sale` exchange."""
	return protocol.handle(type, mode, filename)
