"""Checks on the masters records point at (lead sources, lost reasons, products...).

A disabled master stays on the records that already use it, but cannot be chosen anew: the check
only looks at a link that is new or has changed. Shared by the deal, task and lead controllers.
"""

import frappe
from frappe import _


class DisabledRecordError(frappe.ValidationError):
	pass


class LostReasonRequiredError(frappe.ValidationError):
	pass


class LostReasonNotApplicableError(LostReasonRequiredError):
	"""The lost reason given is for another kind of record: as good as none."""


def link_is_new(doc, fieldname: str, row=None) -> bool:
	"""True if `fieldname` of `doc` (or of its child `row`) is set and new or changed in this save."""
	target = row or doc
	value = target.get(fieldname)
	if not value:
		return False
	before = doc.get_doc_before_save() if not doc.is_new() else None
	if not before:
		return True
	if row is None:
		return before.get(fieldname) != value
	old_row = next((r for r in before.get(row.parentfield) or [] if r.name == row.name), None)
	return not old_row or old_row.get(fieldname) != value


def check_not_disabled(doc, fieldname: str, doctype: str, row=None) -> None:
	"""Refuse a newly chosen `doctype` record that is disabled."""
	if not link_is_new(doc, fieldname, row):
		return
	value = (row or doc).get(fieldname)
	if frappe.db.get_value(doctype, value, "disabled"):
		label = _(frappe.get_meta((row or doc).doctype).get_label(fieldname))
		prefix = _("Row #{0}: ").format(row.idx) if row else ""
		frappe.throw(
			prefix
			+ _("{0}: {1} {2} is disabled and cannot be chosen").format(
				label, _(doctype), frappe.bold(value)
			),
			DisabledRecordError,
			title=_("Disabled Record"),
		)


def check_lost_reason(doc, fieldname: str = "lost_reason", applies_to: str = "Deal") -> None:
	"""A newly chosen lost reason must be enabled and apply to the kind of record (`applies_to`:
	"Deal" or "Lead")."""
	if not link_is_new(doc, fieldname):
		return
	reason = doc.get(fieldname)
	check_not_disabled(doc, fieldname, "CRM Lost Reason")
	scope = frappe.db.get_value("CRM Lost Reason", reason, "applies_to") or "Lead and Deal"
	if scope not in ("Lead and Deal", applies_to):
		frappe.throw(
			_("Lost reason {0} applies to {1} only and cannot be used for a {2}").format(
				frappe.bold(reason), _(scope), _(applies_to)
			),
			LostReasonNotApplicableError,
			title=_("Wrong Lost Reason"),
		)
