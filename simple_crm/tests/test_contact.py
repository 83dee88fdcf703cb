"""What simple_crm adds to Frappe's Contact: normalised phones and e-mails, the duplicate index."""

import frappe
from frappe.tests.utils import change_settings

from simple_crm.duplicates import DuplicateRecordError
from simple_crm.tests.factories import make_client, make_contact, make_lead, make_user, unique, unique_email
from simple_crm.tests.utils import CRMRestTestCase, CRMTestCase
from simple_crm.validation import InvalidEmailError, InvalidPhoneError


def points(name: str) -> set[tuple[str, str]]:
	rows = frappe.get_all(
		"CRM Contact Point",
		filters={"reference_doctype": "Contact", "reference_name": name},
		fields=["kind", "value"],
	)
	return {(r.kind, r.value) for r in rows}


class TestContact(CRMTestCase):
	def test_phone_rows_normalised_email_rows_lower_cased(self):
		contact = make_contact(phone="8 (912) 345-67-89", email="Anna.Sidorova@Example.COM")
		contact.append("phone_nos", {"phone": "(495) 123-45-67", "is_primary_phone": 1})
		contact.save()
		self.assertEqual(
			[(r.phone, r.crm_phone_normalized) for r in contact.phone_nos],
			[("8 (912) 345-67-89", "+79123456789"), ("(495) 123-45-67", "+74951234567")],
		)
		self.assertEqual(contact.email_ids[0].email_id, "anna.sidorova@example.com")
		self.assertEqual(contact.email_id, "anna.sidorova@example.com")
		self.assertEqual(
			points(contact.name),
			{("Phone", "+79123456789"), ("Phone", "+74951234567"), ("Email", "anna.sidorova@example.com")},
		)

	def test_garbage_refused_nothing_saved(self):
		before = frappe.db.count("Contact")
		with self.assertRaises(InvalidPhoneError):
			make_contact(phone="не помню")
		with self.assertRaises(InvalidEmailError):
			make_contact(email="anna@@example.com")
		self.assertEqual(frappe.db.count("Contact"), before)

	def test_delete_and_rename(self):
		contact = make_contact(phone="9123456789")
		new_name = frappe.rename_doc(
			"Contact", contact.name, unique("Анна Переименованная "), rebuild_search=False
		)
		self.assertEqual(points(contact.name), set())
		self.assertIn(("Phone", "+79123456789"), points(new_name))
		frappe.delete_doc("Contact", new_name)
		self.assertEqual(points(new_name), set())

	def test_lead_with_phone_of_a_contact_is_a_duplicate(self):
		contact = make_contact(phone="+7 912 345 67 89")
		lead = make_lead(phone="8 (912) 345-67-89")
		self.assertEqual([(m.doctype, m.name) for m in lead.flags.duplicates], [("Contact", contact.name)])
		with change_settings("Simple CRM Settings", duplicate_policy="Block"):
			with self.assertRaises(DuplicateRecordError):
				make_lead(phone="9123456789")

	def test_contact_of_the_client_is_not_its_duplicate(self):
		client = make_client(phone="9123456789")
		with change_settings("Simple CRM Settings", duplicate_policy="Block"):
			contact = make_contact(client=client.name, phone="8 912 345 67 89")
		self.assertFalse(contact.flags.duplicates)

	def test_user_contacts_are_left_alone(self):
		"""Frappe creates a Contact per user: it takes no part in duplicate control."""
		email = unique_email("staff")
		make_lead(email=email)
		with change_settings("Simple CRM Settings", duplicate_policy="Block"):
			user = make_user(email=email)
		contact = frappe.db.get_value("Contact", {"user": user.name})
		self.assertTrue(contact)
		self.assertEqual(points(contact), set())

	def test_contacts_of_other_apps_are_left_alone(self):
		"""A contact linked only to another app's records (an ERPNext Supplier, here a ToDo) is not ours."""
		todo = frappe.get_doc({"doctype": "ToDo", "description": "Supplier stand-in"}).insert()
		contact = make_contact(
			phone="+91 0000000000", links=[{"link_doctype": "ToDo", "link_name": todo.name}]
		)
		self.assertIsNone(contact.phone_nos[0].crm_phone_normalized)
		self.assertEqual(points(contact.name), set())
		# linked to a CRM client as well, it is the CRM's again
		client = make_client()
		contact.append("links", {"link_doctype": "CRM Client", "link_name": client.name})
		with self.assertRaises(InvalidPhoneError):
			contact.save()


class TestContactRest(CRMRestTestCase):
	def test_rest(self):
		data = {
			"first_name": "Анна",
			"last_name": unique("REST-"),
			"phone_nos": [{"phone": "8-912-345-67-89", "is_primary_mobile_no": 1}],
			"email_ids": [{"email_id": "Anna.REST@Example.com", "is_primary": 1}],
		}
		r = self.rest_insert("Contact", data)
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(r.data["phone_nos"][0]["crm_phone_normalized"], "+79123456789")
		self.assertEqual(r.data["email_ids"][0]["email_id"], "anna.rest@example.com")

		before = frappe.db.count("Contact")
		r = self.rest_insert(
			"Contact", {**data, "last_name": unique("REST-"), "phone_nos": [{"phone": "12345"}]}
		)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("'12345' is not a valid phone number", r.error_text())
		frappe.db.rollback()
		self.assertEqual(frappe.db.count("Contact"), before)
