"""The "Simple CRM" Desk workspace, its number cards and dashboard charts.

They ship as standard JSON files of the module (workspace/, number_card/, dashboard_chart/) and are
synced on install and migrate. The tests read the installed records, run every card and chart the way
the Desk does (number_card.get_result / dashboard_chart.get) and check the values against records
they create, as Administrator, as a sales manager (row-level rules apply) and over REST.
"""

import json

import frappe
from frappe.desk.desktop import get_desktop_page, get_workspace_sidebar_items
from frappe.desk.doctype.dashboard_chart.dashboard_chart import get as get_chart_data
from frappe.desk.doctype.number_card.number_card import get_result
from frappe.utils import add_days, add_to_date, now_datetime

from simple_crm.tests.factories import make_call, make_deal, make_lead, make_task, make_user, unique_mobile
from simple_crm.tests.utils import CRMRestTestCase, CRMTestCase

WORKSPACE = "Simple CRM"
MODULE = "Simple CRM"
CRM_ROLES = {"CRM Sales Manager", "CRM Head of Sales", "CRM Director", "CRM Administrator", "System Manager"}
NUMBER_CARDS = ("Open Leads", "Open Deals Amount", "Overdue Tasks", "Calls Today")
CHARTS = ("Deals by Stage", "Leads by Source")
# the plan-vs-fact card of each role and the funnel chart (simple_crm.dashboards; tests/test_dashboards.py)
PLAN_CARDS = ("My Plan vs Fact", "Team Plan vs Fact", "Company Plan vs Fact")
# a sales manager's day and a head's team view (tests/test_workspace_roles.py)
MANAGER_DAY = ("My Tasks Today", "My Overdue Tasks", "My Open Deals", "My New Leads")
TEAM_VIEW = ("Overdue Tasks", "Unassigned New Leads", "Open Leads", "Open Deals Amount")
WORKSPACE_CARDS = (*PLAN_CARDS, *MANAGER_DAY, *TEAM_VIEW, "Calls Today")
WORKSPACE_CHARTS = ("Sales Funnel", *CHARTS)
# what a sales manager's workspace shows
MANAGER_CARDS = ("My Plan vs Fact", *MANAGER_DAY, "Calls Today")
SHORTCUT_DOCTYPES = {
	"CRM Lead",
	"CRM Deal",
	"CRM Client",
	"Contact",
	"CRM Counterparty",
	"CRM Task",
	"CRM Call",
}
# what the Desk evaluates in the browser for a card's dynamic filters (dashboard_utils.get_all_filters)
BROWSER_EXPRESSIONS = {"frappe.datetime.system_datetime()": lambda: str(now_datetime())}


def card_filters(card_name: str) -> list:
	"""The filters the Desk sends for a card: static ones plus the dynamic ones, evaluated."""
	card = frappe.get_doc("Number Card", card_name)
	filters = json.loads(card.filters_json or "[]")
	for doctype, fieldname, operator, expression in json.loads(card.dynamic_filters_json or "[]"):
		filters.append([doctype, fieldname, operator, BROWSER_EXPRESSIONS[expression]()])
	return filters


def card_value(card_name: str) -> float:
	card = frappe.get_doc("Number Card", card_name)
	return get_result(card.as_json(), json.dumps(card_filters(card_name)))


def chart_counts(chart_name: str) -> dict[str, float]:
	data = get_chart_data(chart_name=chart_name, refresh=1) or {"labels": [], "datasets": [{"values": []}]}
	return dict(zip(data["labels"], data["datasets"][0]["values"], strict=True))


def desktop_page() -> dict:
	return get_desktop_page(json.dumps({"name": WORKSPACE, "title": WORKSPACE, "public": 1}))


class TestWorkspaceInstalled(CRMTestCase):
	def test_workspace_is_public_in_the_module_and_role_gated(self):
		ws = frappe.get_doc("Workspace", WORKSPACE)
		self.assertEqual((ws.module, ws.public, ws.is_hidden, ws.for_user or ""), (MODULE, 1, 0, ""))
		self.assertEqual({row.role for row in ws.roles}, CRM_ROLES)
		# the Desk routes a workspace by its slugged title: /app/simple-crm
		self.assertEqual(ws.title, "Simple CRM")

	def test_shortcuts_cover_the_crm_records_the_kanban_and_the_calendar(self):
		ws = frappe.get_doc("Workspace", WORKSPACE)
		lists = {s.link_to for s in ws.shortcuts if s.type == "DocType" and s.doc_view == "List"}
		self.assertEqual(lists, SHORTCUT_DOCTYPES)
		views = {(s.link_to, s.doc_view) for s in ws.shortcuts}
		self.assertIn(("CRM Deal", "Kanban"), views)
		self.assertIn(("CRM Task", "Calendar"), views)
		# the kanban shortcut opens the board the app seeds on install
		board = next(s.kanban_board for s in ws.shortcuts if s.doc_view == "Kanban")
		self.assertEqual(
			frappe.db.get_value("Kanban Board", board, ["reference_doctype", "field_name"]),
			("CRM Deal", "stage"),
		)

	def test_every_block_and_link_points_to_an_existing_record(self):
		ws = frappe.get_doc("Workspace", WORKSPACE)
		self.assertEqual([row.number_card_name for row in ws.number_cards], list(WORKSPACE_CARDS))
		self.assertEqual([row.chart_name for row in ws.charts], list(WORKSPACE_CHARTS))
		for link in ws.links:
			if link.type == "Link":
				self.assertTrue(frappe.db.exists(link.link_type, link.link_to), link.link_to)
		blocks = json.loads(ws.content)
		named = {
			"number_card": {row.label for row in ws.number_cards},
			"chart": {row.label for row in ws.charts},
			"shortcut": {row.label for row in ws.shortcuts},
			"card": {row.label for row in ws.links if row.type == "Card Break"},
		}
		key = {
			"number_card": "number_card_name",
			"chart": "chart_name",
			"shortcut": "shortcut_name",
			"card": "card_name",
		}
		shown = {kind: {b["data"][key[kind]] for b in blocks if b["type"] == kind} for kind in named}
		self.assertEqual(shown, named)

	def test_cards_and_charts_are_standard_records_of_the_module(self):
		for name in NUMBER_CARDS:
			card = frappe.get_doc("Number Card", name)
			self.assertEqual((card.module, card.is_standard, card.type), (MODULE, 1, "Document Type"), name)
		for name in CHARTS:
			chart = frappe.get_doc("Dashboard Chart", name)
			self.assertEqual(
				(chart.module, chart.is_standard, chart.chart_type), (MODULE, 1, "Group By"), name
			)
			self.assertEqual({row.role for row in chart.roles}, CRM_ROLES)


class TestNumberCardsAndCharts(CRMTestCase):
	def test_every_card_and_chart_runs(self):
		for name in NUMBER_CARDS:
			self.assertIsInstance(card_value(name), float, name)
		for name in CHARTS:
			chart_counts(name)  # raises on a broken query

	def test_open_leads_counts_new_and_worked_leads_only(self):
		before = card_value("Open Leads")
		make_lead()
		worked = make_lead()
		closed = make_lead()
		# the card reads statuses; how a lead gets there (workflow actions) is tested with the lead
		frappe.db.set_value("CRM Lead", worked.name, "status", "In Progress")
		frappe.db.set_value("CRM Lead", closed.name, "status", "Disqualified")
		self.assertEqual(card_value("Open Leads"), before + 2)
		frappe.db.set_value("CRM Lead", worked.name, "status", "Converted")
		self.assertEqual(card_value("Open Leads"), before + 1)

	def test_open_deals_amount_sums_open_deals(self):
		before = card_value("Open Deals Amount")
		make_deal(amount=1250.5)
		make_deal(amount=749.5)
		self.assertAlmostEqual(card_value("Open Deals Amount"), before + 2000)

	def test_overdue_tasks_counts_open_tasks_past_their_due_time(self):
		before = card_value("Overdue Tasks")
		make_task(due_on=add_to_date(now_datetime(), hours=-2))
		make_task(due_on=add_days(now_datetime(), -3), status="In Progress")
		make_task(due_on=add_days(now_datetime(), 1))
		make_task()  # no due time: not overdue (Frappe compares an empty datetime as 0001-01-01)
		make_task(due_on=add_days(now_datetime(), -1), status="Done", result="Договорились о встрече")
		self.assertEqual(card_value("Overdue Tasks"), before + 2)

	def test_calls_today_counts_calls_started_today(self):
		before = card_value("Calls Today")
		make_call(started_at=now_datetime())
		make_call(started_at=add_days(now_datetime(), -1))
		self.assertEqual(card_value("Calls Today"), before + 1)

	def test_deals_by_stage_counts_open_deals_per_stage(self):
		deal = make_deal()
		before = chart_counts("Deals by Stage").get(deal.stage, 0)
		make_deal()
		self.assertEqual(chart_counts("Deals by Stage").get(deal.stage), before + 1)
		stages = set(chart_counts("Deals by Stage"))
		closed = set(frappe.get_all("CRM Pipeline Stage", {"stage_type": ["!=", "Open"]}, pluck="stage_name"))
		self.assertFalse(stages & closed, "won and lost deals are not in the open funnel")

	def test_leads_by_source_counts_leads_per_source(self):
		source = frappe.get_all("CRM Lead Source", pluck="name", limit=1)[0]
		before = chart_counts("Leads by Source").get(source, 0)
		make_lead(source=source)
		make_lead(source=source)
		self.assertEqual(chart_counts("Leads by Source").get(source), before + 2)


class TestWorkspaceForSalesManager(CRMTestCase):
	def setUp(self):
		super().setUp()
		self.manager = make_user(roles=("CRM Sales Manager",)).name
		self.colleague = make_user(roles=("CRM Sales Manager",)).name

	def test_sales_manager_sees_the_workspace_with_cards_and_charts(self):
		frappe.set_user(self.manager)
		self.assertIn(WORKSPACE, [page.name for page in get_workspace_sidebar_items()["pages"]])
		page = desktop_page()
		self.assertEqual(
			[c.get("number_card_name") for c in page["number_cards"]["items"]], list(MANAGER_CARDS)
		)
		self.assertEqual([c.get("chart_name") for c in page["charts"]["items"]], list(WORKSPACE_CHARTS))
		self.assertTrue(SHORTCUT_DOCTYPES <= {s.get("link_to") for s in page["shortcuts"]["items"]})

	def test_user_without_a_crm_role_does_not_get_the_workspace(self):
		outsider = make_user().name
		frappe.set_user(outsider)
		self.assertNotIn(WORKSPACE, [page.name for page in get_workspace_sidebar_items()["pages"]])

	def test_cards_count_only_what_the_manager_may_see(self):
		make_lead(responsible=self.manager)
		make_lead(responsible=self.colleague)
		make_task(assigned_to=self.colleague, due_on=add_days(now_datetime(), -1))
		frappe.set_user(self.manager)
		self.assertEqual(card_value("Open Leads"), 1)
		self.assertEqual(card_value("Overdue Tasks"), 0)
		make_task(due_on=add_days(now_datetime(), -1))  # assigned to the manager by default
		self.assertEqual(card_value("Overdue Tasks"), 1)


class TestWorkspaceOverRest(CRMRestTestCase):
	def test_sales_manager_loads_the_workspace_and_a_card_over_rest(self):
		# a fixed user, reused between runs: Frappe refuses to delete users while no other System Manager exists
		manager = make_user("workspace.sales@example.com", roles=("CRM Sales Manager",)).name
		frappe.db.commit()
		created = self.rest_insert(
			"CRM Lead", {"lead_name": "Пётр Орлов", "phone": unique_mobile(), "responsible": manager}, manager
		)
		self.assertEqual(created.status_code, 200, created.error_text())

		page = self.request(
			"GET",
			"/api/method/frappe.desk.desktop.get_desktop_page?page="
			+ json.dumps({"name": WORKSPACE, "title": WORKSPACE, "public": 1}),
			manager,
		)
		self.assertEqual(page.status_code, 200, page.error_text())
		self.assertEqual(
			[c["number_card_name"] for c in page.data["number_cards"]["items"]], list(MANAGER_CARDS)
		)

		card = frappe.get_doc("Number Card", "Open Leads")
		result = self.rest_call(
			"frappe.desk.doctype.number_card.number_card.get_result",
			{"doc": card.as_json(), "filters": card.filters_json},
			manager,
		)
		self.assertEqual(result.status_code, 200, result.error_text())
		self.assertEqual(result.data, 1)

		chart = self.rest_call(
			"frappe.desk.doctype.dashboard_chart.dashboard_chart.get",
			{"chart_name": "Leads by Source", "refresh": 1},
			manager,
		)
		self.assertEqual(chart.status_code, 200, chart.error_text())
