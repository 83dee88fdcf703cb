"""What a CRM administrator who is not a System Manager may configure: the workflows and assignment rules
of the CRM's own doctypes (both keep their target in `document_type`)."""

import frappe

from simple_crm.constants import ROW_LEVEL_DOCTYPES

CRM_DOCTYPES_FOR_CONFIGURATION = (*ROW_LEVEL_DOCTYPES, "CRM Hand Over")


def _limited_to_crm(user: str) -> bool:
	roles = frappe.get_roles(user)
	return user != "Administrator" and "System Manager" not in roles and "CRM Administrator" in roles


def configuration_query(user=None, doctype=None) -> str:
	"""A CRM administrator who is not a System Manager sees and edits the workflows and assignment rules
	(both keep their target in `document_type`) of the CRM's doctypes only."""
	if not doctype or not _limited_to_crm(user or frappe.session.user):
		return ""
	names = ", ".join(frappe.db.escape(dt) for dt in CRM_DOCTYPES_FOR_CONFIGURATION)
	return f"`tab{doctype}`.`document_type` in ({names})"


def configuration_permission(doc, ptype: str | None = None, user: str | None = None) -> bool | None:
	if not _limited_to_crm(user or frappe.session.user):
		return None
	return None if doc.get("document_type") in CRM_DOCTYPES_FOR_CONFIGURATION else False
