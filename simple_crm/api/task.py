"""Task actions for the Desk's forms: "Next Task" on a lead, client, contact or deal."""

import frappe
from frappe import _
from frappe.utils import escape_html, get_datetime, now_datetime

from simple_crm.security.input import checked_arguments
from simple_crm.simple_crm.doctype.crm_task.crm_task import REFERENCE_DOCTYPES

# the records a next step is planned from on their forms
NEXT_TASK_DOCTYPES = ("CRM Lead", "CRM Client", "Contact", "CRM Deal")
TASK_TYPES = ("Call", "Meeting", "Email", "Other")


class NextTaskError(frappe.ValidationError):
	pass


@frappe.whitelist(methods=["POST"])
@checked_arguments
def next_task(
	doctype: str,
	name: str,
	subject: str,
	due_on: str | None = None,
	task_type: str = "Call",
	assigned_to: str | None = None,
	description: str | None = None,
) -> str:
	"""Plan the next step about a record the user can see: a CRM Task linked to it, assigned to the user
	unless they name a colleague, due when they say. Returns the task's name."""
	check_reference(doctype, name)
	frappe.has_permission("CRM Task", "create", throw=True)
	subject = (subject or "").strip()
	if not subject:
		frappe.throw(_("Say what is to be done: the task needs a subject"), NextTaskError)
	if task_type not in TASK_TYPES:
		frappe.throw(
			_("Task type must be one of {0}, got {1}").format(
				", ".join(_(t) for t in TASK_TYPES), escape_html(task_type)
			),
			NextTaskError,
		)
	if due_on and get_datetime(due_on) < now_datetime().replace(second=0, microsecond=0):
		frappe.throw(_("The next task cannot be due in the past ({0})").format(due_on), NextTaskError)
	task = frappe.get_doc(
		{
			"doctype": "CRM Task",
			"subject": subject,
			"task_type": task_type,
			"due_on": due_on or None,
			"assigned_to": assigned_to or frappe.session.user,
			"description": description,
			"reference_doctype": doctype,
			"reference_name": name,
		}
	)
	task.insert()
	return task.name


def check_reference(doctype: str, name: str) -> None:
	"""A next task is planned about a lead, client, contact or deal the user can see; a record they cannot
	see is refused with a permission error before anything is written."""
	if doctype not in NEXT_TASK_DOCTYPES or doctype not in REFERENCE_DOCTYPES:
		frappe.throw(
			_("A next task can be planned on {0} only, not on {1}").format(
				", ".join(_(dt) for dt in NEXT_TASK_DOCTYPES), escape_html(_(doctype))
			),
			NextTaskError,
		)
	if not frappe.db.exists(doctype, name):
		frappe.throw(_("{0} {1} not found").format(_(doctype), escape_html(name)), frappe.DoesNotExistError)
	frappe.has_permission(doctype, "read", name, throw=True)
