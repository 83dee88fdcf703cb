"""The workspace: every report of the app, the funnel chart and one "plan vs fact" card per role.

The cards' figures, with the clock frozen in February 2033 (nothing else on the site is dated then):

	targets  sales1 10,000; sales2 5,000; sales3 5,000 (February 2033)
	won      sales1 2,500 (02-10); sales3 5,000 (02-11); sales1 9,999 in January (another month)

My Plan vs Fact (sales1): 2,500 / 10,000 = 25.0 %. Team Plan vs Fact (head_a: sales1, sales2 and
themself, who has no target): 2,500 / 15,000 = 16.7 %. Company Plan vs Fact (the director): 7,500 / 20,000
= 37.5 %.
"""

import glob
import json
import os

import frappe
from frappe.desk.desktop import get_desktop_page

from simple_crm.dashboards import FUNNEL_GENERATION_KEY, PLAN_VS_FACT_CARDS
from simple_crm.tests import factories
from simple_crm.tests.report_checks import at_noon
from simple_crm.tests.sales_org import SalesOrgRestTestCase, SalesOrgTestCase, email

WORKSPACE = "Simple CRM"
FEBRUARY = "2033-02-15"
CARD_OF_ROLE = {
	"sales1": "My Plan vs Fact",
	"head_a": "Team Plan vs Fact",
	"director": "Company Plan vs Fact",
}


def workspace_page(user: str) -> dict:
	frappe.set_user(user)
	try:
		return get_desktop_page(json.dumps({"name": WORKSPACE, "title": WORKSPACE, "public": 1}))
	finally:
		frappe.set_user("Administrator")


class PlanData:
	def make_dataset(self):
		for who, amount in (("sales1", 10_000), ("sales2", 5_000), ("sales3", 5_000)):
			frappe.get_doc(
				{
					"doctype": "CRM Sales Target",
					"manager": email(who),
					"month": "2033-02-01",
					"planned_amount": amount,
					"planned_deals": 1,
				}
			).insert()
		for who, day, amount in (
			("sales1", "2033-02-10", 2_500),
			("sales3", "2033-02-11", 5_000),
			("sales1", "2033-01-20", 9_999),
		):
			with self.freeze_time(at_noon(day)):
				client = factories.make_client(responsible=email(who)).name
				deal = factories.make_deal(client, responsible=email(who), amount=amount)
				deal.stage = "Won"
				deal.save()

	def card_value(self, user: str) -> dict:
		frappe.set_user(user)
		try:
			with self.freeze_time(at_noon(FEBRUARY)):
				return frappe.call("simple_crm.dashboards.plan_vs_fact", filters="{}")
		finally:
			frappe.set_user("Administrator")


class TestWorkspace(PlanData, SalesOrgTestCase):
	def test_every_report_of_the_app_is_in_the_workspace(self):
		workspace = frappe.get_doc("Workspace", WORKSPACE)
		linked = {link.link_to for link in workspace.links if link.link_type == "Report"}
		folder = frappe.get_app_path("simple_crm", "simple_crm", "report")
		reports = {json.load(open(path))["name"] for path in glob.glob(os.path.join(folder, "*", "*.json"))}
		self.assertEqual(linked, reports)
		self.assertEqual(len(reports), 15)
		# every link card counts its links, as the Desk draws them
		cards = [link for link in workspace.links if link.type == "Card Break"]
		for card in cards:
			start = workspace.links.index(card) + 1
			following = []
			for link in workspace.links[start:]:
				if link.type == "Card Break":
					break
				following.append(link)
			self.assertEqual(card.link_count, len(following), card.label)
		content = json.loads(workspace.content)
		placed = {block["data"].get("card_name") for block in content if block["type"] == "card"}
		self.assertEqual(placed, {card.label for card in cards})
		self.assertIn("Sales Funnel", {chart.chart_name for chart in workspace.charts})
		self.assertEqual(
			set(PLAN_VS_FACT_CARDS) - {c.number_card_name for c in workspace.number_cards}, set()
		)

	def test_each_role_gets_the_plan_card_of_its_role(self):
		for key, card in CARD_OF_ROLE.items():
			page = workspace_page(email(key))
			cards = {item.number_card_name for item in page["number_cards"]["items"]}
			self.assertEqual(cards & set(PLAN_VS_FACT_CARDS), {card}, key)
			self.assertIn("Sales Funnel", {item.chart_name for item in page["charts"]["items"]}, key)
			for other in set(PLAN_VS_FACT_CARDS) - {card}:
				self.assertFalse(
					frappe.has_permission("Number Card", doc=other, user=email(key)), (key, other)
				)
			self.assertTrue(frappe.has_permission("Number Card", doc=card, user=email(key)), key)
		# a card of every role is still Frappe's to decide
		self.assertTrue(frappe.has_permission("Number Card", doc="Calls Today", user=email("sales1")))

	def test_the_card_shows_this_months_plan_vs_fact_of_the_role(self):
		self.make_dataset()
		for key, percent in (("sales1", 25.0), ("head_a", 16.7), ("director", 37.5)):
			value = self.card_value(email(key))
			self.assertEqual(value["value"], percent, key)
			self.assertEqual(value["fieldtype"], "Percent")
			self.assertEqual(value["route"], ["query-report", "CRM Plan vs Fact"])
			self.assertEqual(value["route_options"], {"from_date": "2033-02-01", "to_date": "2033-02-28"})
		# a month without targets: 0, not an error
		frappe.set_user(email("sales1"))
		try:
			with self.freeze_time(at_noon("2033-06-15")):
				self.assertEqual(frappe.call("simple_crm.dashboards.plan_vs_fact")["value"], 0)
		finally:
			frappe.set_user("Administrator")

	def test_the_funnel_chart_runs_its_report(self):
		chart = frappe.get_doc("Dashboard Chart", "Sales Funnel")
		self.assertEqual((chart.chart_type, chart.source), ("Custom", "CRM Sales Funnel"))
		self.assertEqual(frappe.db.get_value("Dashboard Chart Source", chart.source, "module"), "Simple CRM")
		for key in CARD_OF_ROLE:
			self.assertTrue(
				frappe.has_permission("Dashboard Chart", doc="Sales Funnel", user=email(key)), key
			)

	def test_the_funnel_chart_draws_the_reports_chart_of_the_user(self):
		self.make_dataset()  # sales1 won two deals made in 2033, sales3 one; sales2 has none
		from simple_crm.simple_crm.report.crm_sales_funnel.crm_sales_funnel import execute

		with self.freeze_time(at_noon(FEBRUARY)):
			for key in ("sales1", "head_a", "director"):
				frappe.set_user(email(key))
				chart = frappe.call("simple_crm.dashboards.sales_funnel_chart", chart_name="Sales Funnel")
				report = execute({"from_date": "2033-01-01", "to_date": FEBRUARY})[3]["data"]
				self.assertEqual(chart, report, key)
				self.assertEqual(
					chart["datasets"][0]["values"][-1], {"sales1": 2, "head_a": 2, "director": 3}[key]
				)
			# no deal of the year: the chart's "No Data", not bars without labels
			frappe.set_user(email("sales2"))
			self.assertIsNone(
				frappe.call("simple_crm.dashboards.sales_funnel_chart", chart_name="Sales Funnel")
			)
			frappe.set_user(factories.make_user(roles=("Blogger",)).name)
			with self.assertRaises(frappe.PermissionError):
				frappe.call("simple_crm.dashboards.sales_funnel_chart", chart_name="Sales Funnel")
		frappe.set_user("Administrator")

	def test_the_funnel_chart_is_kept_until_a_deal_of_it_changes(self):
		self.make_dataset()

		def won_bar(key):
			frappe.set_user(email(key))
			try:
				chart = frappe.call("simple_crm.dashboards.sales_funnel_chart", chart_name="Sales Funnel")
				return chart["datasets"][0]["values"][-1]
			finally:
				frappe.set_user("Administrator")

		with self.freeze_time(at_noon(FEBRUARY)):
			self.assertEqual((won_bar("sales1"), won_bar("director")), (2, 3))
			# a change that no deal's save reports (a plain SQL update) is not seen: the charts are kept
			deal = frappe.get_last_doc("CRM Deal", filters={"responsible": email("sales3")})
			frappe.db.sql(
				"update `tabCRM Deal` set responsible = %s where name = %s", (email("sales1"), deal.name)
			)
			self.assertEqual((won_bar("sales1"), won_bar("director")), (2, 3))
			frappe.db.sql(
				"update `tabCRM Deal` set responsible = %s where name = %s", (email("sales3"), deal.name)
			)
			# a new deal of sales1 saved as every deal is, then won: both charts count it at once
			client = factories.make_client(responsible=email("sales1")).name
			new = factories.make_deal(client, responsible=email("sales1"), amount=100)
			# a saved change of another field than the funnel's says nothing
			generation = frappe.cache.get_value(FUNNEL_GENERATION_KEY, expires=True)
			new.deal_name = "Поставка, переименованная"
			new.save()
			self.assertEqual(frappe.cache.get_value(FUNNEL_GENERATION_KEY, expires=True), generation)
			new.stage = "Won"
			new.save()
			self.assertNotEqual(frappe.cache.get_value(FUNNEL_GENERATION_KEY, expires=True), generation)
			self.assertEqual((won_bar("sales1"), won_bar("director")), (3, 4))
			# a deleted deal leaves them
			frappe.delete_doc("CRM Deal", new.name, force=True)
			self.assertEqual((won_bar("sales1"), won_bar("director")), (2, 3))


class TestPlanCardOverREST(SalesOrgRestTestCase):
	def test_rest(self):
		r = self.rest_call("simple_crm.dashboards.plan_vs_fact", {"filters": "{}"}, user=email("sales1"))
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(r.data["fieldtype"], "Percent")
		outsider = factories.make_user(roles=("Blogger",)).name
		frappe.db.commit()  # a throw-away user of the test site, as the other tests leave theirs
		r = self.rest_call("simple_crm.dashboards.plan_vs_fact", {"filters": "{}"}, user=outsider)
		self.assertEqual(r.status_code, 403, r.text)

	def test_the_funnel_chart_refuses_garbage_filters(self):
		# not JSON, not an object, an unknown pipeline: a 4xx with a message, never a 500
		for filters in ("{", "[1]", '"x"', '{"pipeline": "No Such Pipeline"}'):
			with self.subTest(filters=filters):
				r = self.rest_call(
					"simple_crm.dashboards.sales_funnel_chart", {"filters": filters}, user=email("sales1")
				)
				self.assertEqual(r.status_code, 417, r.text[:300])
				self.assertNotIn("Traceback", r.text)
