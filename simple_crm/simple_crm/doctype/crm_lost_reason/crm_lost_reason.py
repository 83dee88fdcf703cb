# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

# import frappe
from frappe.model.document import Document


class CRMLostReason(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		applies_to: DF.Literal["Lead and Deal", "Lead", "Deal"]
		description: DF.SmallText | None
		disabled: DF.Check
		reason: DF.Data
	# end: auto-generated types
	pass
