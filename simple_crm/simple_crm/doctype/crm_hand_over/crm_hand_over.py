# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

# import frappe
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
		from_user: DF.Link
		handed_over_on: DF.Datetime | None
		leads_moved: DF.Int
		reason: DF.SmallText | None
		tasks_moved: DF.Int
		to_user: DF.Link
	# end: auto-generated types
	pass
