"""Writing a batch's records with a few multi-row statements, each row as the controllers would store it.

The records are built as documents (`frappe.get_doc`, the doctype's defaults, the controllers' own checks
and cleaning, run by the caller), and written here:

- new records take the next numbers of their naming series, reserved for the whole batch in one update of
  `tabSeries` (Frappe's `getseries` does it one number at a time), and go in with multi-row INSERTs of
  `get_valid_dict()` rows, as `db_insert` writes one;
- changed records are written with one multi-row `INSERT ... ON DUPLICATE KEY UPDATE` by name (the caller
  has read and locked them), with `modified` and `modified_by` as a save sets them, and the Version row
  Frappe's `save_version` would write for a tracked doctype (the same diff, `Version.set_diff`);
- both get the row of the Desk's search bar that Frappe's `update_global_search` makes (written into
  `__global_search` in the same transaction, where Frappe queues it in Redis for a job), and records of the
  duplicate index (`simple_crm.duplicates`) get their `CRM Contact Point` rows, as `sync_contact_points`
  keeps them.

What a save does besides (notifications to open forms, the follow of created documents) is left out; the
Desk's lists are told once per doctype that they changed.
"""

import re

import frappe
from frappe.model.naming import make_autoname
from frappe.utils import cstr
from frappe.utils.global_search import get_formatted_value, sync_values

from simple_crm.duplicates import CONTACT_POINT, contact_points
from simple_crm.utils import series

ROWS_PER_STATEMENT = 500
SERIES = re.compile(r"^(?P<prefix>[^#.]*)\.(?P<digits>#+)$")


def new_document(doctype: str, values: dict):
	"""A new record as `insert` starts one: the values given, then the doctype's defaults for the rest."""
	doc = frappe.get_doc({"doctype": doctype, **values})
	doc.update_if_missing(frappe.new_doc(doctype, as_dict=True))
	doc.set("__islocal", 1)
	return doc


def stored_document(doctype: str, row: dict):
	"""A stored record from its row (read with `select *`); its child tables are not read (the exchange
	writes none)."""
	doc = frappe.get_doc({"doctype": doctype, **row})
	doc.set("__islocal", None)
	return doc


def check_before_validate(doc) -> None:
	"""What runs before a controller's validate on every save of the app's records: each value fits its
	column (simple_crm.security.input)."""
	from simple_crm.security.input import check_document

	check_document(doc)


def check_before_write(doc) -> None:
	"""What a save checks after the controller's validate and before the write: texts fit once cleaned
	(simple_crm.security.input), then Frappe's own checks (mandatory fields, e-mail fields, Select options,
	lengths) and its HTML sanitising of texts."""
	from simple_crm.security.input import check_document_lengths

	check_document_lengths(doc)
	doc._validate_mandatory()
	doc._validate_data_fields()
	doc._validate_selects()
	doc._validate_length()
	doc._sanitize_content()


def differs(old, new, fieldnames) -> bool:
	"""Whether any of the fields would be stored differently."""
	a = old.get_valid_dict(convert_dates_to_str=True, ignore_virtual=True)
	b = new.get_valid_dict(convert_dates_to_str=True, ignore_virtual=True)
	return any(_stored(a.get(f)) != _stored(b.get(f)) for f in fieldnames)


def _stored(value):
	if isinstance(value, float | int) and not isinstance(value, bool):
		return round(float(value), 6)
	if hasattr(value, "as_tuple"):  # Decimal from the database
		return round(float(value), 6)
	return None if value == "" else value


def reserve_names(doctype: str, count: int) -> list[str]:
	"""The next `count` names of the doctype's naming series ("ORD-.#####"), reserved in one update."""
	if count <= 0:
		return []
	match = SERIES.match(frappe.get_meta(doctype).autoname or "")
	if not match:
		raise ValueError(f"{doctype} is not named by a plain naming series")
	prefix, digits = match["prefix"], len(match["digits"])
	first = series.reserve(prefix, count)
	return [f"{prefix}{number:0{digits}d}" for number in range(first, first + count)]


class Writer:
	"""The writes of one doctype in one batch, by one user at one moment."""

	def __init__(self, doctype: str, now, user: str | None = None):
		self.doctype = doctype
		self.now = now
		self.user = user or frappe.session.user
		self.meta = frappe.get_meta(doctype)
		self.written = 0

	def insert(self, docs: list) -> None:
		"""New records: named from the series, stamped, written with their derived rows."""
		if not docs:
			return
		for doc, name in zip(docs, reserve_names(self.doctype, len(docs)), strict=True):
			doc.name = name
			doc.owner = doc.modified_by = self.user
			doc.creation = doc.modified = self.now
			doc.docstatus = 0
			doc.idx = 0
		self._write([doc.get_valid_dict(convert_dates_to_str=True, ignore_virtual=True) for doc in docs])
		self._search(docs)
		self._contact_points([(None, doc) for doc in docs])
		self.written += len(docs)

	def update(self, pairs: list[tuple], history: bool = True) -> None:
		"""Changed records, each as (stored, changed) documents of a row read `for update`. `history=False`
		writes no Version row (accounting's debt and turnover, see `figures`)."""
		if not pairs:
			return
		versions = []
		for old, new in pairs:
			new.modified = self.now
			new.modified_by = self.user
			version = self._version(old, new) if history else None
			if version:
				versions.append(version)
		columns = [
			column
			for column in pairs[0][1].get_valid_dict(convert_dates_to_str=True, ignore_virtual=True)
			if column not in ("name", "creation", "owner")
		]
		self._write(
			[new.get_valid_dict(convert_dates_to_str=True, ignore_virtual=True) for _old, new in pairs],
			update_columns=columns,
		)
		if versions:
			self._write(versions, table="Version")
		self._search([new for _old, new in pairs])
		self._contact_points(pairs)
		self.written += len(pairs)

	def notify_lists(self) -> None:
		"""Open list views of the doctype refresh (once, when the batch has committed)."""
		if self.written:
			frappe.publish_realtime(
				"list_update",
				{"doctype": self.doctype, "name": None, "user": self.user},
				after_commit=True,
			)

	# --- rows

	def _write(self, rows: list[dict], table: str | None = None, update_columns: list[str] | None = None):
		table = table or self.doctype
		columns = list(rows[0])
		names = ", ".join(f"`{c}`" for c in columns)
		placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
		suffix = ""
		if update_columns:
			suffix = " on duplicate key update " + ", ".join(f"`{c}` = values(`{c}`)" for c in update_columns)
		for start in range(0, len(rows), ROWS_PER_STATEMENT):
			part = rows[start : start + ROWS_PER_STATEMENT]
			values = [row.get(column) for row in part for column in columns]
			frappe.db.sql(
				f"insert into `tab{table}` ({names}) values {', '.join([placeholder] * len(part))}{suffix}",
				values,
			)

	def _version(self, old, new) -> dict | None:
		"""The Version row Frappe's save_version writes for a tracked doctype (None: nothing to track)."""
		if not self.meta.track_changes:
			return None
		version = frappe.new_doc("Version")
		if not version.update_version_info(old, new):
			return None
		version.name = make_autoname("hash", "Version")
		version.owner = version.modified_by = self.user
		version.creation = version.modified = self.now
		version.docstatus = 0
		return version.get_valid_dict(convert_dates_to_str=True, ignore_virtual=True)

	def _search(self, docs: list) -> None:
		"""The rows Frappe's update_global_search makes (title, "value ||| value" of the search fields)."""
		fields = [
			df for df in self.meta.get_global_search_fields() if df.fieldtype not in frappe.model.table_fields
		]
		if not fields or frappe.local.conf.get("disable_global_search"):
			return
		values = []
		for doc in docs:
			content = [
				get_formatted_value(doc.get(df.fieldname), df) for df in fields if doc.get(df.fieldname)
			]
			if content:
				title = cstr(doc.get_title())[: int(frappe.db.VARCHAR_LEN)]
				values.append((doc.doctype, doc.name, " ||| ".join(content), 0, title, doc.get("route")))
		for start in range(0, len(values), ROWS_PER_STATEMENT):
			sync_values(values[start : start + ROWS_PER_STATEMENT])

	def _contact_points(self, pairs: list[tuple]) -> None:
		"""The duplicate index holds exactly each record's phones, e-mails and INN afterwards."""
		changed, stored = [], []
		for old, new in pairs:
			wanted = contact_points(new)
			if old is None:
				if wanted:
					changed.append((new.name, wanted))
			elif wanted != contact_points(old):
				changed.append((new.name, wanted))
				stored.append(new.name)
		if not changed:
			return
		table = frappe.qb.DocType(CONTACT_POINT)
		if stored:
			frappe.qb.from_(table).delete().where(
				(table.reference_doctype == self.doctype) & table.reference_name.isin(stored)
			).run()
		rows = [
			{
				"name": frappe.generate_hash(length=12),
				"creation": self.now,
				"modified": self.now,
				"owner": self.user,
				"modified_by": self.user,
				"kind": kind,
				"value": value,
				"reference_doctype": self.doctype,
				"reference_name": name,
			}
			for name, points in changed
			for kind, value in sorted(points)
		]
		if rows:
			self._write(rows, table=CONTACT_POINT)
