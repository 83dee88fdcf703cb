"""The columns sales people read in the lists of leads, deals and tasks, shipped as Frappe's List View Settings.

Frappe shows the title, the status and then as many of the doctype's list fields as the screen is wide (four on
a laptop): a lead's phone or a task's record fell off. The settings name the columns in the order a sales
person reads them and how many to show; made once on install or migrate when the doctype has none, then left
to the administrator (List View Settings in the Desk's list menu).
"""

import json

import frappe

# doctype -> columns after the title ("status_field" is the status indicator)
LIST_COLUMNS = {
	"CRM Lead": ("status_field", "phone", "source", "responsible", "company_name"),
	"CRM Deal": ("amount", "client", "status_field", "responsible"),
	"CRM Task": ("reference_name", "due_on", "status_field", "assigned_to", "task_type"),
}


def seed_list_view_settings() -> None:
	for doctype, columns in LIST_COLUMNS.items():
		if frappe.db.exists("List View Settings", doctype):
			continue
		meta = frappe.get_meta(doctype)
		fields = [
			{
				"fieldname": fieldname,
				"label": "Status" if fieldname == "status_field" else meta.get_label(fieldname),
			}
			for fieldname in columns
		]
		frappe.get_doc(
			{
				"doctype": "List View Settings",
				"name": doctype,
				"fields": json.dumps(fields),
				# the title, the tags column and the columns above
				"total_fields": str(min(len(columns) + 2, 10)),
			}
		).insert(ignore_permissions=True)
