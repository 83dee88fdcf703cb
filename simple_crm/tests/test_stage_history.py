"""The deal's stage history: one stay per stage, written by the deal's own saves, rebuilt from versions for
deals saved before it existed, readable by those who see every deal only."""

import datetime

import frappe

from simple_crm.stage_history import (
	HISTORY,
	fill_deal_responsible,
	fill_funnel_columns,
	rebuild_from_versions,
)
from simple_crm.tests import factories
from simple_crm.tests.sales_org import email
from simple_crm.tests.utils import CRMRestTestCase, CRMTestCase

MONDAY = datetime.datetime(2026, 3, 2, 9, 0)


def stays(deal: str) -> list[dict]:
	return frappe.get_all(
		HISTORY,
		filters={"deal": deal},
		fields=[
			"stage",
			"stage_type",
			"stage_order",
			"entered_on",
			"left_on",
			"next_stage",
			"days_in_stage",
			"amount",
			"responsible",
			"pipeline",
			"deal_creation",
		],
		order_by="entered_on asc, creation asc",
	)


def move(deal: str, stage: str, **values):
	doc = frappe.get_doc("CRM Deal", deal)
	doc.stage = stage
	doc.update(values)
	doc.save(ignore_version=False)  # as outside tests: the move leaves its version
	return doc


class TestStageHistory(CRMTestCase):
	def setUp(self):
		super().setUp()
		self.pipeline = factories.make_pipeline(
			stages=(
				("Qualification", "Open", 10),
				("Proposal", "Open", 50),
				("Won", "Won", None),
				("Lost", "Lost", None),
			)
		).name
		self.client_name = factories.make_client().name

	def make_deal(self, **values):
		with self.freeze_time(MONDAY):
			return factories.make_deal(
				self.client_name, pipeline=self.pipeline, amount=1000, responsible="Administrator", **values
			)

	def test_a_new_deal_enters_its_first_stage(self):
		deal = self.make_deal()
		(stay,) = stays(deal.name)
		self.assertEqual(stay.stage, "Qualification")
		self.assertEqual(stay.stage_type, "Open")
		self.assertEqual(stay.stage_order, 1)
		self.assertEqual(stay.entered_on, MONDAY)
		self.assertIsNone(stay.left_on)
		self.assertEqual(stay.amount, 1000)
		self.assertEqual(stay.pipeline, self.pipeline)

	def test_each_move_closes_one_stay_and_opens_the_next(self):
		deal = self.make_deal()
		with self.freeze_time(MONDAY + datetime.timedelta(days=2, hours=12)):
			move(deal.name, "Proposal", amount=1500)
		with self.freeze_time(MONDAY + datetime.timedelta(days=10)):
			move(deal.name, "Won")
		history = stays(deal.name)
		self.assertEqual([s.stage for s in history], ["Qualification", "Proposal", "Won"])
		self.assertEqual([s.stage_order for s in history], [1, 2, 3])
		self.assertEqual([s.next_stage for s in history], ["Proposal", "Won", None])
		self.assertEqual([s.days_in_stage for s in history], [2.5, 7.5, 0])
		self.assertEqual(history[0].left_on, MONDAY + datetime.timedelta(days=2, hours=12))
		self.assertIsNone(history[-1].left_on)
		# the amount of the deal when it entered each stage
		self.assertEqual([s.amount for s in history], [1000, 1500, 1500])

	def test_every_stay_names_the_deals_responsible_manager_today(self):
		deal = self.make_deal()
		move(deal.name, "Proposal")
		deal = frappe.get_doc("CRM Deal", deal.name)
		deal.responsible = email("sales1")
		deal.save()
		rows = frappe.get_all(
			HISTORY, filters={"deal": deal.name}, fields=["responsible", "deal_responsible"]
		)
		self.assertEqual(len(rows), 2)
		# the manager at each move stays as it was; the deal's manager today is on every stay
		self.assertEqual({r.responsible for r in rows}, {"Administrator"})
		self.assertEqual({r.deal_responsible for r in rows}, {email("sales1")})
		# stays written before the column existed get it from their deal
		frappe.db.set_value(HISTORY, {"deal": deal.name}, "deal_responsible", None, update_modified=False)
		fill_deal_responsible()
		self.assertEqual(
			set(frappe.get_all(HISTORY, filters={"deal": deal.name}, pluck="deal_responsible")),
			{email("sales1")},
		)

	def test_the_deal_keeps_its_furthest_open_stage(self):
		deal = self.make_deal()
		self.assertEqual(frappe.db.get_value("CRM Deal", deal.name, "furthest_stage_order"), 1)
		move(deal.name, "Proposal")
		self.assertEqual(frappe.db.get_value("CRM Deal", deal.name, "furthest_stage_order"), 2)
		reason = frappe.get_all("CRM Lost Reason", filters={"applies_to": ("!=", "Lead")}, pluck="name")[0]
		move(deal.name, "Lost", lost_reason=reason)
		move(deal.name, "Qualification")  # reopened at the start: it did reach Proposal
		self.assertEqual(frappe.db.get_value("CRM Deal", deal.name, "furthest_stage_order"), 2)
		self.assertEqual({s.deal_creation for s in stays(deal.name)}, {MONDAY})

	def test_a_save_without_a_move_writes_no_history(self):
		deal = self.make_deal()
		deal.reload()
		deal.amount = 2000
		deal.save()
		self.assertEqual(len(stays(deal.name)), 1)

	def test_reopening_a_lost_deal_is_a_move(self):
		deal = self.make_deal()
		reason = frappe.get_all("CRM Lost Reason", filters={"applies_to": ("!=", "Lead")}, pluck="name")[0]
		move(deal.name, "Lost", lost_reason=reason)
		move(deal.name, "Qualification")
		self.assertEqual([s.stage for s in stays(deal.name)], ["Qualification", "Lost", "Qualification"])
		self.assertEqual(sum(1 for s in stays(deal.name) if s.left_on is None), 1)

	def test_a_refused_save_leaves_no_history(self):
		deal = self.make_deal()
		with self.assertRaises(frappe.ValidationError):
			move(deal.name, "Lost")  # no lost reason
		self.assertEqual([s.stage for s in stays(deal.name)], ["Qualification"])

	def test_deleting_a_deal_deletes_its_history(self):
		deal = self.make_deal()
		move(deal.name, "Proposal")
		frappe.delete_doc("CRM Deal", deal.name)
		self.assertEqual(stays(deal.name), [])

	def test_history_is_rebuilt_from_versions_for_older_deals(self):
		deal = self.make_deal()
		with self.freeze_time(MONDAY + datetime.timedelta(days=3)):
			move(deal.name, "Proposal")
		with self.freeze_time(MONDAY + datetime.timedelta(days=4)):
			move(deal.name, "Won")
		written = stays(deal.name)
		frappe.db.delete(HISTORY, {"deal": deal.name})
		# other deals of the site already have their history: only this one is rebuilt
		rebuild_from_versions()
		rebuilt = stays(deal.name)
		self.assertEqual(
			[(s.stage, s.entered_on, s.left_on, s.next_stage, s.days_in_stage) for s in rebuilt],
			[(s.stage, s.entered_on, s.left_on, s.next_stage, s.days_in_stage) for s in written],
		)
		rebuild_from_versions()
		self.assertEqual(len(stays(deal.name)), 3, "a second run changes nothing")
		# the funnel's columns, filled for history written before they existed
		frappe.db.set_value("CRM Deal", deal.name, "furthest_stage_order", 0, update_modified=False)
		frappe.db.set_value(HISTORY, {"deal": deal.name}, "deal_creation", None, update_modified=False)
		fill_funnel_columns()
		self.assertEqual(frappe.db.get_value("CRM Deal", deal.name, "furthest_stage_order"), 2)
		self.assertEqual({s.deal_creation for s in stays(deal.name)}, {MONDAY})


class TestStageHistoryAccess(CRMRestTestCase):
	def test_only_who_sees_every_deal_reads_the_history_and_nobody_writes_it(self):
		pipeline = factories.default_pipeline()
		deal = self.track(
			"CRM Deal",
			factories.make_deal(
				factories.make_client(responsible=email("sales1")).name, pipeline=pipeline
			).name,
		)
		frappe.db.commit()
		self.assertEqual(self.rest_list(HISTORY, user=email("sales1")).status_code, 403)
		self.assertEqual(self.rest_list(HISTORY, user=email("head_a")).status_code, 403)
		listed = self.rest_list(
			HISTORY, user=email("director"), filters=frappe.as_json({"deal": deal}), fields='["stage"]'
		)
		self.assertEqual(listed.status_code, 200)
		self.assertEqual(len(listed.data), 1)
		for user in (email("director"), email("sales1")):
			response = self.rest_insert(HISTORY, {"deal": deal, "stage": "Won"}, user=user)
			self.assertEqual(response.status_code, 403, user)
		self.assertEqual(frappe.db.count(HISTORY, {"deal": deal}), 1)
