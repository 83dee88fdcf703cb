# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

# import frappe
from frappe.model.document import Document


class CRMLeadSource(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		channel: DF.Literal[
			"Website", "Phone", "Email", "Messenger", "Social", "Referral", "Exhibition", "Other"
		]
		description: DF.SmallText | None
		disabled: DF.Check
		source_name: DF.Data
	# end: auto-generated types
	pass
