# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

# import frappe
from frappe.model.document import Document


class CRMPipeline(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF
		from simple_crm.simple_crm.doctype.crm_pipeline_stage.crm_pipeline_stage import CRMPipelineStage

		disabled: DF.Check
		is_default: DF.Check
		pipeline_name: DF.Data
		stages: DF.Table[CRMPipelineStage]
	# end: auto-generated types
	pass
