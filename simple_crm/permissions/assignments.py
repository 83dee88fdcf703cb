"""Assignments (Frappe's ToDo) on CRM records, and who may make them.

An open assignment lets its assignee see and work on the record (simple_crm.permissions.rules.assigned),
so it is a grant of access and is checked like one. Frappe lets anyone insert a ToDo (`POST
/api/resource/ToDo`) or re-point their own, and its `assign_to.add` only asks whether the caller can read
the record. Here an assignment that grants access (a new open one, a reopened one, or one moved to
another record or user) is accepted only when made by someone who could hand the record out:

- a user who sees everything (CRM Administrator, CRM Director, System Manager, Administrator);
- a head of sales, for a record they see (their team's, or a lead nobody is responsible for yet);
- the record's responsible manager (for a task its author or assignee, for a counterparty or an order
  the responsible manager of its client);
- an Assignment Rule distributing the record during the record's own save;
- a hand-over, moving a leaver's open assignments to their successor.

Closing or cancelling an assignment is always allowed: it ends the access the assignment gave.
"""

from contextlib import contextmanager

import frappe
from frappe import _

from simple_crm.constants import ASSIGNMENT_OPEN, ROW_LEVEL_DOCTYPES
from simple_crm.permissions.records import record_visible
from simple_crm.permissions.roles import HEAD_OF_SALES, sees_everything

# the field naming who is responsible for a record (a task: see _responsible_users)
RESPONSIBLE_FIELD = {
	"CRM Lead": "responsible",
	"CRM Deal": "responsible",
	"CRM Client": "responsible",
	"CRM Call": "manager",
	"Contact": "crm_responsible",
	"CRM Complaint": "responsible",
}
# records whose responsible manager is their client's
VIA_CLIENT = ("CRM Counterparty", "CRM Order")

# set by the hand-over while it moves a leaver's open assignments to their successor (server code only)
_HANDING_OVER = "crm_handing_over"

# records being saved in this request: an Assignment Rule hands a record out from inside its save
_IN_SAVE = "crm_records_in_save"


class AssignmentNotAllowedError(frappe.PermissionError):
	pass


def record_save_started(doc, method=None) -> None:
	"""on_update of the row-level doctypes (before Frappe's Assignment Rule runs on the same event)."""
	frappe.flags.setdefault(_IN_SAVE, {})[(doc.doctype, doc.name)] = doc


def record_save_finished(doc, method=None) -> None:
	"""on_change of the row-level doctypes: the save is over."""
	frappe.flags.get(_IN_SAVE, {}).pop((doc.doctype, doc.name), None)


def record_in_save(doctype: str, name: str):
	"""The document being saved in this request, if (doctype, name) is one."""
	return frappe.flags.get(_IN_SAVE, {}).get((doctype, name))


@contextmanager
def handing_over():
	"""A hand-over (checked by simple_crm.handover) moves assignments that someone entitled made."""
	frappe.flags[_HANDING_OVER] = True
	try:
		yield
	finally:
		frappe.flags[_HANDING_OVER] = False


def check_assignment(todo, method=None) -> None:
	"""ToDo validate: refuse an assignment that would grant access its maker may not give."""
	if todo.reference_type not in ROW_LEVEL_DOCTYPES or not todo.reference_name:
		return
	if todo.status != ASSIGNMENT_OPEN or not todo.allocated_to or not grants_new_access(todo):
		return
	if frappe.flags.in_install or frappe.flags.in_migrate or frappe.flags.in_patch:
		return
	if frappe.flags.get(_HANDING_OVER):
		return
	if todo.assignment_rule and _made_by_assignment_rule(todo):
		return
	if may_assign(todo.reference_type, todo.reference_name):
		return
	frappe.throw(
		_(
			"You cannot assign {0} {1}: only its responsible manager, their head of sales or a CRM "
			"administrator can"
		).format(_(todo.reference_type), frappe.bold(todo.reference_name)),
		AssignmentNotAllowedError,
		title=_("Not Permitted"),
	)


def grants_new_access(todo) -> bool:
	if todo.is_new():
		return True
	before = todo.get_doc_before_save()
	if not before:
		return True
	return (
		before.status != ASSIGNMENT_OPEN
		or before.allocated_to != todo.allocated_to
		or before.reference_type != todo.reference_type
		or before.reference_name != todo.reference_name
	)


def _made_by_assignment_rule(todo) -> bool:
	"""An Assignment Rule runs inside the record's own save (on_update); a ToDo merely naming a rule does not
	count (anyone may type a rule's name into a request)."""
	if not record_in_save(todo.reference_type, todo.reference_name):
		return False
	return (
		frappe.db.get_value("Assignment Rule", todo.assignment_rule, "document_type") == todo.reference_type
	)


def may_assign(doctype: str, name: str, user: str | None = None) -> bool:
	"""Whether `user` may hand record (doctype, name) out to someone."""
	user = user or frappe.session.user
	if sees_everything(user):
		return True
	if not record_visible(doctype, name, user):
		return False
	if HEAD_OF_SALES in frappe.get_roles(user):
		return True
	return user in _responsible_users(doctype, name)


def _responsible_users(doctype: str, name: str) -> set[str]:
	if doctype == "CRM Task":
		return set(frappe.db.get_value("CRM Task", name, ["author", "assigned_to"]) or ())
	if doctype in VIA_CLIENT:
		client = frappe.db.get_value(doctype, name, "client")
		return {frappe.db.get_value("CRM Client", client, "responsible")} if client else set()
	return {frappe.db.get_value(doctype, name, RESPONSIBLE_FIELD[doctype])}


def add_todo_index() -> None:
	"""The assignment sub-query of the row-level rules reads ToDo by assignee, doctype and status."""
	frappe.db.add_index(
		"ToDo",
		["allocated_to", "reference_type", "status", "reference_name"],
		index_name="crm_assignment_index",
	)
