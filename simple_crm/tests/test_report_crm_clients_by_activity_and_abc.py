"""CRM Clients by Activity and ABC: a fixed set of clients whose numbers are worked out by hand below.

The report runs with the clock frozen at 2034-06-15, so the ABC window is 2033-06-16 .. 2034-06-15. The
clients are in a segment of their own (the report is filtered by it where everyone's clients would count):

    client  manager  level (class)      in the window: orders / deals won           last activity
    C1      sales1   Active (A)         order 1000 (2034-01-10), won 3000 (2034-02-01) and won 5000
                                        (2034-03-01, a deal of sales3's); an order of 2033-06-15 is
                                        outside the window
    C2      sales1   Active (B)         order 200 on 2034-06-15, the last day of the window
    C3      sales1   Sleeping (A)       won 700 (2033-07-01); a lost deal       a task done 2033-09-10
    C4      sales2   Sleeping (C)       -                                       a call answered 2034-01-20
                                                                                (an unanswered outbound
                                                                                call 2034-05-01 is none)
    C5      sales2   Lost (-)           order 50 (2034-03-03)
    C6      sales3   Active (A)         order 400 (2034-05-05), won 100 (2034-05-06)
    C7      sales3   not computed (-)   -
    C8      nobody   Sleeping (B)       won 250 (2034-02-01)                    that win, 2034-02-01
    C10     sales3   Sleeping (C)       -                                       its creation, 2033-11-01
    C9      sales1   Active (A)         in another segment
"""

import datetime
from contextlib import contextmanager
from unittest.mock import patch

import frappe
import pytz
from frappe.desk.query_report import run as run_report
from frappe.utils import get_system_timezone
from freezegun import freeze_time

from simple_crm.automation.client_classes import LAST_ACTIVITY_SQL
from simple_crm.report_filters import ReportFilterError
from simple_crm.simple_crm.report.crm_clients_by_activity_and_abc import (
	crm_clients_by_activity_and_abc as report,
)
from simple_crm.tests import factories
from simple_crm.tests.sales_org import SalesOrgRestTestCase, SalesOrgTestCase, email

REPORT = "CRM Clients by Activity and ABC"
TODAY = datetime.datetime(2034, 6, 15, 9, 0)
CREATED = datetime.date(2032, 9, 18)
SEGMENT = "Report Test Segment ABC"
OTHER_SEGMENT = "Report Test Segment Other"
LEVELS = ("Active", "Sleeping", "Lost", "")


def at_noon(day: datetime.date) -> datetime.datetime:
	return datetime.datetime.combine(day, datetime.time(12, 0))


def matrix(data, field="clients"):
	"""{level: (A, B, C, not classified, row total)} of the chosen measure, and the Total row."""
	cells = {}
	for row in data:
		key = "Total" if row.get("is_total") else row["activity_level"]
		cells[key] = (row["class_a"], row["class_b"], row["class_c"], row["not_classified"], row[field])
	return cells


def sums(data):
	"""{level: (clients, turnover, won revenue)}, the Total row keyed "Total"."""
	return {
		"Total" if row.get("is_total") else row["activity_level"]: (
			row["clients"],
			row["turnover"],
			row["won_revenue"],
		)
		for row in data
	}


EMPTY = (0, 0, 0, 0, 0)


@contextmanager
def frozen(moment: datetime.datetime):
	"""The clock stopped at `moment` of the site's time zone (as FrappeTestCase.freeze_time, for a class's
	records made once)."""
	zone = pytz.timezone(get_system_timezone())
	with freeze_time(zone.localize(moment).astimezone(pytz.utc)):
		yield


class ClientsDataset:
	"""The clients of the module's docstring, made once for the test class and committed (the tests only
	read them), removed again after it."""

	made: list[tuple[str, str]]

	@classmethod
	def make_dataset(cls):
		for name in (SEGMENT, OTHER_SEGMENT):
			if not frappe.db.exists("CRM Client Segment", name):
				cls.keep(frappe.get_doc({"doctype": "CRM Client Segment", "segment_name": name}).insert())
		c = {}
		c["C1"] = cls.client("sales1", "Active", "A")
		c["C2"] = cls.client("sales1", "Active", "B")
		c["C3"] = cls.client("sales1", "Sleeping", "A")
		c["C4"] = cls.client("sales2", "Sleeping", "C")
		c["C5"] = cls.client("sales2", "Lost", "")
		c["C6"] = cls.client("sales3", "Active", "A")
		c["C7"] = cls.client("sales3", "", "")
		c["C8"] = cls.client(None, "Sleeping", "B")
		c["C9"] = cls.client("sales1", "Active", "A", segment=OTHER_SEGMENT)
		c["C10"] = cls.client("sales3", "Sleeping", "C", created=datetime.date(2033, 11, 1))
		cls.clients = c

		cls.order(c["C1"], datetime.date(2034, 1, 10), 1000)
		cls.order(c["C1"], datetime.date(2033, 6, 15), 500)  # the day before the window
		cls.won_deal(c["C1"], "sales1", datetime.date(2034, 2, 1), 3000)
		cls.won_deal(c["C1"], "sales3", datetime.date(2034, 3, 1), 5000)
		cls.order(c["C2"], datetime.date(2034, 6, 15), 200)
		cls.won_deal(c["C3"], "sales1", datetime.date(2033, 7, 1), 700)
		lost = cls.keep(factories.make_deal(c["C3"], responsible=email("sales1"), amount=999))
		lost.db_set("stage_type", "Lost")
		with frozen(at_noon(datetime.date(2033, 9, 10))):
			cls.keep(
				factories.make_task(
					task_type="Other",
					assigned_to=email("sales1"),
					reference_doctype="CRM Client",
					reference_name=c["C3"],
					status="Done",
				)
			)
		cls.call(c["C4"], "sales2", datetime.date(2034, 1, 20), direction="Inbound", call_status="Answered")
		cls.call(c["C4"], "sales2", datetime.date(2034, 5, 1), direction="Outbound", call_status="Missed")
		cls.order(c["C5"], datetime.date(2034, 3, 3), 50)
		cls.order(c["C6"], datetime.date(2034, 5, 5), 400)
		cls.won_deal(c["C6"], "sales3", datetime.date(2034, 5, 6), 100)
		cls.won_deal(c["C8"], None, datetime.date(2034, 2, 1), 250)

	@classmethod
	def keep(cls, doc):
		cls.made.append((doc.doctype, doc.name))
		return doc

	@classmethod
	def remove_dataset(cls):
		frappe.db.rollback()
		frappe.set_user("Administrator")
		order = ("CRM Order", "CRM Call", "CRM Task", "CRM Deal", "CRM Client", "CRM Client Segment")
		for doctype, name in sorted(cls.made, key=lambda made: order.index(made[0])):
			if frappe.db.exists(doctype, name):
				frappe.delete_doc(doctype, name, force=True, ignore_permissions=True)
		frappe.db.commit()

	@classmethod
	def client(cls, manager, level, abc_class, segment=SEGMENT, created=CREATED) -> str:
		values = {"segment": segment}
		if manager:
			values["responsible"] = email(manager)
		with frozen(at_noon(created)):
			name = cls.keep(factories.make_client(**values)).name
		# the nightly jobs write these directly (simple_crm.automation.client_classes)
		frappe.db.set_value(
			"CRM Client", name, {"activity_level": level or None, "abc_class": abc_class or None}
		)
		return name

	@classmethod
	def order(cls, client, day, amount):
		return cls.keep(factories.make_order(client=client, order_date=day, amount=amount)).name

	@classmethod
	def won_deal(cls, client, manager, won_on, amount):
		"""A deal moved to the Won stage on `won_on`, as a manager does."""
		with frozen(at_noon(won_on)):
			values = {"amount": amount}
			if manager:
				values["responsible"] = email(manager)
			name = cls.keep(factories.make_deal(client, **values)).name
			deal = frappe.get_doc("CRM Deal", name)
			deal.stage = "Won"
			deal.save()
		assert (deal.stage_type, str(deal.won_on)) == ("Won", str(won_on)), (deal.stage_type, deal.won_on)
		return name

	@classmethod
	def call(cls, client, manager, day, **values):
		with frozen(at_noon(day)):
			return cls.keep(
				factories.make_call(client=client, manager=email(manager), started_at=at_noon(day), **values)
			).name


class TestClientsByActivityAndABC(ClientsDataset, SalesOrgTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.made = []
		cls.addClassCleanup(cls.remove_dataset)
		cls.make_dataset()
		frappe.db.commit()

	def report(self, user="director", **filters):
		frappe.set_user(email(user))
		try:
			with self.freeze_time(TODAY):
				return report.execute(frappe._dict(filters))
		finally:
			frappe.set_user("Administrator")

	def key(self, client: str) -> str:
		return next(k for k, v in self.clients.items() if v == client)

	def test_matrix_of_counts_and_sums(self):
		columns, data, _message, chart, summary = self.report(segment=SEGMENT)
		self.assertEqual([row["activity_level"] for row in data], [*LEVELS, None])
		self.assertEqual(
			matrix(data),
			{
				"Active": (2, 1, 0, 0, 3),  # C1 C6 | C2
				"Sleeping": (1, 1, 2, 0, 4),  # C3 | C8 | C4 C10
				"Lost": (0, 0, 0, 1, 1),  # C5
				"": (0, 0, 0, 1, 1),  # C7
				"Total": (3, 2, 2, 2, 9),
			},
		)
		self.assertEqual(
			sums(data),
			{
				# orders C1 1000 + C2 200 + C6 400; won C1 3000 + 5000 + C6 100
				"Active": (3, 1600, 8100),
				# won C3 700 + C8 250
				"Sleeping": (4, 0, 950),
				"Lost": (1, 50, 0),
				"": (1, 0, 0),
				"Total": (9, 1650, 9050),
			},
		)
		self.assertEqual(data[3]["label"], "Not Computed")
		self.assertEqual(data[4]["label"], "Total")
		# clients 9, Active 3, Sleeping 4, Lost 1, turnover 1650, won revenue 9050
		self.assertEqual([s["value"] for s in summary], [9, 3, 4, 1, 1650, 9050])
		self.assertEqual(
			[d["values"] for d in chart["data"]["datasets"]],
			[[2, 1, 0, 0], [1, 1, 0, 0], [0, 2, 0, 0], [0, 0, 1, 1]],
		)
		self.assertEqual(
			[c["fieldname"] for c in columns],
			[
				"label",
				"class_a",
				"class_b",
				"class_c",
				"not_classified",
				"clients",
				"turnover",
				"won_revenue",
			],
		)
		# a cell opens its clients in the list
		link = data[0]["links"]["class_a"]
		self.assertTrue(link.startswith("/app/crm-client?"), link)
		for part in ("activity_level=Active", "abc_class=A", "segment=Report"):
			self.assertIn(part, link)

	def test_measures(self):
		data = self.report(segment=SEGMENT, measure="Turnover")[1]
		self.assertEqual(
			matrix(data, "turnover"),
			{
				"Active": (1400, 200, 0, 0, 1600),  # C1 1000 + C6 400 | C2 200
				"Sleeping": EMPTY,
				"Lost": (0, 0, 0, 50, 50),
				"": EMPTY,
				"Total": (1400, 200, 0, 50, 1650),
			},
		)
		data = self.report(segment=SEGMENT, measure="Won Revenue")[1]
		self.assertEqual(
			matrix(data, "won_revenue"),
			{
				"Active": (8100, 0, 0, 0, 8100),  # C1 3000 + 5000, C6 100
				"Sleeping": (700, 250, 0, 0, 950),  # C3 | C8
				"Lost": EMPTY,
				"": EMPTY,
				"Total": (8800, 250, 0, 0, 9050),
			},
		)

	def test_filters(self):
		data = self.report(segment=SEGMENT, team="Process Test Team A")[1]
		self.assertEqual(
			matrix(data),
			{
				"Active": (1, 1, 0, 0, 2),  # C1 | C2
				"Sleeping": (1, 0, 1, 0, 2),  # C3 | C4
				"Lost": (0, 0, 0, 1, 1),  # C5
				"": EMPTY,
				"Total": (2, 1, 1, 1, 5),
			},
		)
		data = self.report(segment=SEGMENT, manager=email("sales3"), abc_class="Not Classified")[1]
		self.assertEqual(matrix(data)[""], (0, 0, 0, 1, 1))  # C7
		self.assertEqual(matrix(data)["Total"], (0, 0, 0, 1, 1))
		data = self.report(segment=SEGMENT, activity_level="Not Computed")[1]
		self.assertEqual(matrix(data)["Total"], (0, 0, 0, 1, 1))  # C7
		data = self.report(segment=SEGMENT, activity_level="Sleeping", abc_class="C")[1]
		self.assertEqual(matrix(data)["Total"], (0, 0, 2, 0, 2))  # C4 C10
		# the other segment: C9 alone
		data = self.report(segment=OTHER_SEGMENT)[1]
		self.assertEqual(matrix(data)["Active"], (1, 0, 0, 0, 1))
		self.assertEqual(matrix(data)["Total"], (1, 0, 0, 0, 1))
		# a manager with no clients, a manager outside the team asked for: an empty matrix
		for filters in (
			{"manager": email("head_a")},
			{"manager": email("sales3"), "team": "Process Test Team A"},
		):
			data = self.report(segment=SEGMENT, **filters)[1]
			self.assertEqual(set(matrix(data).values()), {EMPTY}, filters)
			self.assertEqual(set(sums(data).values()), {(0, 0, 0)}, filters)

	def test_sleeping_clients(self):
		columns, data, message, chart, summary = self.report(segment=SEGMENT, view="Sleeping Clients")
		# longest asleep first; days from the last activity to 2034-06-15
		self.assertEqual(
			[(self.key(r["client"]), str(r["last_activity"]), r["days_since"], r["abc_class"]) for r in data],
			[
				(
					"C3",
					"2033-09-10",
					278,
					"A",
				),  # 20 days of September + 31 + 30 + 31 + 31 + 28 + 31 + 30 + 31 + 15
				("C10", "2033-11-01", 226, "C"),  # 29 + 31 + 31 + 28 + 31 + 30 + 31 + 15
				("C4", "2034-01-20", 146, "C"),  # 11 + 28 + 31 + 30 + 31 + 15
				("C8", "2034-02-01", 134, "B"),  # 27 + 31 + 30 + 31 + 15
			],
		)
		self.assertEqual(
			[(r["responsible"], r["manager_name"]) for r in data[:2]],
			[(email("sales1"), "Sales1"), (email("sales3"), "Sales3")],
		)
		self.assertEqual(data[3]["responsible"], None)
		self.assertIsNone(message)
		self.assertIsNone(chart)
		self.assertEqual([s["value"] for s in summary], [4, 4])
		self.assertEqual(
			[c["fieldname"] for c in columns],
			[
				"client",
				"client_name",
				"responsible",
				"manager_name",
				"segment",
				"abc_class",
				"last_activity",
				"days_since",
			],
		)
		# filters narrow the list; an activity level other than Sleeping leaves nothing to list
		data = self.report(segment=SEGMENT, view="Sleeping Clients", abc_class="C")[1]
		self.assertEqual([self.key(r["client"]) for r in data], ["C10", "C4"])
		data = self.report(segment=SEGMENT, view="Sleeping Clients", activity_level="Active")[1]
		self.assertEqual(data, [])

	def test_sleeping_list_is_bounded(self):
		with patch.object(report, "MAX_LISTED", 2):
			_columns, data, message, _chart, summary = self.report(segment=SEGMENT, view="Sleeping Clients")
		# the first two by manager (nobody's first) and name: C8 and C3, then longest asleep first
		self.assertEqual([self.key(r["client"]) for r in data], ["C3", "C8"])
		self.assertIn("4", message)
		self.assertEqual([s["value"] for s in summary], [4, 2])

	def test_the_list_reuses_the_activity_jobs_query(self):
		self.assertNotIn("%(lo)s", report.LAST_ACTIVITY_OF_CLIENTS_SQL)
		self.assertEqual(
			report.LAST_ACTIVITY_OF_CLIENTS_SQL.count("in %(names)s"), LAST_ACTIVITY_SQL.count("%(lo)s")
		)
		# the job's query over the range of one client gives the date the report shows
		c3 = self.clients["C3"]
		job = frappe.db.sql(LAST_ACTIVITY_SQL, {"lo": c3, "hi": c3})
		self.assertEqual(str(job[0][2]), "2033-09-10")
		self.assertEqual(str(report.last_activity_dates([c3])[c3]), "2033-09-10")

	def test_bad_filters_are_refused(self):
		for filters in (
			{"view": "Pie"},
			{"measure": "Profit"},
			{"activity_level": "Dormant"},
			{"abc_class": "D"},
			{"segment": "No Such Segment"},
			{"manager": "nobody@example.com"},
			{"team": "No Such Team"},
		):
			with self.subTest(filters=filters), self.assertRaises(ReportFilterError):
				self.report(**filters)

	def test_each_role_sees_its_own_clients(self):
		# a sales manager: C1 C2 C3; C1's won revenue without the 5000 of sales3's deal they cannot see
		data = self.report("sales1", segment=SEGMENT)[1]
		self.assertEqual(
			matrix(data),
			{
				"Active": (1, 1, 0, 0, 2),
				"Sleeping": (1, 0, 0, 0, 1),
				"Lost": EMPTY,
				"": EMPTY,
				"Total": (2, 1, 0, 0, 3),
			},
		)
		self.assertEqual(sums(data)["Total"], (3, 1200, 3700))  # orders 1000 + 200; won 3000 + 700
		sleeping = self.report("sales1", segment=SEGMENT, view="Sleeping Clients")[1]
		self.assertEqual([self.key(r["client"]) for r in sleeping], ["C3"])
		# a colleague or another team: nothing
		for filters in ({"manager": email("sales2")}, {"team": "Process Test Team B"}):
			data = self.report("sales1", segment=SEGMENT, **filters)[1]
			self.assertEqual(matrix(data)["Total"], EMPTY, filters)
			self.assertEqual(
				self.report("sales1", segment=SEGMENT, view="Sleeping Clients", **filters)[1], []
			)

		# the head of team A: C1 .. C5; won revenue of team A's deals only
		data = self.report("head_a", segment=SEGMENT)[1]
		self.assertEqual(matrix(data)["Total"], (2, 1, 1, 1, 5))
		self.assertEqual(sums(data)["Total"], (5, 1250, 3700))  # orders 1000 + 200 + 50
		sleeping = self.report("head_a", segment=SEGMENT, view="Sleeping Clients")[1]
		self.assertEqual([self.key(r["client"]) for r in sleeping], ["C3", "C4"])
		self.assertEqual(
			matrix(self.report("head_a", segment=SEGMENT, manager=email("sales3"))[1])["Total"], EMPTY
		)

		# the head of team B: C6 C7 C10, and C1, the client of sales3's 5000 deal (a client the team has a deal
		# with is one they may see); C1's order and that deal, not sales1's deal
		data = self.report("head_b", segment=SEGMENT)[1]
		self.assertEqual(matrix(data)["Total"], (2, 0, 1, 1, 4))
		self.assertEqual(sums(data)["Total"], (4, 1400, 5100))  # orders 1000 + 400; won 5000 + 100
		sleeping = self.report("head_b", segment=SEGMENT, view="Sleeping Clients")[1]
		self.assertEqual([self.key(r["client"]) for r in sleeping], ["C10"])

		# the director: everything (see test_matrix_of_counts_and_sums)
		self.assertEqual(matrix(self.report("director", segment=SEGMENT)[1])["Total"], (3, 2, 2, 2, 9))

	def test_a_read_only_transaction_gets_the_same_answer(self):
		"""The clients a user sees are looked up once into a temporary table the three sums join; where no such
		table may be made (a read-only transaction), the sums test the row-level condition, with the same
		answer. The table does not outlive the report."""
		users = ("sales1", "head_a", "head_b")
		expected = {key: self.report(key, segment=SEGMENT, measure="Won Revenue")[1] for key in users}
		self.assertEqual(sums(expected["head_b"])["Total"], (4, 1400, 5100))
		frappe.db.rollback()
		frappe.db.begin(read_only=True)
		try:
			for key in users:
				self.assertEqual(
					self.report(key, segment=SEGMENT, measure="Won Revenue")[1], expected[key], key
				)
		finally:
			frappe.db.rollback()
		with self.assertRaises(Exception) as missing:
			frappe.db.sql("select count(*) from `crm_visible_crm_client`")
		self.assertTrue(frappe.db.is_table_missing(missing.exception), missing.exception)

	def test_run_as_the_desk_runs_it(self):
		frappe.set_user(email("sales1"))
		with self.freeze_time(TODAY):
			result = run_report(REPORT, filters={"segment": SEGMENT})
		frappe.set_user("Administrator")
		self.assertEqual(matrix(result["result"])["Total"], (2, 1, 0, 0, 3))

		outsider = factories.make_user(factories.unique_email("outsider"), roles=("Blogger",))
		frappe.set_user(outsider.name)
		with self.assertRaises(frappe.PermissionError):
			run_report(REPORT, filters={"segment": SEGMENT})


class TestClientsByActivityAndABCOverREST(SalesOrgRestTestCase):
	def test_sales_manager_over_rest(self):
		segment = "Report Test Segment REST"
		if not frappe.db.exists("CRM Client Segment", segment):
			self.track(
				"CRM Client Segment",
				frappe.get_doc({"doctype": "CRM Client Segment", "segment_name": segment}).insert().name,
			)
		mine = factories.make_client(responsible=email("sales2"), segment=segment)
		theirs = factories.make_client(responsible=email("sales3"), segment=segment)
		for client in (mine, theirs):
			frappe.db.set_value("CRM Client", client.name, {"activity_level": "Sleeping", "abc_class": "B"})
			self.track("CRM Client", client.name)

		r = self.rest_call(
			"frappe.desk.query_report.run",
			{"report_name": REPORT, "filters": frappe.as_json({"segment": segment})},
			user=email("sales2"),
		)
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(matrix(r.data["result"])["Sleeping"], (0, 1, 0, 0, 1))

		r = self.rest_call(
			"frappe.desk.query_report.run",
			{
				"report_name": REPORT,
				"filters": frappe.as_json({"segment": segment, "view": "Sleeping Clients"}),
			},
			user=email("sales2"),
		)
		self.assertEqual(r.status_code, 200, r.text)
		# created today with nothing else: today is its last activity
		self.assertEqual([(row["client"], row["days_since"]) for row in r.data["result"]], [(mine.name, 0)])

		r = self.rest_call(
			"frappe.desk.query_report.run",
			{
				"report_name": REPORT,
				"filters": frappe.as_json({"segment": segment, "manager": email("sales3")}),
			},
			user=email("sales2"),
		)
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(matrix(r.data["result"])["Total"], EMPTY)

		r = self.rest_call(
			"frappe.desk.query_report.run",
			{"report_name": REPORT, "filters": frappe.as_json({"view": "Pie"})},
			user=email("sales2"),
		)
		self.assertEqual(r.status_code, 417, r.text)
