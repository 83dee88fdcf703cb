"""The Accounting Exchange section of Simple CRM Settings: its numbers and its webhook make sense, or
nothing is saved (called from the settings' validate)."""

from urllib.parse import urlparse

import frappe
from frappe import _
from frappe.utils import cint, escape_html

# field: (lowest, highest)
RANGES = {
	"accounting_batch_limit": (1, 10_000),
	"accounting_changes_page": (1, 5_000),
	"accounting_changes_delay": (0, 3_600),
	"accounting_webhook_attempts": (1, 20),
	"accounting_webhook_retry_minutes": (1, 24 * 60),
	"accounting_webhook_timeout": (1, 120),
}


class InvalidExchangeSettingsError(frappe.ValidationError):
	pass


def validate(doc) -> None:
	errors = []
	for fieldname, (low, high) in RANGES.items():
		value = doc.get(fieldname)
		if value is None:
			continue
		if not low <= cint(value) <= high:
			errors.append(
				_("{0} must be from {1} to {2}").format(_(doc.meta.get_label(fieldname)), low, high)
			)
	url = (doc.get("accounting_webhook_url") or "").strip()
	doc.accounting_webhook_url = url or None
	if url:
		parts = urlparse(url)
		if parts.scheme not in ("http", "https") or not parts.netloc:
			errors.append(
				_("{0} must be an http:// or https:// address, got {1}").format(
					_(doc.meta.get_label("accounting_webhook_url")), frappe.bold(escape_html(url))
				)
			)
		if not doc.get("accounting_webhook_secret"):
			errors.append(
				_("{0} needs a {1}: accounting checks the notifications with it").format(
					_(doc.meta.get_label("accounting_webhook_url")),
					_(doc.meta.get_label("accounting_webhook_secret")),
				)
			)
	if errors:
		frappe.throw("<br>".join(errors), InvalidExchangeSettingsError, title=_("Invalid Settings"))
