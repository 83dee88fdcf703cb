"""CRM administrators fix data in every state of the shipped workflows (earlier versions let only the sales
roles edit). Adds the missing "allow edit" rows; everything else an administrator set up stays as it is."""

import frappe

from simple_crm.workflows import DEAL_WORKFLOW, LEAD_WORKFLOW, STATE_EDITOR_ADMIN


def execute():
	for name in (LEAD_WORKFLOW, DEAL_WORKFLOW):
		if not frappe.db.exists("Workflow", name):
			continue
		workflow = frappe.get_doc("Workflow", name)
		editable = {row.state for row in workflow.states if row.allow_edit == STATE_EDITOR_ADMIN}
		for state in dict.fromkeys(row.state for row in workflow.states):
			if state not in editable:
				workflow.append(
					"states", {"state": state, "doc_status": "0", "allow_edit": STATE_EDITOR_ADMIN}
				)
		workflow.flags.ignore_permissions = True
		workflow.save()
