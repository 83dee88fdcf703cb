"""Hand-over of one user's open work to another (Desk dialog and REST)."""

import frappe

from simple_crm import handover


@frappe.whitelist(methods=["GET"])
def preview(from_user: str) -> dict:
	"""How many open records `from_user` has, per kind (what a hand-over would move)."""
	handover.check_may_hand_over(from_user, from_user)
	return {kind: len(names) for kind, names in handover.open_work(from_user).items()}


@frappe.whitelist(methods=["POST"])
def hand_over(from_user: str, to_user: str, reason: str | None = None) -> dict:
	"""Move all open leads, deals, tasks and clients of `from_user` to `to_user`: at once, or (a large
	hand-over) in a background job, with `status` Queued until it has run."""
	record = handover.hand_over(from_user, to_user, reason)
	return {
		"name": record.name,
		"status": record.status,
		"records_to_move": record.records_to_move,
		"leads": record.leads_moved,
		"deals": record.deals_moved,
		"tasks": record.tasks_moved,
		"clients": record.clients_moved,
	}
