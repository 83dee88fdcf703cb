"""Spreadsheet import through Frappe's Data Import: the templates, duplicate rows skipped, merged or
imported with a warning, and a 5,000-row file with messy phones, invalid INNs and duplicates.

Frappe's Data Import commits row by row, so these tests clean up after themselves (every record an
import made, its duplicate index and search rows, the import and its logs).
"""

import io
import random

import frappe
from frappe.utils import get_files_path

from simple_crm.integrations.spreadsheet_import import FIELD, MERGE, SKIP, WARN
from simple_crm.tests import factories
from simple_crm.tests.sales_org import SalesOrgUsers
from simple_crm.tests.utils import CRMTestCase
from simple_crm.utils import identifiers

IMPORTER = "import.admin@example.com"
TEMPLATES = {
	"CRM Lead": ("crm_lead.csv", 3),
	"CRM Client": ("crm_client.csv", 2),
	"CRM Counterparty": ("crm_counterparty.csv", 2),
	"Contact": ("contact.csv", 2),
}
COUNTERPARTY_HEADER = [
	"Полное наименование",
	"Короткое имя",
	"Тип",
	"ИНН",
	"КПП",
	"ОГРН / ОГРНИП",
	"Директор",
	"Телефон",
]


def messy(index: int, digits: str) -> str:
	"""The same mobile number as people type it: +7 (916) 123-45-67, 8 916 123 45 67, 9161234567, ..."""
	a, b, c, d = digits[:3], digits[3:6], digits[6:8], digits[8:]
	return (
		f"+7 ({a}) {b}-{c}-{d}",
		f"8 {a} {b} {c} {d}",
		f"{a}{b}{c}{d}",
		f"+7-{a}-{b}-{c}-{d}",
		f" 8({a}){b}-{c}-{d} ",
	)[index % 5]


def broken_inn(inn: str) -> str:
	return inn[:-1] + str((int(inn[-1]) + 1) % 10)


class ImportCase(SalesOrgUsers, CRMTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		user = factories.make_user(IMPORTER, roles=("CRM Administrator",), first_name="Импорт")
		user.db_set("language", "ru")
		frappe.db.commit()

	def setUp(self):
		super().setUp()
		self.made: list[tuple[str, str]] = []
		self.imports: list[str] = []

	def tearDown(self):
		frappe.set_user("Administrator")
		frappe.db.rollback()
		for name in self.imports:
			for log in frappe.get_all(
				"Data Import Log", filters={"data_import": name, "success": 1}, pluck="docname"
			):
				doctype = frappe.db.get_value("Data Import", name, "reference_doctype")
				self.made.append((doctype, log))
		remove(self.made)
		for name in self.imports:
			frappe.db.delete("Data Import Log", {"data_import": name})
			frappe.db.delete("CRM Import Row", {"data_import": name})
			frappe.db.delete("Data Import", name)
		frappe.db.commit()
		super().tearDown()

	def run_import(self, doctype: str, content: bytes, file_name: str, action: str | None = None):
		"""A Data Import of `content` as the importing CRM administrator (Russian), started and finished
		(Frappe runs it at once in tests); returns the reloaded Data Import and its summary."""
		frappe.set_user(IMPORTER)
		try:
			file = frappe.get_doc(
				{"doctype": "File", "file_name": file_name, "content": content, "is_private": 1}
			).insert()
			data_import = frappe.get_doc(
				{
					"doctype": "Data Import",
					"reference_doctype": doctype,
					"import_type": "Insert New Records",
					"import_file": file.file_url,
					FIELD: action,
				}
			).insert()
			frappe.db.commit()
			self.imports.append(data_import.name)
			data_import.start_import()
			data_import.reload()
			summary = frappe.call("simple_crm.api.data_import.summary", data_import=data_import.name)
		finally:
			frappe.set_user("Administrator")
		return data_import, summary

	def keep(self, doc):
		self.made.append((doc.doctype, doc.name))
		frappe.db.commit()
		return doc


def remove(records: list[tuple[str, str]]) -> None:
	"""Delete imported records and what the app derived from them, in bulk."""
	by_doctype: dict[str, set] = {}
	for doctype, name in records:
		if name:
			by_doctype.setdefault(doctype, set()).add(name)
	for doctype, names in by_doctype.items():
		names = list(names)
		for start in range(0, len(names), 1000):
			chunk = names[start : start + 1000]
			if doctype == "Contact":
				for child in ("Contact Phone", "Contact Email", "Dynamic Link"):
					frappe.db.delete(child, {"parenttype": "Contact", "parent": ("in", chunk)})
			if doctype == "CRM Counterparty":
				frappe.db.delete("CRM Counterparty Bank Account", {"parent": ("in", chunk)})
			frappe.db.delete(
				"CRM Contact Point", {"reference_doctype": doctype, "reference_name": ("in", chunk)}
			)
			frappe.db.delete("Comment", {"reference_doctype": doctype, "reference_name": ("in", chunk)})
			frappe.db.delete("Version", {"ref_doctype": doctype, "docname": ("in", chunk)})
			frappe.db.sql(
				"delete from `__global_search` where doctype = %s and name in %s", (doctype, tuple(chunk))
			)
			frappe.db.delete(doctype, {"name": ("in", chunk)})


def csv_bytes(rows: list[list]) -> bytes:
	import csv

	out = io.StringIO()
	csv.writer(out).writerows(rows)
	return out.getvalue().encode("utf-8")


def xlsx_bytes(rows: list[list]) -> bytes:
	from openpyxl import Workbook

	book = Workbook()
	sheet = book.active
	for row in rows:
		sheet.append(row)
	out = io.BytesIO()
	book.save(out)
	return out.getvalue()


class TestTemplates(ImportCase):
	def test_each_template_imports_as_it_is(self):
		folder = frappe.get_app_path("simple_crm", "public", "import_templates")
		for doctype, (file_name, rows) in TEMPLATES.items():
			with self.subTest(doctype=doctype):
				with open(f"{folder}/{file_name}", "rb") as f:
					content = f.read()
				data_import, summary = self.run_import(doctype, content, file_name, WARN)
				self.assertEqual(data_import.status, "Success", summary)
				self.assertEqual(
					summary["counts"]["Created"] + summary["counts"]["Created with Warning"], rows
				)
				self.assertEqual(summary["counts"]["Rejected"], 0)
		lead = frappe.get_all(
			"CRM Lead",
			filters={"email": "ivan.petrov@romashka-example.ru"},
			fields=["phone_normalized", "mobile_no_normalized"],
		)[0]
		self.assertEqual((lead.phone_normalized, lead.mobile_no_normalized), ("+74951234567", "+79161234567"))


class TestDuplicateRows(ImportCase):
	def make_existing(self):
		self.phone = factories.unique_mobile()
		self.lead = self.keep(factories.make_lead(lead_name="Уже есть", phone=self.phone, email=None))
		self.client_phone = factories.unique_mobile()
		self.client = self.keep(factories.make_client(phone=self.client_phone))
		self.email = factories.unique_email("import")
		header = ["Имя", "Телефон", "E-mail"]
		return [
			header,
			["Дубль лида", self.phone, ""],  # the existing lead's phone
			["Новый", "", self.email],  # new
			["Дубль строки", "", self.email.upper()],  # the row above's e-mail
			["Дубль клиента", self.client_phone, ""],  # a client's phone: another kind of record
		]

	def test_skip(self):
		rows = self.make_existing()
		data_import, summary = self.run_import("CRM Lead", csv_bytes(rows), "leads.csv", SKIP)
		self.assertEqual(
			[(line["rows"], line["outcome"]) for line in summary["rows"]],
			[
				([2], "Skipped as Duplicate"),
				([3], "Created"),
				([4], "Skipped as Duplicate"),
				([5], "Skipped as Duplicate"),
			],
		)
		self.assertIn(self.lead.name, summary["rows"][0]["reason"])
		self.assertIn(self.client.name, summary["rows"][3]["reason"])
		self.assertEqual(frappe.db.count("CRM Lead", {"email": self.email}), 1)
		self.assertEqual(data_import.status, "Partial Success")

	def test_merge(self):
		rows = self.make_existing()
		rows[1] = ["Дубль лида", self.phone, "merged@example.ru"]
		_data_import, summary = self.run_import("CRM Lead", csv_bytes(rows), "leads.csv", MERGE)
		outcomes = [(line["outcome"], line["record"]) for line in summary["rows"]]
		created = outcomes[1][1]
		self.assertEqual(
			outcomes,
			[
				("Merged", self.lead.name),
				("Created", created),
				("Merged", created),
				("Skipped as Duplicate", None),
			],
		)
		# the empty e-mail of the existing lead was filled; its name, which the file had otherwise, was kept
		lead = frappe.get_doc("CRM Lead", self.lead.name)
		self.assertEqual((lead.email, lead.lead_name), ("merged@example.ru", "Уже есть"))
		self.assertIn("Уже есть", summary["rows"][0]["reason"])
		self.assertIn("Дубль лида", summary["rows"][0]["reason"])
		# a lead row matching a client is not merged across kinds
		self.assertIn(self.client.name, summary["rows"][3]["reason"])
		self.assertEqual(summary["counts"], {**zero(), "Created": 1, "Merged": 2, "Skipped as Duplicate": 1})

	def test_import_with_warning_even_when_the_policy_blocks(self):
		rows = self.make_existing()
		frappe.db.set_single_value("Simple CRM Settings", "duplicate_policy", "Block")
		frappe.db.commit()
		try:
			_data_import, summary = self.run_import("CRM Lead", csv_bytes(rows), "leads.csv", WARN)
		finally:
			frappe.db.set_single_value("Simple CRM Settings", "duplicate_policy", "Warn")
			frappe.db.commit()
		self.assertEqual(
			[line["outcome"] for line in summary["rows"]],
			["Created with Warning", "Created", "Created with Warning", "Created with Warning"],
		)
		warned = summary["rows"][0]["record"]
		comments = frappe.get_all(
			"Comment", filters={"reference_doctype": "CRM Lead", "reference_name": warned}, pluck="content"
		)
		self.assertTrue(any(self.lead.name in c for c in comments), comments)
		# without an action the CRM's policy decides: Block refuses the duplicates with its own message
		frappe.db.set_single_value("Simple CRM Settings", "duplicate_policy", "Block")
		frappe.db.commit()
		try:
			rows = [rows[0], ["Ещё дубль", self.phone, ""]]
			_data_import, summary = self.run_import("CRM Lead", csv_bytes(rows), "leads.csv")
		finally:
			frappe.db.set_single_value("Simple CRM Settings", "duplicate_policy", "Warn")
			frappe.db.commit()
		self.assertEqual(summary["rows"][0]["outcome"], "Rejected")

	def test_the_summary_downloads_and_is_the_importers(self):
		rows = self.make_existing()
		data_import, _summary = self.run_import("CRM Lead", csv_bytes(rows), "leads.csv", SKIP)
		frappe.set_user(IMPORTER)
		try:
			frappe.call("simple_crm.api.data_import.download_summary", data_import=data_import.name)
			text = frappe.response["filecontent"]
		finally:
			frappe.set_user("Administrator")
		self.assertIn("Создана,1", text)
		self.assertIn("Пропущена как дубликат,3", text)
		frappe.set_user(email_of("sales1"))
		try:
			with self.assertRaises(frappe.PermissionError):
				frappe.call("simple_crm.api.data_import.summary", data_import=data_import.name)
		finally:
			frappe.set_user("Administrator")


def email_of(key: str) -> str:
	from simple_crm.tests.sales_org import email

	return email(key)


def zero() -> dict:
	return {
		"Created": 0,
		"Updated": 0,
		"Merged": 0,
		"Created with Warning": 0,
		"Skipped as Duplicate": 0,
		"Rejected": 0,
	}


class TestLargeSpreadsheet(ImportCase):
	"""5,000 counterparties from an Excel file, merged where they duplicate:

	- 4,700 new ones, with valid requisites and mobile numbers written five ways;
	- 100 with an INN whose check digit is wrong: rejected, each with the reason;
	- 50 with the INN of a counterparty already in the CRM (whose director and phone are empty): merged, the
	  director and phone filled;
	- 150 repeating the INN of one of the new rows above (with another phone and a director): merged into
	  the record that row made, the phone it already had kept.
	"""

	def test_five_thousand_rows(self):
		rng = random.Random(frappe.generate_hash(length=8))
		inns: set[str] = set(frappe.get_all("CRM Counterparty", pluck="inn"))

		def new_inn() -> str:
			while True:
				inn = identifiers.make_inn(rng)
				if inn not in inns:
					inns.add(inn)
					return inn

		phone_base = rng.randrange(100_000, 899_999) * 1000

		def phone(k: int) -> str:
			return messy(k, f"9{phone_base + k:09d}"[-10:])

		existing = []
		for _k in range(50):
			inn = new_inn()
			existing.append(
				self.keep(
					factories.make_counterparty(
						None, inn=inn, kpp=identifiers.make_kpp(rng, inn), director=None, phone=None
					)
				)
			)
		rows = [COUNTERPARTY_HEADER]
		new_rows = []
		for k in range(4700):
			inn = new_inn()
			row = [
				f"ООО «Импорт {k}»",
				f"Импорт {k}",
				"Legal Entity",
				inn,
				identifiers.make_kpp(rng, inn),
				identifiers.make_ogrn(rng),
				"",
				phone(k),
			]
			new_rows.append(row)
		rows += new_rows[:2400]
		for k in range(100):
			inn = new_inn()
			rows.append(
				[f"ООО «Ошибка {k}»", "", "Legal Entity", broken_inn(inn), "", "", "", phone(5000 + k)]
			)
		for k, record in enumerate(existing):
			rows.append(
				[
					record.full_name,
					"",
					"Legal Entity",
					record.inn,
					record.kpp,
					"",
					f"Директор {k}",
					phone(6000 + k),
				]
			)
		rows += new_rows[2400:]
		for k in range(150):
			original = new_rows[k]
			rows.append(
				[
					original[0],
					"",
					"Legal Entity",
					original[3],
					original[4],
					"",
					f"Директор {k}",
					phone(7000 + k),
				]
			)
		self.assertEqual(len(rows) - 1, 5000)

		data_import, summary = self.run_import(
			"CRM Counterparty", xlsx_bytes(rows), "counterparties.xlsx", MERGE
		)

		self.assertEqual(summary["counts"], {**zero(), "Created": 4700, "Merged": 200, "Rejected": 100})
		self.assertEqual(len(summary["rows"]), 5000)
		self.assertEqual(data_import.status, "Partial Success")
		rejected = [line for line in summary["rows"] if line["outcome"] == "Rejected"]
		self.assertEqual(sorted(r["rows"][0] for r in rejected), list(range(2402, 2502)))
		for line in rejected:
			self.assertIn("ИНН", line["reason"], line)
		# one record per INN, whatever the file repeated
		file_inns = [row[3] for row in rows[1:] if row[2] == "Legal Entity"]
		counts = dict(
			frappe.db.sql(
				"select inn, count(*) from `tabCRM Counterparty` where inn in %s group by inn",
				(tuple(set(file_inns)),),
			)
		)
		self.assertEqual(set(counts.values()), {1})
		self.assertEqual(len(counts), 4750)  # 4,700 new + 50 existing; the broken INNs made nothing
		# the existing counterparties got the director and phone they did not have
		first = frappe.get_doc("CRM Counterparty", existing[0].name)
		self.assertEqual(
			(first.director, first.phone_normalized), ("Директор 0", f"+7{phone_digits(phone(6000))}")
		)
		# phones typed five ways are stored in E.164
		by_inn = {
			r.inn: r.phone_normalized
			for r in frappe.get_all(
				"CRM Counterparty",
				filters={"inn": ("in", [row[3] for row in new_rows[:5]])},
				fields=["inn", "phone_normalized"],
			)
		}
		for k, row in enumerate(new_rows[:5]):
			self.assertEqual(by_inn[row[3]], f"+7{phone_digits(phone(k))}")
		# a repeated row kept the phone the record had and said so
		repeat = next(line for line in summary["rows"] if line["rows"] == [4852])
		made = frappe.get_doc("CRM Counterparty", {"inn": new_rows[0][3]})
		self.assertEqual((repeat["outcome"], repeat["record"]), ("Merged", made.name))
		self.assertEqual(made.director, "Директор 0")
		self.assertEqual(made.phone_normalized, f"+7{phone_digits(phone(0))}")
		self.assertIn(phone(7000).strip(), repeat["reason"])


def phone_digits(text: str) -> str:
	digits = "".join(ch for ch in text if ch.isdigit())
	return digits[-10:]


def series_now(doctype: str) -> tuple[str, int]:
	"""The prefix the doctype's naming series has today and its counter."""
	from frappe.model.naming import NamingSeries

	prefix = NamingSeries(frappe.get_meta(doctype).autoname).get_prefix()
	return prefix, frappe.db.get_value("Series", prefix, "current", order_by=None) or 0


def group_jobs(leads: list[str]) -> list:
	"""The queued jobs of new leads' groups that hold any of `leads` (no worker runs in the tests)."""
	from frappe.utils.background_jobs import get_queue

	return [
		job
		for job in get_queue("short").get_jobs()
		if job.kwargs.get("method") == "simple_crm.automation.new_leads.process_new_leads"
		and job.kwargs.get("site") == frappe.local.site
		and set(job.kwargs["kwargs"]["leads"]) & set(leads)
	]


class TestRowsCommittedInGroups(ImportCase):
	"""The CRM's rows are committed in groups: a failed row is undone alone, the records are numbered without
	gaps from a block of their series reserved per group, and the new leads of a group get one job."""

	def tearDown(self):
		from simple_crm.tests.test_automation_leads import remove_leads

		leads = [name for doctype, name in self.made if doctype == "CRM Lead"]
		for name in self.imports:
			leads += frappe.get_all(
				"Data Import Log", filters={"data_import": name, "success": 1}, pluck="docname"
			)
		for job in group_jobs(leads):
			job.delete()
		remove_leads(leads)
		super().tearDown()

	def test_a_file_over_three_groups(self):
		existing_phone = factories.unique_mobile()
		self.keep(factories.make_lead(lead_name="Уже есть", phone=existing_phone, email=None))
		run = frappe.generate_hash(length=6)
		rows = [["Имя", "Телефон", "E-mail"]]
		rows += [[f"Группа {k}", "", f"group-{run}-{k}@example.ru"] for k in range(130)]
		rows[12] = ["Неверный адрес", "", "это не почта"]
		rows[72] = ["Неверный адрес", "", "и это не почта"]
		rows[22] = ["Дубль строки", "", f"group-{run}-5@example.ru"]
		rows[82] = ["Дубль лида", existing_phone, ""]
		prefix, before = series_now("CRM Lead")

		data_import, summary = self.run_import("CRM Lead", csv_bytes(rows), "groups.csv", SKIP)

		self.assertEqual(
			summary["counts"], {**zero(), "Created": 126, "Skipped as Duplicate": 2, "Rejected": 2}
		)
		self.assertEqual(data_import.status, "Partial Success")
		self.assertEqual(
			[line["rows"][0] for line in summary["rows"] if line["outcome"] == "Rejected"], [13, 73]
		)
		created = [line["record"] for line in summary["rows"] if line["outcome"] == "Created"]
		# in the file's order, without a gap for the rows that made no record
		self.assertEqual(created, [f"{prefix}{before + k:05d}" for k in range(1, 127)])
		# and the block's numbers no row took went back to the series
		self.assertEqual(series_now("CRM Lead"), (prefix, before + 126))
		stored = frappe.get_all("CRM Lead", filters={"email": ("like", f"group-{run}-%")}, pluck="name")
		self.assertEqual(sorted(stored), sorted(created))
		# one job a group, holding its new leads and nothing else
		jobs = group_jobs(created)
		queued = [lead for job in jobs for lead in job.kwargs["kwargs"]["leads"]]
		self.assertEqual(sorted(queued), sorted(created))
		self.assertEqual(len(jobs), 3)
		# what the worker runs, run here: every lead gets its new-lead work once
		for job in jobs:
			frappe.set_user(job.kwargs["user"])
			frappe.get_attr(job.kwargs["method"])(**job.kwargs["kwargs"])
		frappe.set_user("Administrator")
		marks = frappe.get_all(
			"CRM Automation Mark", filters={"reference_name": ("in", created)}, pluck="reference_name"
		)
		self.assertEqual(sorted(marks), sorted(created))

	def test_an_import_that_dies_halfway_keeps_each_row_with_its_log_and_a_retry_does_the_rest(self):
		from unittest import mock

		from simple_crm.automation import new_leads
		from simple_crm.tests.test_automation_leads import Crash

		run = frappe.generate_hash(length=6)
		rows = [["Имя", "Телефон", "E-mail"]]
		rows += [[f"Обрыв {k}", "", f"halfway-{run}-{k}@example.ru"] for k in range(130)]
		frappe_on_lead_insert, inserted = new_leads.on_lead_insert, []

		def dies_on_the_seventieth(doc, method=None):
			inserted.append(doc.name)
			if len(inserted) == 70:
				raise Crash  # a killed worker: nothing catches it, nothing after it runs
			return frappe_on_lead_insert(doc, method)

		with mock.patch.object(new_leads, "on_lead_insert", dies_on_the_seventieth):
			with self.assertRaises(Crash):
				self.run_import("CRM Lead", csv_bytes(rows), "halfway.csv", SKIP)
		frappe.db.rollback()
		data_import = frappe.get_doc("Data Import", self.imports[-1])

		def stored() -> list[str]:
			return frappe.get_all("CRM Lead", filters={"email": ("like", f"halfway-{run}-%")}, pluck="name")

		def logged() -> list[str]:
			return frappe.get_all(
				"Data Import Log", filters={"data_import": data_import.name, "success": 1}, pluck="docname"
			)

		# the first group was committed with its logs; the second went with the crash, logs and all
		self.assertEqual(len(stored()), 50)
		self.assertEqual(sorted(stored()), sorted(logged()))
		frappe.set_user(IMPORTER)
		try:
			data_import.start_import()
		finally:
			frappe.set_user("Administrator")
		self.assertEqual(frappe.db.get_value("Data Import", data_import.name, "status"), "Success")
		self.assertEqual(len(stored()), 130)
		self.assertEqual(sorted(stored()), sorted(logged()))

	def test_a_failed_row_is_undone_with_what_it_queued(self):
		from simple_crm.integrations.spreadsheet_import import RowGroups

		with RowGroups("CRM Lead", 50) as rows:
			rows.start_row(frappe._dict())
			callbacks = len(frappe.db.after_commit._functions)
			failed = factories.make_lead(lead_name="Строка с ошибкой")
			self.assertEqual(rows.new_leads, [failed.name])
			self.assertGreater(len(frappe.db.after_commit._functions), callbacks)
			frappe.db.rollback()  # what the importer does after a row that failed
			self.assertEqual(rows.new_leads, [])
			self.assertEqual(len(frappe.db.after_commit._functions), callbacks)
			self.assertNotIn(failed.name, str(getattr(frappe.local, "_realtime_log", [])))
			rows.start_row(frappe._dict())
			kept = factories.make_lead(lead_name="Следующая строка")
			frappe.db.commit()  # the importer's commit after a row: the group stays open
			self.assertEqual(rows.new_leads, [kept.name])
		self.made.append(("CRM Lead", kept.name))
		frappe.db.rollback()
		self.assertFalse(frappe.db.exists("CRM Lead", {"email": failed.email}))
		self.assertTrue(frappe.db.exists("CRM Lead", {"email": kept.email}), "committed as the group ended")
		# the failed row's number went back with it (its series update was undone): the next row has it
		self.assertEqual(kept.name, failed.name)
		self.assertEqual([job.kwargs["kwargs"]["leads"] for job in group_jobs([kept.name])], [[kept.name]])

	def test_numbers_go_back_only_while_nobody_took_one_after_the_block(self):
		from simple_crm.integrations.spreadsheet_import import RowGroups

		prefix, before = series_now("CRM Lead")
		with RowGroups("CRM Lead", 50, names=True) as rows:
			self.assertEqual(rows.start_row(frappe._dict()), f"{prefix}{before + 1:05d}")
			self.assertEqual(series_now("CRM Lead")[1], before + 50, "the block is reserved and committed")
			frappe.db.rollback()
		self.assertEqual(series_now("CRM Lead")[1], before, "nothing was numbered: all of it went back")

		with RowGroups("CRM Lead", 50, names=True) as rows:
			rows.start_row(frappe._dict())
			frappe.db.rollback()
			# a record numbered by Frappe's series while the block is out, as a lead from the website would be
			other = factories.make_lead(lead_name="С сайта")
			frappe.db.commit()
		self.made.append(("CRM Lead", other.name))
		self.assertEqual(other.name, f"{prefix}{before + 51:05d}")
		self.assertEqual(
			series_now("CRM Lead")[1], before + 51, "the block stays taken: no name is given twice"
		)
