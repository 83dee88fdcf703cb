# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe.desk.notifications import get_open_count

from simple_crm.simple_crm.doctype.crm_order.crm_order import OrderClientError
from simple_crm.tests.factories import (
	make_client,
	make_counterparty,
	make_deal,
	make_order,
	make_user,
	unique,
)
from simple_crm.tests.utils import CRMRestTestCase, CRMTestCase


class TestCRMOrder(CRMTestCase):
	def setUp(self):
		super().setUp()
		self.client_name = make_client().name

	def test_external_id_is_unique(self):
		external_id = unique("1C-")
		order = make_order(external_id=f" {external_id} ", client=self.client_name)
		self.assertEqual(order.external_id, external_id)
		self.assertEqual(order.order_number, external_id)
		with self.assertRaises(frappe.UniqueValidationError):
			make_order(external_id=external_id, client=self.client_name)

	def test_client_defaults_from_the_deal(self):
		deal = make_deal(self.client_name)
		order = make_order(deal=deal.name)
		self.assertEqual(order.client, self.client_name)
		self.assertEqual(order.currency, deal.currency)

	def test_deal_and_client_must_agree(self):
		deal = make_deal(self.client_name)
		with self.assertRaisesRegex(OrderClientError, deal.name):
			make_order(deal=deal.name, client=make_client().name)

	def test_counterparty_belongs_to_the_client(self):
		counterparty = make_counterparty(self.client_name).name
		self.assertEqual(make_order(counterparty=counterparty).client, self.client_name)
		with self.assertRaises(OrderClientError):
			make_order(client=make_client().name, counterparty=counterparty)

	def test_amounts_are_not_negative(self):
		with self.assertRaises(frappe.NonNegativeError):
			make_order(client=self.client_name, amount=-1)
		with self.assertRaises(frappe.NonNegativeError):
			make_order(client=self.client_name, paid_amount=-0.01)

	def test_deal_dashboard_shows_orders(self):
		deal = make_deal(self.client_name)
		make_order(deal=deal.name)
		counts = {
			r["doctype"]: r["count"]
			for r in get_open_count("CRM Deal", deal.name)["count"]["external_links_found"]
		}
		self.assertEqual(counts["CRM Order"], 1)


class TestCRMOrderRest(CRMRestTestCase):
	def setUp(self):
		super().setUp()
		self.user = make_user("records.admin@example.com", roles=("System Manager",)).name
		self.client_name = self.track("CRM Client", make_client().name)
		self.deal = self.track("CRM Deal", make_deal(self.client_name).name)
		frappe.db.commit()

	def test_rest_rules(self):
		external_id = unique("1C-")
		r = self.rest_insert(
			"CRM Order", {"external_id": external_id, "deal": self.deal, "amount": 100}, user=self.user
		)
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(r.data["client"], self.client_name)

		r = self.rest_insert("CRM Order", {"external_id": external_id, "deal": self.deal}, user=self.user)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("UniqueValidationError", r.text)

		other = self.track("CRM Client", make_client().name)
		frappe.db.commit()
		r = self.rest_insert(
			"CRM Order", {"external_id": unique("1C-"), "deal": self.deal, "client": other}, user=self.user
		)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("OrderClientError", r.text)

		r = self.rest_insert(
			"CRM Order",
			{"external_id": unique("1C-"), "client": self.client_name, "amount": -5},
			user=self.user,
		)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("NonNegativeError", r.text)

	def test_rest_deal_dashboard(self):
		self.track("CRM Order", make_order(deal=self.deal).name)
		frappe.db.commit()
		r = self.request(
			"GET",
			f"/api/method/frappe.desk.notifications.get_open_count?doctype=CRM Deal&name={self.deal}",
			user=self.user,
		)
		self.assertEqual(r.status_code, 200, r.text)
		counts = {row["doctype"]: row["count"] for row in r.data["count"]["external_links_found"]}
		self.assertEqual(counts, {"CRM Order": 1, "CRM Task": 0, "CRM Call": 0})
