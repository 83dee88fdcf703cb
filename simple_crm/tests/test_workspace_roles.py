"""The workspace per role: a sales manager's day and a head of sales' team view (simple_crm.dashboards).

Hand-built records, with the clock frozen at noon on 15 March 2033 (nothing else on the site is dated then):

	tasks   sales1: due today 15:00 (open), due today 09:00 (in progress), due yesterday (open),
	                due yesterday (done), due tomorrow (open)
	        sales2: due yesterday (open); sales3 (team B): due yesterday (open)
	deals   sales1: two open, one won; sales2: one open
	leads   sales1: two new, one in progress; sales2: one new; nobody: two new

Each card's number is read the way the Desk reads it (the card's method, or Frappe's get_result for a
Document Type card, as the user), before and after the records are made: the difference is what the user
may see of them. The list a card opens, with the filters it sends, holds as many records as the card says.
"""

import frappe
from frappe.desk.desktop import get_desktop_page

from simple_crm.dashboards import LIST_CARDS
from simple_crm.dashboards import get_desktop_page as crm_desktop_page
from simple_crm.tests import factories
from simple_crm.tests.sales_org import SalesOrgTestCase, email
from simple_crm.tests.test_workspace import card_value

NOON = "2033-03-15 12:00:00"
MANAGER_DAY = ("My Tasks Today", "My Overdue Tasks", "My Open Deals", "My New Leads")
TEAM_VIEW = ("Overdue Tasks", "Unassigned New Leads", "Open Leads", "Open Deals Amount")
METHODS = {
	"My Tasks Today": "simple_crm.dashboards.my_tasks_today",
	"My Overdue Tasks": "simple_crm.dashboards.my_overdue_tasks",
	"My Open Deals": "simple_crm.dashboards.my_open_deals",
	"My New Leads": "simple_crm.dashboards.my_new_leads",
	"Unassigned New Leads": "simple_crm.dashboards.unassigned_new_leads",
}


def page_cards(user: str) -> list[str]:
	frappe.set_user(user)
	try:
		page = get_desktop_page(frappe.as_json({"name": "Simple CRM", "title": "Simple CRM", "public": 1}))
		return [item.number_card_name for item in page["number_cards"]["items"]]
	finally:
		frappe.set_user("Administrator")


class TestWorkspacePerRole(SalesOrgTestCase):
	def figures(self, user: str) -> dict[str, float]:
		"""Every card `user` is shown, read as the Desk reads it."""
		figures = {}
		frappe.set_user(user)
		try:
			for name in page_cards(user):
				frappe.set_user(user)
				if name in METHODS:
					figures[name] = frappe.call(METHODS[name], filters="[]")["value"]
				elif frappe.db.get_value("Number Card", name, "type") == "Document Type":
					figures[name] = card_value(name)
		finally:
			frappe.set_user("Administrator")
		return figures

	def make_dataset(self):
		sales1, sales2, sales3 = email("sales1"), email("sales2"), email("sales3")
		for who, due, status in (
			(sales1, "2033-03-15 15:00:00", "Open"),
			(sales1, "2033-03-15 09:00:00", "In Progress"),
			(sales1, "2033-03-14 10:00:00", "Open"),
			(sales1, "2033-03-14 10:00:00", "Done"),
			(sales1, "2033-03-16 10:00:00", "Open"),
			(sales2, "2033-03-14 10:00:00", "Open"),
			(sales3, "2033-03-14 10:00:00", "Open"),
		):
			result = "Договорились о встрече" if status == "Done" else None
			factories.make_task(assigned_to=who, due_on=due, status=status, result=result)
		for who, won in ((sales1, False), (sales1, False), (sales1, True), (sales2, False)):
			deal = factories.make_deal(
				factories.make_client(responsible=who).name, responsible=who, amount=1000
			)
			if won:  # the cards read the stage's type; winning a deal is tested with the deal
				frappe.db.set_value("CRM Deal", deal.name, {"stage": "Won", "stage_type": "Won"})
		for who, status in (
			(sales1, "New"),
			(sales1, "New"),
			(sales1, "In Progress"),
			(sales2, "New"),
			(None, "New"),
			(None, "New"),
		):
			# made by nobody's hand (no call-back task for anyone), then given its status and responsible: the
			# card reads those; how a lead gets there is tested with the lead
			lead = factories.make_lead()
			frappe.db.set_value("CRM Lead", lead.name, {"status": status, "responsible": who})

	def test_each_role_is_shown_the_cards_of_its_role(self):
		manager, head, director = (page_cards(email(key)) for key in ("sales1", "head_a", "director"))
		self.assertEqual(manager, ["My Plan vs Fact", *MANAGER_DAY, "Calls Today"])
		self.assertEqual(head, ["Team Plan vs Fact", *TEAM_VIEW, "Calls Today"])
		self.assertEqual(director, ["Company Plan vs Fact", *TEAM_VIEW, "Calls Today"])
		# and the card of another role is refused when asked for directly
		for user, card in ((email("head_a"), "My Tasks Today"), (email("sales1"), "Unassigned New Leads")):
			frappe.set_user(user)
			with self.assertRaises(frappe.PermissionError):
				frappe.call(METHODS[card], filters="[]")
			frappe.set_user("Administrator")

	def test_each_card_counts_what_the_user_may_see(self):
		with self.freeze_time(NOON):
			before = {key: self.figures(email(key)) for key in ("sales1", "sales2", "head_a", "head_b")}
			self.make_dataset()
			after = {key: self.figures(email(key)) for key in ("sales1", "sales2", "head_a", "head_b")}
		added = {
			key: {card: after[key][card] - before[key][card] for card in after[key] if "Plan" not in card}
			for key in after
		}
		self.assertEqual(
			added["sales1"],
			{
				"My Tasks Today": 2,  # 15:00 and 09:00 (the latter also overdue)
				"My Overdue Tasks": 2,  # 09:00 today and yesterday's open one
				"My Open Deals": 2,
				"My New Leads": 2,
				"Calls Today": 0,
			},
		)
		self.assertEqual(
			added["sales2"],
			{
				"My Tasks Today": 0,
				"My Overdue Tasks": 1,
				"My Open Deals": 1,
				"My New Leads": 1,
				"Calls Today": 0,
			},
		)
		# team A: sales1 and sales2 (and the leads nobody is responsible for, to hand them out)
		self.assertEqual(
			added["head_a"],
			{
				"Overdue Tasks": 3,
				"Unassigned New Leads": 2,
				"Open Leads": 6,
				"Open Deals Amount": 3000,
				"Calls Today": 0,
			},
		)
		# team B: sales3's overdue task only
		self.assertEqual(added["head_b"]["Overdue Tasks"], 1)
		self.assertEqual(added["head_b"]["Unassigned New Leads"], 2)
		self.assertEqual(added["head_b"]["Open Deals Amount"], 0)

	def test_a_card_opens_the_list_of_what_it_counts(self):
		with self.freeze_time(NOON):
			self.make_dataset()
			for key, cards in (("sales1", MANAGER_DAY), ("head_a", ("Unassigned New Leads",))):
				frappe.set_user(email(key))
				for name in cards:
					answer = frappe.call(METHODS[name], filters="[]")
					doctype = LIST_CARDS[name].doctype
					self.assertEqual(answer["route"], ["List", doctype, "List"], name)
					listed = frappe.get_list(doctype, filters=answer["route_options"], pluck="name")
					self.assertEqual(len(listed), answer["value"], name)
					self.assertEqual(answer["fieldtype"], "Int")
				frappe.set_user("Administrator")
		# the manager's own cards name the manager in the list's filters
		frappe.set_user(email("sales1"))
		self.assertEqual(
			frappe.call(METHODS["My Open Deals"])["route_options"],
			{"responsible": email("sales1"), "stage_type": "Open"},
		)

	def test_the_page_brings_the_cards_and_charts_it_shows(self):
		"""The page answers with the records of its widgets (the Desk keeps them and draws each widget without
		asking for its record), only those the user is shown, and the scripts of its custom chart sources."""
		page = frappe.as_json({"name": "Simple CRM", "title": "Simple CRM", "public": 1})
		for key in ("sales1", "head_a"):
			frappe.set_user(email(key))
			frappe.response.pop("docs", None)
			data = crm_desktop_page(page)
			shown = [item.number_card_name for item in data["number_cards"]["items"]]
			shown += [item.chart_name for item in data["charts"]["items"]]
			self.assertEqual([doc["name"] for doc in frappe.response.docs], shown, key)
			self.assertTrue(all(doc["__workspace_widget"] for doc in frappe.response.docs))
			self.assertIn("Sales Funnel", shown)
			# and the script of the funnel chart's source, which the chart would ask for before its data
			self.assertEqual(list(data["crm_chart_sources"]), ["CRM Sales Funnel"], key)
			self.assertIn(
				"simple_crm.dashboards.sales_funnel_chart", data["crm_chart_sources"]["CRM Sales Funnel"]
			)
		self.assertNotIn("My Tasks Today", shown)  # the head's page does not carry the manager's cards
		frappe.response.pop("docs", None)
		frappe.set_user("Administrator")
