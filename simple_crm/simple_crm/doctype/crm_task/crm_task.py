# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

# import frappe
from frappe.model.document import Document


class CRMTask(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF
		from simple_crm.simple_crm.doctype.crm_task_checklist_item.crm_task_checklist_item import CRMTaskChecklistItem

		assigned_to: DF.Link | None
		author: DF.Link | None
		checklist: DF.Table[CRMTaskChecklistItem]
		completed_on: DF.Datetime | None
		description: DF.TextEditor | None
		due_on: DF.Datetime | None
		priority: DF.Literal["Low", "Medium", "High", "Urgent"]
		reference_doctype: DF.Link | None
		reference_name: DF.DynamicLink | None
		remind_at: DF.Datetime | None
		result: DF.SmallText | None
		status: DF.Literal["Open", "In Progress", "Done", "Cancelled"]
		subject: DF.Data
		task_type: DF.Literal["Call", "Meeting", "Email", "Other"]
	# end: auto-generated types
	pass
