"""The result of a spreadsheet import (simple_crm.integrations.spreadsheet_import), for the Data Import form
and for whoever started the import."""

import frappe
from frappe import _

from simple_crm.integrations import spreadsheet_import


def _readable_import(data_import) -> str:
	if not isinstance(data_import, str) or not frappe.db.exists("Data Import", data_import):
		frappe.throw(
			_("Data Import {0} not found").format(frappe.bold(str(data_import)[:140])),
			frappe.DoesNotExistError,
		)
	frappe.get_doc("Data Import", data_import).check_permission("read")
	return data_import


@frappe.whitelist(methods=["GET"])
def summary(data_import: str) -> dict:
	"""Counts per outcome and one line per row: row numbers, outcome, record, reason."""
	return spreadsheet_import.summary(_readable_import(data_import))


@frappe.whitelist(methods=["GET"])
def download_summary(data_import: str) -> None:
	"""The same as a CSV file."""
	name = _readable_import(data_import)
	frappe.response["type"] = "download"
	frappe.response["filename"] = f"{name} summary.csv"
	frappe.response["filecontent"] = spreadsheet_import.summary_csv(spreadsheet_import.summary(name))
