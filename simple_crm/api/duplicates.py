"""Duplicate search and merge for leads, clients, counterparties and contacts."""

import frappe
from frappe import _
from frappe.utils import get_fullname

from simple_crm.duplicates import (
	TRACKED_DOCTYPES,
	contact_points,
	describe,
	drop_converted_leads,
	lookup,
	related_records,
	sync_contact_points,
)
from simple_crm.utils import identifiers
from simple_crm.validation import check_identifier, normalize_email, normalize_phone


class MergeError(frappe.ValidationError):
	pass


@frappe.whitelist(methods=["GET"])
def find_duplicates(
	doctype: str,
	name: str | None = None,
	phone: str | None = None,
	email: str | None = None,
	inn: str | None = None,
) -> list[dict]:
	"""Records sharing a phone, e-mail or INN with record `name` and/or with the raw values given.

	Each match: doctype, name, title, responsible, responsible_name, matched_on [{kind, value}], readable.
	A match the caller may not read is still reported, without its name and title, so that two managers
	learn they are about to work the same client and whom to talk to.
	"""
	_check_tracked(doctype)
	points = raw_points(phone=phone, email=email, inn=inn)
	exclude = set()
	if name:
		doc = frappe.get_doc(doctype, name)
		doc.check_permission("read")
		points |= contact_points(doc)
		exclude = related_records(doc)
	else:
		frappe.has_permission(doctype, "read", throw=True)
	matches = describe(drop_converted_leads(lookup(points, exclude=exclude)))
	return [_as_seen_by_caller(m) for m in matches]


def raw_points(phone: str | None = None, email: str | None = None, inn: str | None = None) -> set:
	"""Values typed by a person, normalised the way the records store them."""
	points = set()
	if phone and phone.strip():
		points.add(("Phone", normalize_phone(phone, "Phone")))
	if email and email.strip():
		points.add(("Email", normalize_email(email, "Email")))
	if inn and inn.strip():
		points.add(("INN", check_identifier(identifiers.validate_inn, inn, "INN")))
	return points


def _as_seen_by_caller(match) -> dict:
	"""A match the caller may not read is reported without its name or title (a contact's name holds the
	person's name): only that it exists, what it matched on and who is responsible for it."""
	readable = bool(frappe.has_permission(match.doctype, "read", match.name))
	return {
		"doctype": match.doctype,
		"name": match.name if readable else None,
		"title": match.title if readable else None,
		"responsible": match.responsible,
		"responsible_name": get_fullname(match.responsible) if match.responsible else None,
		"matched_on": match.matched_on,
		"readable": readable,
	}


@frappe.whitelist(methods=["POST"])
def merge(doctype: str, source: str, target: str) -> dict:
	"""Merge record `source` into `target` of the same doctype; `source` is deleted.

	Frappe's rename with merge moves every Link and Dynamic Link (deals, tasks, calls, contact links,
	the timeline) from `source` to `target`; the duplicate index is then rebuilt for `target`.
	"""
	_check_tracked(doctype)
	if source == target:
		frappe.throw(_("Choose two different records to merge"), MergeError)
	for name in (source, target):
		if not frappe.db.exists(doctype, name):
			frappe.throw(_("{0} {1} does not exist").format(_(doctype), name), frappe.DoesNotExistError)
		for ptype in ("write", "delete"):
			frappe.has_permission(doctype, ptype, name, throw=True)
	frappe.rename_doc(doctype, source, target, merge=True, rebuild_search=False)
	sync_contact_points(frappe.get_doc(doctype, target))
	return {"doctype": doctype, "name": target, "merged": source}


def _check_tracked(doctype: str) -> None:
	if doctype not in TRACKED_DOCTYPES:
		frappe.throw(
			_("Duplicate search works for {0} only").format(", ".join(_(d) for d in TRACKED_DOCTYPES)),
			frappe.ValidationError,
		)
