# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document


class CRMDealManager(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		full_name: DF.Data | None
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		user: DF.Link
	# end: auto-generated types
	pass


def on_doctype_update():
	# The row-level rules of deals, clients, orders and contacts read the deals a team co-manages
	# (`user in (...) and parenttype = 'CRM Deal'`, returning `parent`). For a head of sales the `user`
	# index alone matches a fifth of the rows and MariaDB scans the table; this one answers from the index.
	frappe.db.add_index("CRM Deal Manager", ["user", "parenttype", "parent"], "user_parent_index")
