"""A spreadsheet import of 10,000 leads, beside the same import of 10,000 ToDos.

Both go through Frappe's Data Import as the background job runs it (`start_import`, in this process): the
file parsed, each row inserted through its controller and its log row written. The ToDos are committed row
by row, as Frappe's importer does; the leads 50 rows at a time, as the app's imports of its records are
(simple_crm.integrations.spreadsheet_import). The leads' import has the CRM's duplicate handling on (Skip),
every lead a new phone and e-mail, so every row is created. What the imports made is removed at the end with bulk deletes (the leads, their duplicate index,
search, version and assignment rows, the call-back jobs' marks, the import and its logs), so the figure
does not include the clean-up.
"""

import csv
import io
import time

import frappe

from simple_crm.integrations.spreadsheet_import import FIELD, SKIP

DOMAIN = "bench.invalid"


def _file(name: str, rows: list[list]) -> str:
	out = io.StringIO()
	csv.writer(out).writerows(rows)
	doc = frappe.get_doc(
		{"doctype": "File", "file_name": name, "content": out.getvalue().encode(), "is_private": 1}
	).insert(ignore_permissions=True)
	return doc.file_url


def _import(doctype: str, rows: list[list], action: str | None = None) -> tuple[str, float]:
	from frappe.core.doctype.data_import.data_import import start_import

	data_import = frappe.get_doc(
		{
			"doctype": "Data Import",
			"reference_doctype": doctype,
			"import_type": "Insert New Records",
			"import_file": _file(f"bench-{doctype}.csv", rows),
			"mute_emails": 1,
			FIELD: action,
		}
	).insert(ignore_permissions=True)
	frappe.db.commit()
	started = time.perf_counter()
	start_import(data_import.name)
	return data_import.name, time.perf_counter() - started


def _remove(imports: list[str], run: str) -> None:
	pattern = f"bench-imp-{run}-%@{DOMAIN}"
	leads = frappe.get_all("CRM Lead", filters={"email": ("like", pattern)}, pluck="name")
	for start in range(0, len(leads), 2000):
		chunk = leads[start : start + 2000]
		for doctype, field in (
			("CRM Contact Point", "reference_name"),
			("Comment", "reference_name"),
			("ToDo", "reference_name"),
			("CRM Task", "reference_name"),
			("CRM Automation Mark", "reference_name"),
			("Workflow Action", "reference_name"),
			("Version", "docname"),
		):
			frappe.db.delete(doctype, {field: ("in", chunk)})
		frappe.db.sql(
			"delete from `__global_search` where doctype = 'CRM Lead' and name in %s", (tuple(chunk),)
		)
		frappe.db.delete("CRM Lead", {"name": ("in", chunk)})
	frappe.db.delete("ToDo", {"description": ("like", pattern)})
	for name in imports:
		file_url = frappe.db.get_value("Data Import", name, "import_file")
		frappe.db.delete("Data Import Log", {"data_import": name})
		frappe.db.delete("CRM Import Row", {"data_import": name})
		frappe.db.delete("Data Import", name)
		if file_url:
			for file in frappe.get_all("File", filters={"file_url": file_url}, pluck="name"):
				frappe.delete_doc("File", file, ignore_permissions=True, force=True)
	frappe.db.after_commit.reset()
	frappe.db.commit()


def time_import(rows: int = 10_000) -> list[dict]:
	frappe.set_user("Administrator")
	run = frappe.generate_hash(length=6)
	base = int(time.time()) % 1_000_000 * 1000
	leads = [["Person Name", "Phone", "E-mail"]] + [
		[f"Импорт {n}", f"+7 9{(base + n) % 1_000_000_000:09d}", f"bench-imp-{run}-{n}@{DOMAIN}"]
		for n in range(rows)
	]
	todos = [["Description"]] + [[f"bench-imp-{run}-{n}@{DOMAIN}"] for n in range(rows)]
	imports = []
	try:
		todo_import, todo_seconds = _import("ToDo", todos)
		imports.append(todo_import)
		lead_import, lead_seconds = _import("CRM Lead", leads, SKIP)
		imports.append(lead_import)
		created = frappe.db.count("Data Import Log", {"data_import": lead_import, "success": 1})
		floor_created = frappe.db.count("Data Import Log", {"data_import": todo_import, "success": 1})
	finally:
		_remove(imports, run)

	def figures(seconds: float, done: int) -> dict:
		return {
			"n": done,
			"median_ms": round(seconds * 1000, 1),
			"p95_ms": round(seconds * 1000, 1),
			"req_s": round(done / seconds, 1) if seconds else None,
			"errors": rows - done,
		}

	value, floor = figures(lead_seconds, created), figures(todo_seconds, floor_created)
	return [
		{
			"operation": f"import {rows:,} leads (whole file)",
			"user": "Administrator",
			"clients": 1,
			"value": value,
			"floor": floor,
			"ratio_median": round(lead_seconds / todo_seconds, 2) if todo_seconds else None,
			"ratio_p95": round(lead_seconds / todo_seconds, 2) if todo_seconds else None,
		}
	]
