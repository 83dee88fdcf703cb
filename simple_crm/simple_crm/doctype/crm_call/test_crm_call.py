# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe.desk.form.load import get_docinfo

from simple_crm.simple_crm.doctype.crm_call.crm_call import CallDurationError, DuplicateCallError
from simple_crm.tests.factories import (
	make_call,
	make_client,
	make_contact,
	make_deal,
	make_lead,
	make_user,
	unique,
	unique_mobile,
)
from simple_crm.tests.utils import CRMRestTestCase, CRMTestCase
from simple_crm.timeline import get_timeline_content
from simple_crm.validation import InvalidPhoneError


def e164(raw: str) -> str:
	digits = "".join(ch for ch in raw if ch.isdigit())
	return "+7" + digits[-10:]


class TestCRMCall(CRMTestCase):
	def test_phone_is_normalised(self):
		call = make_call(phone="8 (912) 345-67-89")
		self.assertEqual(call.phone, "8 (912) 345-67-89")
		self.assertEqual(call.phone_normalized, "+79123456789")
		with self.assertRaises(InvalidPhoneError):
			make_call(phone="позвонить Ивану")

	def test_call_id_is_unique(self):
		call_id = unique("pbx-")
		make_call(call_id=call_id)
		with self.assertRaisesRegex(DuplicateCallError, call_id):
			make_call(call_id=f"  {call_id} ")
		# calls without a PBX id are many
		self.assertIsNone(make_call(call_id="  ").call_id)
		self.assertIsNone(make_call().call_id)

	def test_duration(self):
		with self.assertRaises(CallDurationError):
			make_call(duration=-5)
		self.assertEqual(make_call(duration=95).duration, 95)
		self.assertEqual(make_call(call_status="Missed", duration=40).duration, 0)

	def test_manager_defaults_to_who_logs_the_call(self):
		user = make_user("records.admin@example.com", roles=("System Manager",)).name
		with self.set_user(user):
			self.assertEqual(make_call().manager, user)
		self.assertEqual(make_call(manager=user).manager, user)

	def test_linked_to_the_lead_the_number_belongs_to(self):
		phone = unique_mobile()
		lead = make_lead(phone=phone)
		call = make_call(phone=phone)
		self.assertEqual((call.lead, call.client, call.contact), (lead.name, None, None))

	def test_linked_to_the_client_and_its_contact(self):
		phone = unique_mobile()
		client = make_client(client_type="Individual", phone=phone).name
		contact = make_contact(client, phone=phone).name
		call = make_call(phone=phone)
		self.assertEqual((call.lead, call.client, call.contact), (None, client, contact))

	def test_contact_brings_its_client(self):
		client = make_client().name
		contact = make_contact(client)
		call = make_call(phone=contact.phone_nos[0].phone)
		self.assertEqual((call.client, call.contact), (client, contact.name))

	def test_not_linked_when_ambiguous_or_already_linked(self):
		phone = unique_mobile()
		make_lead(phone=phone, email=None)
		make_lead(phone=phone, email=None)
		call = make_call(phone=phone)
		self.assertEqual((call.lead, call.client, call.contact), (None, None, None))

		unknown = make_call(phone=unique_mobile())
		self.assertEqual((unknown.lead, unknown.client, unknown.contact), (None, None, None))

		lead = make_lead(phone=unique_mobile())
		client = make_client().name
		call = make_call(phone=lead.phone, client=client)
		self.assertEqual((call.lead, call.client), (None, client))  # given links win

	def test_client_from_deal(self):
		client = make_client().name
		deal = make_deal(client)
		self.assertEqual(make_call(deal=deal.name).client, client)

	def test_call_shows_on_the_timelines_of_its_records(self):
		client = make_client().name
		contact = make_contact(client).name
		deal = make_deal(client).name
		call = make_call(client=client, contact=contact, deal=deal, topic="Счёт <script>")
		for doctype, name in (("CRM Client", client), ("Contact", contact), ("CRM Deal", deal)):
			with self.subTest(doctype):
				contents = [i["content"] for i in get_timeline_content(doctype, name)]
				self.assertTrue(any(call.name in c for c in contents), contents)
		self.assertIn("Счёт &lt;script&gt;", get_timeline_content("CRM Deal", deal)[0]["content"])

		get_docinfo(doctype="CRM Client", name=client)
		items = frappe.response["docinfo"]["additional_timeline_content"]
		self.assertEqual([i["icon"] for i in items if call.name in i["content"]], ["call"])
		self.assertEqual(frappe.get_meta("CRM Call").timeline_field, "client")


class TestCRMCallRest(CRMRestTestCase):
	def setUp(self):
		super().setUp()
		self.user = make_user("records.admin@example.com", roles=("System Manager",)).name
		frappe.db.commit()

	def test_rest_insert_normalises_and_links(self):
		phone = unique_mobile()
		lead = self.track("CRM Lead", make_lead(phone=phone).name)
		frappe.db.commit()
		call_id = unique("pbx-")
		r = self.rest_insert("CRM Call", {"phone": phone, "call_id": call_id, "duration": 30}, user=self.user)
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(
			(r.data["phone_normalized"], r.data["lead"], r.data["manager"]), (e164(phone), lead, self.user)
		)

		r = self.rest_insert("CRM Call", {"phone": phone, "call_id": call_id}, user=self.user)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("DuplicateCallError", r.text)

		r = self.rest_insert("CRM Call", {"phone": phone, "duration": -1}, user=self.user)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("CallDurationError", r.text)

		r = self.rest_insert("CRM Call", {"phone": "не номер"}, user=self.user)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("InvalidPhoneError", r.text)
