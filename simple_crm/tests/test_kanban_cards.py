"""The cards of a deals kanban (simple_crm.kanban.board_cards), as the Desk asks for them over REST.

A column gives at most the settings' number of cards, the most recent first, and counts every deal of its stage
that the user may see, with the amounts per currency; another manager's deal is neither a card nor counted. A
crafted field or order is refused as on Frappe's own list endpoints, and the cards are given for deals only.
"""

import json

import frappe
from frappe.utils import add_to_date, now_datetime

from simple_crm.simple_crm.doctype.simple_crm_settings.simple_crm_settings import (
	DEFAULT_KANBAN_CARDS,
	MAX_KANBAN_CARDS,
	InvalidSettingsError,
)
from simple_crm.tests import factories
from simple_crm.tests.sales_org import SalesOrgRestTestCase, email
from simple_crm.tests.utils import CommittedSettings

DEAL = "CRM Deal"
FIELDS = [
	"`tabCRM Deal`.`name`",
	"`tabCRM Deal`.`stage`",
	"`tabCRM Deal`.`amount`",
	"`tabCRM Deal`.`currency`",
	"`tabCRM Deal`.`responsible`",
	"`tabCRM Deal`.`modified`",
]


class TestKanbanCards(CommittedSettings, SalesOrgRestTestCase):
	def setUp(self):
		super().setUp()
		self.set_automation(kanban_cards_per_column=2)
		# the factory's stages: Qualification, Proposal, Won, Lost
		self.pipeline = factories.make_pipeline()
		self.track("CRM Pipeline", self.pipeline.name)
		mine = factories.make_client(responsible=email("sales1"))
		theirs = factories.make_client(responsible=email("sales3"))
		self.track("CRM Client", mine.name)
		self.track("CRM Client", theirs.name)
		start = add_to_date(now_datetime(), days=-10)
		self.qualification = []
		for number, (amount, currency) in enumerate(
			[(100, "RUB"), (200, "RUB"), (300, "RUB"), (400, "USD"), (500, "RUB")]
		):
			deal = self.deal(mine.name, "sales1", "Qualification", amount, currency)
			# the fourth was changed last, the second before it: the column's first two cards
			minutes = {3: 50, 1: 40}.get(number, number)
			frappe.db.set_value(
				DEAL, deal, "modified", add_to_date(start, minutes=minutes), update_modified=False
			)
			self.qualification.append(deal)
		self.proposal = self.deal(mine.name, "sales1", "Proposal", 700, "RUB")
		self.won = self.deal(mine.name, "sales1", "Won", 900, "RUB")
		self.theirs = self.deal(theirs.name, "sales3", "Qualification", 987654, "RUB")
		frappe.db.commit()

	def deal(self, client: str, manager: str, stage: str, amount: float, currency: str) -> str:
		doc = factories.make_deal(
			client,
			responsible=email(manager),
			pipeline=self.pipeline.name,
			stage=stage,
			amount=amount,
			currency=currency,
		)
		return self.track(DEAL, doc.name)

	def cards(self, user: str, **args):
		return self.rest_call(
			"simple_crm.kanban.board_cards",
			{
				"doctype": DEAL,
				"fields": json.dumps(args.pop("fields", FIELDS)),
				"filters": json.dumps([[DEAL, "pipeline", "=", self.pipeline.name, False]]),
				"order_by": "`tabCRM Deal`.`modified` desc",
				"start": 0,
				"page_length": 0,
				"view": "Kanban",
				**args,
			},
			user=email(user),
		)

	@staticmethod
	def rows(r) -> list[dict]:
		return [dict(zip(r.data["keys"], values, strict=True)) for values in r.data["values"]]

	def test_a_column_gives_its_first_cards_and_counts_every_deal(self):
		r = self.cards("sales1")
		self.assertEqual(r.status_code, 200, r.text)
		by_stage = {}
		for row in self.rows(r):
			by_stage.setdefault(row["stage"], []).append(row["name"])
		self.assertEqual(
			by_stage,
			{
				"Qualification": [self.qualification[3], self.qualification[1]],
				"Proposal": [self.proposal],
				"Won": [self.won],
			},
			"two cards per column at most, the most recently changed first",
		)
		self.assertEqual(
			r.data["crm_columns"],
			{
				"Qualification": {"count": 5, "amounts": {"RUB": 1100, "USD": 400}},
				"Proposal": {"count": 1, "amounts": {"RUB": 700}},
				"Won": {"count": 1, "amounts": {"RUB": 900}},
			},
		)
		self.assertNotIn(self.theirs, r.text)
		self.assertNotIn("987654", r.text)

	def test_the_other_team_sees_its_own_deal_only(self):
		r = self.cards("head_b")
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual([row["name"] for row in self.rows(r)], [self.theirs])
		self.assertEqual(r.data["crm_columns"], {"Qualification": {"count": 1, "amounts": {"RUB": 987654}}})

	def test_the_boards_filters_hold_for_cards_and_counts(self):
		r = self.cards(
			"sales1",
			filters=json.dumps([[DEAL, "pipeline", "=", self.pipeline.name], [DEAL, "currency", "=", "USD"]]),
		)
		self.assertEqual([row["name"] for row in self.rows(r)], [self.qualification[3]])
		self.assertEqual(r.data["crm_columns"], {"Qualification": {"count": 1, "amounts": {"USD": 400}}})
		# nothing matches: no cards, no columns, still an answer the board reads
		r = self.cards(
			"sales1",
			filters=json.dumps([[DEAL, "pipeline", "=", self.pipeline.name], [DEAL, "amount", ">", 10**9]]),
		)
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual((r.data["values"], r.data["crm_columns"]), ([], {}))

	def test_crafted_arguments_are_refused(self):
		sub_query = (
			f"(select group_concat(name, ':', amount) from `tabCRM Deal` where name = '{self.theirs}')"
		)
		for label, args in (
			("field", {"fields": [*FIELDS, f"max({sub_query}) as leak"]}),
			("order", {"order_by": f"{sub_query} desc"}),
		):
			r = self.cards("sales1", **args)
			self.assertGreaterEqual(r.status_code, 400, label)
			self.assertNotIn("987654", r.text, label)
		r = self.cards("sales1", doctype="CRM Lead", fields=["`tabCRM Lead`.`name`"])
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("deals only", r.error_text())

	def test_the_number_of_cards_is_a_setting_within_bounds(self):
		settings = frappe.get_single("Simple CRM Settings")
		settings.kanban_cards_per_column = MAX_KANBAN_CARDS + 1
		with self.assertRaises(InvalidSettingsError):
			settings.save()
		frappe.db.rollback()
		# a site that had the settings before the field: its default
		settings = frappe.get_single("Simple CRM Settings")
		settings.kanban_cards_per_column = None
		settings.save()
		self.assertEqual(settings.kanban_cards_per_column, DEFAULT_KANBAN_CARDS)
