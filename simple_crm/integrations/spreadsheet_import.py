"""Spreadsheet import of leads, clients, contacts and counterparties through Frappe's Data Import.

Frappe's Data Import reads the Excel or CSV file and inserts one record per row through its controller, so
the app's normalisation (phones in E.164, e-mails in lower case) and validation (ИНН, КПП and ОГРН checksums)
apply to every row as they do in the Desk and over REST; a row that fails them is rejected with the reason,
and the other rows are imported.

What the app adds is the choice of what happens to a row whose phone, e-mail or ИНН already belongs to a
record (the Data Import field "Duplicate Rows", `crm_duplicate_action`):

- **Skip**: the row is not imported; the summary names the record it duplicates (or, for a record the
  importing user cannot see, that one exists and who is responsible);
- **Merge**: the row's values go into the existing record of the same kind: empty fields are filled, a
  contact gets the phones and e-mails it did not have, and a field that already has another value keeps
  it (the summary lists each such value the file had). A row matching a record of another kind (a lead row
  matching a client) is skipped, as a merge across kinds would lose data. The existing record is saved with
  the importing user's permissions;
- **Import with Warning**: the row is imported as a new record whatever the CRM's duplicate policy says;
  the summary and the record's timeline say which record it duplicates;
- empty: the CRM's duplicate policy (Simple CRM Settings) applies, as for any other save.

Every row imported otherwise than plainly created leaves a `CRM Import Row` (updated, merged or created with a
warning, with the record and the note); a created row is told by Frappe's own Data Import Log alone, as are the
rows that were not imported, with their messages. The summary (`summary`, and a CSV a person downloads from the
Data Import form) puts both together, row by row.

Frappe's importer has no hook for this: its `Importer.insert_record` is wrapped once per process (from the
app's `before_request` and `before_job` hooks and when a Data Import is saved), calling Frappe's own method
inside a savepoint.
"""

import json
import re

import frappe
from frappe import _
from frappe.utils import cstr, strip_html

from simple_crm.duplicates import TRACKED_DOCTYPES

FIELD = "crm_duplicate_action"
SKIP, MERGE, WARN = "Skip", "Merge", "Import with Warning"
ACTIONS = (SKIP, MERGE, WARN)
RESULT = "CRM Import Row"
CREATED, UPDATED, MERGED, WARNED, SKIPPED, REJECTED = (
	"Created",
	"Updated",
	"Merged",
	"Created with Warning",
	"Skipped as Duplicate",
	"Rejected",
)
OUTCOMES = (CREATED, UPDATED, MERGED, WARNED, SKIPPED, REJECTED)
SAVEPOINT = "crm_import_row"
# fields a merge never copies from the file: who and when, the record's own name and links it manages
NOT_MERGED = frozenset(
	{"name", "owner", "creation", "modified", "modified_by", "docstatus", "idx", "doctype", "status"}
)


class ImportRowDuplicate(frappe.ValidationError):
	"""Raised by the duplicate check of a row being imported with Skip or Merge: the records it matches."""

	def __init__(self, matches: list[dict]):
		super().__init__(_("Duplicate row"))
		self.matches = matches


class DuplicateRowSkipped(frappe.ValidationError):
	pass


def custom_fields() -> dict:
	return {
		"Data Import": [
			{
				"fieldname": FIELD,
				"fieldtype": "Select",
				"label": "Duplicate Rows",
				"options": "\n" + "\n".join(ACTIONS),
				"insert_after": "import_type",
				"depends_on": "eval:doc.import_type == 'Insert New Records'",
				"description": "For leads, clients, contacts and counterparties: what to do with a row whose phone, "
				"e-mail or INN is already in the CRM. Empty: the CRM's duplicate policy.",
			}
		]
	}


def add_custom_fields() -> None:
	from frappe.custom.doctype.custom_field.custom_field import create_custom_fields

	create_custom_fields(custom_fields(), update=True)


# --- during the import ------------------------------------------------------------------------------------


def current_action() -> str | None:
	return getattr(frappe.local, "crm_import_action", None)


def on_duplicates(doc, matches: list[dict]) -> bool:
	"""Called by the duplicate check of a new record with the records it matches: raises for a row imported
	with Skip or Merge; True when the row is imported with a warning (the check lets it through whatever
	the policy); False outside such an import."""
	action = current_action()
	if not action or not doc.is_new():
		return False
	if action in (SKIP, MERGE):
		raise ImportRowDuplicate(matches)
	doc.flags.crm_import_warning = matches
	return True


def install() -> None:
	"""Wrap Frappe's Importer.insert_record and update_record (once per process)."""
	from frappe.core.doctype.data_import.importer import Importer

	if getattr(Importer.insert_record, "_crm", False):
		return
	frappe_init, frappe_insert, frappe_update = (
		Importer.__init__,
		Importer.insert_record,
		Importer.update_record,
	)

	def __init__(self, doctype, *args, **kwargs):
		# The file's column headers are read here: in the importing user's language (Frappe switches to it
		# only later, before the rows are imported), against a header map Frappe caches per doctype in
		# whichever language built it first. Rebuilt now, it holds the English labels and fieldnames as
		# always and this user's translated labels: a Russian file's headers are the Russian field labels.
		if doctype in TRACKED_DOCTYPES and frappe.session.user != "Guest":
			frappe.cache.hdel("lang", frappe.session.user)
			frappe.set_user_lang(frappe.session.user)
			frappe.cache.hdel("data_import_column_header_map", doctype)
		frappe_init(self, doctype, *args, **kwargs)

	def insert_record(self, doc):
		if self.doctype not in TRACKED_DOCTYPES:
			return frappe_insert(self, doc)
		action = self.data_import.get(FIELD) or None
		frappe.db.savepoint(SAVEPOINT)
		frappe.local.crm_import_action = action
		try:
			record = frappe_insert(self, doc)
		except ImportRowDuplicate as duplicate:
			frappe.db.rollback(save_point=SAVEPOINT)
			frappe.local.crm_import_action = None
			if action == MERGE:
				target = next((m for m in duplicate.matches if m.doctype == self.doctype), None)
				if target:
					return merge_row(self.data_import.name, self.doctype, doc, target.name)
			raise_skipped(self.doctype, duplicate.matches, action)
		finally:
			frappe.local.crm_import_action = None
		warning = record.flags.get("crm_import_warning")
		if warning:
			note = _("Imported although it duplicates: {0}").format(describe_matches(warning))
			record.add_comment("Comment", note)
			log_row(self.data_import.name, WARNED, record, note)
		# a row plainly created needs no row of its own: Frappe's log of the row says it (see summary)
		return record

	def update_record(self, doc):
		record = frappe_update(self, doc)
		if self.doctype in TRACKED_DOCTYPES:
			log_row(self.data_import.name, UPDATED, record)
		return record

	insert_record._crm = True
	Importer.__init__ = __init__
	Importer.insert_record = insert_record
	Importer.update_record = update_record


def install_on_save(doc, method=None) -> None:
	"""Data Import validate: an import started in this process (inline in tests and developer mode) gets
	the wrapper too."""
	install()
	action = doc.get(FIELD)
	if action and action not in ACTIONS:
		frappe.throw(
			_("{0} must be one of {1}, got {2}").format(
				_("Duplicate Rows"), ", ".join(_(a) for a in ACTIONS), frappe.bold(cstr(action)[:40])
			)
		)


def raise_skipped(doctype: str, matches: list[dict], action: str | None) -> None:
	if action == MERGE:
		message = _("Not merged: it matches records of another kind only: {0}").format(
			describe_matches(matches)
		)
	else:
		message = _("Skipped: it duplicates {0}").format(describe_matches(matches))
	frappe.throw(message, DuplicateRowSkipped, title=_("Duplicate Row"))


def describe_matches(matches: list[dict]) -> str:
	"""The matched records as a user may read them: a record they cannot see only as existing, with its
	responsible manager (as the duplicate warning tells it)."""
	from simple_crm.security.read_paths import responsible_name, sees_record

	parts = []
	for match in matches:
		values = ", ".join(f"{_(p['kind'])} {p['value']}" for p in match.matched_on)
		if sees_record(match.doctype, match.name):
			parts.append(f"{_(match.doctype)} {match.name} ({match.title or ''}; {values})")
		else:
			parts.append(
				_("{0}: a record you cannot see, responsible: {1}").format(
					_(match.doctype), responsible_name(match.responsible)
				)
				+ f" ({values})"
			)
	return "; ".join(parts)


def merge_row(data_import: str, doctype: str, row: dict, name: str):
	"""Put the row's values into the existing record `name`: fill what is empty, add a contact's new phones
	and e-mails; report each value the record already had otherwise. Saved with the importing user's
	permissions."""
	record = frappe.get_doc(doctype, name)
	record.check_permission("write")
	meta = frappe.get_meta(doctype)
	kept = []
	for fieldname, value in row.items():
		df = meta.get_field(fieldname)
		if fieldname in NOT_MERGED or not df or df.read_only or value in (None, "", []):
			continue
		if df.fieldtype in frappe.model.table_fields:
			added = merge_rows(record, fieldname, value)
			if added is None:
				kept.append(f"{_(df.label)}")
			continue
		current = record.get(fieldname)
		if current in (None, "", 0) and df.fieldtype not in ("Check",):
			record.set(fieldname, value)
		elif cstr(current).strip().lower() != cstr(value).strip().lower():
			kept.append(_("{0}: kept {1}, the file had {2}").format(_(df.label), cstr(current), cstr(value)))
	record.flags.ignore_duplicates = True
	record.save()
	note = _("Merged row of import {0}").format(data_import)
	if kept:
		note += ". " + "; ".join(kept)
	record.add_comment("Comment", note)
	log_row(data_import, MERGED, record, note)
	return record


def merge_rows(record, fieldname: str, rows) -> int | None:
	"""A contact's phones and e-mails: the file's rows the record does not have yet are added; None for
	other child tables (not merged, reported)."""
	keys = {"phone_nos": "phone", "email_ids": "email_id"}
	if record.doctype != "Contact" or fieldname not in keys:
		return None
	key = keys[fieldname]
	have = {normalise(key, row.get(key)) for row in record.get(fieldname)}
	added = 0
	for row in rows:
		value = row.get(key) if isinstance(row, dict) else None
		if value and normalise(key, value) not in have:
			record.append(fieldname, {k: v for k, v in row.items() if k not in ("name", "parent", "idx")})
			have.add(normalise(key, value))
			added += 1
	return added


def normalise(key: str, value) -> str:
	value = cstr(value).strip().lower()
	return re.sub(r"\D", "", value)[-10:] if key == "phone" else value


def log_row(data_import: str, outcome: str, record, note: str | None = None) -> None:
	row = frappe.new_doc(RESULT)
	row.update(
		{
			"data_import": data_import,
			"outcome": outcome,
			"reference_doctype": record.doctype,
			"reference_name": record.name,
			"note": note,
		}
	)
	row.db_insert()


# --- the summary ------------------------------------------------------------------------------------------


def summary(data_import: str) -> dict:
	"""Counts per outcome and one line per row of the file: row numbers, outcome, record, reason."""
	logs = frappe.get_all(
		"Data Import Log",
		filters={"data_import": data_import},
		fields=["log_index", "success", "docname", "row_indexes", "messages", "exception"],
		order_by="log_index asc",
	)
	results = frappe.get_all(
		RESULT,
		filters={"data_import": data_import},
		fields=["outcome", "reference_doctype", "reference_name", "note"],
		order_by="creation asc, idx asc",
	)
	pending: dict[str, list] = {}
	for result in results:
		pending.setdefault(result.reference_name, []).append(result)
	# A record is created once: when a record has more successful rows than outcomes, its first row is the one
	# that created it plainly (a later row of the file may have been merged into it), the others have theirs.
	successes: dict[str, int] = {}
	for log in logs:
		if log.success:
			successes[log.docname] = successes.get(log.docname, 0) + 1
	for docname, count in successes.items():
		if count > len(pending.get(docname) or []):
			pending.setdefault(docname, []).insert(0, None)
	doctype = frappe.db.get_value("Data Import", data_import, "reference_doctype")
	lines = []
	for log in logs:
		rows = json.loads(log.row_indexes or "[]")
		if log.success:
			queue = pending.get(log.docname) or []
			result = queue.pop(0) if queue else None
			lines.append(
				{
					"rows": rows,
					"outcome": result.outcome if result else CREATED,
					"record_doctype": result.reference_doctype if result else doctype,
					"record": log.docname,
					"reason": strip_html(result.note or "") if result else "",
				}
			)
		else:
			lines.append(
				{
					"rows": rows,
					"outcome": SKIPPED if "DuplicateRowSkipped" in (log.exception or "") else REJECTED,
					"record_doctype": doctype,
					"record": None,
					"reason": failure_reason(log),
				}
			)
	counts = {outcome: 0 for outcome in OUTCOMES}
	for line in lines:
		counts[line["outcome"]] += 1
	return {"data_import": data_import, "doctype": doctype, "counts": counts, "rows": lines}


def failure_reason(log) -> str:
	"""The messages the row's save showed (as the user read them), else the exception's last line."""
	texts = []
	try:
		messages = json.loads(log.messages or "[]")
	except ValueError:
		messages = []
	if isinstance(messages, str):
		messages = [messages]
	for message in messages or []:
		if isinstance(message, str):
			try:
				message = json.loads(message)
			except ValueError:
				message = {"message": message}
		text = message.get("message") if isinstance(message, dict) else None
		if text:
			texts.append(" ".join(strip_html(cstr(text)).split()))
	if texts:
		return " ".join(texts)
	last = (log.exception or "").strip().splitlines()
	return last[-1].split(": ", 1)[-1] if last else _("Not imported")


def outcome_label(outcome: str) -> str:
	"""An outcome in the user's language (its own wording, apart from Frappe's "Created" elsewhere)."""
	return _(outcome, context="Import Row Outcome")


def summary_csv(data: dict) -> str:
	import csv
	import io

	out = io.StringIO()
	writer = csv.writer(out)
	writer.writerow([_("Row"), _("Outcome"), _("Record Type"), _("Record"), _("Reason")])
	for line in data["rows"]:
		writer.writerow(
			[
				", ".join(str(r) for r in line["rows"]),
				outcome_label(line["outcome"]),
				_(line["record_doctype"] or ""),
				line["record"] or "",
				line["reason"],
			]
		)
	writer.writerow([])
	for outcome, count in data["counts"].items():
		writer.writerow([outcome_label(outcome), count])
	return out.getvalue()


def delete_rows(doc, method=None) -> None:
	"""Data Import on_trash: its rows' outcomes go with it."""
	frappe.db.delete(RESULT, {"data_import": doc.name})
