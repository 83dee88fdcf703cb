# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

# import frappe
from frappe.model.document import Document


class SimpleCRMSettings(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		default_currency: DF.Link | None
		default_phone_region: DF.Data
		default_pipeline: DF.Link | None
		duplicate_policy: DF.Literal["Warn", "Block"]
	# end: auto-generated types
	pass
