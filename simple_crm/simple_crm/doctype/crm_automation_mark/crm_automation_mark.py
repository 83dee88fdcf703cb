# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class CRMAutomationMark(Document):
	"""Written by simple_crm.automation.common.claim only (one row per action done once)."""

	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		job: DF.Data | None
		marked_on: DF.Datetime | None
		reference_doctype: DF.Link | None
		reference_name: DF.DynamicLink | None
		user: DF.Link | None
	# end: auto-generated types

	pass
