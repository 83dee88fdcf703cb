# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

import frappe

from simple_crm.tests.factories import make_product, make_user, unique
from simple_crm.tests.utils import CRMRestTestCase, CRMTestCase


class TestCRMProduct(CRMTestCase):
	def test_standard_rate_not_negative(self):
		with self.assertRaises(frappe.NonNegativeError):
			make_product(standard_rate=-1)

	def test_defaults(self):
		product = make_product(product_name="  Кирпич  ", external_id=" ")
		self.assertEqual(product.product_name, "Кирпич")
		self.assertIsNone(product.external_id)
		self.assertEqual(
			product.currency, frappe.db.get_single_value("Simple CRM Settings", "default_currency")
		)


class TestCRMProductRest(CRMRestTestCase):
	def test_rest_standard_rate_not_negative(self):
		user = make_user("records.admin@example.com", roles=("System Manager",)).name
		frappe.db.commit()
		data = {"product_code": unique("P-"), "product_name": "Цемент", "standard_rate": -5}
		r = self.rest_insert("CRM Product", data, user=user)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("NonNegativeError", r.text)
		r = self.rest_insert("CRM Product", {**data, "standard_rate": 5}, user=user)
		self.assertEqual(r.status_code, 200, r.text)
