# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

from datetime import datetime

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import get_datetime, getdate, now_datetime

from simple_crm.automation.deal_follow_up import record_activity
from simple_crm.constants import TIMELINE_DOCTYPES
from simple_crm.permissions import set_default_responsible

# the records a task can be about (the Desk form offers only these too): those whose timelines show tasks
REFERENCE_DOCTYPES = TIMELINE_DOCTYPES
# task types whose outcome must be written down when they are done
RESULT_REQUIRED_TYPES = ("Call", "Meeting")


class TaskReferenceError(frappe.ValidationError):
	pass


class TaskResultRequiredError(frappe.ValidationError):
	pass


class TaskReminderError(frappe.ValidationError):
	pass


class TaskAuthorError(frappe.ValidationError):
	pass


class CRMTask(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF
		from simple_crm.simple_crm.doctype.crm_task_checklist_item.crm_task_checklist_item import (
			CRMTaskChecklistItem,
		)

		assigned_to: DF.Link | None
		author: DF.Link | None
		auto_repeat: DF.Link | None
		checklist: DF.Table[CRMTaskChecklistItem]
		completed_on: DF.Datetime | None
		description: DF.TextEditor | None
		due_on: DF.Datetime | None
		list_order: DF.Datetime | None
		priority: DF.Literal["Low", "Medium", "High", "Urgent"]
		reference_doctype: DF.Link | None
		reference_name: DF.DynamicLink | None
		remind_at: DF.Datetime | None
		result: DF.SmallText | None
		status: DF.Literal["Open", "In Progress", "Done", "Cancelled"]
		subject: DF.Data
		task_type: DF.Literal["Call", "Meeting", "Email", "Other"]
	# end: auto-generated types

	def on_recurring(self, reference_doc, auto_repeat_doc):
		"""A task made by Auto Repeat is due on the repeat's date at the original task's time of day, and its
		reminder comes as long before as the original's did (Frappe copies neither: they are no_copy)."""
		if not reference_doc.due_on:
			return
		original_due = get_datetime(reference_doc.due_on)
		self.due_on = datetime.combine(getdate(auto_repeat_doc.next_schedule_date), original_due.time())
		if reference_doc.remind_at:
			self.remind_at = self.due_on - (original_due - get_datetime(reference_doc.remind_at))

	def validate(self):
		self.set_people()
		self.validate_reference()
		self.validate_reminder()
		self.set_completion()
		self.update_checklist()
		self.set_list_order()

	def on_update(self):
		self.record_deal_activity()

	def set_people(self):
		"""The author is whoever creates the task and never changes; the assignee follows the one rule for who
		is responsible for a new record (simple_crm.permissions). A different author sent by a user is
		refused, not silently replaced; the Administrator (imports, integrations, jobs) may name one."""
		user = frappe.session.user
		if self.is_new():
			if not self.author or user == "Administrator":
				self.author = self.author or user
			elif self.author != user:
				frappe.throw(
					_(
						"A task's author is whoever creates it: you cannot create it in the name of {0}"
					).format(frappe.bold(self.author)),
					TaskAuthorError,
				)
		elif self.has_value_changed("author") and user != "Administrator":
			frappe.throw(_("The author of a task cannot be changed"), TaskAuthorError)
		set_default_responsible(self, "assigned_to")

	def validate_reference(self):
		if not self.reference_doctype and not self.reference_name:
			return
		if self.reference_doctype not in REFERENCE_DOCTYPES:
			frappe.throw(
				_("A task can be linked to {0} only, not to {1}").format(
					", ".join(_(dt) for dt in REFERENCE_DOCTYPES),
					frappe.bold(_(self.reference_doctype or "")),
				),
				TaskReferenceError,
			)
		if not self.reference_name:
			frappe.throw(
				_("Choose the {0} the task is about").format(_(self.reference_doctype)), TaskReferenceError
			)

	def validate_reminder(self):
		if self.remind_at and self.due_on and get_datetime(self.remind_at) > get_datetime(self.due_on):
			frappe.throw(
				_("The reminder ({0}) must not be after the due time ({1})").format(
					self.remind_at, self.due_on
				),
				TaskReminderError,
			)

	def set_completion(self):
		if self.status != "Done":
			self.completed_on = None
			return
		if self.task_type in RESULT_REQUIRED_TYPES and not (self.result or "").strip():
			frappe.throw(
				_("Write down the result of the {0} before marking the task done").format(
					_(self.task_type).lower()
				),
				TaskResultRequiredError,
				title=_("Result Required"),
			)
		if not self.completed_on:
			self.completed_on = now_datetime()

	def set_list_order(self):
		"""The key the task list is sorted by (one column, so that one index serves it): open tasks first, the
		nearest due first and those without a due date after them; then closed tasks, the last closed first."""
		self.list_order = list_order(self.status, self.due_on, self.completed_on or self.modified)

	def update_checklist(self):
		"""A step checked off records who did it and when; unchecking clears that."""
		before = {row.name: row for row in (self.get_doc_before_save() or {}).get("checklist") or []}
		for row in self.checklist:
			if not row.done:
				row.done_by = row.done_on = None
				continue
			old = before.get(row.name)
			if not old or not old.done or not row.done_on:
				row.done_by = frappe.session.user
				row.done_on = now_datetime()
			else:
				row.done_by, row.done_on = old.done_by, old.done_on

	def record_deal_activity(self):
		"""A task about a deal is activity on it when it is made (or moved onto the deal) and when its
		status changes (started, done, cancelled); editing its text or dates is not."""
		if self.reference_doctype != "CRM Deal" or not self.reference_name:
			return
		if any(self.has_value_changed(field) for field in ("reference_doctype", "reference_name", "status")):
			record_activity(self.reference_name)


OPEN_STATUSES = ("Open", "In Progress")
# open tasks without a due date come after every dated one; closed tasks after all open ones, counted back
# from a far date so that the last closed comes first
UNDATED_OPEN = datetime(2999, 1, 1)
CLOSED_FROM = datetime(3000, 1, 1)
CLOSED_COUNTED_BACK_FROM = datetime(2200, 1, 1)


def list_order(status: str, due_on, closed_on) -> datetime:
	if status in OPEN_STATUSES:
		return get_datetime(due_on) if due_on else UNDATED_OPEN
	return CLOSED_FROM + (CLOSED_COUNTED_BACK_FROM - get_datetime(closed_on or now_datetime()))


def on_doctype_update():
	# Tasks are listed by due date (the doctype's sort) and mostly filtered to one status. (status, due_on)
	# reads the open tasks in due order and stops at the page; a scan of `due_on` alone would read through
	# the years of done tasks first. `assigned_to` and `author` make the index cover the row-level
	# condition (simple_crm.permissions.rules), so counting a manager's tasks reads the index, not the
	# table: that condition is an OR with the assignment sub-query, which MariaDB cannot seek.
	frappe.db.add_index("CRM Task", ["status", "due_on", "assigned_to", "author"], "status_due_on_index")
	# The manager activity report counts a period's done tasks and meetings per assignee, each assignee's
	# range of the period read in turn from this index and counted as it is read (`author` for the row-level
	# condition); a range of `completed_on` grouped by assignee sorts the year's tasks instead.
	frappe.db.add_index(
		"CRM Task",
		["assigned_to", "status", "completed_on", "task_type", "author"],
		"assigned_to_completed_on_index",
	)
	# The meetings per won deal report reads the done meetings about deals and joins them to the period's
	# won deals, from this index alone.
	frappe.db.add_index(
		"CRM Task",
		["task_type", "status", "reference_doctype", "reference_name", "assigned_to"],
		"type_status_reference_index",
	)
