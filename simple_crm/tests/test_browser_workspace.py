"""The workspace of each role in the browser, in Russian (headless Chromium; see simple_crm.tests.desk_browser):
a sales manager sees their day (tasks today and overdue, open deals, new leads), a head of sales the team
view (the team's overdue tasks, new leads nobody is responsible for, open leads), each card titled in
Russian and showing the number the server counts for that user under the row-level rules; a card opens the
list it counts; the console stays clean and the charts draw."""

import frappe
from frappe.utils import add_days, now_datetime, today

from simple_crm.tests import factories
from simple_crm.tests.desk_browser import DeskBrowserTestCase
from simple_crm.tests.sales_org import email
from simple_crm.tests.test_workspace import card_value

WORKSPACE = "/app/simple-crm"
CARD_METHODS = {
	"My Tasks Today": "simple_crm.dashboards.my_tasks_today",
	"My Overdue Tasks": "simple_crm.dashboards.my_overdue_tasks",
	"My Open Deals": "simple_crm.dashboards.my_open_deals",
	"My New Leads": "simple_crm.dashboards.my_new_leads",
	"Unassigned New Leads": "simple_crm.dashboards.unassigned_new_leads",
}
MANAGER_TITLES = {
	"My Tasks Today": "Мои задачи на сегодня",
	"My Overdue Tasks": "Мои просроченные задачи",
	"My Open Deals": "Мои открытые сделки",
	"My New Leads": "Мои новые лиды",
}
HEAD_TITLES = {
	"Overdue Tasks": "Просроченные задачи",
	"Unassigned New Leads": "Новые лиды без ответственного",
	"Open Leads": "Открытые лиды",
}
# a card's widget, found by its title, and its number
CARD_NUMBERS = """() => Object.fromEntries([...document.querySelectorAll('.number-widget-box')].map(
	w => [w.querySelector('.widget-title').innerText.trim(), w.querySelector('.number')?.innerText.trim()]))"""
NUMBERS_SHOWN = (
	"""() => [...document.querySelectorAll('.number-widget-box')].every(w => w.querySelector('.number'))"""
)


class TestWorkspaceOfEachRole(DeskBrowserTestCase):
	def setUp(self):
		super().setUp()
		self.colleague, self.head = email("sales2"), email("head_a")

	def make_day(self):
		"""A day of the manager and of a colleague of the same team, and a lead nobody is responsible for."""
		now = now_datetime()
		for who, due in (
			(self.manager, f"{today()} 23:59:00"),
			(self.manager, add_days(now, -1)),
			(self.manager, add_days(now, -2)),
			(self.colleague, add_days(now, -1)),
		):
			self.make(factories.make_task(assigned_to=who, due_on=due))
		for who in (self.manager, self.colleague):
			client = self.make(factories.make_client(responsible=who))
			self.make(factories.make_deal(client.name, responsible=who, amount=5000))
		for who in (self.manager, self.manager, None):
			lead = self.make(factories.make_lead())
			frappe.db.set_value("CRM Lead", lead.name, "responsible", who)
		frappe.db.commit()

	def expected(self, user: str, cards) -> dict[str, str]:
		"""The numbers the server counts for `user`, as the cards show them."""
		frappe.set_user(user)
		try:
			numbers = {}
			for card in cards:
				value = frappe.call(CARD_METHODS[card])["value"] if card in CARD_METHODS else card_value(card)
				numbers[card] = str(int(value))
			return numbers
		finally:
			frappe.set_user("Administrator")

	def shown(self, user: str, titles: dict[str, str]) -> dict[str, str]:
		page = self.login(user)
		self.open(page, WORKSPACE, ready=".number-widget-box .number", label=f"workspace ({user})")
		page.wait_for_function(NUMBERS_SHOWN)
		page.locator(".dashboard-widget-box svg.frappe-chart").first.wait_for(state="visible")
		self.shot(page, f"workspace {user}")
		numbers = page.evaluate(CARD_NUMBERS)
		self.page = page
		return {card: numbers.get(title.upper(), numbers.get(title)) for card, title in titles.items()}

	def test_a_manager_and_a_head_see_their_cards_with_their_numbers(self):
		self.make_day()
		expected = self.expected(self.manager, MANAGER_TITLES)
		self.assertEqual(self.shown(self.manager, MANAGER_TITLES), expected)
		# the day as made: one task due today, two (or three, just before midnight) overdue, one deal, two leads
		self.assertGreaterEqual(int(expected["My Overdue Tasks"]), 2)
		self.assertGreaterEqual(int(expected["My Open Deals"]), 1)
		self.assertGreaterEqual(int(expected["My New Leads"]), 2)
		# no card of the head's view on the manager's page
		self.assertNotIn(HEAD_TITLES["Unassigned New Leads"].upper(), self.page.evaluate(CARD_NUMBERS))

		# the card opens the list of what it counts: the manager's open deals
		self.page.locator(".number-widget-box", has_text=MANAGER_TITLES["My Open Deals"]).locator(
			".widget-body"
		).click()
		self.wait_idle(self.page, ".frappe-list .list-row-container")
		self.shot(self.page, "my open deals")
		listed = self.page.evaluate(
			"() => frappe.db.count(cur_list.doctype, {filters: cur_list.get_filters_for_args()})"
		)
		self.assertEqual(str(listed), expected["My Open Deals"])
		self.assertIn(self.manager, str(self.page.evaluate("() => cur_list.get_filters_for_args()")))

		expected = self.expected(self.head, HEAD_TITLES)
		self.assertEqual(self.shown(self.head, HEAD_TITLES), expected)
		self.assertGreaterEqual(int(expected["Unassigned New Leads"]), 1)
		self.assertGreaterEqual(int(expected["Overdue Tasks"]), 3)
		self.assertNotIn(MANAGER_TITLES["My Tasks Today"].upper(), self.page.evaluate(CARD_NUMBERS))
