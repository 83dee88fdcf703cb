"""Deletion protection (simple_crm.integrity) and what Frappe's own link check already enforces."""

import frappe
from frappe.model.delete_doc import check_if_doc_is_dynamically_linked, check_if_doc_is_linked

from simple_crm.conversion import convert_lead
from simple_crm.integrity import ClientInUseError, ConvertedLeadDeletionError, DealInUseError
from simple_crm.tests.factories import (
	make_call,
	make_client,
	make_contact,
	make_counterparty,
	make_deal,
	make_lead,
	make_order,
	make_task,
	make_user,
)
from simple_crm.tests.utils import CRMRestTestCase, CRMTestCase


class TestWhatFrappeEnforces(CRMTestCase):
	"""Frappe's check (skipped by force=True) already refuses these; the app's checks name them all."""

	def test_link_fields_block_deleting_a_client(self):
		client = make_client()
		make_deal(client.name)
		with self.assertRaises(frappe.LinkExistsError):
			check_if_doc_is_linked(client)

	def test_dynamic_links_block_deleting_a_client(self):
		client = make_client()
		make_contact(client.name)
		check_if_doc_is_linked(client)  # no Link field points at it
		with self.assertRaises(frappe.LinkExistsError):
			check_if_doc_is_dynamically_linked(client)

	def test_errors_are_link_exists_errors(self):
		for error in (ClientInUseError, DealInUseError, ConvertedLeadDeletionError):
			self.assertTrue(issubclass(error, frappe.LinkExistsError), error)


class TestIntegrity(CRMTestCase):
	def test_client_with_dependents_cannot_be_deleted(self):
		cases = {
			"deal": lambda c: make_deal(c),
			"order": lambda c: make_order(client=c),
			"counterparty": lambda c: make_counterparty(c),
			"contact": lambda c: make_contact(c),
			"call": lambda c: make_call(client=c),
			"task": lambda c: make_task(reference_doctype="CRM Client", reference_name=c),
			"holding member": lambda c: make_client(holding=c),
		}
		for case, make_dependent in cases.items():
			with self.subTest(case):
				client = make_client().name
				dependent = make_dependent(client)
				with self.assertRaisesRegex(ClientInUseError, dependent.name):
					frappe.delete_doc("CRM Client", client)
				self.assertTrue(frappe.db.exists("CRM Client", client))

	def test_the_error_lists_everything_that_blocks(self):
		client = make_client().name
		deals = [make_deal(client).name for _ in range(2)]
		order = make_order(client=client).name
		contact = make_contact(client).name
		with self.assertRaises(ClientInUseError) as caught:
			frappe.delete_doc("CRM Client", client)
		message = str(caught.exception)
		for name in (*deals, order, contact):
			self.assertIn(name, message)
		self.assertIn("CRM Deal: 2", message)
		# even a forced delete (which skips Frappe's link check) keeps the client
		with self.assertRaises(ClientInUseError):
			frappe.delete_doc("CRM Client", client, force=True)

	def test_client_without_dependents_can_be_deleted(self):
		client = make_client().name
		frappe.delete_doc("CRM Client", client)
		self.assertFalse(frappe.db.exists("CRM Client", client))

	def test_deal_with_orders_cannot_be_deleted(self):
		deal = make_deal(make_client().name).name
		order = make_order(deal=deal).name
		with self.assertRaisesRegex(DealInUseError, order):
			frappe.delete_doc("CRM Deal", deal)
		frappe.delete_doc("CRM Order", order)
		frappe.delete_doc("CRM Deal", deal)
		self.assertFalse(frappe.db.exists("CRM Deal", deal))

	def test_converted_lead_cannot_be_deleted(self):
		manager = make_user("records.sales@example.com", roles=("System Manager", "CRM Sales Manager")).name
		lead = make_lead(responsible=manager).name
		result = convert_lead(lead, create_deal=False)
		with self.assertRaisesRegex(ConvertedLeadDeletionError, result.client):
			frappe.delete_doc("CRM Lead", lead)
		self.assertTrue(frappe.db.exists("CRM Lead", lead))
		# and the client it became cannot be deleted while the lead points at it
		with self.assertRaisesRegex(ClientInUseError, lead):
			frappe.delete_doc("CRM Client", result.client)

	def test_new_lead_can_be_deleted(self):
		lead = make_lead().name
		frappe.delete_doc("CRM Lead", lead)
		self.assertFalse(frappe.db.exists("CRM Lead", lead))


class TestIntegrityRest(CRMRestTestCase):
	def setUp(self):
		super().setUp()
		self.user = make_user("records.sales@example.com", roles=("System Manager", "CRM Sales Manager")).name
		frappe.db.commit()

	def assert_refused(self, doctype, name, error):
		r = self.rest_delete(doctype, name, user=self.user)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn(error, r.text)
		frappe.db.rollback()
		self.assertTrue(frappe.db.exists(doctype, name))
		return r

	def test_rest_delete_client_in_use(self):
		client = self.track("CRM Client", make_client().name)
		deal = self.track("CRM Deal", make_deal(client).name)
		contact = self.track("Contact", make_contact(client).name)
		frappe.db.commit()
		r = self.assert_refused("CRM Client", client, "ClientInUseError")
		self.assertIn(deal, r.error_text())
		self.assertIn(contact, r.error_text())

	def test_rest_delete_deal_with_orders(self):
		client = self.track("CRM Client", make_client().name)
		deal = self.track("CRM Deal", make_deal(client).name)
		order = self.track("CRM Order", make_order(deal=deal).name)
		frappe.db.commit()
		r = self.assert_refused("CRM Deal", deal, "DealInUseError")
		self.assertIn(order, r.error_text())

	def test_rest_delete_converted_lead(self):
		lead = self.track("CRM Lead", make_lead().name)
		frappe.db.commit()
		r = self.rest_call(
			"simple_crm.api.lead.convert", {"lead": lead, "create_deal": False}, user=self.user
		)
		self.assertEqual(r.status_code, 200, r.text)
		self.track("CRM Client", r.data["client"])
		self.track("Contact", r.data["contact"])
		try:
			self.assert_refused("CRM Lead", lead, "ConvertedLeadDeletionError")
		finally:
			# let the cleanup remove the test records
			frappe.db.set_value(
				"CRM Lead", lead, {"status": "New", "client": None, "contact": None, "converted_on": None}
			)
			frappe.db.commit()

	def test_rest_delete_free_client(self):
		client = self.track("CRM Client", make_client().name)
		frappe.db.commit()
		r = self.rest_delete("CRM Client", client, user=self.user)
		self.assertEqual(r.status_code, 202, r.text)
		frappe.db.rollback()
		self.assertFalse(frappe.db.exists("CRM Client", client))
