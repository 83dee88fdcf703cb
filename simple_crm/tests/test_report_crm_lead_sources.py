"""The report "CRM Lead Sources": leads per source and channel (and UTM tag), their conversion and revenue.

A fixed dataset in September 2031 (a frozen clock; nothing else on the site is dated then), worked out by
hand. Two sources of the test's own, S1 (channel Website) and S2 (channel Exhibition). Leads converted
through the conversion itself (its deal in the default pipeline, made from the lead), deals won later:

	lead  received    responsible  source  channel     utm_source  utm_campaign  what became of it
	A1    2031-09-02  sales1       S1      Website     yandex      autumn        converted; deal 10000 won 2031-10-05
	A2    2031-09-03  sales1       S1      Website     yandex                    converted; deal 3000 still open
	A3    2031-09-04  sales2       S1      Website     google                    New
	A4    2031-09-05  sales3       S1      Website     google      autumn        converted; deal 5000 won
	A5    2031-09-06  sales1       S1      Email (set by hand) yandex            New
	B1    2031-09-07  sales2       S2      Exhibition                            converted; deal 20000 won, and a
	                                                                             second deal from it (sales3's) 4000 won
	B2    2031-09-08  sales3       S2      Exhibition                            Disqualified
	C1    2031-09-09  sales1       -       Phone                                 New
	A6    2031-08-31  sales1       S1      Website                               converted, won 7000 (before the period)

Team A is head_a with sales1 and sales2, team B head_b with sales3.
"""

import frappe

from simple_crm.conversion import convert_lead
from simple_crm.report_filters import ReportFilterError
from simple_crm.tests.factories import make_deal, make_lead, make_user, unique
from simple_crm.tests.report_checks import at_noon, records_behind, run_report
from simple_crm.tests.sales_org import SalesOrgRestTestCase, SalesOrgTestCase, email

REPORT = "CRM Lead Sources"
SEPTEMBER = {"from_date": "2031-09-01", "to_date": "2031-09-30"}
NUMBERS = ("leads", "converted", "conversion", "won_deals", "revenue")


def table(result, utm: bool = False) -> list[tuple]:
	"""The rows in order: (source, channel[, utm], leads, converted, conversion %, won deals, revenue)."""
	keys = ("source", "channel", *(("utm",) if utm else ()), *NUMBERS)
	return [tuple(row.get(k) for k in keys) for row in result.result]


def move(deal, stage: str):
	deal.reload()
	deal.stage = stage
	deal.save()
	return deal


class LeadSourcesData:
	def make_dataset(self):
		self.sales1, self.sales2, self.sales3 = email("sales1"), email("sales2"), email("sales3")
		self.s1 = self.source("Яндекс Директ", "Website")
		self.s2 = self.source("Выставка", "Exhibition")
		self.leads = {}
		self.lead("A1", "2031-09-02", self.sales1, self.s1, utm_source="yandex", utm_campaign="autumn")
		self.convert("A1", "2031-09-03", 10000, won_on="2031-10-05")
		self.lead("A2", "2031-09-03", self.sales1, self.s1, utm_source="yandex")
		self.convert("A2", "2031-09-04", 3000)
		self.lead("A3", "2031-09-04", self.sales2, self.s1, utm_source="google")
		self.lead("A4", "2031-09-05", self.sales3, self.s1, utm_source="google", utm_campaign="autumn")
		self.convert("A4", "2031-09-06", 5000, won_on="2031-09-20")
		self.lead("A5", "2031-09-06", self.sales1, self.s1, channel="Email", utm_source="yandex")
		self.lead("B1", "2031-09-07", self.sales2, self.s2)
		converted = self.convert("B1", "2031-09-08", 20000, won_on="2031-09-25")
		with self.freeze_time(at_noon("2031-09-26")):
			second = make_deal(
				converted.client, source_lead=self.leads["B1"], responsible=self.sales3, amount=4000
			)
			move(second, "Won")
		self.lead("B2", "2031-09-08", self.sales3, self.s2, status="Disqualified", lost_reason="Spam")
		self.lead("C1", "2031-09-09", self.sales1, None, channel="Phone")
		self.lead("A6", "2031-08-31", self.sales1, self.s1)
		self.convert("A6", "2031-08-31", 7000, won_on="2031-09-10")

	def source(self, name: str, channel: str) -> str:
		return (
			frappe.get_doc(
				{"doctype": "CRM Lead Source", "source_name": unique(f"{name} "), "channel": channel}
			)
			.insert()
			.name
		)

	def lead(self, key, received, responsible, source, **values):
		with self.freeze_time(at_noon(received)):
			self.leads[key] = make_lead(responsible=responsible, source=source, **values).name

	def convert(self, key, on, amount, won_on=None):
		with self.freeze_time(at_noon(on)):
			result = convert_lead(self.leads[key], deal_amount=amount)
		if won_on:
			with self.freeze_time(at_noon(won_on)):
				move(frappe.get_doc("CRM Deal", result.deal), "Won")
		return result


class TestLeadSourcesReport(LeadSourcesData, SalesOrgTestCase):
	def test_per_source_and_channel_for_the_director(self):
		self.make_dataset()
		result = run_report(REPORT, email("director"), **SEPTEMBER)
		# S1/Website: A1-A4 = 4 leads, 3 converted (A1, A2, A4) = 75%; won: A1's 10000 and A4's 5000
		# S2/Exhibition: B1, B2 = 2 leads, 1 converted = 50%; won: B1's two deals 20000 + 4000
		# S1/Email: A5 alone; no source/Phone: C1 alone (ties on leads and revenue: a named source first)
		# A6 and its 7000 were received before the period; A2's open deal is not revenue
		self.assertEqual(
			table(result),
			[
				(self.s1, "Website", 4, 3, 75.0, 2, 15000.0),
				(self.s2, "Exhibition", 2, 1, 50.0, 2, 24000.0),
				(self.s1, "Email", 1, 0, 0.0, 0, 0.0),
				(None, "Phone", 1, 0, 0.0, 0, 0.0),
			],
		)
		# 8 leads, 4 converted (50%), 4 won deals, 15000 + 24000 = 39000
		self.assertEqual(
			[(s["label"], s["value"]) for s in result.report_summary],
			[
				("Leads Received", 8),
				("Converted", 4),
				("Conversion, %", 50.0),
				("Won Deals", 4),
				("Revenue", 39000.0),
			],
		)
		# per source: S1 5 of 8 leads = 62.5%, 15000 of 39000 = 38.46%; S2 2/8 = 25%, 24000/39000 = 61.54%;
		# no source 1/8 = 12.5%, no revenue
		self.assertEqual(
			result.chart["data"],
			{
				"labels": [self.s1, self.s2, "No Source"],
				"datasets": [
					{"name": "Leads, % of all", "values": [62.5, 25.0, 12.5]},
					{"name": "Revenue, % of all", "values": [38.46, 61.54, 0]},
				],
			},
		)
		self.assertEqual(
			[c["fieldname"] for c in result.columns],
			["source", "channel", "leads", "converted", "conversion", "won_deals", "revenue"],
		)

	def test_grouped_by_utm(self):
		self.make_dataset()
		director = email("director")
		# utm_source: S1/Website/yandex A1 + A2 (2 converted, 100%, A1's 10000); S1/Website/google A3 + A4
		# (1 converted, 50%, A4's 5000); S1/Email/yandex A5; S2 and C1 without a tag.
		# Order: leads, then revenue: S2 (2, 24000), yandex (2, 10000), google (2, 5000), A5, C1
		result = run_report(REPORT, director, group_by="UTM Source", **SEPTEMBER)
		self.assertEqual(
			table(result, utm=True),
			[
				(self.s2, "Exhibition", None, 2, 1, 50.0, 2, 24000.0),
				(self.s1, "Website", "yandex", 2, 2, 100.0, 1, 10000.0),
				(self.s1, "Website", "google", 2, 1, 50.0, 1, 5000.0),
				(self.s1, "Email", "yandex", 1, 0, 0.0, 0, 0.0),
				(None, "Phone", None, 1, 0, 0.0, 0, 0.0),
			],
		)
		self.assertEqual(result.columns[2]["label"], "UTM Source")
		# utm_campaign: autumn = A1 + A4 (both converted and won: 15000); S1/Website untagged = A2 + A3
		# (A2 converted: 50%, its deal open)
		result = run_report(REPORT, director, group_by="UTM Campaign", **SEPTEMBER)
		self.assertEqual(
			table(result, utm=True),
			[
				(self.s2, "Exhibition", None, 2, 1, 50.0, 2, 24000.0),
				(self.s1, "Website", "autumn", 2, 2, 100.0, 2, 15000.0),
				(self.s1, "Website", None, 2, 1, 50.0, 0, 0.0),
				(self.s1, "Email", None, 1, 0, 0.0, 0, 0.0),
				(None, "Phone", None, 1, 0, 0.0, 0, 0.0),
			],
		)

	def test_filters_narrow(self):
		self.make_dataset()
		director = email("director")
		# sales2's leads: A3 (S1, not converted) and B1 (S2, converted, both its deals: 24000 - the
		# revenue follows the lead whoever works the deal). Ties on leads: the larger revenue first.
		self.assertEqual(
			table(run_report(REPORT, director, manager=self.sales2, **SEPTEMBER)),
			[(self.s2, "Exhibition", 1, 1, 100.0, 2, 24000.0), (self.s1, "Website", 1, 0, 0.0, 0, 0.0)],
		)
		# team B (head_b, sales3): A4 (won 5000) and B2 (disqualified)
		self.assertEqual(
			table(run_report(REPORT, director, team="Process Test Team B", **SEPTEMBER)),
			[(self.s1, "Website", 1, 1, 100.0, 1, 5000.0), (self.s2, "Exhibition", 1, 0, 0.0, 0, 0.0)],
		)
		self.assertEqual(
			run_report(REPORT, director, team="Process Test Team B", manager=self.sales1, **SEPTEMBER).result,
			[],
		)
		# one day, 2031-08-31: A6 alone (converted, won 7000 in September)
		self.assertEqual(
			table(run_report(REPORT, director, from_date="2031-08-31", to_date="2031-08-31")),
			[(self.s1, "Website", 1, 1, 100.0, 1, 7000.0)],
		)

	def test_empty_period_and_manager_without_activity(self):
		self.make_dataset()
		for filters in (
			{"from_date": "2030-09-01", "to_date": "2030-09-30"},
			{**SEPTEMBER, "manager": email("crm_admin")},
		):
			result = run_report(REPORT, email("director"), **filters)
			self.assertEqual(result.result, [])
			self.assertIsNone(result.chart)
			self.assertEqual(
				[s["value"] for s in result.report_summary],
				[0, 0, None, 0, 0.0],  # no lead: no conversion rate to give
			)

	def test_each_role_sees_its_own_rows(self):
		self.make_dataset()
		# sales1: own leads A1, A2, A5, C1; A1's deal is theirs (10000)
		self.assertEqual(
			table(run_report(REPORT, self.sales1, **SEPTEMBER)),
			[
				(self.s1, "Website", 2, 2, 100.0, 1, 10000.0),
				(self.s1, "Email", 1, 0, 0.0, 0, 0.0),
				(None, "Phone", 1, 0, 0.0, 0, 0.0),
			],
		)
		# head_a: team A's leads A1, A2, A3, A5, B1, C1. S1/Website 3 leads, 2 converted = 66.67%, A1's
		# 10000. S2: B1's own deal 20000 (sales2's); its second deal is sales3's, which head_a cannot see
		self.assertEqual(
			table(run_report(REPORT, email("head_a"), **SEPTEMBER)),
			[
				(self.s1, "Website", 3, 2, 66.67, 1, 10000.0),
				(self.s2, "Exhibition", 1, 1, 100.0, 1, 20000.0),
				(self.s1, "Email", 1, 0, 0.0, 0, 0.0),
				(None, "Phone", 1, 0, 0.0, 0, 0.0),
			],
		)
		# the director: everything (see test_per_source_and_channel_for_the_director)
		self.assertEqual(
			[s["value"] for s in run_report(REPORT, email("director"), **SEPTEMBER).report_summary],
			[8, 4, 50.0, 4, 39000.0],
		)
		# hostile filters only narrow: nothing of the other team's
		for user, filters in (
			(self.sales1, {"manager": self.sales3}),
			(self.sales1, {"manager": self.sales2}),
			(self.sales1, {"team": "Process Test Team B"}),
			(email("head_a"), {"manager": self.sales3}),
			(email("head_a"), {"team": "Process Test Team B"}),
		):
			self.assertEqual(run_report(REPORT, user, **SEPTEMBER, **filters).result, [], (user, filters))

	def test_drill_down_opens_the_same_leads(self):
		self.make_dataset()
		for user in (self.sales1, email("head_a"), email("director")):
			for group_by in ("", "UTM Source"):
				for row in run_report(REPORT, user, group_by=group_by, **SEPTEMBER).result:
					self.assertEqual(len(records_behind(row["leads_link"], user)), row["leads"], row)
					if row["converted"]:
						self.assertEqual(
							len(records_behind(row["converted_link"], user)), row["converted"], row
						)
		row = run_report(REPORT, email("director"), **SEPTEMBER).result[0]
		self.assertEqual(
			sorted(records_behind(row["leads_link"], email("director"))),
			sorted(self.leads[k] for k in ("A1", "A2", "A3", "A4")),
		)

	def test_bad_filters_are_refused(self):
		director = email("director")
		for filters in (
			{},
			{"to_date": "2031-09-30"},
			{"from_date": "2031-09-31", "to_date": "2031-10-01"},
			{"from_date": "2031-10-01", "to_date": "2031-09-30"},
			{**SEPTEMBER, "group_by": "utm_content"},
			{**SEPTEMBER, "manager": "nobody@example.com"},
			{**SEPTEMBER, "team": "No Such Team"},
		):
			with self.assertRaises(ReportFilterError, msg=filters):
				run_report(REPORT, director, **filters)
		with self.assertRaises(frappe.PermissionError):
			run_report(REPORT, make_user(roles=("Blogger",)).name, **SEPTEMBER)


class TestLeadSourcesReportOverREST(SalesOrgRestTestCase):
	def test_rest(self):
		sales1 = email("sales1")
		period = {"from_date": "2032-09-01", "to_date": "2032-09-30"}
		r = self.rest_call(
			"frappe.desk.query_report.run", {"report_name": REPORT, "filters": period}, user=sales1
		)
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(r.data["result"], [])
		self.assertEqual([s["value"] for s in r.data["report_summary"]], [0, 0, None, 0, 0.0])
		r = self.rest_call(
			"frappe.desk.query_report.run",
			{"report_name": REPORT, "filters": {**period, "from_date": "2032-13-01"}},
			user=sales1,
		)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("2032-13-01", r.error_text())
