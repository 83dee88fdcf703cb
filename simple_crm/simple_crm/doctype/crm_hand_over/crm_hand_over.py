# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document


class CRMHandOver(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		clients_moved: DF.Int
		deals_moved: DF.Int
		details: DF.Code | None
		error: DF.SmallText | None
		from_user: DF.Link
		handed_over_on: DF.Datetime | None
		leads_moved: DF.Int
		plan: DF.Code | None
		reason: DF.SmallText | None
		records_done: DF.Int
		records_to_move: DF.Int
		requested_by: DF.Link | None
		status: DF.Literal["Queued", "In Progress", "Completed", "Failed"]
		tasks_moved: DF.Int
		to_user: DF.Link
	# end: auto-generated types

	@frappe.whitelist(methods=["POST"])
	def resume(self):
		"""Run Again: queue a large hand-over that failed or whose job was lost (simple_crm.automation.hand_over)."""
		from simple_crm.automation import hand_over

		hand_over.resume(self.name)
