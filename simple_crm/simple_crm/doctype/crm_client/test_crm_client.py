# Copyright (c) 2026, simple_crm developers and Contributors
# See license.txt

import frappe

from simple_crm.tests.factories import make_client, unique
from simple_crm.tests.utils import CRMRestTestCase, CRMTestCase
from simple_crm.validation import InvalidEmailError, InvalidPhoneError


def points(name: str) -> set[tuple[str, str]]:
	rows = frappe.get_all(
		"CRM Contact Point",
		filters={"reference_doctype": "CRM Client", "reference_name": name},
		fields=["kind", "value"],
	)
	return {(r.kind, r.value) for r in rows}


class TestClient(CRMTestCase):
	def test_phone_and_email_normalised_and_indexed(self):
		client = make_client(phone="8 (912) 345-67-89", email="Office@Romashka.RU")
		self.assertEqual(client.phone, "8 (912) 345-67-89")
		self.assertEqual(client.phone_normalized, "+79123456789")
		self.assertEqual(client.email, "office@romashka.ru")
		self.assertEqual(points(client.name), {("Phone", "+79123456789"), ("Email", "office@romashka.ru")})

	def test_garbage_refused(self):
		before = frappe.db.count("CRM Client")
		with self.assertRaises(InvalidPhoneError):
			make_client(phone="+7 (912) 345")
		with self.assertRaises(InvalidEmailError):
			make_client(email="office@romashka")
		self.assertEqual(frappe.db.count("CRM Client"), before)

	def test_delete_removes_index_rows(self):
		client = make_client(phone="9123456789")
		client.delete()
		self.assertEqual(points(client.name), set())


class TestClientRest(CRMRestTestCase):
	def test_rest(self):
		r = self.rest_insert("CRM Client", {"client_name": unique("ООО "), "phone": "+7 912 345 67 89"})
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(r.data["phone_normalized"], "+79123456789")
		name = r.data["name"]

		r = self.rest_update("CRM Client", name, {"phone": "8 800"})
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("'8 800' is not a valid phone number", r.error_text())
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value("CRM Client", name, "phone_normalized"), "+79123456789")
