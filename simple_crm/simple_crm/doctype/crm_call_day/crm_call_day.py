# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

"""One manager's calls on one day (simple_crm.call_days keeps them)."""

import frappe
from frappe.model.document import Document


class CRMCallDay(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		calls: DF.Int
		calls_answered: DF.Int
		calls_inbound: DF.Int
		day: DF.Date
		manager: DF.Link
		name: DF.Int | None
		talk_time: DF.Int
	# end: auto-generated types

	pass


def on_doctype_update():
	# one row per manager and day, which every saved call adds itself to
	frappe.db.add_unique("CRM Call Day", ["manager", "day"], "manager_day")
