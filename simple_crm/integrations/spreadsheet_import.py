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

Frappe's importer commits after every row and, after a row that failed, rolls the whole transaction back. For
the CRM's records the rows are committed in groups of `ROWS_PER_COMMIT` instead (`RowGroups`), which takes a
third off an import's time: a row that fails is undone alone, back to the savepoint taken as it started, with
what it had queued for after the commit; a group's records go in with their Data Import Log rows in one
commit, so an import that stops halfway has each row either imported and logged, or neither (Frappe's
"Retry" imports the rows that are not logged). Frappe keeps that log in a MyISAM table, outside transactions;
the app makes it InnoDB (`make_import_log_transactional`, on install and migrate), and leaves the rows to
Frappe's own commits while it is not. Once it is, the imports of every doctype undo a failed row alone (their
rows committed one by one, as Frappe does): Frappe's rollback of the whole transaction would take back the log
lines of the rows that failed before it, which wait for the next commit. The new leads of a group get one job between them
(simple_crm.automation.new_leads).
"""

import collections
import json
import re

import frappe
from frappe import _
from frappe.utils import cstr, strip_html

from simple_crm.duplicates import TRACKED_DOCTYPES
from simple_crm.utils import series

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
# rows committed together by an import of the CRM's records (see RowGroups); at a few milliseconds a row, a
# group holds its locks (the naming series' row among them) for a quarter of a second at most
ROWS_PER_COMMIT = 50
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
	from frappe.core.doctype.data_import.importer import INSERT, Importer

	if getattr(Importer.insert_record, "_crm", False):
		return
	frappe_init, frappe_insert, frappe_update, frappe_import_data, frappe_process_doc = (
		Importer.__init__,
		Importer.insert_record,
		Importer.update_record,
		Importer.import_data,
		Importer.process_doc,
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
		if not isinstance(getattr(frappe.local, "crm_import_rows", None), RowGroups):
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

	def import_data(self, *args, **kwargs):
		if not import_log_transactional():
			return frappe_import_data(self, *args, **kwargs)
		# With the log in a transactional table, Frappe's rollback after a failed row would also take back the
		# log lines of the rows that failed before it (they wait for the next commit): every import undoes a
		# failed row alone. Other doctypes' rows are committed one by one, as Frappe does.
		tracked = self.doctype in TRACKED_DOCTYPES
		with RowGroups(
			self.doctype, ROWS_PER_COMMIT if tracked else 1, names=tracked and self.import_type == INSERT
		):
			return frappe_import_data(self, *args, **kwargs)

	def process_doc(self, doc):
		rows = getattr(frappe.local, "crm_import_rows", None)
		if not isinstance(rows, RowGroups):
			return frappe_process_doc(self, doc)
		name = rows.start_row(doc)
		record = frappe_process_doc(self, doc)
		if name and getattr(record, "name", None) != name:
			# merged into an existing record: the number goes to the next row
			rows.give_back(name)
		return record

	insert_record._crm = True
	Importer.__init__ = __init__
	Importer.import_data = import_data
	Importer.process_doc = process_doc
	Importer.insert_record = insert_record
	Importer.update_record = update_record


class RowGroups:
	"""The transaction of an import of the CRM's records, whose rows are committed in groups.

	While it is open, the importer's `frappe.db.commit()` after a row ends the row, and commits when the group is
	full; its `frappe.db.rollback()` after a failed row goes back to the savepoint `start_row` took, and drops
	what the row had queued for after the commit (callbacks, realtime messages, new-lead jobs). What the last
	group holds is committed when the import ends normally; an import that raises leaves it to the caller's
	rollback, logs and all.
	"""

	def __init__(self, doctype: str, size: int, names: bool = False):
		self.size = size
		self.rows = 0
		self.marks = None
		self.new_leads: list[str] = []
		# new records named by a plain naming series take their numbers from a block reserved for a group and
		# committed at once, so the series' row is not locked while the group is open
		self.autoname = plain_series(doctype) if names else None
		self.prefix, self.digits = None, 0
		self.numbers: collections.deque[int] = collections.deque()
		self.block_end = 0

	def __enter__(self):
		from simple_crm.automation import new_leads

		self.db = frappe.local.db
		self.own = {
			name: self.db.__dict__[name] for name in ("commit", "rollback") if name in self.db.__dict__
		}
		self.real_commit, self.real_rollback = self.db.commit, self.db.rollback
		self.db.commit, self.db.rollback = self.commit, self.rollback
		frappe.local.crm_import_rows = self
		setattr(frappe.local, new_leads.GROUP, self.new_leads)
		return self

	def __exit__(self, kind, error, traceback):
		from simple_crm.automation import new_leads

		for name in ("commit", "rollback"):
			if name in self.own:
				setattr(self.db, name, self.own[name])
			else:
				self.db.__dict__.pop(name, None)
		frappe.local.crm_import_rows = None
		setattr(frappe.local, new_leads.GROUP, None)
		if kind is None:
			self.end_group()
			self.return_numbers()
		return False

	def start_row(self, doc) -> str | None:
		"""Before a row is imported: its savepoint and marks; the name it gets, if the group names it."""
		# Frappe notes each document being saved in `currently_saving` and drops it after the save, by the name
		# it has then: a document named during its insert stays noted under no name, and the list, which every
		# save searches, grows by a row or two with each row of the file. Between rows nothing is being saved.
		frappe.flags.currently_saving[:] = [
			(doctype, name) for doctype, name in frappe.flags.currently_saving if name is not None
		]
		name = None
		if self.autoname and not doc.get("name"):
			name = self.next_name()
			doc.name = name
		self.db.savepoint(SAVEPOINT)
		realtime = getattr(frappe.local, "_realtime_log", None)
		self.marks = (
			len(self.db.before_commit._functions),
			len(self.db.after_commit._functions),
			None if realtime is None else len(realtime),
			len(self.new_leads),
			name,
		)
		return name

	def next_name(self) -> str:
		from frappe.model.naming import NamingSeries

		prefix = NamingSeries(self.autoname).get_prefix()
		if prefix != self.prefix or not self.numbers:
			self.end_group()
			self.return_numbers()
			self.reserve(prefix)
			self.real_commit()
		return f"{self.prefix}{self.numbers.popleft():0{self.digits}d}"

	def reserve(self, prefix: str) -> None:
		start = series.reserve(prefix, self.size)
		self.prefix, self.digits = prefix, self.autoname.count("#")
		self.numbers = collections.deque(range(start, start + self.size))
		self.block_end = start + self.size - 1

	def give_back(self, name: str) -> None:
		"""A number taken by a row that made no record: the next row takes it."""
		number = name[len(self.prefix or "") :]
		if self.prefix and name.startswith(self.prefix) and number.isdigit():
			self.numbers.appendleft(int(number))

	def return_numbers(self) -> None:
		"""The block's numbers no row took go back to the series, unless others were numbered since."""
		if self.prefix and self.numbers:
			series.give_back(self.prefix, self.numbers[0], self.block_end)
			self.real_commit()
		self.numbers.clear()

	def commit(self) -> None:
		"""The importer's commit: a row is done."""
		self.marks = None
		self.rows += 1
		if self.rows >= self.size:
			self.end_group()

	def end_group(self) -> None:
		from simple_crm.automation import new_leads

		self.rows = 0
		new_leads.enqueue_group(self.new_leads)
		self.new_leads.clear()
		self.real_commit()

	def rollback(self, *, save_point=None) -> None:
		"""The importer's rollback after a failed row: that row is undone, the group's other rows stay."""
		if save_point:
			return self.real_rollback(save_point=save_point)
		marks, self.marks = self.marks, None
		if marks is not None:
			try:
				self.real_rollback(save_point=SAVEPOINT)
			except Exception:
				# the server ended the transaction itself (a deadlock): the group is gone, its logs with it
				marks = None
		if marks is None:
			self.rows = 0
			self.new_leads.clear()
			self.real_rollback()
			return
		before, after, realtime, leads, name = marks
		if name:
			self.give_back(name)
		for callbacks, keep in ((self.db.before_commit, before), (self.db.after_commit, after)):
			while len(callbacks._functions) > keep:
				callbacks._functions.pop()
		if realtime is None:
			if hasattr(frappe.local, "_realtime_log"):
				del frappe.local._realtime_log
		else:
			del frappe.local._realtime_log[realtime:]
		del self.new_leads[leads:]


IMPORT_LOG = "tabData Import Log"


def import_log_engine() -> str | None:
	engine = frappe.db.sql(
		"select engine from information_schema.tables where table_schema = database() and table_name = %s",
		IMPORT_LOG,
	)
	return engine[0][0] if engine else None


def import_log_transactional() -> bool:
	return import_log_engine() == "InnoDB"


def make_import_log_transactional() -> None:
	"""Frappe's Data Import Log is a MyISAM table, whose rows stay whatever the transaction does. A group of rows
	must go in with its logs or not at all (RowGroups), so the table becomes InnoDB."""
	if import_log_engine() not in (None, "InnoDB"):
		frappe.db.sql_ddl(f"alter table `{IMPORT_LOG}` engine=InnoDB")


def plain_series(doctype: str) -> str | None:
	"""The doctype's naming series when it is made of text, date parts and the number only ("LEAD-.YYYY.-.#####"),
	so that a group's names can be made ahead of its records."""
	autoname = frappe.get_meta(doctype).autoname or ""
	parts = autoname.split(".")
	if not parts or not re.fullmatch(r"#+", parts[-1]) or "#" in "".join(parts[:-1]):
		return None
	fields = {df.fieldname for df in frappe.get_meta(doctype).fields}
	for part in parts[:-1]:
		if part in fields or not re.fullmatch(r"[\w\-/ ]*", part) or part in ("WW", "timestamp"):
			return None
	return autoname


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
