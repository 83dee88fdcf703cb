"""The report "CRM Deal Cycle": days from a deal's creation to its win, per pipeline and per manager.

A fixed dataset in June 2031 (a frozen clock; nothing else on the site is dated then) in two pipelines of
the test's own, worked out by hand. Days = won_on - the date of creation.

	deal  pipeline  responsible  created     won         days  amount
	W1    P1        sales1       2031-05-01  2031-06-05    35    1000
	W2    P1        sales1       2031-06-01  2031-06-05     4    3000
	W3    P1        sales2       2031-06-05  2031-06-05     0    2000
	W4    P1        sales3       2031-03-01  2031-06-10   101    6000
	W5    P2        sales1       2031-06-01  2031-06-20    19     500
	W6    P2        sales3       2031-05-31  2031-06-30    30    1500
	W7    P1        sales1       2031-05-01  2031-07-01          (won after the period)
	W8    P2        sales2       2031-07-10  2031-06-15   -25     900 (entered in July as won in June:
	                                                                 history; counted, but no cycle)
	X1    P1        sales1       2031-06-02  lost 2031-06-12       (lost: never counted)

Percentiles by linear interpolation between the nearest ranks (simple_crm.utils.percentiles): for the
sorted days x[0..n-1] and a fraction p, h = (n - 1) p, P = x[floor h] + (h - floor h)(x[floor h + 1] -
x[floor h]).

Team A is head_a with sales1 and sales2, team B head_b with sales3.
"""

import frappe

from simple_crm.report_filters import ReportFilterError
from simple_crm.tests.factories import make_client, make_deal, make_pipeline, make_user, unique
from simple_crm.tests.report_checks import at_noon, records_behind, run_report
from simple_crm.tests.sales_org import SalesOrgRestTestCase, SalesOrgTestCase, email

REPORT = "CRM Deal Cycle"
JUNE = {"from_date": "2031-06-01", "to_date": "2031-06-30"}
NUMBERS = ("deals", "median_days", "p90_days", "average_amount", "amount")


def table(result, key: str) -> list[tuple]:
	"""Rows in order: (group, won deals, median days, p90 days, average amount, amount)."""
	return [(row[key], *(row[k] for k in NUMBERS)) for row in result.result]


def summary(result) -> list[tuple]:
	return [(s["label"], s["value"]) for s in result.report_summary]


def move(deal, stage: str, **values):
	deal.reload()
	deal.stage = stage
	deal.update(values)
	deal.save()
	return deal


class DealCycleData:
	def make_dataset(self):
		self.sales1, self.sales2, self.sales3 = email("sales1"), email("sales2"), email("sales3")
		# named so that P1 sorts before P2 where they tie on won deals
		self.p1 = make_pipeline(pipeline_name=unique("Цикл 1 ")).name
		self.p2 = make_pipeline(pipeline_name=unique("Цикл 2 ")).name
		self.client_name = make_client().name
		self.w = {
			"W1": self.won(self.p1, self.sales1, "2031-05-01", "2031-06-05", 1000),
			"W2": self.won(self.p1, self.sales1, "2031-06-01", "2031-06-05", 3000),
			"W3": self.won(self.p1, self.sales2, "2031-06-05", "2031-06-05", 2000),
			"W4": self.won(self.p1, self.sales3, "2031-03-01", "2031-06-10", 6000),
			"W5": self.won(self.p2, self.sales1, "2031-06-01", "2031-06-20", 500),
			"W6": self.won(self.p2, self.sales3, "2031-05-31", "2031-06-30", 1500),
			"W7": self.won(self.p1, self.sales1, "2031-05-01", "2031-07-01", 800),
		}
		# history: entered on 2031-07-10 straight into the won stage with the day it was won
		with self.freeze_time(at_noon("2031-07-10")):
			self.w["W8"] = make_deal(
				self.client_name,
				pipeline=self.p2,
				responsible=self.sales2,
				amount=900,
				stage="Won",
				won_on="2031-06-15",
			).name
		with self.freeze_time(at_noon("2031-06-02")):
			lost = make_deal(self.client_name, pipeline=self.p1, responsible=self.sales1, amount=700)
		with self.freeze_time(at_noon("2031-06-12")):
			move(lost, "Lost", lost_reason="Price Too High")
		w8 = frappe.db.get_value("CRM Deal", self.w["W8"], ["won_on", "creation"], as_dict=True)
		self.assertEqual((str(w8.won_on), str(w8.creation.date())), ("2031-06-15", "2031-07-10"))

	def won(self, pipeline, responsible, created, won_on, amount):
		with self.freeze_time(at_noon(created)):
			deal = make_deal(self.client_name, pipeline=pipeline, responsible=responsible, amount=amount)
		with self.freeze_time(at_noon(won_on)):
			move(deal, "Won")
		self.assertEqual(str(deal.won_on), won_on)
		return deal.name


class TestDealCycleReport(DealCycleData, SalesOrgTestCase):
	def test_per_pipeline_for_the_director(self):
		self.make_dataset()
		result = run_report(REPORT, email("director"), **JUNE)
		# P1: W1-W4, days sorted [0, 4, 35, 101], n = 4
		#   median: h = 3 * 0.5 = 1.5 -> 4 + 0.5 * (35 - 4) = 19.5
		#   p90:    h = 3 * 0.9 = 2.7 -> 35 + 0.7 * (101 - 35) = 81.2
		#   amount 1000 + 3000 + 2000 + 6000 = 12000, average 3000
		# P2: W5, W6 and W8 (3 won deals, 500 + 1500 + 900 = 2900, average 966.67); days of W5, W6 only:
		#   [19, 30], n = 2: median h = 0.5 -> 24.5; p90 h = 0.9 -> 19 + 0.9 * 11 = 28.9
		self.assertEqual(
			table(result, "pipeline"),
			[
				(self.p1, 4, 19.5, 81.2, 3000.0, 12000.0),
				(self.p2, 3, 24.5, 28.9, 966.67, 2900.0),
			],
		)
		# all: 7 won deals, 14900, average 14900 / 7 = 2128.571 -> 2128.57; days [0, 4, 19, 30, 35, 101]:
		# median h = 2.5 -> 19 + 0.5 * 11 = 24.5; p90 h = 4.5 -> 35 + 0.5 * 66 = 68
		self.assertEqual(
			summary(result),
			[
				("Won Deals", 7),
				("Median Days", 24.5),
				("90th Percentile, Days", 68.0),
				("Average Amount", 2128.57),
			],
		)
		self.assertEqual(
			result.message,
			"Deals won before they were created in the CRM (imported history) count among the won deals but not"
			" in the days: 1",  # W8
		)
		self.assertEqual(
			result.chart["data"],
			{
				"labels": [self.p1, self.p2],
				"datasets": [
					{"name": "Median Days", "values": [19.5, 24.5]},
					{"name": "90th Percentile, Days", "values": [81.2, 28.9]},
				],
			},
		)

	def test_per_manager(self):
		self.make_dataset()
		result = run_report(REPORT, email("director"), group_by="Manager", **JUNE)
		# sales1: W1 35, W2 4, W5 19 -> [4, 19, 35]: median 19; p90 h = 1.8 -> 19 + 0.8 * 16 = 31.8;
		#   4500, average 1500
		# sales2: W3 0 and W8 (no cycle): 2 deals, 2900, average 1450; days [0]: 0 and 0
		# sales3: W4 101, W6 30 -> [30, 101]: median 65.5; p90 h = 0.9 -> 30 + 0.9 * 71 = 93.9;
		#   7500, average 3750
		# order: most won deals first, then by manager
		self.assertEqual(
			table(result, "responsible"),
			[
				(self.sales1, 3, 19.0, 31.8, 1500.0, 4500.0),
				(self.sales2, 2, 0.0, 0.0, 1450.0, 2900.0),
				(self.sales3, 2, 65.5, 93.9, 3750.0, 7500.0),
			],
		)
		self.assertEqual([row["manager_name"] for row in result.result], ["Sales1", "Sales2", "Sales3"])
		self.assertEqual(result.chart["data"]["labels"], ["Sales1", "Sales2", "Sales3"])
		self.assertEqual(result.chart["data"]["datasets"][0]["values"], [19.0, 0.0, 65.5])

	def test_filters_narrow(self):
		self.make_dataset()
		director = email("director")
		# pipeline P2 alone
		self.assertEqual(
			table(run_report(REPORT, director, pipeline=self.p2, **JUNE), "pipeline"),
			[(self.p2, 3, 24.5, 28.9, 966.67, 2900.0)],
		)
		# team B (sales3): W4 in P1 (101 days), W6 in P2 (30 days); a sample of one is its own median/p90
		self.assertEqual(
			table(run_report(REPORT, director, team="Process Test Team B", **JUNE), "pipeline"),
			[(self.p1, 1, 101.0, 101.0, 6000.0, 6000.0), (self.p2, 1, 30.0, 30.0, 1500.0, 1500.0)],
		)
		# manager sales2: W3 (0 days) in P1 and W8 (no cycle) in P2: P2 has won deals but no days
		result = run_report(REPORT, director, manager=self.sales2, **JUNE)
		self.assertEqual(
			table(result, "pipeline"),
			[(self.p1, 1, 0.0, 0.0, 2000.0, 2000.0), (self.p2, 1, None, None, 900.0, 900.0)],
		)
		self.assertEqual(result.chart["data"]["labels"], [self.p1])  # no median to draw for P2
		# one day: 2031-06-05 (W1 35, W2 4, W3 0 in P1): median 4; p90 h = 1.8 -> 4 + 0.8 * 31 = 28.8
		self.assertEqual(
			table(run_report(REPORT, director, from_date="2031-06-05", to_date="2031-06-05"), "pipeline"),
			[(self.p1, 3, 4.0, 28.8, 2000.0, 6000.0)],
		)
		# a manager who is not in the team: nothing
		self.assertEqual(
			run_report(REPORT, director, manager=self.sales1, team="Process Test Team B", **JUNE).result, []
		)

	def test_empty_period_and_manager_without_activity(self):
		self.make_dataset()
		for filters in (
			{"from_date": "2030-06-01", "to_date": "2030-06-30"},
			{**JUNE, "manager": email("crm_admin")},
		):
			result = run_report(REPORT, email("director"), **filters)
			self.assertEqual(result.result, [])
			self.assertIsNone(result.chart)
			self.assertIsNone(result.message)
			self.assertEqual(
				summary(result),
				[
					("Won Deals", 0),
					("Median Days", None),
					("90th Percentile, Days", None),
					("Average Amount", None),
				],
			)

	def test_each_role_sees_its_own_rows(self):
		self.make_dataset()
		# sales1: W1, W2 in P1 ([4, 35]: median 19.5, p90 4 + 0.9 * 31 = 31.9; 4000, average 2000) and W5
		self.assertEqual(
			table(run_report(REPORT, self.sales1, **JUNE), "pipeline"),
			[(self.p1, 2, 19.5, 31.9, 2000.0, 4000.0), (self.p2, 1, 19.0, 19.0, 500.0, 500.0)],
		)
		# head_a: sales1's and sales2's
		self.assertEqual(
			[
				row[0]
				for row in table(
					run_report(REPORT, email("head_a"), group_by="Manager", **JUNE), "responsible"
				)
			],
			[self.sales1, self.sales2],
		)
		# director: all three (see test_per_manager)
		self.assertEqual(
			[
				row[0]
				for row in table(
					run_report(REPORT, email("director"), group_by="Manager", **JUNE), "responsible"
				)
			],
			[self.sales1, self.sales2, self.sales3],
		)
		# hostile filters only narrow
		for user, filters in (
			(self.sales1, {"manager": self.sales3}),
			(self.sales1, {"manager": self.sales2}),
			(self.sales1, {"team": "Process Test Team B"}),
			(email("head_a"), {"manager": self.sales3}),
			(email("head_a"), {"team": "Process Test Team B"}),
		):
			self.assertEqual(run_report(REPORT, user, **JUNE, **filters).result, [], (user, filters))

	def test_drill_down_opens_the_same_deals(self):
		self.make_dataset()
		for user in (self.sales1, email("head_a"), email("director")):
			for group_by in ("Pipeline", "Manager"):
				for row in run_report(REPORT, user, group_by=group_by, **JUNE).result:
					self.assertEqual(len(records_behind(row["deals_link"], user)), row["deals"], row)
		row = run_report(REPORT, email("director"), **JUNE).result[1]
		self.assertEqual(
			sorted(records_behind(row["deals_link"], email("director"))),
			sorted(self.w[k] for k in ("W5", "W6", "W8")),
		)

	def test_bad_filters_are_refused(self):
		director = email("director")
		for filters in (
			{},
			{"from_date": "2031-06-01"},
			{"from_date": "01.06.2031", "to_date": "2031-06-30"},
			{"from_date": "2031-07-01", "to_date": "2031-06-30"},
			{**JUNE, "group_by": "Client"},
			{**JUNE, "manager": "nobody@example.com"},
			{**JUNE, "team": "No Such Team"},
			{**JUNE, "pipeline": "No Such Pipeline"},
		):
			with self.assertRaises(ReportFilterError, msg=filters):
				run_report(REPORT, director, **filters)
		with self.assertRaises(frappe.PermissionError):
			run_report(REPORT, make_user(roles=("Blogger",)).name, **JUNE)


class TestDealCycleReportOverREST(SalesOrgRestTestCase):
	"""The Desk's call over HTTP, with won deals committed for the request to see."""

	def test_rest(self):
		sales1, sales3 = email("sales1"), email("sales3")
		pipeline = self.track("CRM Pipeline", make_pipeline().name)
		client = self.track("CRM Client", make_client().name)
		for responsible, created, amount in (
			(sales1, "2032-06-01", 1000),
			(sales1, "2032-06-11", 3000),
			(sales3, "2032-06-01", 500),
		):
			with self.freeze_time(at_noon(created)):
				deal = make_deal(client, pipeline=pipeline, responsible=responsible, amount=amount)
				self.track("CRM Deal", deal.name)
			with self.freeze_time(at_noon("2032-06-21")):
				move(deal, "Won")
		period = {"from_date": "2032-06-01", "to_date": "2032-06-30", "pipeline": pipeline}
		# sales1: 20 and 10 days -> [10, 20]: median 15, p90 10 + 0.9 * 10 = 19; average 2000
		r = self.rest_call(
			"frappe.desk.query_report.run", {"report_name": REPORT, "filters": period}, user=sales1
		)
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(
			[tuple(row[k] for k in ("pipeline", *NUMBERS)) for row in r.data["result"]],
			[(pipeline, 2, 15.0, 19.0, 2000.0, 4000.0)],
		)
		# the director: [10, 20, 20]: median 20, p90 h = 1.8 -> 20; average 4500 / 3 = 1500
		r = self.rest_call(
			"frappe.desk.query_report.run", {"report_name": REPORT, "filters": period}, user=email("director")
		)
		self.assertEqual(
			[tuple(row[k] for k in ("pipeline", *NUMBERS)) for row in r.data["result"]],
			[(pipeline, 3, 20.0, 20.0, 1500.0, 4500.0)],
		)
		r = self.rest_call(
			"frappe.desk.query_report.run",
			{"report_name": REPORT, "filters": {**period, "manager": "nobody@example.com"}},
			user=sales1,
		)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("nobody@example.com", r.error_text())
