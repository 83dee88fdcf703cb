# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

# import frappe
from frappe.model.document import Document


class CRMPipelineStage(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		allowed_roles: DF.SmallText | None
		description: DF.SmallText | None
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		probability: DF.Percent
		required_fields: DF.SmallText | None
		stage_name: DF.Data
		stage_type: DF.Literal["Open", "Won", "Lost"]
	# end: auto-generated types
	pass
