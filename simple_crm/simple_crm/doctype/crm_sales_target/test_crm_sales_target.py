# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

"""Sales targets: their rules, who reads and sets them (ORM, REST, Data Import), and a year imported at once.

The organisation is simple_crm.tests.sales_org: team A (head_a; sales1, sales2), team B (head_b; sales3),
a director and a CRM administrator. Targets are in 2031, far from any other test's records.
"""

import datetime

import frappe
from frappe.core.doctype.data_import.importer import Importer

from simple_crm.simple_crm.doctype.crm_sales_target.crm_sales_target import (
	DuplicateTargetError,
	SalesTargetError,
	TargetScopeError,
)
from simple_crm.tests import factories
from simple_crm.tests.sales_org import SalesOrgRestTestCase, SalesOrgTestCase, email

TARGET = "CRM Sales Target"
TEAM_A = "Process Test Team A"
TEAM_B = "Process Test Team B"


def make_target(**values):
	values.setdefault("month", "2031-01-01")
	return frappe.get_doc(
		{"doctype": TARGET, "planned_amount": 100_000, "planned_deals": 3, **values}
	).insert()


def visible_targets(user: str, names) -> set[str]:
	"""Which of `names` the user lists (Desk lists, Report Builder and REST read through get_list)."""
	frappe.set_user(user)
	try:
		return set(frappe.get_list(TARGET, filters={"name": ("in", list(names))}, pluck="name"))
	finally:
		frappe.set_user("Administrator")


class TestSalesTargetRules(SalesOrgTestCase):
	def test_month_is_kept_as_its_first_day(self):
		target = make_target(manager=email("sales1"), month="2031-03-17")
		self.assertEqual(target.month, datetime.date(2031, 3, 1))
		self.assertEqual(frappe.db.get_value(TARGET, target.name, "month"), datetime.date(2031, 3, 1))
		self.assertEqual(target.title, "Sales1 · 2031-03")
		team = make_target(team=TEAM_A, month="2031-03-31", pipeline=factories.default_pipeline())
		self.assertEqual(team.title, f"{TEAM_A} · 2031-03 · {factories.default_pipeline()}")

	def test_exactly_one_of_manager_and_team(self):
		for values in ({}, {"manager": email("sales1"), "team": TEAM_A}):
			with self.subTest(values=values), self.assertRaisesRegex(SalesTargetError, "exactly one"):
				make_target(**values)
		self.assertFalse(frappe.db.exists(TARGET, {"month": "2031-01-01", "manager": email("sales1")}))

	def test_a_manager_target_is_for_a_salesperson(self):
		with self.assertRaisesRegex(SalesTargetError, "sells nothing"):
			make_target(manager=email("director"))
		# a head of sales may sell too
		self.assertTrue(make_target(manager=email("head_a")).name)

	def test_one_target_per_manager_or_team_month_and_pipeline(self):
		first = make_target(manager=email("sales1"), month="2031-01-01")
		with self.assertRaisesRegex(DuplicateTargetError, first.name):
			make_target(manager=email("sales1"), month="2031-01-20")  # the same month
		other = factories.make_pipeline()
		# the same month in a pipeline, in another pipeline, another month, another manager, the team: all new
		for values in (
			{"manager": email("sales1"), "pipeline": factories.default_pipeline()},
			{"manager": email("sales1"), "pipeline": other.name},
			{"manager": email("sales1"), "month": "2031-02-01"},
			{"manager": email("sales2")},
			{"team": TEAM_A},
		):
			with self.subTest(values=values):
				self.assertTrue(make_target(**values).name)
		with self.assertRaises(DuplicateTargetError):
			make_target(manager=email("sales1"), pipeline=other.name, month="2031-01-31")
		with self.assertRaises(DuplicateTargetError):
			make_target(team=TEAM_A)

	def test_a_change_into_an_existing_target_is_refused(self):
		make_target(manager=email("sales1"), month="2031-01-01")
		february = make_target(manager=email("sales1"), month="2031-02-01")
		february.month = "2031-01-09"
		with self.assertRaises(DuplicateTargetError):
			february.save()
		self.assertEqual(frappe.db.get_value(TARGET, february.name, "month"), datetime.date(2031, 2, 1))

	def test_the_database_keeps_targets_unique_too(self):
		"""Two saves at the same moment both pass validate; the unique key stops the second."""
		make_target(manager=email("sales1"))
		twin = frappe.get_doc(
			{"doctype": TARGET, "manager": email("sales1"), "month": "2031-01-01", "planned_amount": 1}
		)
		twin.run_method("validate")
		twin.target_key = frappe.db.get_value(TARGET, {"manager": email("sales1")}, "target_key")
		twin.name = "TGT-TWIN"
		with self.assertRaises(frappe.UniqueValidationError):
			twin.db_insert()

	def test_plan_cannot_be_negative(self):
		for values in ({"planned_amount": -1}, {"planned_deals": -2}):
			with self.subTest(values=values), self.assertRaises(frappe.ValidationError):
				make_target(manager=email("sales1"), **values)


class TestWhoSetsTargets(SalesOrgTestCase):
	def test_head_sets_their_team_members_and_team(self):
		frappe.set_user(email("head_a"))
		for values in ({"manager": email("sales1")}, {"manager": email("sales2")}, {"team": TEAM_A}):
			with self.subTest(values=values):
				self.assertTrue(make_target(**values).name)

	def test_head_cannot_set_another_teams_or_their_own(self):
		frappe.set_user(email("head_a"))
		for values in ({"manager": email("sales3")}, {"team": TEAM_B}, {"manager": email("head_a")}):
			with self.subTest(values=values), self.assertRaises(frappe.PermissionError):
				make_target(**values)
		frappe.set_user("Administrator")
		self.assertFalse(frappe.db.exists(TARGET, {"month": "2031-01-01"}))

	def test_validate_refuses_what_the_role_permissions_let_through(self):
		"""Code that checks no rights (ignore_permissions off, no has_permission call) meets validate."""
		frappe.set_user(email("head_a"))
		doc = frappe.get_doc({"doctype": TARGET, "manager": email("sales3"), "month": "2031-01-01"})
		with self.assertRaisesRegex(TargetScopeError, "teams you lead"):
			doc.run_method("validate")
		frappe.set_user(email("sales1"))
		doc = frappe.get_doc({"doctype": TARGET, "manager": email("sales1"), "month": "2031-01-01"})
		with self.assertRaisesRegex(TargetScopeError, "head of sales, a director"):
			doc.run_method("validate")

	def test_head_cannot_move_a_target_out_of_their_team(self):
		target = make_target(manager=email("sales1"))
		frappe.set_user(email("head_a"))
		doc = frappe.get_doc(TARGET, target.name)
		doc.manager = email("sales3")
		with self.assertRaises(frappe.PermissionError):
			doc.save()
		frappe.set_user("Administrator")
		self.assertEqual(frappe.db.get_value(TARGET, target.name, "manager"), email("sales1"))

	def test_head_cannot_change_or_delete_their_own_target_or_another_teams(self):
		own = make_target(manager=email("head_a"), planned_amount=500)
		foreign = make_target(manager=email("sales3"), planned_amount=500)
		frappe.set_user(email("head_a"))
		doc = frappe.get_doc(TARGET, own.name)  # readable: it is theirs
		doc.planned_amount = 1
		with self.assertRaises(frappe.PermissionError):
			doc.save()
		with self.assertRaises(frappe.PermissionError):
			frappe.delete_doc(TARGET, own.name)
		with self.assertRaises(frappe.PermissionError):
			frappe.get_doc(TARGET, foreign.name).check_permission("read")
		with self.assertRaises(frappe.PermissionError):
			frappe.delete_doc(TARGET, foreign.name)
		# nor can they turn their own target into a team member's
		doc = frappe.get_doc(TARGET, own.name)
		doc.manager = email("sales1")
		with self.assertRaises(frappe.PermissionError):
			doc.save()
		frappe.set_user("Administrator")
		self.assertEqual(
			frappe.get_all(
				TARGET, filters={"name": ("in", [own.name, foreign.name])}, pluck="planned_amount"
			),
			[500, 500],
		)

	def test_head_changes_and_deletes_their_members_targets(self):
		target = make_target(manager=email("sales2"))
		frappe.set_user(email("head_a"))
		doc = frappe.get_doc(TARGET, target.name)
		doc.planned_amount = 123_456
		doc.save()
		self.assertEqual(frappe.db.get_value(TARGET, target.name, "planned_amount"), 123_456)
		frappe.delete_doc(TARGET, target.name)
		self.assertFalse(frappe.db.exists(TARGET, target.name))

	def test_sales_manager_sets_nothing(self):
		own = make_target(manager=email("sales1"))
		frappe.set_user(email("sales1"))
		with self.assertRaises(frappe.PermissionError):
			make_target(manager=email("sales1"), month="2031-02-01")
		doc = frappe.get_doc(TARGET, own.name)
		doc.check_permission("read")
		doc.planned_amount = 1
		with self.assertRaises(frappe.PermissionError):
			doc.save()
		with self.assertRaises(frappe.PermissionError):
			frappe.delete_doc(TARGET, own.name)

	def test_director_and_administrator_set_anyones(self):
		for key, values in (
			("director", {"manager": email("sales3")}),
			("director", {"manager": email("head_a")}),
			("crm_admin", {"team": TEAM_B}),
			("crm_admin", {"manager": email("sales1"), "month": "2031-05-01"}),
		):
			with self.subTest(user=key, values=values):
				frappe.set_user(email(key))
				self.assertTrue(make_target(**values).name)


class TestWhoReadsTargets(SalesOrgTestCase):
	def setUp(self):
		super().setUp()
		self.targets = {
			key: make_target(**values).name
			for key, values in {
				"sales1": {"manager": email("sales1")},
				"sales2": {"manager": email("sales2")},
				"sales3": {"manager": email("sales3")},
				"head_a": {"manager": email("head_a")},
				"team_a": {"team": TEAM_A},
				"team_b": {"team": TEAM_B},
			}.items()
		}

	def expect(self, user_key: str, keys: set[str]):
		names = set(self.targets.values())
		self.assertEqual(
			visible_targets(email(user_key), names), {self.targets[k] for k in keys}, f"as {user_key}"
		)
		for key, name in self.targets.items():
			with self.subTest(user=user_key, target=key):
				doc = frappe.get_doc(TARGET, name)
				self.assertEqual(
					frappe.has_permission(TARGET, "read", doc, user=email(user_key)), key in keys
				)

	def test_sales_manager_reads_their_own_and_their_teams(self):
		self.expect("sales1", {"sales1", "team_a"})
		self.expect("sales3", {"sales3", "team_b"})

	def test_head_reads_their_own_their_members_and_their_team(self):
		self.expect("head_a", {"sales1", "sales2", "head_a", "team_a"})
		self.expect("head_b", {"sales3", "team_b"})

	def test_director_and_administrator_read_all(self):
		self.expect("director", set(self.targets))
		self.expect("crm_admin", set(self.targets))

	def test_a_disabled_team_gives_nothing(self):
		frappe.db.set_value("CRM Sales Team", TEAM_A, "disabled", 1)
		self.expect("head_a", {"head_a"})
		self.expect("sales1", {"sales1"})

	def test_counts_and_report_builder_follow_the_rule(self):
		frappe.set_user(email("sales1"))
		names = list(self.targets.values())
		self.assertEqual(
			frappe.get_list(TARGET, filters={"name": ("in", names)}, fields=["count(*) as n"])[0].n, 2
		)
		grouped = frappe.get_list(
			TARGET, filters={"name": ("in", names)}, fields=["manager", "count(*) as n"], group_by="manager"
		)
		self.assertEqual({(r.manager, r.n) for r in grouped}, {(email("sales1"), 1), (None, 1)})


class TestSalesTargetsOverRest(SalesOrgRestTestCase):
	def test_rest_reads_and_writes_follow_the_rule(self):
		mine = self.track(TARGET, make_target(manager=email("sales1")).name)
		colleague = self.track(TARGET, make_target(manager=email("sales2")).name)
		frappe.db.commit()

		self.assertEqual(self.rest_get(TARGET, mine, user=email("sales1")).status_code, 200)
		self.assertEqual(self.rest_get(TARGET, colleague, user=email("sales1")).status_code, 403)
		listed = self.rest_list(
			TARGET, user=email("sales1"), filters=[["name", "in", [mine, colleague]]], fields=["name"]
		)
		self.assertEqual([r["name"] for r in listed.data], [mine])

		# a sales manager cannot change even their own target
		r = self.rest_update(TARGET, mine, {"planned_amount": 1}, user=email("sales1"))
		self.assertEqual(r.status_code, 403, r.text[:300])

		# a head sets a member's target, not another team's
		r = self.rest_insert(
			TARGET,
			{"manager": email("sales2"), "month": "2031-02-01", "planned_amount": 7},
			user=email("head_a"),
		)
		self.assertEqual(r.status_code, 200, r.text[:300])
		self.assertEqual((r.data["month"], r.data["planned_amount"]), ("2031-02-01", 7))
		r = self.rest_insert(
			TARGET,
			{"manager": email("sales3"), "month": "2031-02-01", "planned_amount": 7},
			user=email("head_a"),
		)
		self.assertEqual(r.status_code, 403, r.text[:300])
		r = self.rest_update(TARGET, colleague, {"manager": email("sales3")}, user=email("head_a"))
		self.assertEqual(r.status_code, 403, r.text[:300])
		frappe.db.rollback()
		self.assertFalse(frappe.db.exists(TARGET, {"manager": email("sales3")}))
		self.assertEqual(frappe.db.get_value(TARGET, colleague, "planned_amount"), 100_000)
		self.assertEqual(frappe.db.get_value(TARGET, mine, "planned_amount"), 100_000)

		r = self.rest_insert(TARGET, {"manager": email("sales2"), "team": TEAM_A, "month": "2031-03-01"})
		self.assertEqual(r.status_code, 417, r.text[:300])
		self.assertIn("exactly one", r.error_text())


class TestYearImport(SalesOrgRestTestCase):
	"""A year of targets through Frappe's Data Import, as the Desk runs it (committed row by row)."""

	def tearDown(self):
		frappe.db.rollback()
		frappe.set_user("Administrator")
		for name in frappe.get_all(
			TARGET, filters={"month": ("between", ["2031-01-01", "2031-12-31"])}, pluck="name"
		):
			frappe.delete_doc(TARGET, name, force=True, ignore_permissions=True)
		frappe.db.commit()
		super().tearDown()

	def csv_file(self, rows: list[str]) -> str:
		content = "\n".join(["Manager,Sales Team,Month,Pipeline,Planned Amount,Planned Won Deals", *rows])
		file = frappe.get_doc(
			{
				"doctype": "File",
				"file_name": f"targets-{frappe.generate_hash(length=6)}.csv",
				"content": content.encode(),
				"is_private": 1,
			}
		).insert(ignore_permissions=True)
		self.track("File", file.name)
		return file.file_url

	def data_import(self, file_url: str) -> "frappe.Document":
		doc = frappe.get_doc(
			{
				"doctype": "Data Import",
				"reference_doctype": TARGET,
				"import_type": "Insert New Records",
				"import_file": file_url,
			}
		).insert(ignore_permissions=True)
		self.track("Data Import", doc.name)
		frappe.db.commit()
		return doc

	def logs(self, data_import: str) -> list:
		return frappe.get_all(
			"Data Import Log",
			filters={"data_import": data_import},
			fields=["success", "docname", "messages", "exception"],
			order_by="log_index",
		)

	def test_a_year_for_a_manager_in_one_file(self):
		# any day of the month will do; the tenth row has thousands written out
		rows = [f"{email('sales1')},,2031-{m:02d}-15,,{m * 10000},{m}" for m in range(1, 13)]
		rows.append(f"{email('sales2')},{TEAM_A},2031-01-01,,5000,1")  # both: refused with a message
		data_import = self.data_import(self.csv_file(rows))
		data_import.start_import()  # runs at once in tests, as the worker would
		data_import.reload()
		self.assertEqual(data_import.status, "Partial Success")
		logs = self.logs(data_import.name)
		self.assertEqual([log.success for log in logs], [1] * 12 + [0])
		self.assertIn("exactly one", logs[-1].messages)
		imported = frappe.get_all(
			TARGET,
			filters={"manager": email("sales1"), "month": ("between", ["2031-01-01", "2031-12-31"])},
			fields=["month", "planned_amount", "planned_deals"],
			order_by="month",
		)
		self.assertEqual(
			[(t.month, t.planned_amount, t.planned_deals) for t in imported],
			[(datetime.date(2031, m, 1), m * 10000, m) for m in range(1, 13)],
		)
		self.assertFalse(frappe.db.exists(TARGET, {"manager": email("sales2")}))

		# the same file again adds nothing: every row is a target that exists
		again = self.data_import(self.csv_file(rows[:12]))
		again.start_import()
		again.reload()
		self.assertEqual(again.status, "Error")
		self.assertTrue(all("already has a target" in log.messages for log in self.logs(again.name)))
		self.assertEqual(
			frappe.db.count(TARGET, {"manager": email("sales1"), "month": (">=", "2031-01-01")}), 12
		)

	def test_an_import_by_a_head_of_sales_keeps_to_their_team(self):
		rows = [
			f"{email('sales2')},,2031-01-01,,1000,1",
			f"{email('sales3')},,2031-01-01,,1000,1",
			f",{TEAM_B},2031-01-01,,1000,1",
			f",{TEAM_A},2031-01-01,,3000,3",
		]
		data_import = self.data_import(self.csv_file(rows))
		frappe.set_user(email("head_a"))
		try:
			Importer(TARGET, data_import=data_import).import_data()
		finally:
			frappe.set_user("Administrator")
		self.assertEqual([log.success for log in self.logs(data_import.name)], [1, 0, 0, 1])
		self.assertEqual(
			frappe.db.get_all(
				TARGET,
				filters={"month": "2031-01-01"},
				fields=["manager", "team", "owner"],
				order_by="planned_amount",
				as_list=True,
			),
			((email("sales2"), None, email("head_a")), (None, TEAM_A, email("head_a"))),
		)
