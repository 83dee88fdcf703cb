"""Report 8, CRM Plan vs Fact, on a hand-built 2031 with every number worked out by hand below.

The organisation is simple_crm.tests.sales_org: team A (head_a; sales1, sales2), team B (head_b; sales3).
P2 is a second pipeline; "Sales" the default one. Amounts are in roubles.

Targets (no pipeline unless said):
	sales1  Jan 100,000 / 4 deals   Feb 200,000 / 5   Mar: Sales 30,000 / 1 and P2 50,000 / 2 (no overall one)
	sales2  Jan 0 / 0 (a zero plan)
	sales3  Jan 60,000 / 2
	team A  Jan 300,000 / 10        Feb: none          Mar: P2 40,000 / 1
	team B  Jan 70,000 / 3
Deals won (won_on):
	sales1  Jan 10 30,000 (Sales)   Jan 25 45,000 (P2)  Feb 14 250,000  Mar 3 20,000 (P2)
	        and outside the period: 2030-12-31 77,777 and 2031-04-01 99,999; a lost and an open deal in January
	sales2  Jan 20 12,500
	sales3  Jan 5 66,000 (sales1 co-manages it)   Feb 7 10,000
	head_a  Feb 9 10,000
The period is January to March 2031 unless said.
"""

import datetime

import frappe
from frappe.desk.query_report import run

from simple_crm.report_filters import ReportFilterError
from simple_crm.tests import factories
from simple_crm.tests.sales_org import SalesOrgRestTestCase, email

REPORT = "CRM Plan vs Fact"
TARGET = "CRM Sales Target"
TEAM_A = "Process Test Team A"
TEAM_B = "Process Test Team B"
PERIOD = {"from_date": "2031-01-01", "to_date": "2031-03-31"}
OURS = ("sales1", "sales2", "sales3", "head_a")

# (manager, month, planned amount, won amount, amount %, planned deals, won deals, deals %)
SALES1 = [
	# Jan: 30,000 + 45,000 = 75,000 of 100,000 = 75.0%; 2 of 4 deals = 50.0%
	("sales1", "2031-01", 100_000, 75_000, 75.0, 4, 2, 50.0),
	# Feb: 250,000 of 200,000 = 125.0%; 1 of 5 = 20.0%
	("sales1", "2031-02", 200_000, 250_000, 125.0, 5, 1, 20.0),
	# Mar: no overall target, so Sales + P2 = 30,000 + 50,000 = 80,000 and 1 + 2 = 3 deals;
	# 20,000 / 80,000 = 25.0%; 1 / 3 = 33.33...% -> 33.3
	("sales1", "2031-03", 80_000, 20_000, 25.0, 3, 1, 33.3),
]
# Jan: a zero plan: the % stay empty, not a division by zero
SALES2 = [("sales2", "2031-01", 0, 12_500, None, 0, 1, None)]
SALES3 = [
	# Jan: 66,000 of 60,000 = 110.0%; 1 of 2 = 50.0%
	("sales3", "2031-01", 60_000, 66_000, 110.0, 2, 1, 50.0),
	# Feb: no target: plan and % empty
	("sales3", "2031-02", None, 10_000, None, None, 1, None),
]
# Feb: a head who sells, without a target
HEAD_A = [("head_a", "2031-02", None, 10_000, None, None, 1, None)]


def at_noon(day: str) -> datetime.datetime:
	return datetime.datetime.combine(datetime.date.fromisoformat(day), datetime.time(12))


class TestPlanVsFact(SalesOrgRestTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.made: list[tuple[str, str]] = []
		try:
			cls.make_dataset()
		except Exception:
			# nothing of a half-made dataset stays (the records are committed only when all are made)
			frappe.db.rollback()
			super().tearDownClass()
			raise
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		frappe.db.rollback()
		frappe.set_user("Administrator")
		for doctype, name in reversed(cls.made):
			if frappe.db.exists(doctype, name):
				frappe.delete_doc(doctype, name, force=True, ignore_permissions=True)
		frappe.db.commit()
		super().tearDownClass()

	@classmethod
	def keep(cls, doc):
		cls.made.append((doc.doctype, doc.name))
		return doc

	@classmethod
	def make_dataset(cls):
		cls.sales = factories.default_pipeline()
		cls.p2 = cls.keep(factories.make_pipeline()).name
		for who, month, amount, deals, pipeline in (
			("sales1", "2031-01-01", 100_000, 4, None),
			("sales1", "2031-02-01", 200_000, 5, None),
			("sales1", "2031-03-01", 30_000, 1, cls.sales),
			("sales1", "2031-03-01", 50_000, 2, cls.p2),
			("sales2", "2031-01-01", 0, 0, None),
			("sales3", "2031-01-01", 60_000, 2, None),
			("team_a", "2031-01-01", 300_000, 10, None),
			("team_a", "2031-03-01", 40_000, 1, cls.p2),
			("team_b", "2031-01-01", 70_000, 3, None),
		):
			whom = (
				{"team": {"team_a": TEAM_A, "team_b": TEAM_B}[who]}
				if who.startswith("team")
				else {"manager": email(who)}
			)
			target = {"doctype": TARGET, "month": month, "planned_amount": amount, "planned_deals": deals}
			cls.keep(frappe.get_doc({**target, **whom, "pipeline": pipeline}).insert())
		for who, day, amount, pipeline, co_manager in (
			("sales1", "2031-01-10", 30_000, None, None),
			("sales1", "2031-01-25", 45_000, cls.p2, None),
			("sales1", "2031-02-14", 250_000, None, None),
			("sales1", "2031-03-03", 20_000, cls.p2, None),
			("sales1", "2030-12-31", 77_777, None, None),
			("sales1", "2031-04-01", 99_999, None, None),
			("sales2", "2031-01-20", 12_500, None, None),
			("sales3", "2031-01-05", 66_000, None, "sales1"),
			("sales3", "2031-02-07", 10_000, None, None),
			("head_a", "2031-02-09", 10_000, None, None),
		):
			cls.deal(who, day, amount, pipeline, stage="Won", co_manager=co_manager)
		cls.deal("sales1", "2031-01-12", 500_000, None, stage="Lost")
		cls.deal("sales1", "2031-01-13", 700_000, None, stage=None)

	@classmethod
	def deal(cls, who, day, amount, pipeline, stage, co_manager=None):
		with cls.freeze_time(cls, at_noon(day)):
			client = cls.keep(factories.make_client(responsible=email(who)))
			co_managers = [{"user": email(co_manager)}] if co_manager else []
			deal = cls.keep(
				factories.make_deal(
					client.name,
					responsible=email(who),
					amount=amount,
					pipeline=pipeline,
					co_managers=co_managers,
				)
			)
			if stage:
				deal = frappe.get_doc("CRM Deal", deal.name)
				deal.stage = stage
				if stage == "Lost":
					deal.lost_reason = "Price Too High"
				deal.save()
		if stage == "Won":
			assert (deal.stage_type, str(deal.won_on)) == ("Won", day), (deal.stage_type, deal.won_on)

	# --- running it ----------------------------------------------------------------------------------

	def run_as(self, user_key: str, **filters) -> dict:
		frappe.set_user(email(user_key) if user_key != "Administrator" else "Administrator")
		try:
			return run(REPORT, filters={**PERIOD, **filters})
		finally:
			frappe.set_user("Administrator")

	@staticmethod
	def table(result: dict, keys=OURS) -> list[tuple]:
		"""The manager rows of our managers, as (manager key, month, plan, fact, %, plan, fact, %)."""
		by_email = {email(k): k for k in keys}
		return [
			(
				by_email[row["manager"]],
				row["month"],
				row["planned_amount"],
				row["won_amount"],
				row["amount_percent"],
				row["planned_deals"],
				row["won_deals"],
				row["deals_percent"],
			)
			for row in result["result"]
			if row.get("manager") in by_email
		]

	@staticmethod
	def summary(result: dict) -> list:
		return [item["value"] for item in result["report_summary"]]

	# --- numbers --------------------------------------------------------------------------------------

	def test_managers_plan_and_fact_per_month(self):
		result = self.run_as("director")
		# sorted by name: Head A, Sales1, Sales2, Sales3; each manager's months in order
		self.assertEqual(self.table(result), HEAD_A + SALES1 + SALES2 + SALES3)
		self.assertNotIn("indent", result["result"][0])
		labels = [c["label"] for c in result["columns"]]
		self.assertIn("Amount, % of Plan", labels)

	def test_one_manager_with_totals_and_chart(self):
		result = self.run_as("director", manager=email("sales1"))
		self.assertEqual(self.table(result), SALES1)
		self.assertEqual(len(result["result"]), 3)
		# 100,000 + 200,000 + 80,000 = 380,000 planned; 75,000 + 250,000 + 20,000 = 345,000 won;
		# 345 / 380 = 90.789...% -> 90.8; deals 4 + 5 + 3 = 12 planned, 2 + 1 + 1 = 4 won: 33.3%
		self.assertEqual(self.summary(result), [380_000, 345_000, 90.8, 12, 4, 33.3])
		chart = result["chart"]["data"]
		self.assertEqual(chart["labels"], ["2031-01", "2031-02", "2031-03"])
		self.assertEqual(
			[d["values"] for d in chart["datasets"]], [[100_000, 200_000, 80_000], [75_000, 250_000, 20_000]]
		)

	def test_pipeline_filter(self):
		result = self.run_as("director", manager=email("sales1"), pipeline=self.p2)
		self.assertEqual(
			self.table(result),
			[
				# Jan: no P2 target; the P2 deal of 45,000
				("sales1", "2031-01", None, 45_000, None, None, 1, None),
				# Mar: P2 target 50,000 / 2; P2 deal 20,000: 40.0% and 1 of 2 = 50.0%. February: nothing in P2
				("sales1", "2031-03", 50_000, 20_000, 40.0, 2, 1, 50.0),
			],
		)
		result = self.run_as("director", manager=email("sales1"), pipeline=self.sales)
		self.assertEqual(
			self.table(result),
			[
				# Jan: the 30,000 deal in Sales, no Sales target (the overall one is not Sales')
				("sales1", "2031-01", None, 30_000, None, None, 1, None),
				("sales1", "2031-02", None, 250_000, None, None, 1, None),
				# Mar: the Sales target 30,000 / 1, no Sales deal: 0.0% of both
				("sales1", "2031-03", 30_000, 0, 0.0, 1, 0, 0.0),
			],
		)

	def test_period_is_whole_months(self):
		# 15 Jan to 10 Feb reads January and February whole
		result = self.run_as(
			"director", manager=email("sales1"), from_date="2031-01-15", to_date="2031-02-10"
		)
		self.assertEqual(self.table(result), SALES1[:2])
		# the deals of 31 Dec 2030 and 1 Apr 2031 are in their own months
		result = self.run_as(
			"director", manager=email("sales1"), from_date="2030-12-01", to_date="2031-04-30"
		)
		self.assertEqual(
			self.table(result),
			[
				("sales1", "2030-12", None, 77_777, None, None, 1, None),
				*SALES1,
				("sales1", "2031-04", None, 99_999, None, None, 1, None),
			],
		)

	def test_an_empty_period(self):
		result = self.run_as(
			"director", manager=email("sales1"), from_date="2031-06-01", to_date="2031-08-31"
		)
		self.assertEqual(result["result"], [])
		self.assertEqual(self.summary(result), [0, 0, 0, 0, 0, 0])
		self.assertEqual([d["values"] for d in result["chart"]["data"]["datasets"]], [[0, 0, 0], [0, 0, 0]])

	def test_team_rows(self):
		result = self.run_as("director", team=TEAM_A)
		rows = [
			(row["indent"], row.get("team") or row["manager"], row["month"], row["planned_amount"], row["won_amount"],
			 row["amount_percent"], row["planned_deals"], row["won_deals"], row["deals_percent"])
			for row in result["result"]
		]  # fmt: skip
		s1, s2, ha = email("sales1"), email("sales2"), email("head_a")
		self.assertEqual(
			rows,
			[
				# Jan: the team's own 300,000 / 10 against 75,000 + 12,500 = 87,500 won in 2 + 1 = 3 deals:
				# 87,500 / 300,000 = 29.166...% -> 29.2; 3 / 10 = 30.0%
				(0, TEAM_A, "2031-01", 300_000, 87_500, 29.2, 10, 3, 30.0),
				(1, s1, "2031-01", 100_000, 75_000, 75.0, 4, 2, 50.0),
				(1, s2, "2031-01", 0, 12_500, None, 0, 1, None),
				# Feb: no team target: its people's plans, sales1's 200,000 / 5 (head_a has none), against
				# 250,000 + 10,000 = 260,000 in 2 deals: 130.0% and 40.0%
				(0, TEAM_A, "2031-02", 200_000, 260_000, 130.0, 5, 2, 40.0),
				(1, ha, "2031-02", None, 10_000, None, None, 1, None),
				(1, s1, "2031-02", 200_000, 250_000, 125.0, 5, 1, 20.0),
				# Mar: the team's only target is P2's 40,000 / 1 against sales1's 20,000 in 1 deal: 50.0%, 100.0%
				(0, TEAM_A, "2031-03", 40_000, 20_000, 50.0, 1, 1, 100.0),
				(1, s1, "2031-03", 80_000, 20_000, 25.0, 3, 1, 33.3),
			],
		)
		# the team rows add up: 300,000 + 200,000 + 40,000 = 540,000 against 87,500 + 260,000 + 20,000 = 367,500:
		# 68.05...% -> 68.1; 10 + 5 + 1 = 16 deals planned, 3 + 2 + 1 = 6 won: 37.5%
		self.assertEqual(self.summary(result), [540_000, 367_500, 68.1, 16, 6, 37.5])
		self.assertEqual(
			[d["values"] for d in result["chart"]["data"]["datasets"]],
			[[300_000, 200_000, 40_000], [87_500, 260_000, 20_000]],
		)

	def test_team_b_with_the_pipeline_filter(self):
		# team B has an overall target only: in P2 there is neither plan nor fact
		self.assertEqual(self.run_as("director", team=TEAM_B, pipeline=self.p2)["result"], [])
		result = self.run_as("head_b", team=TEAM_B)
		self.assertEqual(
			[(r["indent"], r.get("team") or r["manager"], r["month"], r["planned_amount"], r["won_amount"]) for r in result["result"]],
			[
				# Jan: team B's 70,000 against sales3's 66,000; Feb: no targets at all, sales3's 10,000
				(0, TEAM_B, "2031-01", 70_000, 66_000),
				(1, email("sales3"), "2031-01", 60_000, 66_000),
				(0, TEAM_B, "2031-02", None, 10_000),
				(1, email("sales3"), "2031-02", None, 10_000),
			],
		)  # fmt: skip

	def test_links_to_targets_and_deals(self):
		row = self.run_as("director", manager=email("sales1"))["result"][0]
		self.assertTrue(row["targets_link"].startswith("/app/crm-sales-target?"))
		self.assertIn("month=2031-01-01", row["targets_link"])
		self.assertTrue(row["deals_link"].startswith("/app/crm-deal?"))
		self.assertIn("stage_type=Won", row["deals_link"])
		# the list the link opens holds exactly the row's deals
		deals = frappe.get_list(
			"CRM Deal",
			filters={
				"responsible": email("sales1"),
				"stage_type": "Won",
				"won_on": ["Between", ["2031-01-01", "2031-01-31"]],
			},
			pluck="amount",
		)
		self.assertEqual(sorted(deals), [30_000, 45_000])

	# --- who sees what --------------------------------------------------------------------------------

	def test_sales_manager_sees_their_own_rows_only(self):
		result = self.run_as("sales1")
		self.assertEqual(self.table(result), SALES1)
		self.assertEqual(len(result["result"]), 3)  # nobody else's, even of other tests
		self.assertEqual(self.summary(result), [380_000, 345_000, 90.8, 12, 4, 33.3])
		self.assertEqual(self.table(self.run_as("sales2")), SALES2)

	def test_hostile_filters_do_not_widen(self):
		# a colleague, a manager of another team (whose deal sales1 co-manages), another team: nothing
		for filters in ({"manager": email("sales2")}, {"manager": email("sales3")}, {"team": TEAM_B}):
			with self.subTest(filters=filters):
				result = self.run_as("sales1", **filters)
				self.assertEqual(result["result"], [])
				self.assertEqual(self.summary(result), [0, 0, 0, 0, 0, 0])
		# their own team: their own rows, no team row (the team's total would tell their colleagues' sales)
		self.assertEqual(self.run_as("sales1", team=TEAM_A)["result"], self.run_as("sales1")["result"])
		# a head of sales asking for the other team or its manager
		for filters in (
			{"team": TEAM_B},
			{"manager": email("sales3")},
			{"team": TEAM_B, "manager": email("sales1")},
		):
			with self.subTest(head=filters):
				self.assertEqual(self.run_as("head_a", **filters)["result"], [])

	def test_head_of_sales_sees_their_team(self):
		result = self.run_as("head_a")
		self.assertEqual(self.table(result), HEAD_A + SALES1 + SALES2)
		self.assertEqual(len(result["result"]), 5)
		self.assertEqual(self.table(self.run_as("head_b")), SALES3)
		# their team, grouped, with the team's own target
		team = self.run_as("head_a", team=TEAM_A)["result"]
		self.assertEqual([r["planned_amount"] for r in team if r.get("is_team")], [300_000, 200_000, 40_000])

	def test_director_and_administrator_see_everyone(self):
		for key in ("director", "crm_admin"):
			with self.subTest(user=key):
				self.assertEqual(self.table(self.run_as(key)), HEAD_A + SALES1 + SALES2 + SALES3)

	def test_users_without_a_crm_role_are_refused(self):
		outsider = factories.make_user(roles=("Blogger",)).name
		frappe.set_user(outsider)
		try:
			with self.assertRaises(frappe.PermissionError):
				run(REPORT, filters=PERIOD)
		finally:
			frappe.set_user("Administrator")  # the user goes with the test's rollback

	def test_over_rest_as_a_sales_manager(self):
		r = self.rest_call(
			"frappe.desk.query_report.run",
			{"report_name": REPORT, "filters": {**PERIOD, "manager": email("sales3")}},
			user=email("sales1"),
		)
		self.assertEqual(r.status_code, 200, r.text[:300])
		self.assertEqual(r.data["result"], [])
		r = self.rest_call(
			"frappe.desk.query_report.run", {"report_name": REPORT, "filters": PERIOD}, user=email("sales1")
		)
		self.assertEqual(r.status_code, 200, r.text[:300])
		self.assertEqual(self.table(r.data), SALES1)
		self.assertEqual(len(r.data["result"]), 3)

	# --- bad filters ----------------------------------------------------------------------------------

	def test_bad_filters_are_refused_with_a_message(self):
		for filters, message in (
			({"from_date": "2031-13-01"}, "must be a date"),
			({"from_date": "not a date"}, "must be a date"),
			({"from_date": "2031-04-01", "to_date": "2031-03-01"}, "cannot end"),
			({"from_date": "2021-01-01", "to_date": "2031-12-31"}, "at most 120 months"),
			({"manager": "nobody@example.com"}, "not found"),
			({"team": "No Such Team"}, "not found"),
			({"pipeline": "No Such Pipeline"}, "not found"),
		):
			with self.subTest(filters=filters), self.assertRaisesRegex(ReportFilterError, message):
				self.run_as("director", **filters)

	def test_bad_filters_over_rest(self):
		r = self.rest_call(
			"frappe.desk.query_report.run",
			{"report_name": REPORT, "filters": {**PERIOD, "team": "No Such Team"}},
			user=email("head_a"),
		)
		self.assertEqual(r.status_code, 417, r.text[:300])
		self.assertIn("not found", r.error_text())
