# Copyright (c) 2026, simple_crm developers and Contributors
# See license.txt

import frappe
from frappe.tests.utils import change_settings

from simple_crm.simple_crm.doctype.crm_lead.crm_lead import LeadConvertedError, LostReasonRequiredError
from simple_crm.tests.factories import make_lead, unique_email
from simple_crm.tests.utils import CRMRestTestCase, CRMTestCase
from simple_crm.validation import InvalidEmailError, InvalidPhoneError

ONE_NUMBER = ("8 (912) 345-67-89", "+7 912 345 67 89", "9123456789", "8-912-345-67-89")


def new_lead(**kwargs):
	return frappe.get_doc({"doctype": "CRM Lead", "lead_name": "Пётр Сидоров", **kwargs})


def points(name: str) -> set[tuple[str, str]]:
	rows = frappe.get_all(
		"CRM Contact Point",
		filters={"reference_doctype": "CRM Lead", "reference_name": name},
		fields=["kind", "value"],
	)
	return {(r.kind, r.value) for r in rows}


class TestLeadPhonesAndEmails(CRMTestCase):
	def test_forms_of_one_number_give_one_e164(self):
		for raw in ONE_NUMBER:
			lead = new_lead(phone=raw, mobile_no=raw).insert()
			self.assertEqual(lead.phone, raw, "what the user typed is kept")
			self.assertEqual(lead.phone_normalized, "+79123456789")
			self.assertEqual(lead.mobile_no_normalized, "+79123456789")

	def test_landline_uses_default_region(self):
		lead = new_lead(phone="(495) 123-45-67").insert()
		self.assertEqual(lead.phone_normalized, "+74951234567")

	def test_default_region_setting_changes_interpretation(self):
		with change_settings("Simple CRM Settings", default_phone_region="BY"):
			lead = new_lead(phone="(29) 123-45-67").insert()
			self.assertEqual(lead.phone_normalized, "+375291234567")
			with self.assertRaises(InvalidPhoneError):
				new_lead(phone="(495) 123-45-67").insert()
			# an international number does not depend on the region
			self.assertEqual(new_lead(phone="+7 912 345 67 89").insert().phone_normalized, "+79123456789")
		# back to RU: the Belarusian national number is no longer valid, the Moscow one is
		with self.assertRaises(InvalidPhoneError):
			new_lead(phone="(29) 123-45-67").insert()
		self.assertEqual(new_lead(phone="(495) 123-45-67").insert().phone_normalized, "+74951234567")

	def test_garbage_phone_is_refused_and_nothing_saved(self):
		before = frappe.db.count("CRM Lead")
		for raw in ("garbage", "123", "8 (912) 345-67"):
			with self.assertRaises(InvalidPhoneError) as ctx:
				new_lead(phone=raw).insert()
			self.assertIn(raw, str(ctx.exception))
		with self.assertRaises(InvalidPhoneError):
			new_lead(mobile_no="call me").insert()
		self.assertEqual(frappe.db.count("CRM Lead"), before)

	def test_garbage_on_update_keeps_stored_values(self):
		lead = new_lead(phone="9123456789").insert()
		lead.phone = "not a phone"
		with self.assertRaises(InvalidPhoneError):
			lead.save()
		self.assertEqual(frappe.db.get_value("CRM Lead", lead.name, "phone_normalized"), "+79123456789")

	def test_clearing_phone_clears_normalized(self):
		lead = new_lead(phone="9123456789").insert()
		lead.phone = ""
		lead.save()
		self.assertIsNone(lead.phone_normalized)
		self.assertEqual(points(lead.name), set())

	def test_email_lower_cased_and_validated(self):
		lead = new_lead(email="  Ivan.Petrov@Example.COM ").insert()
		self.assertEqual(lead.email, "ivan.petrov@example.com")
		with self.assertRaises(InvalidEmailError):
			new_lead(email="ivan.petrov(at)example").insert()


class TestLeadRules(CRMTestCase):
	def test_channel_follows_source(self):
		lead = new_lead(source="Exhibition").insert()
		self.assertEqual(lead.channel, "Exhibition")
		lead.source = "Website"
		lead.save()
		self.assertEqual(lead.channel, "Website")

	def test_channel_chosen_by_user_is_kept(self):
		lead = new_lead(source="Referral", channel="Phone").insert()
		self.assertEqual(lead.channel, "Phone")
		lead.lead_name = "Пётр Иванов"
		lead.save()
		self.assertEqual(lead.channel, "Phone")

	def test_disqualified_requires_lost_reason(self):
		lead = make_lead()
		lead.status = "Disqualified"
		with self.assertRaises(LostReasonRequiredError):
			lead.save()
		lead.reload()
		lead.status = "Disqualified"
		lead.lost_reason = "Spam"
		lead.save()
		self.assertEqual(frappe.db.get_value("CRM Lead", lead.name, "status"), "Disqualified")

	def test_converted_lead_is_read_only(self):
		lead = make_lead()
		lead.db_set("status", "Converted")
		lead.reload()
		lead.interest = "Something else"
		with self.assertRaises(LeadConvertedError):
			lead.save()
		lead.reload()
		lead.phone = "8 (912) 000-00-01"
		with self.assertRaises(LeadConvertedError):
			lead.save()

	def test_converted_lead_saves_without_changes_and_by_conversion(self):
		lead = make_lead()
		lead.db_set("status", "Converted")
		lead.reload()
		lead.save()  # nothing changed: nothing to refuse
		lead.interest = "Written by the conversion"
		lead.flags.from_conversion = True
		lead.save()
		self.assertEqual(frappe.db.get_value("CRM Lead", lead.name, "interest"), "Written by the conversion")


class TestLeadResponseTime(CRMTestCase):
	def test_first_response_recorded_when_lead_leaves_new(self):
		with self.freeze_time("2026-03-02 10:00:00"):
			lead = make_lead()
		self.assertEqual(str(lead.received_on), "2026-03-02 10:00:00")
		self.assertFalse(lead.first_response_on)
		with self.freeze_time("2026-03-02 10:25:00"):
			lead.reload()
			lead.status = "In Progress"
			lead.save()
		self.assertEqual(str(lead.first_response_on), "2026-03-02 10:25:00")
		with self.freeze_time("2026-03-03 09:00:00"):
			lead.reload()
			lead.status = "Qualified"
			lead.save()
		self.assertEqual(str(lead.first_response_on), "2026-03-02 10:25:00")


class TestLeadIndex(CRMTestCase):
	def test_index_follows_the_lead(self):
		lead = new_lead(phone="9123456789", mobile_no="+7 912 345 67 89", email="A@Example.com").insert()
		# the same number twice is indexed once
		self.assertEqual(points(lead.name), {("Phone", "+79123456789"), ("Email", "a@example.com")})
		lead.mobile_no = "(495) 123-45-67"
		lead.email = ""
		lead.save()
		self.assertEqual(points(lead.name), {("Phone", "+79123456789"), ("Phone", "+74951234567")})
		lead.delete()
		self.assertEqual(points(lead.name), set())

	def test_rename_moves_index(self):
		lead = new_lead(phone="9123456789").insert()
		frappe.rename_doc("CRM Lead", lead.name, "LEAD-RENAMED-TEST", rebuild_search=False)
		self.assertEqual(points(lead.name), set())
		self.assertEqual(points("LEAD-RENAMED-TEST"), {("Phone", "+79123456789")})


class TestLeadRest(CRMRestTestCase):
	def test_rest_normalises_and_refuses_garbage(self):
		r = self.rest_insert(
			"CRM Lead", {"lead_name": "REST Lead", "phone": "8-912-345-67-89", "email": "REST@Example.com"}
		)
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(r.data["phone"], "8-912-345-67-89")
		self.assertEqual(r.data["phone_normalized"], "+79123456789")
		self.assertEqual(r.data["email"], "rest@example.com")

		frappe.db.rollback()  # a fresh snapshot: the request committed in its own connection
		before = frappe.db.count("CRM Lead")
		r = self.rest_insert("CRM Lead", {"lead_name": "REST Lead", "phone": "garbage"})
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("InvalidPhoneError", r.json.get("exc_type", ""))
		self.assertIn("'garbage' is not a phone number", r.error_text())

		r = self.rest_insert("CRM Lead", {"lead_name": "REST Lead", "email": "nobody-at-example"})
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("'nobody-at-example' is not a valid e-mail address", r.error_text())
		frappe.db.rollback()
		self.assertEqual(frappe.db.count("CRM Lead"), before)

	def test_rest_lost_reason_and_converted(self):
		r = self.rest_insert("CRM Lead", {"lead_name": "REST Lead", "email": unique_email()})
		self.assertEqual(r.status_code, 200, r.text)
		name = r.data["name"]

		r = self.rest_update("CRM Lead", name, {"status": "Disqualified"})
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("Select a lost reason", r.error_text())
		self.assertEqual(frappe.db.get_value("CRM Lead", name, "status"), "New")

		frappe.db.set_value("CRM Lead", name, "status", "Converted")
		frappe.db.commit()
		try:
			r = self.rest_update("CRM Lead", name, {"interest": "Changed over REST"})
			self.assertEqual(r.status_code, 417, r.text)
			self.assertIn("is converted and can no longer be changed", r.error_text())
			frappe.db.rollback()
			self.assertFalse(frappe.db.get_value("CRM Lead", name, "interest"))
		finally:
			# a converted lead is never deleted: let the cleanup remove it
			frappe.db.set_value("CRM Lead", name, "status", "New")
			frappe.db.commit()
