# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document


class CRMContactPoint(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		kind: DF.Literal["Phone", "Email", "INN"]
		reference_doctype: DF.Link
		reference_name: DF.DynamicLink
		value: DF.Data
	# end: auto-generated types
	pass


def on_doctype_update():
	# duplicate lookups read (kind, value); keeping the index in sync reads by the record
	frappe.db.add_index("CRM Contact Point", ["kind", "value"], "kind_value_index")
	frappe.db.add_index("CRM Contact Point", ["reference_doctype", "reference_name"], "reference_index")
