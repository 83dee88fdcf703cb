"""The reports "CRM Sales Funnel" and "CRM Deal Amount per Stage", from the deals' stage history.

A fixed dataset in September 2031 (a frozen clock at noon; nothing else on the site is dated then) in a
pipeline of the test's own: Qualification (1), Needs Analysis (2), Proposal (3), then Won and Lost.

	deal  responsible  created  moves (day: stage, amount when it changed)           amount now
	D1    sales1       09-01    09-03 NA (amount 800 -> 1000), 09-08 Proposal, 09-10 Won   1000
	D2    sales1       09-02    09-04 NA, 09-06 Lost (lost at NA)                          2000
	D3    sales2       09-05    stays in Qualification                                      500
	D4    sales2       09-05    09-06 Proposal (skips NA), stays                           3000
	D5    sales3       09-10    09-20 Won (straight from Qualification)                    4000
	D6    sales1       09-11    09-12 Lost                                                  700
	D7    sales1       08-20    09-02 NA, stays (created before the period)                9999
	D8    sales3       10-02    stays in Qualification (created after the period)           100

The September cohort is D1-D6. Team A is head_a with sales1 and sales2, team B head_b with sales3.
"""

from unittest.mock import patch

import frappe
from frappe.desk.form.assign_to import add as assign

from simple_crm import stage_history
from simple_crm.permissions.rules import condition_parts
from simple_crm.report_filters import ReportFilterError
from simple_crm.tests.factories import make_client, make_deal, make_pipeline, make_user, unique
from simple_crm.tests.report_checks import at_noon, records_behind, run_report
from simple_crm.tests.sales_org import SalesOrgRestTestCase, SalesOrgTestCase, email

FUNNEL = "CRM Sales Funnel"
AMOUNTS = "CRM Deal Amount per Stage"
SEPTEMBER = {"from_date": "2031-09-01", "to_date": "2031-09-30"}
STAGES = (
	("Qualification", "Open", 10),
	("Needs Analysis", "Open", 25),
	("Proposal", "Open", 50),
	("Won", "Won", None),
	("Lost", "Lost", None),
)
FUNNEL_NUMBERS = ("stage", "deals", "amount", "conversion", "share", "median_days", "in_stage_now")
AMOUNT_NUMBERS = ("stage", "open_deals", "open_amount", "open_average", "entered", "entered_average")


def table(result, numbers) -> list[tuple]:
	return [tuple(row[k] for k in numbers) for row in result.result]


def summary(result) -> list[tuple]:
	return [(s["label"], s["value"]) for s in result.report_summary]


class FunnelData:
	def make_dataset(self):
		self.sales1, self.sales2, self.sales3 = email("sales1"), email("sales2"), email("sales3")
		self.pipeline = make_pipeline(stages=STAGES, pipeline_name=unique("Воронка отчёта ")).name
		self.client_name = make_client().name
		self.d = {}
		self.deal("D1", self.sales1, "2031-09-01", 800, ("2031-09-03", "Needs Analysis", {"amount": 1000}))
		self.move("D1", "2031-09-08", "Proposal")
		self.move("D1", "2031-09-10", "Won")
		self.deal("D2", self.sales1, "2031-09-02", 2000, ("2031-09-04", "Needs Analysis", {}))
		self.move("D2", "2031-09-06", "Lost", lost_reason="Price Too High")
		self.deal("D3", self.sales2, "2031-09-05", 500)
		self.deal("D4", self.sales2, "2031-09-05", 3000, ("2031-09-06", "Proposal", {}))
		self.deal("D5", self.sales3, "2031-09-10", 4000, ("2031-09-20", "Won", {}))
		self.deal(
			"D6", self.sales1, "2031-09-11", 700, ("2031-09-12", "Lost", {"lost_reason": "Price Too High"})
		)
		self.deal("D7", self.sales1, "2031-08-20", 9999, ("2031-09-02", "Needs Analysis", {}))
		self.deal("D8", self.sales3, "2031-10-02", 100)

	def deal(self, key, responsible, created, amount, first_move=None):
		with self.freeze_time(at_noon(created)):
			self.d[key] = make_deal(
				self.client_name, pipeline=self.pipeline, responsible=responsible, amount=amount
			).name
		if first_move:
			day, stage, values = first_move
			self.move(key, day, stage, **values)

	def move(self, key, day, stage, **values):
		with self.freeze_time(at_noon(day)):
			deal = frappe.get_doc("CRM Deal", self.d[key])
			deal.stage = stage
			deal.update(values)
			deal.save()


class TestSalesFunnelReport(FunnelData, SalesOrgTestCase):
	def test_the_director_sees_the_whole_funnel(self):
		self.make_dataset()
		result = run_report(FUNNEL, email("director"), pipeline=self.pipeline, **SEPTEMBER)
		# reached: Qualification all six; Needs Analysis D1, D2, D4 (skipped it, went further), D5 (won);
		# Proposal D1, D4, D5. Amounts today: 1000 + 2000 + 500 + 3000 + 4000 + 700 = 11200;
		# 1000 + 2000 + 3000 + 4000 = 10000; 1000 + 3000 + 4000 = 8000.
		# Conversion: 6/6, 4/6, 3/4, won 2/3; share of the six: 100, 66.67, 50, 33.33, 33.33.
		# Finished stays: Qualification D1 2, D2 2, D4 1, D5 10, D6 1 days -> median 2;
		# Needs Analysis D1 5, D2 2 -> 3.5; Proposal D1 2 -> 2.
		self.assertEqual(
			table(result, FUNNEL_NUMBERS),
			[
				("Qualification", 6, 11200.0, 100.0, 100.0, 2.0, 1),
				("Needs Analysis", 4, 10000.0, 66.67, 66.67, 3.5, 0),
				("Proposal", 3, 8000.0, 75.0, 50.0, 2.0, 1),
				("Won", 2, 5000.0, 66.67, 33.33, None, 2),
				("Lost", 2, 2700.0, None, 33.33, None, 2),
			],
		)
		self.assertEqual(
			summary(result),
			[("Deals Created", 6), ("Won", 2), ("Lost", 2), ("Win Rate, %", 33.33), ("Won Amount", 5000.0)],
		)
		self.assertEqual(
			result.chart["data"],
			{
				"labels": ["Qualification", "Needs Analysis", "Proposal", "Won"],
				"datasets": [{"name": "Deals Reached", "values": [6, 4, 3, 2]}],
			},
		)

	def test_each_role_sees_its_own_deals(self):
		self.make_dataset()
		# sales1: D1, D2, D6. Reached 3, 2 (D1, D2), 1 (D1); won D1, lost D2 and D6.
		self.assertEqual(
			table(run_report(FUNNEL, self.sales1, pipeline=self.pipeline, **SEPTEMBER), FUNNEL_NUMBERS),
			[
				("Qualification", 3, 3700.0, 100.0, 100.0, 2.0, 0),
				("Needs Analysis", 2, 3000.0, 66.67, 66.67, 3.5, 0),
				("Proposal", 1, 1000.0, 50.0, 33.33, 2.0, 0),
				("Won", 1, 1000.0, 100.0, 33.33, None, 1),
				("Lost", 2, 2700.0, None, 66.67, None, 2),
			],
		)
		# head_a: D1, D2, D3, D4, D6. Reached 5; D1, D2, D4; D1, D4. Stays: Qualification D1 2, D2 2,
		# D4 1, D6 1 -> median 1.5.
		self.assertEqual(
			table(run_report(FUNNEL, email("head_a"), pipeline=self.pipeline, **SEPTEMBER), FUNNEL_NUMBERS),
			[
				("Qualification", 5, 7200.0, 100.0, 100.0, 1.5, 1),
				("Needs Analysis", 3, 6000.0, 60.0, 60.0, 3.5, 0),
				("Proposal", 2, 4000.0, 66.67, 40.0, 2.0, 1),
				("Won", 1, 1000.0, 50.0, 20.0, None, 1),
				("Lost", 2, 2700.0, None, 40.0, None, 2),
			],
		)
		# hostile filters only narrow: nothing of sales3's reaches sales1 or head_a
		for user, filters in (
			(self.sales1, {"manager": self.sales3}),
			(self.sales1, {"team": "Process Test Team B"}),
			(email("head_a"), {"manager": self.sales3}),
		):
			result = run_report(FUNNEL, user, pipeline=self.pipeline, **SEPTEMBER, **filters)
			self.assertEqual([row["deals"] for row in result.result], [0, 0, 0, 0, 0], (user, filters))
			self.assertIsNone(result.chart)

	def test_deals_seen_through_a_co_manager_and_an_assignment_count_once_and_follow_their_manager(self):
		self.make_dataset()
		# D5 (sales3, team B) co-managed by sales1 and assigned to sales2: head_a sees it both ways, counts it once
		deal = frappe.get_doc("CRM Deal", self.d["D5"])
		deal.append("co_managers", {"user": self.sales1})
		deal.save()
		assign({"doctype": "CRM Deal", "name": self.d["D5"], "assign_to": [self.sales2]})
		director = table(
			run_report(FUNNEL, email("director"), pipeline=self.pipeline, **SEPTEMBER), FUNNEL_NUMBERS
		)
		head_a = run_report(FUNNEL, email("head_a"), pipeline=self.pipeline, **SEPTEMBER)
		self.assertEqual(table(head_a, FUNNEL_NUMBERS), director)
		# the head of team B, whose manager is responsible for D5, counts it as before
		head_b = table(
			run_report(FUNNEL, email("head_b"), pipeline=self.pipeline, **SEPTEMBER), FUNNEL_NUMBERS
		)
		self.assertEqual([row[1] for row in head_b], [1, 1, 1, 1, 0])
		# D3 handed to sales3: head_b counts it (its stay in Qualification has not ended: no median), head_a no more
		deal = frappe.get_doc("CRM Deal", self.d["D3"])
		deal.responsible = self.sales3
		deal.save()
		head_b = table(
			run_report(FUNNEL, email("head_b"), pipeline=self.pipeline, **SEPTEMBER), FUNNEL_NUMBERS
		)
		self.assertEqual([row[1] for row in head_b], [2, 1, 1, 1, 0])
		head_a = table(
			run_report(FUNNEL, email("head_a"), pipeline=self.pipeline, **SEPTEMBER), FUNNEL_NUMBERS
		)
		self.assertEqual([row[1] for row in head_a], [5, 4, 3, 2, 2])
		# the amounts per stage as well: D3 stands in Qualification beside D8 and entered it in September beside D5
		amounts_b = run_report(AMOUNTS, email("head_b"), pipeline=self.pipeline, **SEPTEMBER)
		qualification = next(row for row in amounts_b.result if row["stage"] == "Qualification")
		self.assertEqual((qualification["open_deals"], qualification["entered"]), (2, 2))

	def test_the_stays_read_through_the_rule_or_deal_by_deal_give_the_same_figures(self):
		"""stage_history.stays_query writes the deal's rule on the stays; a rule part it cannot write there
		makes it look each stay's deal up instead, with the same figures."""
		self.make_dataset()
		for user in (self.sales1, email("head_a")):
			frappe.set_user(user)
			try:
				parts = condition_parts("CRM Deal")
			finally:
				frappe.set_user("Administrator")
			self.assertTrue(parts and all(stage_history.on_stays(part) for part in parts), user)
			indexed = table(run_report(FUNNEL, user, pipeline=self.pipeline, **SEPTEMBER), FUNNEL_NUMBERS)
			amounts = table(run_report(AMOUNTS, user, pipeline=self.pipeline, **SEPTEMBER), AMOUNT_NUMBERS)
			with patch.dict(stage_history.DEAL_COLUMNS_OF_STAYS, clear=True):
				self.assertIsNone(stage_history.on_stays(parts[0]))
				by_deal = table(run_report(FUNNEL, user, pipeline=self.pipeline, **SEPTEMBER), FUNNEL_NUMBERS)
				amounts_by_deal = table(
					run_report(AMOUNTS, user, pipeline=self.pipeline, **SEPTEMBER), AMOUNT_NUMBERS
				)
			self.assertEqual(indexed, by_deal, user)
			self.assertEqual(amounts, amounts_by_deal, user)
			self.assertTrue(any(row[1] for row in indexed), user)

	def test_filters_narrow(self):
		self.make_dataset()
		director = email("director")
		# team B: D5 alone, won from Qualification: it passed every open stage
		result = run_report(FUNNEL, director, pipeline=self.pipeline, team="Process Test Team B", **SEPTEMBER)
		self.assertEqual(
			table(result, FUNNEL_NUMBERS),
			[
				("Qualification", 1, 4000.0, 100.0, 100.0, 10.0, 0),
				("Needs Analysis", 1, 4000.0, 100.0, 100.0, None, 0),
				("Proposal", 1, 4000.0, 100.0, 100.0, None, 0),
				("Won", 1, 4000.0, 100.0, 100.0, None, 1),
				("Lost", 0, 0.0, None, 0.0, None, 0),
			],
		)
		# manager sales2, one day: D3 and D4 created on 09-05
		result = run_report(
			FUNNEL,
			director,
			pipeline=self.pipeline,
			manager=self.sales2,
			from_date="2031-09-05",
			to_date="2031-09-05",
		)
		self.assertEqual([row["deals"] for row in result.result], [2, 1, 1, 0, 0])

	def test_empty_period_and_manager_without_activity(self):
		self.make_dataset()
		for filters in (
			{"from_date": "2030-09-01", "to_date": "2030-09-30"},
			{**SEPTEMBER, "manager": email("crm_admin")},
		):
			result = run_report(FUNNEL, email("director"), pipeline=self.pipeline, **filters)
			self.assertEqual(
				table(result, FUNNEL_NUMBERS),
				[
					("Qualification", 0, 0.0, None, None, None, 0),
					("Needs Analysis", 0, 0.0, None, None, None, 0),
					("Proposal", 0, 0.0, None, None, None, 0),
					("Won", 0, 0.0, None, None, None, 0),
					("Lost", 0, 0.0, None, None, None, 0),
				],
			)
			self.assertIsNone(result.chart)
			self.assertEqual(
				summary(result),
				[("Deals Created", 0), ("Won", 0), ("Lost", 0), ("Win Rate, %", None), ("Won Amount", 0.0)],
			)

	def test_drill_down_opens_the_deals_in_the_stage(self):
		self.make_dataset()
		for user in (self.sales1, email("head_a"), email("director")):
			for row in run_report(FUNNEL, user, pipeline=self.pipeline, **SEPTEMBER).result:
				self.assertEqual(
					len(records_behind(row["in_stage_now_link"], user)), row["in_stage_now"], row
				)
		won = run_report(FUNNEL, email("director"), pipeline=self.pipeline, **SEPTEMBER).result[3]
		self.assertEqual(
			sorted(records_behind(won["in_stage_now_link"], email("director"))),
			sorted([self.d["D1"], self.d["D5"]]),
		)

	def test_bad_filters_are_refused(self):
		director = email("director")
		for report in (FUNNEL, AMOUNTS):
			for filters in (
				{},
				{"from_date": "2031-09-01"},
				{"from_date": "2031-10-01", "to_date": "2031-09-30"},
				{**SEPTEMBER, "manager": "nobody@example.com"},
				{**SEPTEMBER, "team": "No Such Team"},
				{**SEPTEMBER, "pipeline": "No Such Pipeline"},
				{**SEPTEMBER, "pipeline": ["Sales"]},
			):
				with self.assertRaises(ReportFilterError, msg=(report, filters)):
					run_report(report, director, **filters)
			with self.assertRaises(frappe.PermissionError):
				run_report(report, make_user(roles=("Blogger",)).name, **SEPTEMBER)


class TestDealAmountPerStageReport(FunnelData, SalesOrgTestCase):
	def test_the_director_sees_every_stage(self):
		self.make_dataset()
		result = run_report(AMOUNTS, email("director"), pipeline=self.pipeline, **SEPTEMBER)
		# open now (any creation date): Qualification D3 500 + D8 100 -> 2, 600, average 300;
		# Needs Analysis D7 9999; Proposal D4 3000.
		# entered in September, with the amount at that moment: Qualification D1 800, D2 2000, D3 500,
		# D4 3000, D5 4000, D6 700 -> 6, 11000 / 6 = 1833.33; Needs Analysis D7 9999, D1 1000, D2 2000
		# -> 3, 12999 / 3 = 4333; Proposal D4 3000, D1 1000 -> 2000; Won D1 1000, D5 4000 -> 2500;
		# Lost D2 2000, D6 700 -> 1350.
		self.assertEqual(
			table(result, AMOUNT_NUMBERS),
			[
				("Qualification", 2, 600.0, 300.0, 6, 1833.33),
				("Needs Analysis", 1, 9999.0, 9999.0, 3, 4333.0),
				("Proposal", 1, 3000.0, 3000.0, 2, 2000.0),
				("Won", 0, 0, None, 2, 2500.0),
				("Lost", 0, 0, None, 2, 1350.0),
			],
		)
		# 4 open deals, 600 + 9999 + 3000 = 13599, average 3399.75
		self.assertEqual(
			summary(result),
			[("Open Deals Now", 4), ("Open Amount", 13599.0), ("Average Open Deal", 3399.75)],
		)
		self.assertEqual(
			result.chart["data"]["datasets"],
			[
				{"name": "Average Amount Now", "values": [300.0, 9999.0, 3000.0, 0, 0]},
				{"name": "Average Amount When Entering", "values": [1833.33, 4333.0, 2000.0, 2500.0, 1350.0]},
			],
		)

	def test_each_role_sees_its_own_deals(self):
		self.make_dataset()
		# sales1: D1, D2, D6, D7. Open now: D7. Entered: Qualification D1 800, D2 2000, D6 700 -> 1166.67;
		# Needs Analysis D7, D1, D2 -> 4333; Proposal D1 1000; Won D1 1000; Lost D2, D6 -> 1350.
		self.assertEqual(
			table(run_report(AMOUNTS, self.sales1, pipeline=self.pipeline, **SEPTEMBER), AMOUNT_NUMBERS),
			[
				("Qualification", 0, 0, None, 3, 1166.67),
				("Needs Analysis", 1, 9999.0, 9999.0, 3, 4333.0),
				("Proposal", 0, 0, None, 1, 1000.0),
				("Won", 0, 0, None, 1, 1000.0),
				("Lost", 0, 0, None, 2, 1350.0),
			],
		)
		# head_b: sales3's D5 (entered Qualification 4000, Won 4000) and D8 (open, after the period)
		self.assertEqual(
			table(run_report(AMOUNTS, email("head_b"), pipeline=self.pipeline, **SEPTEMBER), AMOUNT_NUMBERS),
			[
				("Qualification", 1, 100.0, 100.0, 1, 4000.0),
				("Needs Analysis", 0, 0, None, 0, None),
				("Proposal", 0, 0, None, 0, None),
				("Won", 0, 0, None, 1, 4000.0),
				("Lost", 0, 0, None, 0, None),
			],
		)
		for user, filters in (
			(self.sales1, {"manager": self.sales3}),
			(email("head_a"), {"team": "Process Test Team B"}),
		):
			result = run_report(AMOUNTS, user, pipeline=self.pipeline, **SEPTEMBER, **filters)
			self.assertEqual(
				[(row["open_deals"], row["entered"]) for row in result.result], [(0, 0)] * 5, (user, filters)
			)
			self.assertIsNone(result.chart)

	def test_drill_down_opens_the_open_deals(self):
		self.make_dataset()
		for user in (self.sales1, email("head_b"), email("director")):
			for row in run_report(AMOUNTS, user, pipeline=self.pipeline, **SEPTEMBER).result:
				if row["stage_type"] == "Open":
					self.assertEqual(
						len(records_behind(row["open_deals_link"], user)), row["open_deals"], row
					)


class TestFunnelOverREST(SalesOrgRestTestCase):
	"""The Desk's call over HTTP, with deals committed for the request to see."""

	def test_rest(self):
		sales1 = email("sales1")
		pipeline = self.track("CRM Pipeline", make_pipeline(stages=STAGES).name)
		client = self.track("CRM Client", make_client().name)
		for responsible, stage in ((sales1, "Proposal"), (email("sales3"), "Needs Analysis")):
			with self.freeze_time(at_noon("2032-09-01")):
				deal = make_deal(client, pipeline=pipeline, responsible=responsible, amount=1000)
				self.track("CRM Deal", deal.name)
			with self.freeze_time(at_noon("2032-09-04")):
				deal.reload()
				deal.stage = stage
				deal.save()
		frappe.db.commit()
		filters = {"from_date": "2032-09-01", "to_date": "2032-09-30", "pipeline": pipeline}
		for user, reached in ((sales1, [1, 1, 1, 0, 0]), (email("director"), [2, 2, 1, 0, 0])):
			r = self.rest_call(
				"frappe.desk.query_report.run", {"report_name": FUNNEL, "filters": filters}, user=user
			)
			self.assertEqual(r.status_code, 200, r.text)
			self.assertEqual([row["deals"] for row in r.data["result"]], reached)
			self.assertEqual(r.data["result"][0]["median_days"], 3.0)
		r = self.rest_call(
			"frappe.desk.query_report.run",
			{"report_name": AMOUNTS, "filters": {**filters, "team": "No Such Team"}},
			user=sales1,
		)
		self.assertEqual(r.status_code, 417, r.text)
