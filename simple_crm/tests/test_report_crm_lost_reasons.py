"""The report "CRM Lost Reasons": lost deals and disqualified leads per reason and per the stage lost at.

A fixed dataset in March 2031 (a frozen clock; nothing else on the site is dated then), worked out by hand:

Lost deals, all in the test's own pipeline (stages Qualification, Proposal, Won, Lost):

	deal  responsible  amount  lost at         reason              lost on
	D1    sales1       1000    Qualification   Price Too High      2031-03-10
	D2    sales1       3000    Proposal        Price Too High      2031-03-11
	D3    sales2       2000    Proposal        Project Cancelled   2031-03-12
	D4    sales3       4000    Qualification   Price Too High      2031-03-13
	D5    sales3        600    Proposal        Project Cancelled   2031-03-31  (co-manager: sales1)
	D6    sales1       1000    Qualification   Price Too High      2031-02-28  (before the period)
	D7    sales3        800    Qualification   Project Cancelled   2031-04-01  (after the period)
	D8    sales2        900    open, with a reason already chosen (not lost: never counted)
	D9    sales1       5000    won                                  (never counted)

Disqualified leads (received on):

	lead  responsible  reason           received
	L1    sales1       Price Too High   2031-03-05
	L2    sales2       Spam             2031-03-06
	L3    sales3       Spam             2031-03-07
	L4    nobody       Spam             2031-03-08  (heads of sales see unassigned leads)
	L5    sales1       Price Too High   2031-02-20  (before the period)
	L6    sales1       New, not disqualified, 2031-03-09

Team A is head_a with sales1 and sales2, team B head_b with sales3.
"""

from urllib.parse import parse_qsl, urlparse

import frappe

from simple_crm.report_filters import ReportFilterError
from simple_crm.tests.factories import make_client, make_deal, make_lead, make_pipeline, make_user
from simple_crm.tests.report_checks import at_noon, records_behind, run_report
from simple_crm.tests.sales_org import SalesOrgRestTestCase, SalesOrgTestCase, email

REPORT = "CRM Lost Reasons"
PRICE, CANCELLED, SPAM = "Price Too High", "Project Cancelled", "Spam"
MARCH = {"from_date": "2031-03-01", "to_date": "2031-03-31"}


def move(deal, stage: str, **values):
	"""Move a deal to `stage` as a user does: the stored deal, changed and saved."""
	deal.reload()
	deal.stage = stage
	deal.update(values)
	deal.save()
	return deal


def by(result, *keys) -> dict:
	"""Rows keyed by their group values; the share and count columns only."""
	out = {}
	for row in result.result:
		key = tuple(row.get(k) for k in keys)
		out[key if len(keys) > 1 else key[0]] = {
			k: row.get(k)
			for k in (
				"deals",
				"deals_share",
				"amount",
				"amount_share",
				"leads",
				"leads_share",
				"total",
				"total_share",
			)
			if k in row
		}
	return out


class LostReasonsData:
	"""Builds the dataset of the module docstring through the deals' and leads' own controllers."""

	def make_dataset(self):
		self.sales1, self.sales2, self.sales3 = email("sales1"), email("sales2"), email("sales3")
		self.pipeline = make_pipeline().name
		self.client_name = make_client().name
		self.d = {
			"D1": self.lost_deal(self.sales1, 1000, PRICE, "2031-03-10"),
			"D2": self.lost_deal(self.sales1, 3000, PRICE, "2031-03-11", via="Proposal"),
			"D3": self.lost_deal(self.sales2, 2000, CANCELLED, "2031-03-12", via="Proposal"),
			"D4": self.lost_deal(self.sales3, 4000, PRICE, "2031-03-13"),
			"D5": self.lost_deal(
				self.sales3, 600, CANCELLED, "2031-03-31", via="Proposal", co_managers=[self.sales1]
			),
			"D6": self.lost_deal(self.sales1, 1000, PRICE, "2031-02-28"),
			"D7": self.lost_deal(self.sales3, 800, CANCELLED, "2031-04-01"),
		}
		with self.freeze_time(at_noon("2031-03-15")):
			self.d["D8"] = make_deal(
				self.client_name,
				pipeline=self.pipeline,
				responsible=self.sales2,
				amount=900,
				lost_reason=PRICE,
			).name
			won = make_deal(self.client_name, pipeline=self.pipeline, responsible=self.sales1, amount=5000)
			self.d["D9"] = move(won, "Won").name
		self.l = {
			"L1": self.lead(self.sales1, PRICE, "2031-03-05"),
			"L2": self.lead(self.sales2, SPAM, "2031-03-06"),
			"L3": self.lead(self.sales3, SPAM, "2031-03-07"),
			"L4": self.lead(None, SPAM, "2031-03-08"),
			"L5": self.lead(self.sales1, PRICE, "2031-02-20"),
		}
		with self.freeze_time(at_noon("2031-03-09")):
			self.l["L6"] = make_lead(responsible=self.sales1).name

	def lost_deal(self, responsible, amount, reason, on, via=None, co_managers=()):
		with self.freeze_time(at_noon(on)):
			deal = make_deal(
				self.client_name,
				pipeline=self.pipeline,
				responsible=responsible,
				amount=amount,
				co_managers=[{"user": user} for user in co_managers],
			)
			if via:
				move(deal, via)
			move(deal, "Lost", lost_reason=reason)
		self.assertEqual((str(deal.lost_on), deal.lost_at_stage), (on, via or "Qualification"))
		return deal.name

	def lead(self, responsible, reason, received):
		with self.freeze_time(at_noon(received)):
			return make_lead(responsible=responsible, status="Disqualified", lost_reason=reason).name


class TestLostReasonsReport(LostReasonsData, SalesOrgTestCase):
	def test_by_reason_for_the_director(self):
		self.make_dataset()
		result = run_report(REPORT, email("director"), **MARCH)
		# in the period: deals D1-D5 (5 deals, 1000 + 3000 + 2000 + 4000 + 600 = 10600), leads L1-L4 (4);
		# all lost records 5 + 4 = 9
		# Price Too High: D1, D2, D4 = 3 deals (3/5 = 60%), 8000 (8000/10600 = 75.4717 -> 75.47%),
		#   L1 = 1 lead (1/4 = 25%), 4 in all (4/9 = 44.44%)
		# Spam: no deal (0%), 3 leads L2-L4 (75%), 3 in all (33.33%)
		# Project Cancelled: D3, D5 = 2 deals (40%), 2600 (24.5283 -> 24.53%), no lead, 2 in all (22.22%)
		self.assertEqual(
			[row["lost_reason"] for row in result.result], [PRICE, SPAM, CANCELLED]
		)  # most lost records first
		self.assertEqual(
			by(result, "lost_reason"),
			{
				PRICE: {
					"deals": 3,
					"deals_share": 60.0,
					"amount": 8000.0,
					"amount_share": 75.47,
					"leads": 1,
					"leads_share": 25.0,
					"total": 4,
					"total_share": 44.44,
				},
				SPAM: {
					"deals": 0,
					"deals_share": 0.0,
					"amount": 0.0,
					"amount_share": 0.0,
					"leads": 3,
					"leads_share": 75.0,
					"total": 3,
					"total_share": 33.33,
				},
				CANCELLED: {
					"deals": 2,
					"deals_share": 40.0,
					"amount": 2600.0,
					"amount_share": 24.53,
					"leads": 0,
					"leads_share": 0.0,
					"total": 2,
					"total_share": 22.22,
				},
			},
		)
		self.assertEqual(
			[(s["label"], s["value"]) for s in result.report_summary],
			[("Lost Deals", 5), ("Lost Amount", 10600.0), ("Disqualified Leads", 4)],
		)
		self.assertEqual(
			result.chart["data"],
			{
				"labels": [PRICE, SPAM, CANCELLED],
				"datasets": [
					{"name": "Lost Deals", "values": [3, 0, 2]},
					{"name": "Disqualified Leads", "values": [1, 3, 0]},
				],
			},
		)
		self.assertEqual(
			[c["fieldname"] for c in result.columns],
			[
				"lost_reason",
				"deals",
				"deals_share",
				"amount",
				"amount_share",
				"leads",
				"leads_share",
				"total",
				"total_share",
			],
		)

	def test_by_stage_and_by_reason_and_stage(self):
		self.make_dataset()
		director = email("director")
		# deals only, per stage: Qualification D1 + D4 = 2 deals (40%), 5000 (5000/10600 = 47.17%);
		# Proposal D2 + D3 + D5 = 3 deals (60%), 5600 (52.83%)
		result = run_report(REPORT, director, kind="Deals", group_by="Stage", **MARCH)
		self.assertEqual(
			by(result, "lost_at_stage"),
			{
				"Proposal": {"deals": 3, "deals_share": 60.0, "amount": 5600.0, "amount_share": 52.83},
				"Qualification": {"deals": 2, "deals_share": 40.0, "amount": 5000.0, "amount_share": 47.17},
			},
		)
		self.assertEqual([row["lost_at_stage"] for row in result.result], ["Proposal", "Qualification"])
		self.assertNotIn("leads", {c["fieldname"] for c in result.columns})
		self.assertEqual([d["name"] for d in result.chart["data"]["datasets"]], ["Lost Deals"])

		# both kinds, per reason and stage; leads have no stage. Totals: 5 deals, 10600, 4 leads, 9 records.
		# (Spam, -): 3 leads (75%), 3 of 9 = 33.33%
		# (Price, Qualification): D1 + D4 = 2 deals (40%), 5000 (47.17%), 2 of 9 = 22.22%
		# (Cancelled, Proposal): D3 + D5 = 2 deals (40%), 2600 (24.53%), 22.22%
		# (Price, Proposal): D2 = 1 deal (20%), 3000 (28.30%), 11.11%
		# (Price, -): L1 = 1 lead (25%), 11.11%
		result = run_report(REPORT, director, group_by="Reason and Stage", **MARCH)
		self.assertEqual(
			[(row["lost_reason"], row["lost_at_stage"]) for row in result.result],
			[
				(SPAM, None),
				(PRICE, "Qualification"),
				(CANCELLED, "Proposal"),
				(PRICE, "Proposal"),
				(PRICE, None),
			],
		)
		numbers = by(result, "lost_reason", "lost_at_stage")
		self.assertEqual(
			numbers[(PRICE, "Proposal")],
			{
				"deals": 1,
				"deals_share": 20.0,
				"amount": 3000.0,
				"amount_share": 28.3,
				"leads": 0,
				"leads_share": 0.0,
				"total": 1,
				"total_share": 11.11,
			},
		)
		self.assertEqual(
			numbers[(SPAM, None)],
			{
				"deals": 0,
				"deals_share": 0.0,
				"amount": 0.0,
				"amount_share": 0.0,
				"leads": 3,
				"leads_share": 75.0,
				"total": 3,
				"total_share": 33.33,
			},
		)
		self.assertEqual(sum(n["total"] for n in numbers.values()), 9)
		# the chart stays per reason whatever the rows are grouped by
		self.assertEqual(result.chart["data"]["labels"], [PRICE, SPAM, CANCELLED])

	def test_filters_narrow(self):
		self.make_dataset()
		director = email("director")
		# manager sales1: D1 + D2 (Price, 2 deals, 4000); L1 (Price). D5 is sales3's, co-managed only.
		result = run_report(REPORT, director, manager=self.sales1, **MARCH)
		self.assertEqual(
			by(result, "lost_reason"),
			{
				PRICE: {
					"deals": 2,
					"deals_share": 100.0,
					"amount": 4000.0,
					"amount_share": 100.0,
					"leads": 1,
					"leads_share": 100.0,
					"total": 3,
					"total_share": 100.0,
				}
			},
		)
		# team A (head_a, sales1, sales2): D1, D2 (Price 4000), D3 (Cancelled 2000); L1 (Price), L2 (Spam)
		# totals 3 deals, 6000, 2 leads, 5 records. Price: 2 deals 66.67%, 4000 66.67%, 1 lead 50%, 3 = 60%
		result = run_report(REPORT, director, team="Process Test Team A", **MARCH)
		self.assertEqual(
			by(result, "lost_reason")[PRICE],
			{
				"deals": 2,
				"deals_share": 66.67,
				"amount": 4000.0,
				"amount_share": 66.67,
				"leads": 1,
				"leads_share": 50.0,
				"total": 3,
				"total_share": 60.0,
			},
		)
		self.assertEqual(sorted(by(result, "lost_reason")), sorted([PRICE, CANCELLED, SPAM]))
		# a manager and a team they are not in: nothing
		result = run_report(REPORT, director, manager=self.sales3, team="Process Test Team A", **MARCH)
		self.assertEqual(result.result, [])
		# a pipeline: its deals only (leads have no pipeline), said in the message
		result = run_report(REPORT, director, pipeline=self.pipeline, **MARCH)
		self.assertEqual(
			{k: (v["deals"], v["amount"]) for k, v in by(result, "lost_reason").items()},
			{PRICE: (3, 8000.0), CANCELLED: (2, 2600.0)},
		)
		self.assertNotIn("leads", {c["fieldname"] for c in result.columns})
		self.assertIn("Leads have no pipeline", result.message)
		# another pipeline: none of these deals
		self.assertEqual(run_report(REPORT, director, pipeline="Sales", **MARCH).result, [])
		# leads only: Spam 3 (75%), Price 1 (25%)
		result = run_report(REPORT, director, kind="Leads", group_by="Stage", **MARCH)
		self.assertEqual(
			by(result, "lost_reason"),
			{SPAM: {"leads": 3, "leads_share": 75.0}, PRICE: {"leads": 1, "leads_share": 25.0}},
		)
		self.assertEqual([s["label"] for s in result.report_summary], ["Disqualified Leads"])
		# one day: 2031-03-31 has D5 only; the leads of that day: none
		result = run_report(REPORT, director, from_date="2031-03-31", to_date="2031-03-31")
		self.assertEqual(
			by(result, "lost_reason"),
			{
				CANCELLED: {
					"deals": 1,
					"deals_share": 100.0,
					"amount": 600.0,
					"amount_share": 100.0,
					"leads": 0,
					"leads_share": None,  # no lead at all: no share to give
					"total": 1,
					"total_share": 100.0,
				}
			},
		)

	def test_empty_period_and_manager_without_activity(self):
		self.make_dataset()
		for filters in (
			{"from_date": "2030-03-01", "to_date": "2030-03-31"},
			{**MARCH, "manager": email("crm_admin")},
		):
			result = run_report(REPORT, email("director"), **filters)
			self.assertEqual(result.result, [])
			self.assertIsNone(result.chart)
			self.assertEqual(
				[(s["label"], s["value"]) for s in result.report_summary],
				[("Lost Deals", 0), ("Lost Amount", 0.0), ("Disqualified Leads", 0)],
			)

	def test_each_role_sees_its_own_rows(self):
		self.make_dataset()
		# sales1: own D1, D2 (Price, 4000) and co-managed D5 (Cancelled, 600): 3 deals, 4600; own lead L1.
		# Price: 2 deals 66.67%, 4000 of 4600 = 86.96%, 1 lead 100%, 3 of 4 = 75%;
		# Cancelled: 1 deal 33.33%, 600 = 13.04%, 0 leads 0%, 1 of 4 = 25%
		expected_sales1 = {
			PRICE: {
				"deals": 2,
				"deals_share": 66.67,
				"amount": 4000.0,
				"amount_share": 86.96,
				"leads": 1,
				"leads_share": 100.0,
				"total": 3,
				"total_share": 75.0,
			},
			CANCELLED: {
				"deals": 1,
				"deals_share": 33.33,
				"amount": 600.0,
				"amount_share": 13.04,
				"leads": 0,
				"leads_share": 0.0,
				"total": 1,
				"total_share": 25.0,
			},
		}
		self.assertEqual(by(run_report(REPORT, self.sales1, **MARCH), "lost_reason"), expected_sales1)
		# head_a: team A's D1, D2, D3 and D5 (co-managed by sales1, in the team): Price 2 deals 4000,
		# Cancelled 2 deals 2600 (4 deals, 6600); leads L1, L2 and the unassigned L4 (3 leads); 7 records.
		# Price: 50%, 4000/6600 = 60.61%, 1 lead 33.33%, 3/7 = 42.86%
		# Cancelled: 50%, 39.39%, 0 leads, 2/7 = 28.57%; Spam: 0 deals, 2 leads 66.67%, 28.57%
		head = by(run_report(REPORT, email("head_a"), **MARCH), "lost_reason")
		self.assertEqual(
			head,
			{
				PRICE: {
					"deals": 2,
					"deals_share": 50.0,
					"amount": 4000.0,
					"amount_share": 60.61,
					"leads": 1,
					"leads_share": 33.33,
					"total": 3,
					"total_share": 42.86,
				},
				CANCELLED: {
					"deals": 2,
					"deals_share": 50.0,
					"amount": 2600.0,
					"amount_share": 39.39,
					"leads": 0,
					"leads_share": 0.0,
					"total": 2,
					"total_share": 28.57,
				},
				SPAM: {
					"deals": 0,
					"deals_share": 0.0,
					"amount": 0.0,
					"amount_share": 0.0,
					"leads": 2,
					"leads_share": 66.67,
					"total": 2,
					"total_share": 28.57,
				},
			},
		)
		# the director sees everything (the numbers of test_by_reason_for_the_director)
		director = by(run_report(REPORT, email("director"), **MARCH), "lost_reason")
		self.assertEqual({k: v["total"] for k, v in director.items()}, {PRICE: 4, SPAM: 3, CANCELLED: 2})

		# hostile filters only narrow: a colleague of another team, another team
		for user, filters in (
			(self.sales1, {"manager": self.sales3}),
			(self.sales1, {"team": "Process Test Team B"}),
			(email("head_a"), {"manager": self.sales3}),
			(email("head_a"), {"team": "Process Test Team B"}),
		):
			result = by(run_report(REPORT, user, **MARCH, **filters), "lost_reason")
			# of sales3's records they see only D5, which sales1 co-manages (600, Cancelled); not D4, L3
			self.assertEqual(
				{k: (v["deals"], v["amount"], v["leads"]) for k, v in result.items()},
				{CANCELLED: (1, 600.0, 0)},
				(user, filters),
			)
		# a colleague of the same team: sales1 sees nothing of sales2's
		self.assertEqual(run_report(REPORT, self.sales1, manager=self.sales2, **MARCH).result, [])

	def test_drill_down_opens_the_same_records(self):
		self.make_dataset()
		for user in (self.sales1, email("head_a"), email("director")):
			for group_by in ("Reason", "Stage", "Reason and Stage"):
				for row in run_report(REPORT, user, group_by=group_by, **MARCH).result:
					if row.get("deals"):
						self.assertEqual(len(records_behind(row["deals_link"], user)), row["deals"], row)
					if row.get("leads"):
						self.assertEqual(len(records_behind(row["leads_link"], user)), row["leads"], row)
		# the exact deals behind the director's Price Too High row
		row = next(
			r for r in run_report(REPORT, email("director"), **MARCH).result if r["lost_reason"] == PRICE
		)
		self.assertEqual(
			sorted(records_behind(row["deals_link"], email("director"))),
			sorted([self.d["D1"], self.d["D2"], self.d["D4"]]),
		)
		self.assertEqual(records_behind(row["leads_link"], email("director")), [self.l["L1"]])
		query = dict(parse_qsl(urlparse(row["deals_link"]).query))
		self.assertEqual(query["lost_on"], '["Between", ["2031-03-01", "2031-03-31"]]')

	def test_bad_filters_are_refused(self):
		director = email("director")
		for filters in (
			{},
			{"from_date": "2031-03-01"},
			{"from_date": "yesterday", "to_date": "2031-03-31"},
			{"from_date": "2031-04-01", "to_date": "2031-03-31"},
			{**MARCH, "kind": "Clients"},
			{**MARCH, "group_by": "Colour"},
			{**MARCH, "manager": "nobody@example.com"},
			{**MARCH, "team": "No Such Team"},
			{**MARCH, "pipeline": "No Such Pipeline"},
			{**MARCH, "kind": "Leads", "pipeline": "Sales"},
		):
			with self.assertRaises(ReportFilterError, msg=filters):
				run_report(REPORT, director, **filters)

	def test_roles_without_the_report_are_refused(self):
		outsider = make_user(roles=("Blogger",)).name
		with self.assertRaises(frappe.PermissionError):
			run_report(REPORT, outsider, **MARCH)


class TestLostReasonsReportOverREST(SalesOrgRestTestCase):
	"""The Desk's call over HTTP, as a sales manager, with deals committed for the request to see."""

	def test_rest(self):
		sales1, sales3 = email("sales1"), email("sales3")
		pipeline = self.track("CRM Pipeline", make_pipeline().name)
		client = self.track("CRM Client", make_client().name)
		for responsible, amount in ((sales1, 1500), (sales3, 2500)):
			with self.freeze_time(at_noon("2032-01-15")):
				deal = make_deal(client, pipeline=pipeline, responsible=responsible, amount=amount)
				self.track("CRM Deal", deal.name)
				move(deal, "Lost", lost_reason=PRICE)
		# tracked in creation order, deleted in reverse: the deals, then the client and the pipeline
		period = {"from_date": "2032-01-01", "to_date": "2032-01-31", "pipeline": pipeline}

		r = self.rest_call(
			"frappe.desk.query_report.run", {"report_name": REPORT, "filters": period}, user=sales1
		)
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(
			[(row["lost_reason"], row["deals"], row["amount"]) for row in r.data["result"]],
			[(PRICE, 1, 1500.0)],
		)
		r = self.rest_call(
			"frappe.desk.query_report.run",
			{"report_name": REPORT, "filters": period},
			user=email("director"),
		)
		self.assertEqual(
			[(row["lost_reason"], row["deals"], row["amount"]) for row in r.data["result"]],
			[(PRICE, 2, 4000.0)],
		)
		r = self.rest_call(
			"frappe.desk.query_report.run",
			{"report_name": REPORT, "filters": {**period, "team": "No Such Team"}},
			user=sales1,
		)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("No Such Team", r.error_text())
