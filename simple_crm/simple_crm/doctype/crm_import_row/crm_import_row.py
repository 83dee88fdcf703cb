# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class CRMImportRow(Document):
	"""Written by simple_crm.integrations.spreadsheet_import only (one row per imported row)."""

	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		data_import: DF.Link | None
		note: DF.SmallText | None
		outcome: DF.Literal["Created", "Updated", "Merged", "Created with Warning"]
		reference_doctype: DF.Link | None
		reference_name: DF.DynamicLink | None
	# end: auto-generated types

	pass
