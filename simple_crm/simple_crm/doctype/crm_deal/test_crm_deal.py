# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe.desk.notifications import get_open_count
from frappe.utils import today

from simple_crm.masters import DisabledRecordError, LostReasonNotApplicableError
from simple_crm.simple_crm.doctype.crm_deal.crm_deal import (
	DealContactError,
	DealCounterpartyError,
	DealItemError,
	DealManagerError,
	DealPipelineError,
	DealStageError,
	LostReasonRequiredError,
	WonDealError,
)
from simple_crm.tests.factories import (
	make_call,
	make_client,
	make_contact,
	make_counterparty,
	make_deal,
	make_order,
	make_pipeline,
	make_product,
	make_task,
	make_user,
	unique,
)
from simple_crm.tests.utils import CRMRestTestCase, CRMTestCase

DEAL_REASON = "Price Too High"  # seeded, applies to leads and deals
LEAD_ONLY_REASON = "Spam"  # seeded, applies to leads only


def items(*rows):
	return [
		{"item_name": name, "qty": qty, "rate": rate, "discount_percentage": discount}
		for name, qty, rate, discount in rows
	]


class TestCRMDeal(CRMTestCase):
	def setUp(self):
		super().setUp()
		self.client_name = make_client().name

	def move(self, deal, stage, **values):
		deal.reload()
		deal.stage = stage
		deal.update(values)
		deal.save()
		return deal

	# --- pipeline and stage ---------------------------------------------------------------------------

	def test_defaults_from_settings_and_pipeline(self):
		deal = make_deal(self.client_name, pipeline=None)
		self.assertEqual(deal.pipeline, "Sales")
		self.assertEqual(deal.stage, "Qualification")
		self.assertEqual(deal.stage_type, "Open")
		self.assertEqual(deal.probability, 10)
		self.assertEqual(deal.currency, frappe.db.get_single_value("Simple CRM Settings", "default_currency"))
		# made by the Administrator (setup, imports): nobody is responsible until someone is named
		self.assertFalse(deal.responsible)
		with self.set_user(make_user("deal.defaults@example.com", roles=("CRM Sales Manager",)).name):
			self.assertEqual(make_deal(None).responsible, "deal.defaults@example.com")

	def test_stage_defaults_to_the_first_open_stage_of_its_pipeline(self):
		pipeline = make_pipeline(
			stages=[
				("Won", "Won", 100),
				("Qualification", "Open", 15),
				("Proposal", "Open", 50),
				("Lost", "Lost", 0),
			]
		)
		deal = make_deal(self.client_name, pipeline=pipeline.name)
		self.assertEqual(deal.stage, "Qualification")
		self.assertEqual(deal.probability, 15)

	def test_stage_must_belong_to_the_pipeline(self):
		pipeline = make_pipeline()  # Qualification, Proposal, Won, Lost
		with self.assertRaisesRegex(DealStageError, "Needs Analysis"):
			make_deal(self.client_name, pipeline=pipeline.name, stage="Needs Analysis")
		with self.assertRaises(DealStageError):
			make_deal(self.client_name, stage="No Such Stage")

	def test_stage_rule_holds_for_data_import(self):
		# Data Import skips Frappe's check of Select options; the pipeline rule still applies
		frappe.flags.in_import = True
		try:
			with self.assertRaises(DealStageError):
				make_deal(self.client_name, stage="No Such Stage")
		finally:
			frappe.flags.in_import = False

	def test_deal_moved_to_another_pipeline_starts_there(self):
		deal = make_deal(self.client_name)
		self.move(deal, "Needs Analysis")
		pipeline = make_pipeline()
		deal.pipeline = pipeline.name
		deal.save()
		self.assertEqual(deal.stage, "Qualification")

	def test_deal_in_a_pipeline_with_its_own_stages(self):
		"""Pipelines are configuration: a new one with stages of its own takes deals, no code change."""
		from frappe.model.workflow import WorkflowPermissionError

		pipeline = make_pipeline(
			stages=[("Demo", "Open", 30), ("Contract", "Open", 70), ("Won", "Won", 100), ("Lost", "Lost", 0)]
		)
		try:
			deal = make_deal(self.client_name, pipeline=pipeline.name, amount=100)
			self.assertEqual((deal.stage, deal.probability), ("Demo", 30))
			self.move(deal, "Contract")
			self.move(deal, "Won")
		except WorkflowPermissionError as e:
			self.fail(
				"A Frappe Workflow on CRM Deal.stage only knows the stages it was built with and starts every "
				f"new deal at its first state, so deals in other pipelines or new stages are refused: {e}"
			)
		self.assertEqual((deal.stage_type, deal.probability), ("Won", 100))

	def test_disabled_pipeline_takes_no_new_deals(self):
		pipeline = make_pipeline(disabled=1)
		with self.assertRaises(DealPipelineError):
			make_deal(self.client_name, pipeline=pipeline.name)

	def test_probability_follows_the_stage_only_when_it_changes(self):
		deal = make_deal(self.client_name)
		self.assertEqual(deal.probability, 10)
		deal.probability = 33
		deal.save()
		self.assertEqual(deal.reload().probability, 33)  # the manager's estimate stays
		self.move(deal, "Proposal")
		self.assertEqual(deal.probability, 50)
		self.move(deal, "Negotiation", probability=80)
		self.assertEqual(deal.probability, 80)  # changed together with the stage: the manager's value
		self.assertEqual(deal.stage_type, "Open")

	def test_probability_given_on_insert_is_kept(self):
		deal = make_deal(self.client_name, probability=40)
		self.assertEqual(deal.probability, 40)

	# --- items and amounts ----------------------------------------------------------------------------

	def test_item_amounts_and_total(self):
		deal = make_deal(self.client_name, items=items(("Доставка", 2, 100, 10), ("Монтаж", 1, 50, 0)))
		self.assertEqual([row.amount for row in deal.items], [180, 50])
		self.assertEqual(deal.items_total, 230)
		self.assertEqual(deal.amount, 230)
		self.assertEqual({row.currency for row in deal.items}, {deal.currency})

		# the amount follows the items until a manager sets another one
		deal.items[1].qty = 2
		deal.save()
		self.assertEqual(deal.items_total, 280)
		self.assertEqual(deal.amount, 280)
		deal.amount = 500
		deal.save()
		deal.items[0].qty = 1
		deal.save()
		self.assertEqual(deal.items_total, 190)
		self.assertEqual(deal.amount, 500)

	def test_amount_given_with_items_is_kept(self):
		deal = make_deal(self.client_name, amount=999, items=items(("Доставка", 1, 100, 0)))
		self.assertEqual(deal.amount, 999)

	def test_discount_and_negative_values(self):
		with self.assertRaisesRegex(DealItemError, "between 0 and 100"):
			make_deal(self.client_name, items=items(("Доставка", 1, 100, 150)))
		with self.assertRaises(frappe.NonNegativeError):
			make_deal(self.client_name, items=items(("Доставка", -1, 100, 0)))
		with self.assertRaises(frappe.NonNegativeError):
			make_deal(self.client_name, amount=-10)

	def test_title_from_client_and_first_item(self):
		client = frappe.get_doc("CRM Client", self.client_name)
		deal = make_deal(client.name, deal_name=None, items=items(("Кирпич", 1, 10, 0), ("Цемент", 1, 10, 0)))
		self.assertEqual(deal.deal_name, f"{client.client_name} — Кирпич")
		deal = make_deal(client.name, deal_name=None)
		self.assertEqual(deal.deal_name, client.client_name)
		deal = make_deal(client.name, deal_name="Своё название")
		self.assertEqual(deal.deal_name, "Своё название")

	def test_disabled_product_cannot_be_chosen(self):
		product = make_product(standard_rate=250)
		deal = make_deal(self.client_name, items=[{"product": product.name, "qty": 2}])
		self.assertEqual(deal.items[0].item_name, product.product_name)
		self.assertEqual(deal.items[0].amount, 500)
		frappe.db.set_value("CRM Product", product.name, "disabled", 1)
		deal.save()  # a product already on the deal stays
		with self.assertRaises(DisabledRecordError):
			make_deal(self.client_name, items=[{"product": product.name, "qty": 1}])

	# --- counterparty, contacts, managers -------------------------------------------------------------

	def test_counterparty_must_belong_to_the_client(self):
		own = make_counterparty(self.client_name)
		other = make_counterparty(make_client().name)
		self.assertEqual(make_deal(self.client_name, counterparty=own.name).counterparty, own.name)
		with self.assertRaisesRegex(DealCounterpartyError, other.name):
			make_deal(self.client_name, counterparty=other.name)
		with self.assertRaises(DealCounterpartyError):
			make_deal(self.client_name, counterparty=make_counterparty(None).name)

	def test_client_itself_counterparty_and_client_from_counterparty(self):
		itself = make_counterparty(self.client_name, is_client_itself=1)
		deal = make_deal(None, counterparty=itself.name)
		self.assertEqual(deal.client, self.client_name)

	def test_contacts_are_unique_and_one_is_primary(self):
		first = make_contact(self.client_name).name
		second = make_contact(self.client_name).name
		deal = make_deal(self.client_name, contacts=[{"contact": first}, {"contact": second}])
		self.assertEqual([row.is_primary for row in deal.contacts], [1, 0])
		with self.assertRaisesRegex(DealContactError, "twice"):
			make_deal(self.client_name, contacts=[{"contact": first}, {"contact": first}])
		with self.assertRaises(DealContactError):
			make_deal(
				self.client_name,
				contacts=[{"contact": first, "is_primary": 1}, {"contact": second, "is_primary": 1}],
			)

	def test_co_managers_are_unique_and_not_the_responsible(self):
		manager = make_user("records.manager@example.com").name
		helper = make_user("records.helper@example.com").name
		deal = make_deal(self.client_name, responsible=manager, co_managers=[{"user": helper}])
		self.assertEqual([row.user for row in deal.co_managers], [helper])
		with self.assertRaisesRegex(DealManagerError, "responsible manager"):
			make_deal(self.client_name, responsible=manager, co_managers=[{"user": manager}])
		with self.assertRaisesRegex(DealManagerError, "twice"):
			make_deal(self.client_name, responsible=manager, co_managers=[{"user": helper}, {"user": helper}])

	# --- won, lost, reopened --------------------------------------------------------------------------

	def test_won_needs_an_amount_and_a_client(self):
		deal = make_deal(self.client_name)
		with self.assertRaisesRegex(WonDealError, "amount"):
			self.move(deal, "Won")
		without_client = make_deal(None, amount=1000)
		with self.assertRaisesRegex(WonDealError, "client"):
			self.move(without_client, "Won")

		self.move(deal, "Won", amount=1500)
		self.assertEqual(deal.stage_type, "Won")
		self.assertEqual(str(deal.won_on), today())
		self.assertEqual(deal.probability, 100)
		self.assertIsNone(deal.lost_on)

	def test_lost_needs_a_reason_for_deals(self):
		deal = make_deal(self.client_name)
		self.move(deal, "Proposal")
		with self.assertRaises(LostReasonRequiredError):
			self.move(deal, "Lost")
		with self.assertRaisesRegex(LostReasonNotApplicableError, LEAD_ONLY_REASON):
			self.move(deal, "Lost", lost_reason=LEAD_ONLY_REASON)
		# a reason for leads only counts as no reason
		self.assertTrue(issubclass(LostReasonNotApplicableError, LostReasonRequiredError))

		self.move(deal, "Lost", lost_reason=DEAL_REASON)
		self.assertEqual(deal.stage_type, "Lost")
		self.assertEqual(deal.lost_at_stage, "Proposal")
		self.assertEqual(str(deal.lost_on), today())
		self.assertEqual(deal.probability, 0)

	def test_disabled_lost_reason_cannot_be_chosen(self):
		reason = frappe.get_doc(
			{
				"doctype": "CRM Lost Reason",
				"reason": unique("Old reason "),
				"applies_to": "Deal",
				"disabled": 1,
			}
		).insert()
		deal = make_deal(self.client_name)
		with self.assertRaises(DisabledRecordError):
			self.move(deal, "Lost", lost_reason=reason.name)

	def test_reopening_clears_the_outcome_dates(self):
		deal = make_deal(self.client_name)
		self.move(deal, "Lost", lost_reason=DEAL_REASON)
		self.assertEqual(deal.lost_at_stage, "Qualification")
		self.move(deal, "Qualification")
		self.assertIsNone(deal.lost_on)
		self.assertIsNone(deal.lost_at_stage)
		self.assertIsNone(deal.won_on)
		self.assertEqual(deal.stage_type, "Open")
		self.assertIsNone(deal.lost_reason)  # a reopened deal is not lost: the version log keeps why it was

		self.move(deal, "Won", amount=100)
		self.move(deal, "Negotiation")
		self.assertIsNone(deal.won_on)

	# --- dashboard and timeline -----------------------------------------------------------------------

	def test_dashboard_counts_orders_tasks_and_calls(self):
		deal = make_deal(self.client_name)
		make_order(deal=deal.name)
		make_order(deal=deal.name)
		make_task(reference_doctype="CRM Deal", reference_name=deal.name)
		make_call(deal=deal.name)
		counts = {
			row["doctype"]: row["count"]
			for row in get_open_count("CRM Deal", deal.name)["count"]["external_links_found"]
		}
		self.assertEqual(counts, {"CRM Order": 2, "CRM Task": 1, "CRM Call": 1})


class TestCRMDealRest(CRMRestTestCase):
	def setUp(self):
		super().setUp()
		# a sales manager may move deals through the stages (Workflow transitions)
		self.user = make_user("records.sales@example.com", roles=("System Manager", "CRM Sales Manager")).name
		self.client_name = self.track("CRM Client", make_client().name)
		frappe.db.commit()

	def insert(self, **data):
		return self.rest_insert("CRM Deal", {"client": self.client_name, **data}, user=self.user)

	def test_rest_insert_applies_defaults(self):
		r = self.insert(items=items(("Доставка", 3, 100, 0)))
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(
			(r.data["pipeline"], r.data["stage"], r.data["stage_type"], r.data["probability"]),
			("Sales", "Qualification", "Open", 10),
		)
		self.assertEqual((r.data["items_total"], r.data["amount"]), (300, 300))
		self.assertEqual(r.data["responsible"], self.user)

	def test_rest_rejects_a_stage_of_another_pipeline(self):
		pipeline = self.track("CRM Pipeline", make_pipeline().name)
		frappe.db.commit()
		r = self.insert(pipeline=pipeline, stage="Negotiation")
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("DealStageError", r.text)
		self.assertIn("is not a stage of pipeline", r.error_text())

	def test_rest_won_and_lost_rules(self):
		r = self.insert()
		self.assertEqual(r.status_code, 200, r.text)
		name = r.data["name"]

		r = self.rest_update("CRM Deal", name, {"stage": "Won"}, user=self.user)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("WonDealError", r.text)

		r = self.rest_update("CRM Deal", name, {"stage": "Proposal"}, user=self.user)
		self.assertEqual(r.status_code, 200, r.text)
		r = self.rest_update("CRM Deal", name, {"stage": "Lost"}, user=self.user)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("LostReasonRequiredError", r.text)
		r = self.rest_update(
			"CRM Deal", name, {"stage": "Lost", "lost_reason": LEAD_ONLY_REASON}, user=self.user
		)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("LostReasonNotApplicableError", r.text)

		r = self.rest_update("CRM Deal", name, {"stage": "Lost", "lost_reason": DEAL_REASON}, user=self.user)
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual((r.data["lost_at_stage"], r.data["lost_on"]), ("Proposal", today()))

	def test_rest_win(self):
		name = self.insert(amount=2500).data["name"]
		r = self.rest_update("CRM Deal", name, {"stage": "Won"}, user=self.user)
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(
			(r.data["stage_type"], r.data["won_on"], r.data["probability"]), ("Won", today(), 100)
		)

	def test_rest_counterparty_and_people_rules(self):
		other = self.track("CRM Client", make_client().name)
		counterparty = self.track("CRM Counterparty", make_counterparty(other).name)
		frappe.db.commit()
		r = self.insert(counterparty=counterparty)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("DealCounterpartyError", r.text)

		r = self.insert(co_managers=[{"user": self.user}])
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("DealManagerError", r.text)

		r = self.insert(items=items(("Доставка", 1, 100, 120)))
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("DealItemError", r.text)

	def test_rest_pipeline_stages_for_the_form(self):
		r = self.request(
			"GET", "/api/method/simple_crm.api.deal.pipeline_stages?pipeline=Sales", user=self.user
		)
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(
			[(s["stage_name"], s["stage_type"]) for s in r.data][:2],
			[("Qualification", "Open"), ("Needs Analysis", "Open")],
		)
		self.assertEqual(
			r.data[-2:],
			[
				{"stage_name": "Won", "stage_type": "Won", "probability": 100},
				{"stage_name": "Lost", "stage_type": "Lost", "probability": 0},
			],
		)
