"""Calls, tasks and complaints on the timelines of the records they concern.

Frappe v15 builds a form's timeline from the record's own Comments, Versions and the Communications
that reference or link it; a DocType's `timeline_field` only files Activity Log entries (the
activity feed), not form timeline items. A call links its lead, client, contact and deal through
Link fields and a task its record through a Dynamic Link, so neither would show. Instead of copying
them into Comments (which go stale when a task is done or a call relinked), the
`additional_timeline_content` hook reads them when the form opens: live, one query per kind,
permission-aware (`frappe.get_list`), nothing stored twice.
"""

import html

import frappe
from frappe import _
from frappe.utils import cint, escape_html, get_fullname, get_link_to_form

from simple_crm.constants import CLOSED_COMPLAINT_STATUSES

TIMELINE_LIMIT = 100

# the CRM Call field pointing at each doctype
CALL_LINK_FIELD = {"CRM Lead": "lead", "CRM Client": "client", "Contact": "contact", "CRM Deal": "deal"}
# the CRM Complaint field pointing at each doctype
COMPLAINT_LINK_FIELD = {"CRM Client": "client", "CRM Deal": "deal", "Contact": "contact"}


def text(value) -> str:
	"""Plain text for HTML: Frappe may have stored the value with entities (sanitised on save) or not
	(written by a query), so it is unescaped first and escaped once."""
	return escape_html(html.unescape(str(value or "")))


def duration_text(seconds) -> str:
	"""A call's length in the user's language ("13 мин 44 с"; Frappe's format_duration writes "13m 44s" in
	every language), with the same words the Desk uses for Duration fields (public/js/words.js)."""
	seconds = max(cint(seconds), 0)
	hours, rest = divmod(seconds, 3600)
	minutes, seconds = divmod(rest, 60)
	units = ((hours, _("{0}h")), (minutes, _("{0}m")), (seconds, _("{0}s")))
	return " ".join(unit.format(amount) for amount, unit in units if amount)


def get_timeline_content(doctype: str, docname: str) -> list[dict]:
	"""Hook `additional_timeline_content`: the calls, tasks and complaints of a record as timeline items."""
	return call_items(doctype, docname) + task_items(doctype, docname) + complaint_items(doctype, docname)


def linked_calls(doctype: str, docname: str) -> list[frappe._dict]:
	fieldname = CALL_LINK_FIELD.get(doctype)
	if not fieldname:
		return []
	return frappe.get_list(
		"CRM Call",
		filters={fieldname: docname},
		fields=["name", "direction", "call_status", "started_at", "duration", "phone", "topic", "result"],
		order_by="started_at desc",
		limit=TIMELINE_LIMIT,
	)


def linked_tasks(doctype: str, docname: str) -> list[frappe._dict]:
	return frappe.get_list(
		"CRM Task",
		filters={"reference_doctype": doctype, "reference_name": docname},
		fields=["name", "subject", "task_type", "status", "due_on", "assigned_to", "result", "creation"],
		order_by="creation desc",
		limit=TIMELINE_LIMIT,
	)


def linked_complaints(doctype: str, docname: str) -> list[frappe._dict]:
	fieldname = COMPLAINT_LINK_FIELD.get(doctype)
	if not fieldname:
		return []
	return frappe.get_list(
		"CRM Complaint",
		filters={fieldname: docname},
		fields=["name", "subject", "category", "status", "received_on", "responsible", "resolution"],
		order_by="received_on desc",
		limit=TIMELINE_LIMIT,
	)


def call_items(doctype: str, docname: str) -> list[dict]:
	items = []
	for call in linked_calls(doctype, docname):
		title = _("Inbound call") if call.direction == "Inbound" else _("Outbound call")
		details = [text(call.phone), _(call.call_status)]
		if call.duration:
			details.append(duration_text(call.duration))
		for value in (call.topic, call.result):
			if value:
				details.append(text(value))
		items.append(
			{
				"icon": "call",
				"creation": call.started_at,
				"content": "{} · {}".format(
					get_link_to_form("CRM Call", call.name, title), " · ".join(details)
				),
			}
		)
	return items


def task_items(doctype: str, docname: str) -> list[dict]:
	items = []
	for task in linked_tasks(doctype, docname):
		title = _("Task: {0}").format(text(task.subject or task.name))
		details = [_(task.task_type), _(task.status)]
		if task.due_on:
			details.append(_("due {0}").format(frappe.format(task.due_on, {"fieldtype": "Datetime"})))
		if task.assigned_to:
			details.append(text(get_fullname(task.assigned_to)))
		if task.result:
			details.append(text(task.result))
		items.append(
			{
				"icon": "check",
				"creation": task.creation,
				"content": "{} · {}".format(
					get_link_to_form("CRM Task", task.name, title), " · ".join(details)
				),
			}
		)
	return items


def complaint_items(doctype: str, docname: str) -> list[dict]:
	items = []
	for complaint in linked_complaints(doctype, docname):
		title = _("Complaint: {0}").format(text(complaint.subject or complaint.name))
		details = [text(_(complaint.category)), _(complaint.status)]
		if complaint.responsible:
			details.append(text(get_fullname(complaint.responsible)))
		if complaint.resolution and complaint.status in CLOSED_COMPLAINT_STATUSES:
			details.append(text(complaint.resolution))
		items.append(
			{
				"icon": "criticize",
				"creation": complaint.received_on,
				"content": "{} · {}".format(
					get_link_to_form("CRM Complaint", complaint.name, title), " · ".join(details)
				),
			}
		)
	return items
