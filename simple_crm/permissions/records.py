"""One stored record: may the user read or change it, may it point at another record, may this field change.

`has_permission` checks a record against the same condition its doctype's lists use (simple_crm.permissions
.rules), in one query."""

import frappe
from frappe import _
from frappe.utils import cstr, flt

from simple_crm.constants import ROW_LEVEL_DOCTYPES
from simple_crm.permissions.roles import CRM_ROLES, sees_everything
from simple_crm.permissions.rules import row_condition_for

# records handed out by distribution (an Assignment Rule, a head of sales) when their creator does not work them
DISTRIBUTED_DOCTYPES = ("CRM Lead", "CRM Client")


def set_default_responsible(doc, fieldname: str = "responsible") -> None:
	"""The one rule for who is responsible for a new record nobody was named for: whoever creates it.

	Otherwise a sales manager's own new lead, deal, call or task would vanish from their lists the moment
	it is saved. Nobody is set when the creator is a web form or an integration (Guest) or the
	Administrator (setup, imports, jobs), and for leads and clients also when the creator sees everything
	or has no CRM role: those are handed out by an Assignment Rule or a head of sales."""
	user = frappe.session.user
	if not doc.is_new() or doc.get(fieldname) or user in ("Guest", "Administrator"):
		return
	if doc.doctype in DISTRIBUTED_DOCTYPES and (
		not CRM_ROLES.intersection(frappe.get_roles(user)) or sees_everything(user)
	):
		return
	doc.set(fieldname, user)


class LinkNotVisibleError(frappe.PermissionError):
	pass


def record_visible(doctype: str, name: str, user: str | None = None) -> bool:
	"""Whether `user` may read the stored record (role permission and row-level condition), in one query."""
	user = user or frappe.session.user
	if not frappe.has_permission(doctype, "read", user=user):
		return False
	return _row_matches(doctype, name, row_condition_for(doctype, user) or "1 = 1")


def _row_matches(doctype: str, name: str, condition: str) -> bool:
	table = f"`tab{doctype}`"
	return bool(
		frappe.db.sql(f"select {table}.name from {table} where {table}.name = %s and {condition}", name)
	)


def check_links_visible(doc, method=None) -> None:
	"""A record may point only at records its author can see (validate hook of the row-level doctypes).

	Otherwise a sales manager could hang a task, a call, a contact or a counterparty on a colleague's deal
	or client, learn from the answer that it exists, and put their own data on its timeline. Only links
	that are new or changed are checked: a record that already points somewhere stays editable. Work
	moved by the system (hand-over, conversion, integrations) runs with ignore_permissions and is not
	checked."""
	user = frappe.session.user
	if doc.flags.ignore_permissions or user == "Administrator" or sees_everything(user):
		return
	before = None if doc.is_new() else doc.get_doc_before_save()
	targets = set(_link_values(doc)) - (set(_link_values(before)) if before else set())
	for doctype, name in sorted(targets):
		if frappe.db.exists(doctype, name) and not record_visible(doctype, name, user):
			frappe.throw(
				_("{0} {1} is not one of the records you can see, so it cannot be linked here").format(
					_(doctype), frappe.bold(name)
				),
				LinkNotVisibleError,
				title=_("Not Permitted"),
			)


def _link_values(doc) -> list[tuple[str, str]]:
	"""(doctype, name) of every row-level record `doc` and its child rows link to."""
	out = []
	for row in [doc, *doc.get_all_children()]:
		for df in row.meta.get_link_fields() + row.meta.get_dynamic_link_fields():
			value = row.get(df.fieldname)
			target = df.options if df.fieldtype == "Link" else row.get(df.options)
			if value and target in ROW_LEVEL_DOCTYPES:
				out.append((target, value))
	return out


NUMERIC_FIELDTYPES = frozenset({"Currency", "Float", "Int", "Percent", "Check"})


class FieldNotWritableError(frappe.PermissionError):
	pass


def refuse_unwritable_fields(doc) -> None:
	"""A value sent for a field above the user's permission level (turnover, debt: filled by the
	accounting exchange) is refused with a message. Frappe itself would silently put the stored value back,
	and whoever sent it over REST or an import would never learn it was dropped.

	Called from the controllers' `validate_higher_perm_levels`, before Frappe's own reset."""
	if doc.flags.ignore_permissions or frappe.flags.in_install or frappe.session.user == "Administrator":
		return
	access = doc.get_permlevel_access()
	fields = [df for df in doc.meta.get_high_permlevel_fields() if df.permlevel not in access]
	if not fields:
		return
	reference = frappe.new_doc(doc.doctype) if doc.is_new() else doc.get_latest()
	changed = [df for df in fields if not _same_value(df, doc.get(df.fieldname), reference.get(df.fieldname))]
	if changed:
		frappe.throw(
			_("You cannot change {0}: these fields are filled in by the accounting system").format(
				", ".join(frappe.bold(_(df.label)) for df in changed)
			),
			FieldNotWritableError,
			title=_("Not Permitted"),
		)


def _same_value(df, value, stored) -> bool:
	if df.fieldtype in NUMERIC_FIELDTYPES:
		return flt(value) == flt(stored)
	return cstr(value) == cstr(stored)


def has_permission(doc, ptype: str | None = None, user: str | None = None) -> bool | None:
	"""The same condition, checked for one stored record: False refuses, None leaves the decision to the
	other hooks and to Frappe (which asks the hooks in reverse order and stops at the first answer).

	A record not saved yet has no row to check: creating is governed by the role permissions alone."""
	user = user or frappe.session.user
	doctype, name = doc.get("doctype"), doc.get("name")
	if not doctype or not name or doc.get("__islocal"):
		return None
	condition = row_condition_for(doctype, user)
	if not condition:
		return None
	if _row_matches(doctype, name, condition):
		# visible: hooks only refuse, and other apps' hooks (Frappe's own, for Contact) still speak
		return None
	# a document that is not stored (yet) is not refused here
	return None if not frappe.db.exists(doctype, name) else False
