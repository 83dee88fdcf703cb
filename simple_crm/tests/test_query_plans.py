"""The hot reads go through indexes: EXPLAIN of what Frappe runs, on a generated dataset at 1/100 scale.

The generator (simple_crm.scale.generator) fills the site with 10,000 leads, 5,000 deals, 10,000 tasks,
their clients, contacts, calls and duplicate-index rows, worked by five teams; everything carries the
prefix QP and is removed at the end (also when the set-up fails half-way). For a sales manager of the
first team, its head of sales and a director, every SQL statement these reads send is recorded as it
is sent and EXPLAINed:

- the first list page (20 rows) of leads, deals and tasks, as the Desk asks it (the doctype's sort) and
  as the REST API is asked for the latest changes (`modified desc`), alone and filtered to the open
  records (the benchmark's filters, simple_crm.benchmarks.suite);
- its count, as the Desk's list asks it (reportview.get_count, stopping at 1,001) and through
  frappe.client.get_count (the app's replacement, counting what the user may list);
- the link search by name and by phone (frappe.desk.search.search_link, which the app answers with
  simple_crm.permissions.search.search_visible);
- the duplicate lookup of a lead saved with another lead's phone and e-mail.

Every access to a big table must use an index (`judge` below says exactly what passes). A failure lists
each offending statement with its whole plan.
"""

import contextlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import frappe
import frappe.client
import frappe.desk.reportview
import frappe.desk.search

from simple_crm.benchmarks.suite import LIST_FIELDS, OPEN_FILTERS
from simple_crm.duplicates import CONTACT_POINT, DuplicateRecordError
from simple_crm.scale.generator import clear, generate
from simple_crm.tests import sales_org
from simple_crm.tests.sales_org import SalesOrgTestCase

PREFIX = "QP"
SCALE = 0.01
SEED = 11
UNTIL = "2026-06-30"
LIST_DOCTYPES = ("CRM Lead", "CRM Deal", "CRM Task")
# the tables that grow with the business; CRM Deal Manager grows with the deals (a tenth have co-managers)
BIG_TABLES = frozenset(
	f"tab{doctype}"
	for doctype in (
		"CRM Lead",
		"CRM Deal",
		"CRM Task",
		"ToDo",
		CONTACT_POINT,
		"Contact",
		"CRM Client",
		"CRM Deal Manager",
	)
)
BIG_TABLE_PATTERN = re.compile("|".join(re.escape(f"`{table}`") for table in sorted(BIG_TABLES)))


@contextlib.contextmanager
def recorded_statements():
	"""Every statement sent to the database inside the block, as sent (values in place).

	`frappe.db.sql` is wrapped for the block only, the way Frappe's own recorder (frappe.recorder) does
	it: each call still runs as it is, and the connection's `last_query` is what MariaDB received."""
	statements = []
	db = frappe.db
	run = db.sql

	def sql(*args, **kwargs):
		result = run(*args, **kwargs)
		if not isinstance(result, str):  # run=0 returns the SQL without sending it
			statements.append(str(db.last_query))
		return result

	db.sql = sql
	try:
		yield statements
	finally:
		del db.sql


@contextlib.contextmanager
def form_dict(**params):
	"""The request parameters of a Desk call (reportview reads them from frappe.form_dict)."""
	saved = frappe.local.form_dict
	frappe.local.form_dict = frappe._dict(
		{k: v if isinstance(v, str | int) else json.dumps(v) for k, v in params.items()}
	)
	try:
		yield
	finally:
		frappe.local.form_dict = saved


def reads_big_tables(statement: str) -> bool:
	return statement.lstrip().lower().startswith("select") and bool(BIG_TABLE_PATTERN.search(statement))


def explain(statement: str) -> list[dict]:
	return frappe.db.sql(f"explain {statement}", as_dict=True)


def extras(row) -> set[str]:
	return {part.strip() for part in (row.get("Extra") or "").split(";")}


def judge(plan: list[dict], page: bool = False, text_match: str | None = None) -> list[str]:
	"""What is wrong with a plan: one line per access of a big table that does not use an index.

	- `ALL` (the whole table read) fails, except for `text_match`: the main table of a link search. The
	  search matches `like '%text%'` in the name, title and search fields; a B-tree index cannot seek a
	  text in the middle of a value, so that read is a scan whatever the indexes. Its sub-queries (the
	  row-level condition) must still use indexes.
	- `index` (a whole index read in its order) passes when the index covers the statement (Extra
	  "Using index": a count reads the narrow index, never the rows; a director's count of everything
	  has nothing to seek and reads the narrowest index whole) or when a list page reads it in the page's
	  order and stops at the page (no filesort). A whole index read with a row lookup per entry and no
	  early stop is worse than the table scan and fails.
	- The row-level condition of a manager or a head is a semi-join on the names they may see, the union
	  of one indexed select per rule part (simple_crm.permissions.rules.condition_for). MariaDB builds
	  that set from the parts' indexes (each part is judged like any access) and reads the page's rows
	  from it by primary key, sorting only those (the filesort is on the materialised set, which is not a
	  big table), or reads the sort index and looks each entry up in the set.
	- A list page must not sort a big table itself (filesort on its access): either it is read in the
	  page's order and stops at 20, or only the user's visible set is sorted.
	- Every other access (const, eq_ref, ref, range, index_merge) seeks an index and passes.
	"""
	problems = []
	for row in plan:
		table = row.get("table")
		if table not in BIG_TABLES:
			continue
		access, extra = row.get("type"), extras(row)
		main = row.get("select_type") in ("SIMPLE", "PRIMARY")
		where = f"{table} (id {row.get('id')}, {row.get('select_type')})"
		if access == "ALL" and not (text_match and main and table == f"tab{text_match}"):
			problems.append(f"{where}: reads the whole table")
		elif (
			access == "index" and "Using index" not in extra and not (page and "Using filesort" not in extra)
		):
			problems.append(f"{where}: reads the whole index `{row.get('key')}` and every row")
		if page and main and "Using filesort" in extra:
			problems.append(f"{where}: sorts the rows instead of reading them in the page's order")
	return problems


def describe(statement: str, plan: list[dict]) -> str:
	lines = [statement.strip()]
	for row in plan:
		lines.append(
			"  {id} {select_type} {table}: type={type} key={key} rows={rows} extra={Extra}".format(
				**{k: row.get(k) for k in ("id", "select_type", "table", "type", "key", "rows", "Extra")}
			)
		)
	return "\n".join(lines)


@dataclass
class Read:
	"""One read as the Desk or the API makes it: `call` runs it as the session user."""

	label: str
	doctype: str  # a statement must read this doctype's table
	call: Callable
	page: bool = False  # a list page: read in its order, never sorted
	text_match: str | None = None  # a link search: the `like '%text%'` scan of this doctype's table
	scoped: bool = True  # the user's row-level condition is in the statements


class TestQueryPlans(SalesOrgTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		# class clean-ups run even when the set-up below fails (tearDownClass would not)
		cls.addClassCleanup(cls.remove_dataset)
		clear(PREFIX)
		# the generator has MariaDB sample the statistics of the tables it filled (scale.generator.analyze_tables)
		generate(scale=SCALE, seed=SEED, prefix=PREFIX, until=UNTIL)
		team = frappe.get_all(
			"CRM Sales Team", filters={"name": f"{PREFIX} Team 1"}, fields=["name", "head"], limit=1
		)[0]
		member = frappe.get_all(
			"CRM Sales Team Member",
			filters={"parent": team.name, "parenttype": "CRM Sales Team"},
			pluck="user",
			order_by="idx",
			limit=1,
		)[0]
		cls.users = {
			"sales manager": member,
			"head of sales": team.head,
			"director": sales_org.email("director"),
		}

	@classmethod
	def remove_dataset(cls):
		frappe.db.rollback()
		frappe.set_user("Administrator")
		clear(PREFIX)
		cls.refresh_statistics()

	@staticmethod
	def refresh_statistics():
		"""MariaDB's statistics (what it plans with) refreshed after the dataset's removal, as a site's are after
		such a change. ANALYZE commits."""
		for table in sorted(BIG_TABLES):
			frappe.db.sql(f"analyze table `{table}`")

	# --- running and judging -------------------------------------------------------------------------

	def check(self, reads: list[Read], roles: tuple[str, ...] | None = None) -> None:
		"""Run each read as each user (of `roles`); EXPLAIN and judge every statement it sends that reads a
		big table."""
		users = {role: user for role, user in self.users.items() if not roles or role in roles}
		failures, explained = [], 0
		for role, user in users.items():
			frappe.set_user(user)
			for read in reads:
				with recorded_statements() as statements:
					read.call()
				sent = [s for s in statements if reads_big_tables(s)]
				self.assertTrue(
					any(f"`tab{read.doctype}`" in s for s in sent),
					f"{role}, {read.label}: {read.doctype} not read",
				)
				if read.scoped and role != "director":
					# what is explained is the query under the user's row-level condition
					self.assertTrue(
						any(frappe.db.escape(user) in s for s in sent), f"{role}, {read.label}: unrestricted"
					)
				for statement in sent:
					plan = explain(statement)
					explained += 1
					problems = judge(plan, page=read.page, text_match=read.text_match)
					if problems:
						failures.append(
							f"== {role}: {read.label}\n"
							+ "\n".join(problems)
							+ "\n"
							+ describe(statement, plan)
						)
			frappe.set_user("Administrator")
		self.assertGreaterEqual(explained, len(reads) * len(users))
		self.assertFalse(failures, "\n\n".join(failures))

	def list_cases(self):
		fields = json.loads(LIST_FIELDS)
		for doctype in LIST_DOCTYPES:
			meta = frappe.get_meta(doctype)
			desk_order = f"`tab{doctype}`.`{meta.sort_field}` {meta.sort_order.lower()}"
			for kind, filters in (("all", []), ("open", OPEN_FILTERS[doctype])):

				def desk(doctype=doctype, filters=filters, order=desk_order):
					with form_dict(
						doctype=doctype,
						fields=fields,
						filters=filters,
						order_by=order,
						start=0,
						page_length=20,
					):
						frappe.desk.reportview.get()

				def rest(doctype=doctype, filters=filters):
					frappe.client.get_list(
						doctype,
						fields=fields,
						filters=filters,
						order_by="modified desc",
						limit_page_length=20,
					)

				yield Read(f"{doctype}: Desk list, {kind}, by {meta.sort_field}", doctype, desk, page=True)
				yield Read(f"{doctype}: REST list, {kind}, by modified", doctype, rest, page=True)

	def count_cases(self):
		# frappe.client.get_count as a request resolves it: through override_whitelisted_methods
		client_count = frappe.get_attr(
			frappe.get_hooks("override_whitelisted_methods")["frappe.client.get_count"][-1]
		)
		for doctype in LIST_DOCTYPES:
			for kind, filters in (("all", []), ("open", OPEN_FILTERS[doctype])):

				def desk(doctype=doctype, filters=filters):
					# what the list view sends (frappe.db.count in the browser)
					with form_dict(doctype=doctype, filters=filters, fields=[], distinct="false", limit=1001):
						frappe.desk.reportview.get_count()

				def client(doctype=doctype, filters=filters):
					frappe.call(client_count, doctype=doctype, filters=filters)

				yield Read(f"{doctype}: Desk count, {kind}", doctype, desk)
				yield Read(f"{doctype}: frappe.client.get_count, {kind}", doctype, client)

	# --- the tests -----------------------------------------------------------------------------------

	def test_list_pages_read_an_index_in_page_order(self):
		self.check(list(self.list_cases()))

	def test_counts_seek_or_cover_with_an_index(self):
		self.check(list(self.count_cases()))

	def test_link_search_uses_indexes_beside_the_text_match(self):
		manager = self.users["sales manager"]
		lead = frappe.get_all(
			"CRM Lead",
			filters={"responsible": manager, "name": ("like", f"LEAD-{PREFIX}-%")},
			fields=["lead_name", "phone_normalized"],
			order_by="creation desc",
			limit=1,
		)[0]
		client = frappe.get_all(
			"CRM Client",
			filters={"responsible": manager, "name": ("like", f"CL-{PREFIX}-%")},
			fields=["client_name", "phone_normalized"],
			order_by="creation desc",
			limit=1,
		)[0]
		terms = [
			("CRM Lead", "name", lead.lead_name.split()[0]),
			("CRM Lead", "phone", lead.phone_normalized[-7:]),
			("CRM Client", "name", client.client_name.split()[0]),
			("CRM Client", "phone", client.phone_normalized[-7:]),
			("CRM Deal", "name", client.client_name.split()[0]),
		]
		self.check(
			[
				Read(
					f"{doctype}: link search by {kind} ({txt})",
					doctype,
					lambda doctype=doctype, txt=txt: frappe.desk.search.search_link(doctype, txt),
					text_match=doctype,
				)
				for doctype, kind, txt in terms
			]
		)

	def test_duplicate_lookup_seeks_the_contact_point_index(self):
		"""A lead saved with the phone and e-mail of a colleague's lead, and a lead given another phone:
		what the save reads of the duplicate index and of the records it names."""
		manager = self.users["sales manager"]
		other = frappe.get_all(
			"CRM Lead",
			filters={
				"responsible": ("!=", manager),
				"name": ("like", f"LEAD-{PREFIX}-%"),
				"email": ("is", "set"),
				"status": ("!=", "Converted"),
			},
			fields=["phone", "email"],
			limit=1,
		)[0]
		own = frappe.get_all(
			"CRM Lead",
			filters={"responsible": manager, "name": ("like", f"LEAD-{PREFIX}-%"), "status": "In Progress"},
			pluck="name",
			limit=1,
		)[0]

		def insert():
			lead = frappe.new_doc("CRM Lead")
			lead.update({"lead_name": "Повторный Звонок", "phone": other.phone, "email": other.email})
			with contextlib.suppress(DuplicateRecordError):  # when the site blocks duplicates
				lead.insert()

		def change_phone():
			lead = frappe.get_doc("CRM Lead", own)
			lead.phone = "+7 999 000-11-22"
			with contextlib.suppress(DuplicateRecordError):
				lead.save()

		self.check(
			[
				Read("a new lead with a known phone and e-mail", CONTACT_POINT, insert, scoped=False),
				Read("a lead given another phone", CONTACT_POINT, change_phone, scoped=False),
			],
			roles=("sales manager", "head of sales"),  # a director reads leads only
		)
		frappe.clear_messages()

	def test_the_workspace_charts_and_cards_read_indexes(self):
		"""The workspace's group-by charts (open deals by stage, leads by source) and its number cards of open
		leads and of the open deals' amount, as their requests run them: counting the whole set the user sees
		(rules.WHOLE_SET_METHODS)."""
		from frappe.desk.doctype.dashboard_chart.dashboard_chart import get as chart
		from frappe.desk.doctype.number_card.number_card import get_result

		from simple_crm.permissions.rules import whole_set

		def drawn(name):
			with whole_set():
				chart(chart_name=name, refresh=1)

		def card(name):
			doc = frappe.get_doc("Number Card", name).as_dict(convert_dates_to_str=True)
			with whole_set():
				get_result(frappe.as_json(doc), doc["filters_json"])

		self.check(
			[
				Read("chart: open deals by stage", "CRM Deal", lambda: drawn("Deals by Stage")),
				Read("chart: leads by source", "CRM Lead", lambda: drawn("Leads by Source")),
				Read("card: open leads", "CRM Lead", lambda: card("Open Leads")),
				Read("card: open deals amount", "CRM Deal", lambda: card("Open Deals Amount")),
			]
		)

	def test_the_judge_catches_scans(self):
		"""The judge itself: a table scan, a sorted page and a whole-index read with a row per entry fail;
		the same whole-index read passes as a page (it stops at the page), the scan as a search's text match."""

		def problems(statement: str, **options) -> str:
			return "\n".join(judge(explain(statement), **options))

		scan = "select `name` from `tabCRM Lead` where `lead_name` like '%Иван%'"
		self.assertIn("tabCRM Lead (id 1, SIMPLE): reads the whole table", problems(scan))
		self.assertEqual(problems(scan, text_match="CRM Lead"), "")
		sorted_page = "select `name` from `tabCRM Lead` where `status` = 'New' order by `lead_name` limit 20"
		self.assertIn("sorts the rows", problems(sorted_page, page=True))
		in_due_order = (
			"select `name`, `subject` from `tabCRM Task` force index (`due_on`) "
			"where `subject` like 'Позвонить%' order by `due_on` limit 20"
		)
		self.assertIn("reads the whole index `due_on` and every row", problems(in_due_order))
		self.assertEqual(problems(in_due_order, page=True), "")
