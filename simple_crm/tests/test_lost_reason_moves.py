"""The server's side of the lost-reason dialogs and of the Russian reference data.

- A card dropped into a lost column of the kanban brings the reason the dialog asked for
  (`update_order_for_single_card(..., lost_reason=...)`): the deal takes it and its stage in one save, under the
  deal's own rules (a reason for leads only is refused, a colleague's deal is refused, nothing is written).
- The masters the app ships are found by their Russian names in link search ("Цена" finds "Price Too High")
  for a user reading Russian, and by their English names for one reading English.
"""

import frappe
from frappe.desk.search import search_link

from simple_crm.masters import LostReasonNotApplicableError
from simple_crm.security.read_paths import update_order_for_single_card
from simple_crm.tests import factories
from simple_crm.tests.sales_org import SalesOrgTestCase, email

BOARD = "Deals by Stage"


class TestKanbanLostMove(SalesOrgTestCase):
	def setUp(self):
		super().setUp()
		self.client = factories.make_client(responsible=email("sales1"))
		self.deal = factories.make_deal(self.client.name, responsible=email("sales1"))

	def move(self, **kwargs):
		return update_order_for_single_card(BOARD, self.deal.name, "Qualification", "Lost", 0, 0, **kwargs)

	def test_the_reason_comes_with_the_move(self):
		frappe.set_user(email("sales1"))
		board = self.move(lost_reason="Price Too High", lost_comment="Дорого")
		self.assertEqual(board.name, BOARD)
		self.assertEqual(
			frappe.db.get_value(
				"CRM Deal", self.deal.name, ["stage", "lost_reason", "lost_comment", "lost_at_stage"]
			),
			("Lost", "Price Too High", "Дорого", "Qualification"),
		)

	def test_a_reason_for_leads_only_is_refused_and_nothing_changes(self):
		frappe.set_user(email("sales1"))
		with self.assertRaises(LostReasonNotApplicableError):
			self.move(lost_reason="Spam")
		self.assertEqual(
			frappe.db.get_value("CRM Deal", self.deal.name, ["stage", "lost_reason"]), ("Qualification", None)
		)

	def test_a_colleagues_deal_is_refused(self):
		frappe.set_user(email("sales3"))
		with self.assertRaises(frappe.PermissionError):
			self.move(lost_reason="Price Too High")
		frappe.set_user("Administrator")
		self.assertEqual(frappe.db.get_value("CRM Deal", self.deal.name, "stage"), "Qualification")


class TestRussianReferenceData(SalesOrgTestCase):
	def search(self, doctype: str, txt: str, lang: str) -> list[str]:
		frappe.set_user(email("sales1"))
		previous = frappe.local.lang
		frappe.local.lang = lang
		try:
			return [row["value"] for row in search_link(doctype, txt)]
		finally:
			frappe.local.lang = previous

	def test_link_search_finds_masters_by_their_russian_names(self):
		self.assertIn("Price Too High", self.search("CRM Lost Reason", "Цена", "ru"))
		self.assertIn("Price Too High", self.search("CRM Lost Reason", "цена", "ru"))
		self.assertEqual(self.search("CRM Lead Source", "Сайт", "ru"), ["Website"])
		self.assertIn("Key Account", self.search("CRM Client Segment", "ключев", "ru"))
		self.assertIn("Sales", self.search("CRM Pipeline", "Продаж", "ru"))

	def test_link_search_in_english_finds_the_english_names(self):
		self.assertIn("Price Too High", self.search("CRM Lost Reason", "Price", "en"))
		self.assertEqual(self.search("CRM Lost Reason", "Цена", "en"), [])
