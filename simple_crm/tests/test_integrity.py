"""Deletion protection (simple_crm.integrity) and what Frappe's own link check already enforces; links
that name nothing, conversion marks set by hand, lost reasons that outlive a reopen, merges."""

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
	make_product,
	make_task,
	make_user,
	unique,
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


class TestLinksThatNameNothing(CRMRestTestCase):
	"""Frappe does not check a link that feeds fields through fetch_from (simple_crm.integrity)."""

	def assert_not_found(self, doctype: str, values: dict, label: str, missing: str):
		count = frappe.db.count(doctype)
		r = self.rest_insert(doctype, values)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("LinkValidationError", r.text)
		self.assertIn(label, r.error_text())
		self.assertIn(missing, r.error_text())
		frappe.db.rollback()
		self.assertEqual(frappe.db.count(doctype), count)

	def test_lead_source(self):
		self.assert_not_found(
			"CRM Lead", {"lead_name": "Иван", "source": "No Such Source"}, "Source", "No Such Source"
		)

	def test_deal_co_manager_and_product(self):
		client = self.track("CRM Client", make_client().name)
		frappe.db.commit()
		nobody = "nobody.at.all@example.com"
		self.assert_not_found(
			"CRM Deal", {"client": client, "co_managers": [{"user": nobody}]}, "Row #1", nobody
		)
		self.assert_not_found(
			"CRM Deal",
			{"client": client, "items": [{"product": "NO-SUCH-PRODUCT", "qty": 1}]},
			"Product",
			"NO-SUCH-PRODUCT",
		)

	def test_existing_links_still_fetch(self):
		client = self.track("CRM Client", make_client().name)
		product = self.track("CRM Product", make_product(standard_rate=250).name)
		frappe.db.commit()
		r = self.rest_insert("CRM Deal", {"client": client, "items": [{"product": product, "qty": 2}]})
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual((r.data["items"][0]["rate"], r.data["amount"]), (250, 500))


class TestConversionMarks(CRMRestTestCase):
	"""Only the conversion makes a lead Converted: a lead marked by hand could never be deleted."""

	def test_lead_cannot_be_created_converted(self):
		client = self.track("CRM Client", make_client().name)
		frappe.db.commit()
		count = frappe.db.count("CRM Lead")
		for values in (
			{"status": "Converted"},
			{"status": "Converted", "client": client},
			{"client": client},
			{"converted_on": "2026-01-15 10:00:00"},
		):
			r = self.rest_insert("CRM Lead", {"lead_name": "Иван", **values})
			self.assertEqual(r.status_code, 417, r.text)
			self.assertIn("ConversionMarksError", r.text)
		frappe.db.rollback()
		self.assertEqual(frappe.db.count("CRM Lead"), count)

	def test_marks_cannot_be_set_on_a_lead(self):
		client = self.track("CRM Client", make_client().name)
		lead = self.track("CRM Lead", make_lead().name)
		frappe.db.commit()
		for values in ({"client": client}, {"converted_on": "2026-01-15 10:00:00"}):
			r = self.rest_update("CRM Lead", lead, values)
			self.assertEqual(r.status_code, 417, r.text)
		frappe.db.rollback()
		self.assertEqual(
			frappe.db.get_value("CRM Lead", lead, ["status", "client", "converted_on"]), ("New", None, None)
		)
		r = self.rest_delete("CRM Lead", lead)
		self.assertEqual(r.status_code, 202, r.text)


class TestConversionMarksImport(CRMTestCase):
	def tearDown(self):
		frappe.flags.in_import = False
		super().tearDown()

	def test_data_import_brings_converted_leads_with_their_client(self):
		client = make_client().name
		frappe.flags.in_import = True
		lead = make_lead(status="Converted", client=client)
		self.assertTrue(lead.converted_on)
		with self.assertRaisesRegex(frappe.ValidationError, "converting the lead"):
			make_lead(status="Converted")


class TestLostReasonAfterReopen(CRMTestCase):
	def test_deal_reopened_and_won(self):
		deal = make_deal(make_client().name, amount=1000)
		deal.update({"stage": "Lost", "lost_reason": "Price Too High", "lost_comment": "дорого"})
		deal.save(ignore_version=False)  # tests skip versions unless asked
		deal.stage = "Qualification"  # Reopen
		deal.save(ignore_version=False)
		self.assertEqual((deal.lost_reason, deal.lost_comment), (None, None))
		deal.stage = "Won"
		deal.save(ignore_version=False)
		self.assertEqual(
			frappe.db.get_value("CRM Deal", deal.name, ["stage_type", "lost_reason", "lost_comment"]),
			("Won", None, None),
		)
		# the history keeps it
		versions = frappe.get_all(
			"Version", filters={"ref_doctype": "CRM Deal", "docname": deal.name}, pluck="data"
		)
		self.assertTrue(any("Price Too High" in data for data in versions), versions)

	def test_reason_entered_before_losing_stays(self):
		deal = make_deal(make_client().name)
		deal.lost_reason = "No Budget"
		deal.save()
		self.assertEqual(deal.lost_reason, "No Budget")

	def test_lead_reopened(self):
		lead = make_lead()
		lead.update({"status": "Disqualified", "lost_reason": "Spam", "lost_comment": "робот"})
		lead.save()
		lead.status = "In Progress"  # Reopen
		lead.save()
		self.assertEqual(
			frappe.db.get_value("CRM Lead", lead.name, ["lost_reason", "lost_comment"]), (None, None)
		)


class TestMergeWithEmptyAssignments(CRMRestTestCase):
	def test_merge_when_assign_is_an_empty_string(self):
		source = self.track("CRM Client", make_client(client_name=unique("ООО Слияние ")).name)
		target = self.track("CRM Client", make_client().name)
		frappe.db.set_value("CRM Client", source, "_assign", "", update_modified=False)
		frappe.db.commit()
		r = self.rest_call(
			"simple_crm.api.duplicates.merge", {"doctype": "CRM Client", "source": source, "target": target}
		)
		self.assertEqual(r.status_code, 200, r.text)
		frappe.db.rollback()
		self.assertFalse(frappe.db.exists("CRM Client", source))
