"""Deal helpers for the Desk form."""

import frappe

from simple_crm import pipelines


@frappe.whitelist(methods=["GET"])
def pipeline_stages(pipeline: str) -> list[dict]:
	"""Stages of a pipeline, in order (the deal form offers only these)."""
	frappe.has_permission("CRM Deal", "read", throw=True)
	return pipelines.get_stages(pipeline)
