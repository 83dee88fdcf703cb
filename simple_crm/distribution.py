"""New leads handed out to sales managers.

Distribution is Frappe's Assignment Rule (Round Robin or Load Balancing on CRM Lead, set up in the Desk)
or a head of sales' "Assign To": either creates a ToDo. An open lead nobody is responsible for then
becomes the responsibility of its assignee, so it shows up in their lists and reports as theirs; a lead
that already has a responsible manager keeps them (the assignment only adds a helper).
"""

import frappe
from frappe import _
from frappe.utils import get_fullname

from simple_crm.constants import ASSIGNMENT_OPEN, OPEN_LEAD_STATUSES
from simple_crm.permissions.assignments import record_in_save


def on_todo_insert(todo, method=None):
	"""ToDo after_insert: make the assignee of an unassigned open lead responsible for it."""
	if todo.reference_type != "CRM Lead" or todo.status != ASSIGNMENT_OPEN or not todo.allocated_to:
		return
	# an Assignment Rule assigns a lead from inside its own save: the document in memory must learn who
	# took it
	lead = record_in_save("CRM Lead", todo.reference_name)
	in_save = lead is not None
	if not in_save:
		if not frappe.db.exists("CRM Lead", todo.reference_name):
			return
		lead = frappe.get_doc("CRM Lead", todo.reference_name)
	if lead.responsible or lead.status not in OPEN_LEAD_STATUSES:
		return
	# during the lead's own save: in memory and in the database alike, without a new timestamp (what the
	# Desk or REST client gets back is then current); otherwise a change like any other
	lead.db_set("responsible", todo.allocated_to, update_modified=not in_save)
	if todo.assignment_rule:
		note = _("Assigned to {0} by the assignment rule {1}").format(
			get_fullname(todo.allocated_to), todo.assignment_rule
		)
	else:
		note = _("Assigned to {0}").format(get_fullname(todo.allocated_to))
	lead.add_comment("Info", note)
