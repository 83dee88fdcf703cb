"""Hand-over: move all open work of one user to another in one action, on the record.

A manager who leaves or falls ill takes nothing with them: their open leads, open deals (as
responsible or co-manager), open tasks, their clients and their open Frappe assignments move to a
colleague. Every moved record gets a line on its timeline, and a `CRM Hand Over` document keeps what
moved.

Who may hand what over is checked here, in the request. A large hand-over (Simple CRM Settings >
background_hand_over_threshold records or more) then runs as a background job
(simple_crm.automation.hand_over) that moves records with `move`, the same as an immediate one.
"""

import json

import frappe
from frappe import _
from frappe.utils import get_fullname, now_datetime

from simple_crm.automation.common import settings
from simple_crm.constants import OPEN_LEAD_STATUSES, OPEN_TASK_STATUSES, ROW_LEVEL_DOCTYPES
from simple_crm.permissions import FULL_ACCESS_ROLES, HEAD_OF_SALES, SALES_MANAGER, assignments, team_users

DOCTYPE = "CRM Hand Over"
# statuses of a CRM Hand Over: a small hand-over is Completed at once, a large one goes through the others
QUEUED, IN_PROGRESS, COMPLETED, FAILED = "Queued", "In Progress", "Completed", "Failed"

# kind of open work (see open_work) -> the doctype and the field naming whose it is
MOVES = {
	"leads": ("CRM Lead", "responsible"),
	"deals": ("CRM Deal", "responsible"),
	"tasks": ("CRM Task", "assigned_to"),
	"clients": ("CRM Client", "responsible"),
}
# the order records move in; the deals a user only co-manages come last
MOVE_ORDER = ("leads", "deals", "tasks", "clients", "co_managed_deals")
CLOSED_STAGE_TYPES = ("Won", "Lost")


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
			& (deal.stage_type.isnull() | deal.stage_type.notin(CLOSED_STAGE_TYPES))
		)
		.run(pluck=True)
	)
	return {
		"leads": frappe.get_all(
			"CRM Lead", filters={"responsible": from_user, "status": ("in", OPEN_LEAD_STATUSES)}, pluck="name"
		),
		"deals": frappe.get_all(
			"CRM Deal",
			filters={"responsible": from_user, "stage_type": ("not in", CLOSED_STAGE_TYPES)},
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
	"""Move the open work; returns the `CRM Hand Over` record.

	A hand-over of at least `background_hand_over_threshold` records (Simple CRM Settings) is only checked
	and recorded here, with status Queued: a job on the long queue moves it once this request commits
	(simple_crm.automation.hand_over). Smaller ones move at once and are Completed when this returns."""
	validate_users(from_user, to_user)
	check_may_hand_over(from_user, to_user)
	check_none_under_way(from_user)
	work = open_work(from_user)
	total = records_in(work)
	if total and total >= settings().background_hand_over_threshold:
		from simple_crm.automation import hand_over as background

		return background.queue(from_user, to_user, reason, work)

	note = hand_over_note(from_user, to_user, reason)
	moved = {kind: [] for kind in work}
	for kind in MOVE_ORDER:
		for name in work[kind]:
			if move(kind, name, from_user, to_user, note):
				moved[kind].append(name)
	reassigned = reassign_todos(from_user, to_user)

	record = frappe.get_doc(
		{
			"doctype": DOCTYPE,
			"from_user": from_user,
			"to_user": to_user,
			"reason": reason,
			"status": COMPLETED,
			"requested_by": frappe.session.user,
			"handed_over_on": now_datetime(),
			"records_to_move": total,
			"records_done": total,
			**counts(moved),
			"details": json.dumps({**moved, "assignments": reassigned}, indent=1, ensure_ascii=False),
		}
	)
	record.insert(ignore_permissions=True)
	return record


def check_none_under_way(from_user: str) -> None:
	"""One hand-over of a user's work at a time: a second one would find the same records still theirs."""
	pending = frappe.get_all(
		DOCTYPE,
		filters={"from_user": from_user, "status": ("in", (QUEUED, IN_PROGRESS))},
		pluck="name",
		limit=1,
	)
	if pending:
		frappe.throw(
			_("The work of {0} is already being handed over ({1}); wait until it is completed").format(
				get_fullname(from_user), pending[0]
			),
			HandOverError,
		)


def records_in(work: dict[str, list[str]]) -> int:
	return sum(len(names) for names in work.values())


def counts(moved: dict[str, list[str]]) -> dict[str, int]:
	"""The counts of a CRM Hand Over from the names that moved, per kind."""
	return {
		"leads_moved": len(moved.get("leads") or ()),
		"deals_moved": len(set(moved.get("deals") or ()) | set(moved.get("co_managed_deals") or ())),
		"tasks_moved": len(moved.get("tasks") or ()),
		"clients_moved": len(moved.get("clients") or ()),
	}


def hand_over_note(from_user: str, to_user: str, reason: str | None = None) -> str:
	"""The line each moved record gets on its timeline."""
	note = _("Handed over from {0} to {1}").format(get_fullname(from_user), get_fullname(to_user))
	return f"{note}: {reason}" if reason else note


def move(kind: str, name: str, from_user: str, to_user: str, note: str) -> bool:
	"""Move one record of `work[kind]` to `to_user` if it is still open work of `from_user` (a background
	hand-over moves what was planned some time ago, or again after a crash); True when it moved."""
	if kind == "co_managed_deals":
		return move_co_managed_deal(name, from_user, to_user, note)
	doctype, field = MOVES[kind]
	if not frappe.db.exists(doctype, name):
		return False
	doc = frappe.get_doc(doctype, name)
	if doc.get(field) != from_user or not still_open(kind, doc):
		return False
	doc.set(field, to_user)
	if doctype == "CRM Deal":
		# the new responsible manager cannot stay a co-manager of the same deal
		for row in [row for row in doc.co_managers if row.user == to_user]:
			doc.remove(row)
	save_moved(doc, note)
	return True


def move_co_managed_deal(name: str, from_user: str, to_user: str, note: str) -> bool:
	if not frappe.db.exists("CRM Deal", name):
		return False
	doc = frappe.get_doc("CRM Deal", name)
	if not still_open("co_managed_deals", doc) or from_user not in {row.user for row in doc.co_managers}:
		return False
	taken = {row.user for row in doc.co_managers} | {doc.responsible}
	for row in list(doc.co_managers):
		if row.user == from_user:
			if to_user in taken:
				doc.remove(row)
			else:
				row.user = to_user
	save_moved(doc, note)
	return True


def doctype_of(kind: str) -> str:
	return "CRM Deal" if kind == "co_managed_deals" else MOVES[kind][0]


def still_open(kind: str, doc) -> bool:
	"""The conditions of `open_work` for one loaded record."""
	if kind == "leads":
		return doc.status in OPEN_LEAD_STATUSES
	if kind in ("deals", "co_managed_deals"):
		return doc.stage_type not in CLOSED_STAGE_TYPES
	if kind == "tasks":
		return doc.status in OPEN_TASK_STATUSES
	return True


def save_moved(doc, note: str) -> None:
	"""Save a moved record as the system (the caller's right to hand over was checked) and say so on its
	timeline."""
	doc.flags.ignore_permissions = True
	doc.flags.ignore_duplicates = True
	doc.save()
	doc.add_comment("Info", note)


def reassign_todos(from_user: str, to_user: str, limit: int | None = None) -> list[str]:
	"""Open Frappe assignments (ToDo) of CRM records move too (at most `limit` of them, oldest first)."""
	from frappe.desk.form.assign_to import add as assign
	from frappe.desk.form.assign_to import remove as unassign

	todos = frappe.get_all(
		"ToDo",
		filters={"allocated_to": from_user, "status": "Open", "reference_type": ("in", ROW_LEVEL_DOCTYPES)},
		fields=["name", "reference_type", "reference_name", "description", "priority", "date"],
		order_by="creation asc, name asc",
		limit=limit,
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
