"""Report "CRM Complaints": counts, medians and averages worked out by hand, the filters, the chart, the
drill-down links and who sees what.

The complaints are received in 2031 (a year no other test uses) and loaded as history (the Administrator
creates them closed, with their dates). Team A: head_a, sales1, sales2; team B: head_b, sales3. Clients: C1
(sales1's), C2 (sales2's), C3 (sales3's).

    key  client  category                 responsible  received          status      resolved          days
    K1   C1      Product Quality (PQ)     sales1       2031-03-01 09:00  Resolved    2031-03-02 09:00   1.00
    K2   C1      PQ                       sales1       2031-03-03 09:00  Resolved    2031-03-06 09:00   3.00
    K3   C1      Delivery Times (DT)      sales1       2031-03-10 09:00  Registered
    K4   C2      PQ                       sales2       2031-04-01 09:00  Rejected    2031-04-03 09:00   2.00
    K5   C2      DT                       sales2       2031-04-05 09:00  In Work
    K6   C3      PQ                       sales3       2031-05-01 09:00  Resolved    2031-05-11 09:00  10.00
    K7   C3      Documents and Inv. (DI)  sales3       2031-05-02 09:00  Resolved    2031-05-02 21:00   0.50
    K8   C1      DI                       sales3       2031-06-01 09:00  Resolved    2031-06-05 09:00   4.00
    K9   C1      PQ                       sales1       2030-12-31 23:00  Resolved    2031-01-02 11:00   (before 2031)
    K10  C2      PQ                       sales2       2031-12-31 23:30  Registered                      (last day)

Who sees what (simple_crm.permissions.rules: their own complaints and those of their clients):
sales1: K1 K2 K3 K8 (K8 is of their client C1); head_a: K1-K5, K8, K10; head_b: K6 K7 K8 (K8 is sales3's);
the director: all.
"""

import datetime
import json
from urllib.parse import parse_qsl, urlparse

import frappe
from frappe.desk.query_report import run

from simple_crm.report_filters import ReportFilterError
from simple_crm.simple_crm.report.crm_complaints.crm_complaints import execute
from simple_crm.tests import factories
from simple_crm.tests.sales_org import SalesOrgRestTestCase, SalesOrgTestCase, email

REPORT = "CRM Complaints"
YEAR = {"from_date": "2031-01-01", "to_date": "2031-12-31"}
LOADED_AT = datetime.datetime(2032, 1, 10, 12, 0)
PQ, DT, DI = "Product Quality", "Delivery Times", "Documents and Invoices"
COUNTS = ("received", "open", "resolved", "rejected", "median_days", "average_days")


def dt(text: str) -> datetime.datetime:
	return datetime.datetime.fromisoformat(text)


# key: (client, category, responsible, received, status, resolved)
COMPLAINTS = {
	"K1": ("C1", PQ, "sales1", "2031-03-01 09:00", "Resolved", "2031-03-02 09:00"),
	"K2": ("C1", PQ, "sales1", "2031-03-03 09:00", "Resolved", "2031-03-06 09:00"),
	"K3": ("C1", DT, "sales1", "2031-03-10 09:00", "Registered", None),
	"K4": ("C2", PQ, "sales2", "2031-04-01 09:00", "Rejected", "2031-04-03 09:00"),
	"K5": ("C2", DT, "sales2", "2031-04-05 09:00", "In Work", None),
	"K6": ("C3", PQ, "sales3", "2031-05-01 09:00", "Resolved", "2031-05-11 09:00"),
	"K7": ("C3", DI, "sales3", "2031-05-02 09:00", "Resolved", "2031-05-02 21:00"),
	"K8": ("C1", DI, "sales3", "2031-06-01 09:00", "Resolved", "2031-06-05 09:00"),
	"K9": ("C1", PQ, "sales1", "2030-12-31 23:00", "Resolved", "2031-01-02 11:00"),
	"K10": ("C2", PQ, "sales2", "2031-12-31 23:30", "Registered", None),
}
CLIENT_MANAGERS = {"C1": "sales1", "C2": "sales2", "C3": "sales3"}


class ComplaintsDataset:
	"""Makes the clients and complaints above, as the Administrator loads history."""

	def make_dataset(self) -> None:
		self.clients: dict[str, str] = {}
		self.names: dict[str, str] = {}
		with self.freeze_time(LOADED_AT):
			for key, manager in CLIENT_MANAGERS.items():
				self.clients[key] = factories.make_client(
					client_name=factories.unique(f"Претензии {key} "), responsible=email(manager)
				).name
			for key, (client, category, manager, received, status, resolved) in COMPLAINTS.items():
				values = {"status": status, "received_on": dt(received), "responsible": email(manager)}
				if resolved:
					values.update(resolved_on=dt(resolved), resolution=f"Ответ {key}")
				self.names[key] = factories.make_complaint(
					self.clients[client], category=category, subject=f"Претензия {key}", **values
				).name

	def report(self, user: str = "director", **filters) -> frappe._dict:
		"""The report as `user` runs it in the Desk (frappe.desk.query_report.run)."""
		with self.set_user(email(user) if user != "Administrator" else user):
			result = run(REPORT, filters={**YEAR, **filters}, ignore_prepared_report=True)
		return frappe._dict(result)

	def table(self, result: frappe._dict, key: str) -> dict:
		"""{group value: (received, open, resolved, rejected, median days, average days)}, in the rows' order."""
		return {row[key]: tuple(row[c] for c in COUNTS) for row in result.result}

	def keys(self, names) -> set[str]:
		by_name = {name: key for key, name in self.names.items()}
		return {by_name[name] for name in names if name in by_name}

	def behind(self, link: str, user: str) -> set[str]:
		"""The keys of the complaints the list opened by a drill-down `link` shows to `user`."""
		parsed = urlparse(link)
		self.assertEqual(parsed.path, "/app/crm-complaint")
		filters = []
		for field, value in parse_qsl(parsed.query):
			if value.startswith("["):
				operator, operand = json.loads(value)
				filters.append([field, operator, operand])
			else:
				filters.append([field, "=", value])
		names = frappe.get_list("CRM Complaint", filters=filters, pluck="name", user=email(user))
		return self.keys(names)


class TestComplaintsReportNumbers(ComplaintsDataset, SalesOrgTestCase):
	def setUp(self):
		super().setUp()
		self.make_dataset()

	def test_by_category_as_the_director(self):
		result = self.report()
		# PQ: K1 K2 K4 K6 K10 (K9 was received in 2030): received 5, open 1 (K10), resolved 3 (K1 K2 K6),
		#     rejected 1 (K4); days of the closed 1, 3, 2, 10 -> sorted 1 2 3 10: median (2 + 3) / 2 = 2.5,
		#     average 16 / 4 = 4.0
		# DT: K3 K5, both open: no days
		# DI: K7 K8 resolved: days 0.5 and 4 -> median and average (0.5 + 4) / 2 = 2.25
		# rows by received (5, 2, 2), then by name: "Delivery Times" before "Documents and Invoices"
		self.assertEqual(
			list(self.table(result, "category").items()),
			[
				(PQ, (5, 1, 3, 1, 2.5, 4.0)),
				(DT, (2, 2, 0, 0, None, None)),
				(DI, (2, 0, 2, 0, 2.25, 2.25)),
			],
		)
		# all: 9 received; open K3 K5 K10 = 3; resolved K1 K2 K6 K7 K8 = 5; rejected K4 = 1; days 1 3 2 10
		# 0.5 4 -> sorted 0.5 1 2 3 4 10: median (2 + 3) / 2 = 2.5; average 20.5 / 6 = 3.4166... -> 3.42
		summary = {item["label"]: item["value"] for item in result.report_summary}
		self.assertEqual(
			summary,
			{
				"Received": 9,
				"Open": 3,
				"Resolved": 5,
				"Rejected": 1,
				"Median Days to Resolve": 2.5,
				"Average Days to Resolve": 3.42,
			},
		)
		self.assertEqual(
			[c["fieldname"] for c in result.columns],
			["category", "received", "open", "resolved", "rejected", "median_days", "average_days"],
		)
		self.assertEqual(result.columns[0]["options"], "CRM Complaint Category")

	def test_the_chart_is_by_category(self):
		for group_by in ("Category", "Manager"):
			with self.subTest(group_by=group_by):
				chart = self.report(group_by=group_by).chart
				self.assertEqual(chart["type"], "bar")
				self.assertEqual(chart["data"]["labels"], [PQ, DT, DI])
				self.assertEqual(
					[(d["name"], d["values"]) for d in chart["data"]["datasets"]],
					[("Open", [1, 2, 0]), ("Resolved", [3, 0, 2]), ("Rejected", [1, 0, 0])],
				)

	def test_by_client_and_by_manager(self):
		c1, c2, c3 = (self.clients[key] for key in ("C1", "C2", "C3"))
		# C1: K1 K2 K3 K8 -> open K3; resolved K1 K2 K8 (1, 3, 4): median 3, average 8 / 3 = 2.666... -> 2.67
		# C2: K4 K5 K10 -> open K5 K10; rejected K4 (2): median and average 2
		# C3: K6 K7 -> resolved (10, 0.5): median and average 10.5 / 2 = 5.25
		self.assertEqual(
			list(self.table(self.report(group_by="Client"), "client").items()),
			[
				(c1, (4, 1, 3, 0, 3.0, 2.67)),
				(c2, (3, 2, 0, 1, 2.0, 2.0)),
				(c3, (2, 0, 2, 0, 5.25, 5.25)),
			],
		)
		# sales1: K1 K2 K3 -> resolved 1, 3: median and average 2
		# sales2: K4 K5 K10 -> rejected K4 (2)
		# sales3: K6 K7 K8 -> resolved 10, 0.5, 4: median 4, average 14.5 / 3 = 4.8333... -> 4.83
		self.assertEqual(
			self.table(self.report(group_by="Manager"), "responsible"),
			{
				email("sales1"): (3, 1, 2, 0, 2.0, 2.0),
				email("sales2"): (3, 2, 0, 1, 2.0, 2.0),
				email("sales3"): (3, 0, 3, 0, 4.0, 4.83),
			},
		)

	def test_filters(self):
		# resolved only: PQ K1 K2 K6 (1, 3, 10): median 3, average 14 / 3 = 4.666... -> 4.67; DI K7 K8
		self.assertEqual(
			self.table(self.report(status="Resolved"), "category"),
			{PQ: (3, 0, 3, 0, 3.0, 4.67), DI: (2, 0, 2, 0, 2.25, 2.25)},
		)
		self.assertEqual(self.table(self.report(category=DT), "category"), {DT: (2, 2, 0, 0, None, None)})
		# team A's managers (head_a, sales1, sales2): K1-K5, K10
		self.assertEqual(
			self.table(self.report(team="Process Test Team A", group_by="Manager"), "responsible"),
			{email("sales1"): (3, 1, 2, 0, 2.0, 2.0), email("sales2"): (3, 2, 0, 1, 2.0, 2.0)},
		)
		self.assertEqual(
			self.table(self.report(manager=email("sales3"), category=DI), "category"),
			{DI: (2, 0, 2, 0, 2.25, 2.25)},
		)
		# a manager outside the team: nothing
		self.assertEqual(self.report(team="Process Test Team A", manager=email("sales3")).result, [])
		# the period's ends: K9 on 2030-12-31 and K10 on 2031-12-31 are each in their own year only
		self.assertEqual(
			self.table(self.report(from_date="2030-12-31", to_date="2030-12-31"), "category"),
			{PQ: (1, 0, 1, 0, 1.5, 1.5)},  # 2030-12-31 23:00 to 2031-01-02 11:00: 36 hours
		)
		self.assertEqual(
			self.table(self.report(from_date="2031-12-31", to_date="2031-12-31"), "category"),
			{PQ: (1, 1, 0, 0, None, None)},
		)

	def test_nothing_to_count(self):
		for filters in (
			{"from_date": "2031-07-01", "to_date": "2031-07-31"},  # an empty month
			{"manager": email("head_b")},  # a manager with no complaints
			{"status": "Rejected", "category": DT},
		):
			with self.subTest(filters=filters):
				result = self.report(**filters)
				self.assertEqual(result.result, [])
				self.assertIsNone(result.chart)
				summary = {item["label"]: item["value"] for item in result.report_summary}
				self.assertEqual(
					summary,
					{
						"Received": 0,
						"Open": 0,
						"Resolved": 0,
						"Rejected": 0,
						"Median Days to Resolve": "—",
						"Average Days to Resolve": "—",
					},
				)

	def test_bad_filters_are_refused(self):
		for filters in (
			{"from_date": "2031-02-30"},
			{"from_date": "31.01.2031"},
			{"to_date": ""},
			{"from_date": "2031-12-31", "to_date": "2031-01-01"},
			{"group_by": "Weather"},
			{"status": "Lost"},
			{"manager": "nobody@example.com"},
			{"team": "No Such Team"},
			{"category": "No Such Category"},
		):
			with self.subTest(filters=filters):
				with self.assertRaises(ReportFilterError):
					execute(frappe._dict({**YEAR, **filters}))

	def test_each_count_opens_its_complaints(self):
		result = self.report(group_by="Category")
		rows = {row["category"]: row for row in result.result}
		self.assertEqual(self.behind(rows[PQ]["received_link"], "director"), {"K1", "K2", "K4", "K6", "K10"})
		self.assertEqual(self.behind(rows[PQ]["open_link"], "director"), {"K10"})
		self.assertEqual(self.behind(rows[PQ]["resolved_link"], "director"), {"K1", "K2", "K6"})
		self.assertEqual(self.behind(rows[PQ]["rejected_link"], "director"), {"K4"})
		self.assertEqual(self.behind(rows[DT]["open_link"], "director"), {"K3", "K5"})
		# with the team filter, for a head of sales
		result = self.report("head_a", group_by="Manager", team="Process Test Team A")
		rows = {row["responsible"]: row for row in result.result}
		self.assertEqual(self.behind(rows[email("sales2")]["received_link"], "head_a"), {"K4", "K5", "K10"})
		self.assertEqual(self.behind(rows[email("sales1")]["resolved_link"], "head_a"), {"K1", "K2"})


class TestComplaintsReportScope(ComplaintsDataset, SalesOrgTestCase):
	"""Each role sees the complaints it may see; a filter naming a colleague or another team only narrows."""

	def setUp(self):
		super().setUp()
		self.make_dataset()

	def test_a_sales_manager(self):
		# K1 K2 K3 (theirs) and K8 (sales3 works it, but C1 is sales1's client)
		# PQ: K1 K2 (1, 3): median and average 2; DT: K3 open; DI: K8 (4)
		result = self.report("sales1")
		self.assertEqual(
			list(self.table(result, "category").items()),
			[(PQ, (2, 0, 2, 0, 2.0, 2.0)), (DT, (1, 1, 0, 0, None, None)), (DI, (1, 0, 1, 0, 4.0, 4.0))],
		)
		# 4 in all; days 1, 3, 4: median 3, average 8 / 3 = 2.67
		summary = {item["label"]: item["value"] for item in result.report_summary}
		self.assertEqual((summary["Received"], summary["Median Days to Resolve"]), (4, 3.0))
		self.assertEqual(summary["Average Days to Resolve"], 2.67)
		# a colleague of their team: nothing of sales2's (C2 is not sales1's client)
		self.assertEqual(self.report("sales1", manager=email("sales2")).result, [])
		# a colleague of the other team: only K8, which sales1 sees anyway; not K6 or K7
		self.assertEqual(
			self.table(self.report("sales1", manager=email("sales3"), group_by="Manager"), "responsible"),
			{email("sales3"): (1, 0, 1, 0, 4.0, 4.0)},
		)
		self.assertEqual(self.report("sales1", team="Process Test Team B").report_summary[0]["value"], 1)

	def test_a_head_of_sales(self):
		# head_a: K1-K5, K10 (their team's) and K8 (their team's client C1)
		self.assertEqual(
			self.table(self.report("head_a", group_by="Manager"), "responsible"),
			{
				email("sales1"): (3, 1, 2, 0, 2.0, 2.0),
				email("sales2"): (3, 2, 0, 1, 2.0, 2.0),
				email("sales3"): (1, 0, 1, 0, 4.0, 4.0),
			},
		)
		# the other team as a filter: only K8 again, not K6 K7
		self.assertEqual(
			self.table(self.report("head_a", team="Process Test Team B", group_by="Manager"), "responsible"),
			{email("sales3"): (1, 0, 1, 0, 4.0, 4.0)},
		)
		# head_b: K6 K7 K8 (sales3 works them all): resolved 10, 0.5, 4 -> median 4, average 4.83
		self.assertEqual(
			self.table(self.report("head_b", group_by="Manager"), "responsible"),
			{email("sales3"): (3, 0, 3, 0, 4.0, 4.83)},
		)
		self.assertEqual(self.report("head_b", manager=email("sales1")).result, [])

	def test_the_looked_up_complaints_and_the_condition_give_the_same_sums(self):
		"""The complaints a user sees are looked up once into a temporary table the sums read; where no such
		table may be made (a read-only transaction, see rules.visible_names) the sums test the row-level
		condition instead: both give the same rows, and the table does not outlive the sums."""
		from simple_crm.permissions.rules import visible_names
		from simple_crm.simple_crm.report.crm_complaints.crm_complaints import (
			aggregate,
			conditions,
			validate_filters,
		)

		filters = validate_filters(frappe._dict(YEAR))
		for key in ("sales1", "head_a", "head_b"):
			with self.set_user(email(key)):
				by_condition = aggregate(conditions(filters, None), "responsible")
				with visible_names("CRM Complaint") as seen:
					self.assertTrue(seen, key)
					looked_up = aggregate(conditions(filters, seen), "responsible")
			self.assertTrue(by_condition, key)
			self.assertEqual(looked_up, by_condition, key)
		with self.assertRaises(Exception) as missing:
			frappe.db.sql("select count(*) from `crm_visible_crm_complaint`")
		self.assertTrue(frappe.db.is_table_missing(missing.exception), missing.exception)

	def test_a_director_sees_every_complaint(self):
		summary = {item["label"]: item["value"] for item in self.report("director").report_summary}
		self.assertEqual(summary["Received"], 9)

	def test_a_user_without_a_crm_role_is_refused(self):
		user = factories.make_user(factories.unique_email("plain")).name
		with self.set_user(user), self.assertRaises(frappe.PermissionError):
			run(REPORT, filters=YEAR, ignore_prepared_report=True)


class TestComplaintsReportRest(ComplaintsDataset, SalesOrgRestTestCase):
	"""The report over REST, as the Desk calls it."""

	def setUp(self):
		super().setUp()
		self.make_dataset()
		for key in COMPLAINTS:
			self.track("CRM Complaint", self.names[key])
		frappe.db.commit()

	def tearDown(self):
		super().tearDown()
		for name in self.clients.values():
			if frappe.db.exists("CRM Client", name):
				frappe.delete_doc("CRM Client", name, force=True, ignore_permissions=True)
		frappe.db.commit()

	def test_run_over_rest(self):
		r = self.rest_call(
			"frappe.desk.query_report.run",
			{"report_name": REPORT, "filters": json.dumps({**YEAR, "group_by": "Category"})},
			user=email("sales1"),
		)
		self.assertEqual(r.status_code, 200, r.text)
		rows = {row["category"]: tuple(row[c] for c in COUNTS) for row in r.data["result"]}
		self.assertEqual(
			rows, {PQ: (2, 0, 2, 0, 2.0, 2.0), DT: (1, 1, 0, 0, None, None), DI: (1, 0, 1, 0, 4.0, 4.0)}
		)
		# a bad filter answers with a message, not a server error
		r = self.rest_call(
			"frappe.desk.query_report.run",
			{"report_name": REPORT, "filters": json.dumps({**YEAR, "to_date": "2031-13-01"})},
			user=email("sales1"),
		)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("ReportFilterError", r.text)
