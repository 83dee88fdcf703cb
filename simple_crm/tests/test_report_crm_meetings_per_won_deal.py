"""CRM Meetings per Won Deal on the fixed month of simple_crm.tests.activity_data (March 2037), worked out by
hand. A deal counts the Meeting tasks done about it, whenever they were held and by whom:

    sales1  won D1, D6, D8 = 3; D1's meetings M1 (03-04) and M2 (02-15: before the period, still a meeting
            of the deal) = 2 (the open meeting is not held, the call task is no meeting); D6 and D8 none
            -> 2 meetings, 2 / 3 = 0.67 per won deal, 2 won without a meeting
            (D4, won 02-28, and D5, lost, have meetings but are not won in the period)
    sales2  won D2 = 1 with M3 (held by sales1) -> 1 meeting, 1 / 1 = 1.00, 0 without
    sales3  won D3 (M4, M5) and D7 (M6, M7) = 2 -> 4 meetings, 4 / 2 = 2.00, 0 without
    head_a, head_b: no won deal -> 0, 0, an empty ratio (not 0: nothing to divide by), 0

Total: won 3 + 1 + 2 = 6, meetings 2 + 1 + 4 = 7, 7 / 6 = 1.1666... = 1.17 (over all the deals, not the mean
of the managers' ratios, which would be (0.67 + 1 + 2) / 3 = 1.22), won without a meeting 2.
"""

import frappe
from frappe.desk.query_report import run

from simple_crm.report_filters import ReportFilterError
from simple_crm.simple_crm.report.crm_meetings_per_won_deal.crm_meetings_per_won_deal import per_deal
from simple_crm.tests import factories
from simple_crm.tests.activity_data import NOW, PERIOD, make_activity
from simple_crm.tests.sales_org import SalesOrgRestTestCase, SalesOrgTestCase, email

REPORT = "CRM Meetings per Won Deal"
TEAM_A = "Process Test Team A"
TEAM_B = "Process Test Team B"
KEYS = ("sales1", "sales2", "sales3", "head_a", "head_b", "director")
# (won deals, meetings, meetings per won deal, won without a meeting)
EXPECTED = {
	"sales1": (3, 2, 0.67, 2),
	"sales2": (1, 1, 1.0, 0),
	"sales3": (2, 4, 2.0, 0),
	"head_a": (0, 0, None, 0),
	"head_b": (0, 0, None, 0),
}
TOTAL = (6, 7, 1.17, 2)
NOTHING = (0, 0, None, 0)


def values(row) -> tuple:
	return (row["deals_won"], row["meetings"], row["meetings_per_deal"], row["deals_without_meetings"])


def by_manager(data) -> dict:
	assert data[-1].get("is_total"), data[-1]
	keys = {email(k): k for k in KEYS}
	return {keys.get(row["manager"], row["manager"]): values(row) for row in data[:-1]}


class ReportTestCase(SalesOrgTestCase):
	def report(self, user="Administrator", **filters):
		frappe.set_user(email(user) if user != "Administrator" else user)
		try:
			with self.freeze_time(NOW):
				return frappe._dict(run(REPORT, filters={**PERIOD, **filters}, ignore_prepared_report=True))
		finally:
			frappe.set_user("Administrator")


class TestMeetingsPerWonDealReport(ReportTestCase):
	def setUp(self):
		super().setUp()
		self.records = make_activity(self)

	def test_numbers_worked_out_by_hand(self):
		result = self.report("director")
		rows = {k: v for k, v in by_manager(result.result).items() if k in KEYS}
		self.assertEqual(rows, EXPECTED)
		self.assertEqual(values(result.result[-1]), TOTAL)
		summary = {s["label"]: s["value"] for s in result.report_summary}
		self.assertEqual(
			(summary["Deals Won"], summary["Meetings Held"], summary["Meetings per Won Deal"]), (6, 7, 1.17)
		)
		# the chart: the ratio of the managers who won something
		chart = dict(
			zip(result.chart["data"]["labels"], result.chart["data"]["datasets"][0]["values"], strict=True)
		)
		self.assertEqual(chart[frappe.utils.get_fullname(email("sales1"))], 0.67)
		self.assertEqual(chart[frappe.utils.get_fullname(email("sales3"))], 2.0)
		self.assertNotIn(frappe.utils.get_fullname(email("head_a")), chart)
		# the won deals' drill-down opens them
		sales1 = next(row for row in result.result if row["manager"] == email("sales1"))
		self.assertIn("won_on", sales1["deals_link"])
		self.assertIn("/app/crm-deal?", sales1["deals_link"])

	def test_periods_and_filters(self):
		# no deal won in January 2036: rows of zeros with empty ratios
		result = self.report("director", from_date="2036-01-01", to_date="2036-01-31")
		rows = {k: v for k, v in by_manager(result.result).items() if k in KEYS}
		self.assertEqual(rows, dict.fromkeys(EXPECTED, NOTHING))
		self.assertEqual(values(result.result[-1]), NOTHING)
		# February: only D4 (sales1, one meeting)
		result = self.report(
			"director", from_date="2037-02-01", to_date="2037-02-28", manager=email("sales1")
		)
		self.assertEqual(by_manager(result.result), {"sales1": (1, 1, 1.0, 0)})
		# team B
		result = self.report("director", team=TEAM_B)
		self.assertEqual(by_manager(result.result), {"head_b": NOTHING, "sales3": EXPECTED["sales3"]})
		self.assertEqual(values(result.result[-1]), (2, 4, 2.0, 0))
		# a manager outside the team
		self.assertEqual(by_manager(self.report("director", manager=email("sales3"), team=TEAM_A).result), {})

	def test_each_role_sees_its_own_rows_and_hostile_filters_do_not_widen(self):
		# sales1 co-manages sales2's D2: they see the deal in their lists, but the report is about themself,
		# so D2 stays sales2's and is no row of sales1's report
		deal = frappe.get_doc("CRM Deal", self.records["D2"])
		deal.append("co_managers", {"user": email("sales1")})
		deal.save()
		frappe.set_user(email("sales1"))
		self.assertTrue(frappe.has_permission("CRM Deal", "read", deal.name))
		frappe.set_user("Administrator")
		self.assertEqual(by_manager(self.report("sales1").result), {"sales1": EXPECTED["sales1"]})
		# sales2 sees their won deal D2 but not M3, a task of sales1's they may not see: 0 meetings for them
		self.assertEqual(by_manager(self.report("sales2").result), {"sales2": (1, 0, 0.0, 1)})
		# the head of team A sees both (M3 is their team's task)
		self.assertEqual(
			by_manager(self.report("head_a").result),
			{"head_a": EXPECTED["head_a"], "sales1": EXPECTED["sales1"], "sales2": EXPECTED["sales2"]},
		)
		self.assertEqual(
			by_manager(self.report("head_b").result),
			{"head_b": EXPECTED["head_b"], "sales3": EXPECTED["sales3"]},
		)
		for user, filters in (
			("sales1", {"manager": email("sales3")}),
			("sales1", {"manager": email("sales2")}),
			("sales2", {"team": TEAM_B}),
			("head_a", {"manager": email("sales3")}),
			("head_b", {"team": TEAM_A}),
		):
			with self.subTest(user=user, filters=filters):
				result = self.report(user, **filters)
				self.assertEqual(by_manager(result.result), {})
				self.assertEqual(values(result.result[-1]), NOTHING)


class TestMeetingsPerWonDealInput(ReportTestCase):
	def test_bad_filters_are_refused(self):
		for filters in (
			{"from_date": "2037-03-31", "to_date": "2037-03-01"},
			{"to_date": "not a date"},
			{"manager": "nobody@example.com"},
			{"team": "No Such Team"},
		):
			with self.subTest(filters=filters), self.assertRaises(ReportFilterError):
				self.report("director", **filters)

	def test_per_deal(self):
		self.assertIsNone(per_deal(0, 0))
		self.assertIsNone(per_deal(5, 0))
		self.assertEqual(per_deal(0, 4), 0.0)
		self.assertEqual(per_deal(2, 3), 0.67)
		self.assertEqual(per_deal(7, 6), 1.17)


class TestMeetingsPerWonDealOverREST(SalesOrgRestTestCase):
	def test_run_over_rest_as_a_head_of_sales(self):
		day = "2037-07-02"
		with self.freeze_time(f"{day} 09:00:00"):
			client = self.track("CRM Client", factories.make_client(responsible=email("sales1")).name)
			deal = factories.make_deal(client, responsible=email("sales1"), amount=1000)
			self.track("CRM Deal", deal.name)
		with self.freeze_time(f"{day} 10:00:00"):
			deal.reload()
			deal.stage = "Won"
			deal.save()
			meeting = factories.make_task(
				assigned_to=email("sales1"),
				task_type="Meeting",
				status="Done",
				result="Договорились",
				reference_doctype="CRM Deal",
				reference_name=deal.name,
			)
			self.track("CRM Task", meeting.name)
		filters = {"from_date": "2037-07-01", "to_date": "2037-07-31"}
		r = self.rest_call(
			"frappe.desk.query_report.run",
			{"report_name": REPORT, "filters": filters, "ignore_prepared_report": 1},
			user=email("head_a"),
		)
		self.assertEqual(r.status_code, 200, r.text)
		rows = {row["manager"]: row for row in r.data["result"][:-1]}
		self.assertEqual(sorted(rows), sorted([email("head_a"), email("sales1"), email("sales2")]))
		self.assertEqual(values(rows[email("sales1")]), (1, 1, 1.0, 0))
		# head_b does not see team A's deal
		r = self.rest_call(
			"frappe.desk.query_report.run",
			{"report_name": REPORT, "filters": {**filters, "team": TEAM_A}},
			user=email("head_b"),
		)
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(values(r.data["result"][-1]), NOTHING)
