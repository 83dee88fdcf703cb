# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document


class CRMProduct(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		currency: DF.Link | None
		description: DF.SmallText | None
		disabled: DF.Check
		external_id: DF.Data | None
		item_type: DF.Literal["Product", "Service"]
		product_code: DF.Data
		product_name: DF.Data
		standard_rate: DF.Currency
		uom: DF.Data | None
	# end: auto-generated types

	def validate(self):
		self.product_name = (self.product_name or "").strip()
		self.external_id = (self.external_id or "").strip() or None
		if not self.currency:
			self.currency = frappe.db.get_single_value("Simple CRM Settings", "default_currency")
