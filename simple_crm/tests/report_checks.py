"""Running the CRM's script reports in tests the way the Desk does, and following their drill-down links."""

import json
from urllib.parse import parse_qsl, urlparse

import frappe
from frappe.desk.query_report import run


def run_report(report: str, user: str = "Administrator", **filters) -> frappe._dict:
	"""`frappe.desk.query_report.run` as `user` (the Desk's call: role and report permission checks,
	columns, rows, message, chart, summary)."""
	frappe.set_user(user)
	try:
		return frappe._dict(run(report, filters=filters, ignore_prepared_report=True))
	finally:
		frappe.set_user("Administrator")


def link_filters(link: str) -> tuple[str, list[list]]:
	"""The doctype and filters a drill-down address opens its list with, as the Desk's list reads them
	(list_view.js: a value "[op, value]" is a filter with that operator, any other value is "=")."""
	parsed = urlparse(link)
	assert parsed.path.startswith("/app/"), link
	slug = parsed.path.removeprefix("/app/")
	doctype = next(d for d in frappe.get_all("DocType", pluck="name") if d.lower().replace(" ", "-") == slug)
	filters = []
	for field, value in parse_qsl(parsed.query):
		if value.startswith("[") and value.endswith("]"):
			operator, operand = json.loads(value)
			filters.append([field, operator, operand])
		else:
			filters.append([field, "=", value])
	return doctype, filters


def records_behind(link: str, user: str) -> list[str]:
	"""The names the list opened by `link` shows to `user`."""
	doctype, filters = link_filters(link)
	frappe.set_user(user)
	try:
		return frappe.get_list(doctype, filters=filters, pluck="name", limit_page_length=0)
	finally:
		frappe.set_user("Administrator")


def at_noon(day: str) -> str:
	"""Noon of `day` for a frozen clock, with a fraction of a second as a real clock has: Frappe compares a
	document's `modified` with the stored one as text, and a whole second reads back from the database
	without its ".000000", so a second save in the same frozen instant would be refused as a stale copy."""
	return f"{day} 12:00:00.250000"
