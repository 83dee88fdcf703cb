"""Hand-over: move all open work of one user to another in one action, on the record.

A manager who leaves or falls ill takes nothing with them: their open leads, open deals (as
responsible or co-manager), open tasks, their clients and their open Frappe assignments move to a
colleague. Every moved record gets a line on its timeline, and a `CRM Hand Over` document keeps what
moved.
"""

import json

import frappe
from frappe import _
from frappe.utils import get_fullname, now_datetime

from simple_crm.constants import OPEN_LEAD_STATUSES, OPEN_TASK_STATUSES, ROW_LEVEL_DOCTYPES
from simple_crm.permissions import FULL_ACCESS_ROLES, HEAD_OF_SALES, SALES_MANAGER, assignments, team_users


class HandOverError(frappe.ValidationError):
	pass


def check_may_hand_over(from_user: str, to_user: str, user: str | None = None) -> None:
	"""Heads of sales hand over within their team; CRM administrators and system managers anywhere."""
	user = user or frappe.session.user
	roles = set(frappe.get_roles(user))
	if user == "Administrator" or roles & (FULL_ACCESS_ROLES - {"CRM Director"}):
		return
	if HEAD_OF_SALES in roles:
		team = set(team_users(user))
		if from_user in team and to_user in team:
			return
		frappe.throw(
			_("You can hand work over only between members of your own sales team"), frappe.PermissionError
		)
	frappe.throw(_("Only a head of sales or a CRM administrator can hand work over"), frappe.PermissionError)


def validate_users(from_user: str, to_user: str) -> None:
	if not from_user or not to_user:
		frappe.throw(_("Choose both users"), HandOverError)
	if from_user == to_user:
		frappe.throw(_("Work cannot be handed over to the same user"), HandOverError)
	for user in (from_user, to_user):
		if not frappe.db.exists("User", user):
			frappe.throw(_("User {0} does not exist").format(user), HandOverError)
	if not frappe.db.get_value("User", to_user, "enabled"):
		frappe.throw(_("User {0} is disabled and cannot take over work").format(to_user), HandOverError)
	if not {SALES_MANAGER, HEAD_OF_SALES}.intersection(frappe.get_roles(to_user)):
		frappe.throw(
			_("User {0} has neither the role {1} nor {2} and could not work on what is handed over").format(
				to_user, _(SALES_MANAGER), _(HEAD_OF_SALES)
			),
			HandOverError,
		)


def open_work(from_user: str) -> dict[str, list[str]]:
	"""Names of the records that would move, per kind."""
	deal_manager = frappe.qb.DocType("CRM Deal Manager")
	deal = frappe.qb.DocType("CRM Deal")
	co_managed = (
		frappe.qb.from_(deal_manager)
		.join(deal)
		.on(deal_manager.parent == deal.name)
		.select(deal.name)
		.where(
			(deal_manager.parenttype == "CRM Deal")
			& (deal_manager.user == from_user)
			& (deal.stage_type.isnull() | deal.stage_type.notin(("Won", "Lost")))
		)
		.run(pluck=True)
	)
	return {
		"leads": frappe.get_all(
			"CRM Lead", filters={"responsible": from_user, "status": ("in", OPEN_LEAD_STATUSES)}, pluck="name"
		),
		"deals": frappe.get_all(
			"CRM Deal",
			filters={"responsible": from_user, "stage_type": ("not in", ("Won", "Lost"))},
			pluck="name",
		),
		"co_managed_deals": sorted(set(co_managed)),
		"tasks": frappe.get_all(
			"CRM Task",
			filters={"assigned_to": from_user, "status": ("in", OPEN_TASK_STATUSES)},
			pluck="name",
		),
		"clients": frappe.get_all("CRM Client", filters={"responsible": from_user}, pluck="name"),
	}


def hand_over(from_user: str, to_user: str, reason: str | None = None):
	"""Move the open work; returns the `CRM Hand Over` record."""
	validate_users(from_user, to_user)
	check_may_hand_over(from_user, to_user)
	work = open_work(from_user)
	note = _("Handed over from {0} to {1}").format(get_fullname(from_user), get_fullname(to_user))
	if reason:
		note = f"{note}: {reason}"

	for doctype, field, names in (
		("CRM Lead", "responsible", work["leads"]),
		("CRM Deal", "responsible", work["deals"]),
		("CRM Task", "assigned_to", work["tasks"]),
		("CRM Client", "responsible", work["clients"]),
	):
		for name in names:
			doc = frappe.get_doc(doctype, name)
			doc.set(field, to_user)
			if doctype == "CRM Deal":
				# the new responsible manager cannot stay a co-manager of the same deal
				for row in [row for row in doc.co_managers if row.user == to_user]:
					doc.remove(row)
			save_moved(doc, note)

	for name in work["co_managed_deals"]:
		doc = frappe.get_doc("CRM Deal", name)
		taken = {row.user for row in doc.co_managers} | {doc.responsible}
		for row in list(doc.co_managers):
			if row.user == from_user:
				if to_user in taken:
					doc.remove(row)
				else:
					row.user = to_user
		save_moved(doc, note)

	reassigned = reassign_todos(from_user, to_user)

	record = frappe.get_doc(
		{
			"doctype": "CRM Hand Over",
			"from_user": from_user,
			"to_user": to_user,
			"reason": reason,
			"handed_over_on": now_datetime(),
			"leads_moved": len(work["leads"]),
			"deals_moved": len(set(work["deals"]) | set(work["co_managed_deals"])),
			"tasks_moved": len(work["tasks"]),
			"clients_moved": len(work["clients"]),
			"details": json.dumps({**work, "assignments": reassigned}, indent=1, ensure_ascii=False),
		}
	)
	record.insert(ignore_permissions=True)
	return record


def save_moved(doc, note: str) -> None:
	"""Save a moved record as the system (the caller's right to hand over was checked) and say so on its
	timeline."""
	doc.flags.ignore_permissions = True
	doc.flags.ignore_duplicates = True
	doc.save()
	doc.add_comment("Info", note)


def reassign_todos(from_user: str, to_user: str) -> list[str]:
	"""Open Frappe assignments (ToDo) of CRM records move too."""
	from frappe.desk.form.assign_to import add as assign
	from frappe.desk.form.assign_to import remove as unassign

	todos = frappe.get_all(
		"ToDo",
		filters={"allocated_to": from_user, "status": "Open", "reference_type": ("in", ROW_LEVEL_DOCTYPES)},
		fields=["name", "reference_type", "reference_name", "description", "priority", "date"],
	)
	moved = []
	for todo in todos:
		unassign(todo.reference_type, todo.reference_name, from_user, ignore_permissions=True)
		already = frappe.db.exists(
			"ToDo",
			{
				"allocated_to": to_user,
				"status": "Open",
				"reference_type": todo.reference_type,
				"reference_name": todo.reference_name,
			},
		)
		if not already:
			# the assignment was made by someone entitled to; it passes to the successor as it stands
			with assignments.handing_over():
				assign(
					{
						"doctype": todo.reference_type,
						"name": todo.reference_name,
						"assign_to": [to_user],
						"description": todo.description,
						"priority": todo.priority,
						"date": todo.date,
					},
					ignore_permissions=True,
				)
		moved.append(f"{todo.reference_type} {todo.reference_name}")
	return moved
