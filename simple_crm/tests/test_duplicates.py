"""Duplicate control across leads, clients, contacts and counterparties: policy, index, API, merge."""

import json
from urllib.parse import urlencode

import frappe
import frappe.share
from frappe.tests.utils import change_settings

from simple_crm.api.duplicates import MergeError, find_duplicates, merge
from simple_crm.benchmarks.duplicate_lookup import explain, seed, synthetic_email, synthetic_phone
from simple_crm.duplicates import CONTACT_POINT, DuplicateRecordError
from simple_crm.tests.factories import (
	make_client,
	make_contact,
	make_counterparty,
	make_deal,
	make_lead,
	make_task,
	make_user,
	unique,
	unique_email,
)
from simple_crm.tests.utils import CRMRestTestCase, CRMTestCase
from simple_crm.validation import InvalidPhoneError

PHONE = "8 (912) 345-67-89"
E164 = "+79123456789"
SBER_INN = "7707083893"


def points(doctype: str, name: str) -> list[tuple[str, str]]:
	"""The index rows of a record, duplicates included (sorted list, not a set)."""
	rows = frappe.get_all(
		CONTACT_POINT,
		filters={"reference_doctype": doctype, "reference_name": name},
		fields=["kind", "value"],
	)
	return sorted((r.kind, r.value) for r in rows)


def messages() -> str:
	return "\n".join(str(m.get("message", m)) if isinstance(m, dict) else str(m) for m in frappe.message_log)


def block():
	return change_settings("Simple CRM Settings", duplicate_policy="Block")


class TestDuplicatePolicy(CRMTestCase):
	def setUp(self):
		super().setUp()
		frappe.clear_messages()

	def test_warn_saves_and_names_the_match(self):
		first = make_lead(phone=PHONE, lead_name="Первый Лид")
		second = make_lead(phone="+7 912 345 67 89")
		self.assertTrue(frappe.db.exists("CRM Lead", second.name))
		self.assertEqual(
			[(m.doctype, m.name, m.title, m.matched_on) for m in second.flags.duplicates],
			[("CRM Lead", first.name, "Первый Лид", [{"kind": "Phone", "value": E164}])],
		)
		self.assertIn("Possible duplicate", messages())
		self.assertIn(f"/app/crm-lead/{first.name}", messages())

	def test_block_refuses_and_saves_nothing(self):
		first = make_lead(phone=PHONE)
		before = frappe.db.count("CRM Lead")
		with block():
			with self.assertRaises(DuplicateRecordError) as ctx:
				make_lead(phone="9123456789")
		self.assertIn(first.name, str(ctx.exception))
		self.assertEqual(frappe.db.count("CRM Lead"), before)

	def test_found_across_doctypes(self):
		lead = make_lead(email="Buyer@Romashka.ru")
		contact = make_contact(phone=PHONE)
		counterparty = make_counterparty(inn=SBER_INN)
		with block():
			with self.assertRaises(DuplicateRecordError) as ctx:
				make_client(email="buyer@romashka.ru")
			self.assertIn(lead.name, str(ctx.exception))
			with self.assertRaises(DuplicateRecordError) as ctx:
				make_lead(phone="9123456789")
			self.assertIn(contact.name, str(ctx.exception))
			with self.assertRaises(DuplicateRecordError) as ctx:
				make_counterparty(inn="7707 083 893")
			self.assertIn(counterparty.name, str(ctx.exception))
			with self.assertRaises(DuplicateRecordError):
				make_contact(email="BUYER@romashka.ru")

	def test_only_values_the_save_adds_are_judged(self):
		first = make_lead(phone=PHONE)
		second = make_lead(phone=PHONE)  # warned, saved
		with block():
			second.reload()
			second.interest = "Another field changed"
			second.save()  # the known twin does not block other edits
			second.reload()
			second.email = first.email
			with self.assertRaises(DuplicateRecordError):
				second.save()

	def test_converted_leads_are_history(self):
		lead = make_lead(phone=PHONE)
		lead.db_set("status", "Converted")
		with block():
			client = make_client(phone=PHONE)
		self.assertFalse(client.flags.duplicates)

	def test_records_of_one_client_are_not_duplicates(self):
		lead = make_lead(phone=PHONE)
		with block():
			client = make_client(phone=PHONE, source_lead=lead.name)
			make_contact(client=client.name, phone=PHONE)
			make_counterparty(client=client.name, phone=PHONE)
			# a lead that became this client (only the conversion links a lead to a client)
			lead_of_client = frappe.get_doc(
				{"doctype": "CRM Lead", "lead_name": "Иван", "phone": PHONE, "client": client.name}
			)
			lead_of_client.flags.from_conversion = True
			lead_of_client.insert()
		# another client with that phone is a duplicate of all of them
		with block(), self.assertRaises(DuplicateRecordError):
			make_client(phone=PHONE)

	def test_message_escapes_what_users_typed(self):
		make_lead(phone=PHONE, lead_name="<b>Bold</b> & Co")
		make_lead(phone=PHONE)
		self.assertNotIn("<b>Bold</b>", messages())
		self.assertIn("&lt;b&gt;Bold&lt;/b&gt;", messages())

	def test_index_after_merge_by_rename(self):
		source = make_lead(phone=PHONE, email=unique_email())
		target = make_lead(phone=PHONE, email=unique_email())
		frappe.rename_doc("CRM Lead", source.name, target.name, merge=True, rebuild_search=False)
		self.assertEqual(points("CRM Lead", source.name), [])
		self.assertEqual(points("CRM Lead", target.name), [("Email", target.email), ("Phone", E164)])


class TestFindDuplicates(CRMTestCase):
	def test_for_a_record(self):
		manager = make_user().name
		first = make_lead(phone=PHONE, lead_name="Первый", responsible=manager)
		second = make_lead(phone="9123456789", email=first.email)
		self.assertEqual(
			find_duplicates("CRM Lead", second.name),
			[
				{
					"doctype": "CRM Lead",
					"name": first.name,
					"title": "Первый",
					"responsible": manager,
					"responsible_name": frappe.utils.get_fullname(manager),
					"matched_on": [{"kind": "Email", "value": first.email}, {"kind": "Phone", "value": E164}],
					"readable": True,
				}
			],
		)
		self.assertEqual([m["name"] for m in find_duplicates("CRM Lead", first.name)], [second.name])

	def test_for_raw_values(self):
		lead = make_lead(phone="+7 912 345 67 89", email="buyer@romashka.ru")
		counterparty = make_counterparty(inn=SBER_INN)
		found = find_duplicates("CRM Client", phone=PHONE, email="Buyer@Romashka.RU", inn="7707 083 893")
		self.assertEqual(
			[(m["doctype"], m["name"]) for m in found],
			[("CRM Counterparty", counterparty.name), ("CRM Lead", lead.name)],
		)
		self.assertEqual(len(found[1]["matched_on"]), 2)
		self.assertEqual(find_duplicates("CRM Client", phone="(495) 000-00-01"), [])
		with self.assertRaises(InvalidPhoneError):
			find_duplicates("CRM Client", phone="garbage")
		with self.assertRaises(frappe.ValidationError):
			find_duplicates("ToDo", phone=PHONE)

	def test_unreadable_match_is_reported_without_title(self):
		manager_a = make_user().name
		manager_b = make_user().name
		theirs = make_lead(phone=PHONE, lead_name="Чужой клиент", responsible=manager_a)
		mine = make_lead(phone=PHONE, lead_name="Мой клиент", responsible=manager_b)
		frappe.share.add_docshare(
			"CRM Lead", mine.name, manager_b, read=1, flags={"ignore_share_permission": True}
		)
		with self.set_user(manager_b):
			self.assertEqual(
				find_duplicates("CRM Lead", mine.name),
				[
					{
						"doctype": "CRM Lead",
						"name": None,
						"title": None,
						"responsible": manager_a,
						"responsible_name": frappe.utils.get_fullname(manager_a),
						"matched_on": [{"kind": "Phone", "value": E164}],
						"readable": False,
					}
				],
			)
			with self.assertRaises(frappe.PermissionError):
				find_duplicates("CRM Lead", theirs.name)
		# whoever may read it sees the title
		self.assertEqual(find_duplicates("CRM Lead", mine.name)[0]["title"], "Чужой клиент")


class TestMerge(CRMTestCase):
	def test_merge_clients_keeps_every_link(self):
		source = make_client(phone=PHONE, email=unique_email())
		target = make_client(email=unique_email())
		deal = make_deal(client=source.name)
		task = make_task(reference_doctype="CRM Client", reference_name=source.name)
		contact = make_contact(client=source.name)
		counterparty = make_counterparty(client=source.name)

		self.assertEqual(merge("CRM Client", source.name, target.name)["name"], target.name)

		self.assertFalse(frappe.db.exists("CRM Client", source.name))
		self.assertEqual(frappe.db.get_value("CRM Deal", deal.name, "client"), target.name)
		self.assertEqual(frappe.db.get_value("CRM Task", task.name, "reference_name"), target.name)
		self.assertEqual(frappe.db.get_value("CRM Counterparty", counterparty.name, "client"), target.name)
		self.assertEqual(
			[(l.link_doctype, l.link_name) for l in frappe.get_doc("Contact", contact.name).links],
			[("CRM Client", target.name)],
		)
		# the index holds the surviving record's own values, once each
		self.assertEqual(points("CRM Client", source.name), [])
		self.assertEqual(points("CRM Client", target.name), [("Email", target.email)])

	def test_merge_contacts(self):
		source = make_contact(phone=PHONE)
		target = make_contact(phone=PHONE)
		merge("Contact", source.name, target.name)
		self.assertFalse(frappe.db.exists("Contact", source.name))
		self.assertEqual(
			points("Contact", target.name), [("Email", target.email_ids[0].email_id), ("Phone", E164)]
		)

	def test_merge_checks(self):
		lead = make_lead()
		with self.assertRaises(MergeError):
			merge("CRM Lead", lead.name, lead.name)
		with self.assertRaises(frappe.DoesNotExistError):
			merge("CRM Lead", lead.name, "LEAD-NO-SUCH")
		with self.assertRaises(frappe.ValidationError):
			merge("CRM Deal", lead.name, lead.name)

	def test_merge_needs_write_and_delete_on_both(self):
		manager = make_user().name
		source = make_lead(responsible=manager)
		target = make_lead(responsible=manager)
		for name in (source.name, target.name):
			frappe.share.add_docshare(
				"CRM Lead", name, manager, read=1, write=1, flags={"ignore_share_permission": True}
			)
		with self.set_user(manager), self.assertRaises(frappe.PermissionError):
			merge("CRM Lead", source.name, target.name)
		self.assertTrue(frappe.db.exists("CRM Lead", source.name))


class TestLookupUsesIndex(CRMTestCase):
	"""The lookup query reads kind_value_index: proven with EXPLAIN on a table of realistic size."""

	def test_explain(self):
		tag = seed(3000)  # 6000 index rows, rolled back after the test
		one = explain({("Phone", synthetic_phone(1234))})
		self.assertEqual(len(one), 1)
		self.assertEqual(one[0]["key"], "kind_value_index")
		self.assertEqual(one[0]["type"], "ref")
		several = explain({("Phone", synthetic_phone(10)), ("Email", synthetic_email(tag, 20))})
		self.assertEqual(several[0]["key"], "kind_value_index")
		self.assertIn(several[0]["type"], ("ref", "range"))
		self.assertLess(int(several[0]["rows"]), 10)


class TestDuplicatesRest(CRMRestTestCase):
	def get(self, method: str, user: str = "Administrator", **params):
		return self.request("GET", f"/api/method/{method}?{urlencode(params)}", user)

	def test_warn_over_rest(self):
		r = self.rest_insert("CRM Lead", {"lead_name": "REST First", "phone": PHONE})
		self.assertEqual(r.status_code, 200, r.text)
		first = r.data["name"]
		r = self.rest_insert("CRM Lead", {"lead_name": "REST Second", "phone": "9123456789"})
		self.assertEqual(r.status_code, 200, r.text)
		server_messages = r.json.get("_server_messages", "")
		self.assertIn("Possible duplicate", server_messages)
		self.assertIn(first, server_messages)

	def test_block_over_rest(self):
		r = self.rest_insert("CRM Client", {"client_name": unique("ООО "), "email": "rest.buyer@romashka.ru"})
		self.assertEqual(r.status_code, 200, r.text)
		client = r.data["name"]
		before = frappe.db.count("CRM Lead")
		with change_settings("Simple CRM Settings", duplicate_policy="Block", commit=True):
			r = self.rest_insert("CRM Lead", {"lead_name": "REST", "email": "REST.Buyer@romashka.ru"})
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("DuplicateRecordError", r.json.get("exc_type", ""))
		self.assertIn("already used by", r.error_text())
		self.assertIn(client, r.error_text())
		frappe.db.rollback()
		self.assertEqual(frappe.db.count("CRM Lead"), before)

	def test_find_duplicates_over_rest(self):
		manager_a = make_user().name
		manager_b = make_user().name
		theirs = self.track("CRM Lead", make_lead(phone=PHONE, responsible=manager_a).name)
		mine = self.track("CRM Lead", make_lead(phone=PHONE, responsible=manager_b).name)
		frappe.share.add_docshare(
			"CRM Lead", mine, manager_b, read=1, flags={"ignore_share_permission": True}
		)
		frappe.db.commit()

		method = "simple_crm.api.duplicates.find_duplicates"
		r = self.get(method, manager_b, doctype="CRM Lead", name=mine)
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(
			[(m["name"], m["title"], m["responsible"], m["readable"]) for m in r.data],
			[(None, None, manager_a, False)],
		)
		r = self.get(method, manager_b, doctype="CRM Lead", name=theirs)
		self.assertEqual(r.status_code, 403, r.text)
		r = self.get(method, doctype="CRM Client", phone="+7 912 345 67 89")
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(sorted(m["name"] for m in r.data), sorted([theirs, mine]))
		r = self.get(method, doctype="CRM Client", phone="garbage")
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("'garbage' is not a phone number", r.error_text())
		# find_duplicates answers GET only (Frappe refuses other methods with 403)
		self.assertEqual(self.rest_call(method, {"doctype": "CRM Lead", "name": mine}).status_code, 403)

	def test_merge_over_rest(self):
		source = self.track("CRM Client", make_client(phone=PHONE).name)
		target = self.track("CRM Client", make_client().name)
		deal = self.track("CRM Deal", make_deal(client=source).name)
		task = self.track("CRM Task", make_task(reference_doctype="CRM Client", reference_name=source).name)
		contact = self.track("Contact", make_contact(client=source).name)
		manager = make_user().name
		frappe.db.commit()

		method = "simple_crm.api.duplicates.merge"
		r = self.rest_call(
			method, {"doctype": "CRM Client", "source": source, "target": target}, user=manager
		)
		self.assertEqual(r.status_code, 403, r.text)
		frappe.db.rollback()
		self.assertTrue(frappe.db.exists("CRM Client", source))

		# merge answers POST only
		r = self.request("GET", f"/api/method/{method}?doctype=CRM+Client&source={source}&target={target}")
		self.assertEqual(r.status_code, 403, r.text)
		frappe.db.rollback()
		self.assertTrue(frappe.db.exists("CRM Client", source))

		r = self.rest_call(method, {"doctype": "CRM Client", "source": source, "target": target})
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(r.data, {"doctype": "CRM Client", "name": target, "merged": source})
		frappe.db.rollback()
		self.assertFalse(frappe.db.exists("CRM Client", source))
		self.assertEqual(frappe.db.get_value("CRM Deal", deal, "client"), target)
		self.assertEqual(frappe.db.get_value("CRM Task", task, "reference_name"), target)
		self.assertEqual(
			frappe.get_all("Dynamic Link", {"parent": contact, "parenttype": "Contact"}, pluck="link_name"),
			[target],
		)
		self.assertEqual(points("CRM Client", source), [])
		self.assertEqual(points("CRM Client", target), [])
