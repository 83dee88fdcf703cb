"""Lead conversion (simple_crm.conversion and the simple_crm.api.lead.convert endpoint)."""

import json

import frappe
from frappe.tests.utils import patch_hooks
from frappe.utils import now_datetime
from frappe.utils.global_search import sync_global_search

from simple_crm.conversion import LeadAlreadyConvertedError, LeadConversionError, convert_lead
from simple_crm.tests.factories import (
	make_call,
	make_client,
	make_contact,
	make_lead,
	make_task,
	make_user,
	unique,
	unique_email,
	unique_mobile,
)
from simple_crm.tests.sales_org import SalesOrgRestTestCase, email
from simple_crm.tests.utils import CRMRestTestCase, CRMTestCase


class ForcedFailure(frappe.ValidationError):
	pass


def fail_after_deal_insert(doc, method=None):
	"""doc_events hook used by a test: the deal is already in the table when this throws."""
	frappe.throw("forced failure after the deal was inserted", ForcedFailure)


def created_from(lead: str) -> dict[str, list[str]]:
	"""Everything a conversion of `lead` may have created."""
	return {
		"clients": frappe.get_all("CRM Client", {"source_lead": lead}, pluck="name"),
		"deals": frappe.get_all("CRM Deal", {"source_lead": lead}, pluck="name"),
		"contacts": frappe.get_all(
			"Dynamic Link",
			{"parenttype": "Contact", "link_doctype": "CRM Lead", "link_name": lead},
			pluck="parent",
		),
	}


NOTHING = {"clients": [], "deals": [], "contacts": []}


def search_queue() -> list[dict]:
	"""What waits in Redis to be written into global search (Frappe's scheduled sync_global_search)."""
	return [json.loads(item) for item in frappe.cache.lrange("global_search_queue", 0, -1)]


def in_global_search(doctype: str, text: str) -> bool:
	"""Whether a record of `doctype` titled or described with `text` is in the search bar's table or on
	its way there."""
	queued = any(
		item["doctype"] == doctype and text in (item.get("title") or "") + (item.get("content") or "")
		for item in search_queue()
	)
	sync_global_search()
	stored = frappe.db.sql(
		"select name from `__global_search` where doctype = %s and (title like %s or content like %s)",
		(doctype, f"%{text}%", f"%{text}%"),
	)
	return queued or bool(stored)


def forget_doc_events():
	"""Frappe caches the doc_events hooks per request; drop them so patched hooks are read."""
	if hasattr(frappe.local, "doc_events_hooks"):
		del frappe.local.doc_events_hooks


class TestConversion(CRMTestCase):
	def setUp(self):
		super().setUp()
		self.manager = make_user(
			"records.sales@example.com", roles=("System Manager", "CRM Sales Manager")
		).name

	def test_organisation_with_contact_and_deal(self):
		lead = make_lead(
			lead_name="Иван Сергеевич Петров",
			company_name="ООО Ромашка",
			mobile_no=unique_mobile(),
			responsible=self.manager,
			interest="Поставка кирпича\nи цемента",
		)
		result = convert_lead(lead.name, client_type="Organisation", deal_amount=150000)

		client = frappe.get_doc("CRM Client", result.client)
		self.assertEqual(
			(client.client_name, client.client_type, client.source_lead, client.responsible),
			("ООО Ромашка", "Organisation", lead.name, self.manager),
		)
		# the client is called back at the number the lead came with
		self.assertEqual(client.phone, lead.phone)

		contact = frappe.get_doc("Contact", result.contact)
		self.assertEqual((contact.first_name, contact.last_name), ("Иван", "Сергеевич Петров"))
		self.assertEqual(sorted(p.phone for p in contact.phone_nos), sorted([lead.phone, lead.mobile_no]))
		self.assertEqual([e.email_id for e in contact.email_ids], [lead.email])
		self.assertEqual(
			{(link.link_doctype, link.link_name) for link in contact.links},
			{("CRM Client", client.name), ("CRM Lead", lead.name)},
		)
		self.assertEqual(contact.crm_responsible, self.manager)

		deal = frappe.get_doc("CRM Deal", result.deal)
		self.assertEqual(
			(deal.pipeline, deal.stage, deal.client, deal.source_lead, deal.amount, deal.responsible),
			("Sales", "Qualification", client.name, lead.name, 150000, self.manager),
		)
		self.assertEqual(deal.deal_name, "ООО Ромашка — Поставка кирпича")
		self.assertEqual([(c.contact, c.is_primary) for c in deal.contacts], [(contact.name, 1)])

		lead.reload()
		self.assertEqual(
			(lead.status, lead.client, lead.contact, lead.deal),
			("Converted", client.name, contact.name, deal.name),
		)
		self.assertTrue(lead.converted_on)

	def test_a_number_dictated_with_an_extension_reaches_the_contact_person(self):
		"""A lead takes the number as dictated ("доб. 12", longer than Frappe's phone field of a contact takes):
		the client keeps it as typed, the contact person gets it in the international form with the extension,
		and both are found by the same number."""
		typed = f"{unique_mobile()} доб. 12"
		lead = make_lead(phone=typed, responsible=self.manager)
		result = convert_lead(lead.name, client_type="Organisation", create_deal=False)

		self.assertEqual(frappe.db.get_value("CRM Client", result.client, "phone"), typed)
		contact = frappe.get_doc("Contact", result.contact)
		national = lead.phone_normalized[2:]
		self.assertEqual(
			[(p.phone, p.crm_phone_normalized) for p in contact.phone_nos],
			[
				(
					f"+7 {national[:3]} {national[3:6]}-{national[6:8]}-{national[8:]}#12",
					lead.phone_normalized,
				)
			],
		)

	def test_individual_without_deal(self):
		lead = make_lead(lead_name="Мария Иванова", company_name=None)
		result = convert_lead(lead, client_type="Individual", create_deal=False)
		client = frappe.get_doc("CRM Client", result.client)
		self.assertEqual((client.client_name, client.client_type), ("Мария Иванова", "Individual"))
		self.assertEqual((client.phone, client.email), (lead.phone, lead.email))
		self.assertIsNone(result.deal)
		self.assertIsNone(frappe.db.get_value("CRM Lead", lead.name, "deal"))
		self.assertEqual(frappe.db.get_value("CRM Lead", lead.name, "status"), "Converted")

	def test_organisation_needs_a_company_name(self):
		lead = make_lead(company_name=None)
		with self.assertRaisesRegex(LeadConversionError, "no company name"):
			convert_lead(lead.name, client_type="Organisation")
		self.assertEqual(created_from(lead.name), NOTHING)

	def test_bad_client_type(self):
		lead = make_lead()
		with self.assertRaises(LeadConversionError):
			convert_lead(lead.name, client_type="Holding")

	def test_existing_client_is_reused(self):
		client = make_client().name
		lead = make_lead()
		result = convert_lead(lead.name, existing_client=client)
		self.assertEqual(result.client, client)
		self.assertEqual(frappe.db.get_value("CRM Deal", result.deal, "client"), client)
		self.assertIn(
			("CRM Client", client),
			{(l.link_doctype, l.link_name) for l in frappe.get_doc("Contact", result.contact).links},
		)
		self.assertEqual(created_from(lead.name)["clients"], [])  # no new client

	def test_client_found_by_email_is_reused(self):
		email = unique_email("known")
		client = make_client(email=email).name
		lead = make_lead(email=email)
		self.assertEqual(convert_lead(lead.name).client, client)

	def test_contact_found_by_phone_is_reused_with_its_client(self):
		client = make_client().name
		phone = unique_mobile()
		contact = make_contact(client, phone=phone).name
		lead = make_lead(phone=phone)
		result = convert_lead(lead.name)
		self.assertEqual((result.client, result.contact), (client, contact))
		links = {(l.link_doctype, l.link_name) for l in frappe.get_doc("Contact", contact).links}
		self.assertIn(("CRM Lead", lead.name), links)

	def test_ambiguous_match_creates_a_new_client(self):
		email = unique_email("shared")
		first, second = make_client(email=email).name, make_client(email=email).name
		lead = make_lead(email=email)
		result = convert_lead(lead.name)
		self.assertNotIn(result.client, (first, second))
		self.assertEqual(created_from(lead.name)["clients"], [result.client])

	def test_history_goes_on_with_the_client(self):
		lead = make_lead()
		comment = lead.add_comment("Comment", "Просил перезвонить после обеда")
		frappe.db.set_value("Comment", comment.name, "creation", "2026-01-15 10:00:00", update_modified=False)
		lead.add_comment("Info", "not a user comment")
		email = frappe.get_doc(
			{
				"doctype": "Communication",
				"communication_type": "Communication",
				"communication_medium": "Email",
				"sent_or_received": "Received",
				"subject": "Запрос цены",
				"content": "Добрый день",
				"sender": lead.email,
				"reference_doctype": "CRM Lead",
				"reference_name": lead.name,
			}
		).insert(ignore_permissions=True)
		call = make_call(lead=lead.name)
		task = make_task(reference_doctype="CRM Lead", reference_name=lead.name, subject="Отправить прайс")

		result = convert_lead(lead.name)

		copies = frappe.get_all(
			"Comment",
			{"reference_doctype": "CRM Client", "reference_name": result.client, "comment_type": "Comment"},
			["content", "owner", "creation"],
		)
		self.assertEqual(len(copies), 1)
		self.assertEqual(copies[0].content, "Просил перезвонить после обеда")
		self.assertEqual(str(copies[0].creation), "2026-01-15 10:00:00")
		self.assertEqual(
			frappe.db.count("Comment", {"reference_name": lead.name, "comment_type": "Comment"}), 1
		)

		links = frappe.get_doc("Communication", email.name).timeline_links
		self.assertIn(("CRM Client", result.client), {(l.link_doctype, l.link_name) for l in links})

		self.assertEqual(
			frappe.db.get_value("CRM Call", call.name, ["lead", "client", "contact"]),
			(lead.name, result.client, result.contact),
		)

		notes = frappe.get_all(
			"Comment",
			{"reference_doctype": "CRM Client", "reference_name": result.client, "comment_type": "Info"},
			pluck="content",
		)
		self.assertEqual(len(notes), 1)
		self.assertIn(lead.name, notes[0])
		self.assertIn(task.name, notes[0])
		self.assertEqual(frappe.db.get_value("CRM Task", task.name, "reference_name"), lead.name)

	def test_converted_lead_cannot_be_converted_again(self):
		lead = make_lead()
		convert_lead(lead.name)
		with self.assertRaisesRegex(LeadAlreadyConvertedError, "already been converted"):
			convert_lead(lead.name)
		self.assertEqual(len(created_from(lead.name)["clients"]), 1)

	def test_disqualified_lead_is_not_converted(self):
		lead = make_lead()
		frappe.db.set_value("CRM Lead", lead.name, {"status": "Disqualified", "lost_reason": "Spam"})
		with self.assertRaisesRegex(LeadConversionError, "disqualified"):
			convert_lead(lead.name)

	def assert_lead_untouched(self, lead, before):
		self.assertEqual(created_from(lead), NOTHING)
		after = frappe.db.get_value(
			"CRM Lead", lead, ["status", "client", "contact", "deal", "converted_on"], as_dict=True
		)
		self.assertEqual(after, before)

	def test_failed_deal_rolls_everything_back(self):
		lead = make_lead()  # written in this transaction, before the savepoint: it must survive
		call = make_call(lead=lead.name)
		lead.add_comment("Comment", "история")
		before = frappe.db.get_value(
			"CRM Lead", lead.name, ["status", "client", "contact", "deal", "converted_on"], as_dict=True
		)

		with self.assertRaises(frappe.NonNegativeError):
			convert_lead(lead.name, deal_amount=-5)

		self.assert_lead_untouched(lead.name, before)
		self.assertEqual(frappe.db.get_value("CRM Call", call.name, ["client", "contact"]), (None, None))
		self.assertEqual(
			frappe.db.count("Comment", {"reference_doctype": "CRM Client", "comment_type": "Comment"}), 0
		)
		# the transaction goes on: the lead can be converted now
		self.assertTrue(convert_lead(lead.name, deal_amount=5).deal)

	def test_failed_conversion_leaves_nothing_in_global_search(self):
		company = unique("ООО Призрак ")
		lead = make_lead(company_name=company)
		with self.assertRaises(frappe.NonNegativeError):
			convert_lead(lead.name, deal_amount=-5)  # the client is inserted, then the deal fails
		self.assertFalse(in_global_search("CRM Client", company))
		# nor is a conversion that succeeds, until it is committed (see TestConversionSearch)
		convert_lead(lead.name, deal_amount=5)
		self.assertFalse(in_global_search("CRM Client", company))

	def test_failure_after_the_deal_is_written_rolls_everything_back(self):
		lead = make_lead()
		before = frappe.db.get_value(
			"CRM Lead", lead.name, ["status", "client", "contact", "deal", "converted_on"], as_dict=True
		)
		doc_events = frappe.get_hooks("doc_events")
		hooks = {
			**doc_events,
			"CRM Deal": {"after_insert": ["simple_crm.tests.test_conversion.fail_after_deal_insert"]},
		}
		deals_before = frappe.db.count("CRM Deal")
		forget_doc_events()
		try:
			with patch_hooks({"doc_events": hooks}), self.assertRaises(ForcedFailure):
				convert_lead(lead.name)
		finally:
			forget_doc_events()
		self.assert_lead_untouched(lead.name, before)
		self.assertEqual(frappe.db.count("CRM Deal"), deals_before)


class TestConversionRest(CRMRestTestCase):
	def setUp(self):
		super().setUp()
		self.user = make_user("records.sales@example.com", roles=("System Manager", "CRM Sales Manager")).name
		self.converted: list[str] = []
		frappe.db.commit()

	def tearDown(self):
		# a converted lead is never deleted (simple_crm.integrity): undo the conversion marks so the
		# cleanup can remove the test records
		frappe.db.rollback()
		for lead in self.converted:
			frappe.db.set_value(
				"CRM Lead",
				lead,
				{"status": "New", "client": None, "contact": None, "deal": None, "converted_on": None},
				update_modified=False,
			)
		frappe.db.commit()
		super().tearDown()

	def lead(self, **kwargs) -> str:
		name = self.track("CRM Lead", make_lead(**kwargs).name)
		frappe.db.commit()
		return name

	def track_conversion(self, lead: str, result: dict):
		self.converted.append(lead)
		self.track("CRM Client", result["client"])
		self.track("Contact", result["contact"])
		if result.get("deal"):
			self.track("CRM Deal", result["deal"])

	def test_rest_convert(self):
		lead = self.lead()
		r = self.rest_call(
			"simple_crm.api.lead.convert",
			{"lead": lead, "client_type": "Organisation", "create_deal": True, "deal_amount": 12000},
			user=self.user,
		)
		self.assertEqual(r.status_code, 200, r.text)
		result = r.data
		self.track_conversion(lead, result)
		frappe.db.rollback()
		self.assertEqual(
			frappe.db.get_value("CRM Lead", lead, ["status", "client"]), ("Converted", result["client"])
		)
		self.assertEqual(
			frappe.db.get_value("CRM Deal", result["deal"], ["amount", "source_lead"]), (12000, lead)
		)
		self.assertEqual(frappe.db.get_value("CRM Client", result["client"], "owner"), self.user)

		r = self.rest_call("simple_crm.api.lead.convert", {"lead": lead}, user=self.user)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("LeadAlreadyConvertedError", r.text)

	def test_rest_failure_creates_nothing(self):
		lead = self.lead()
		r = self.rest_call("simple_crm.api.lead.convert", {"lead": lead, "deal_amount": -5}, user=self.user)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("NonNegativeError", r.text)
		frappe.db.rollback()
		self.assertEqual(created_from(lead), NOTHING)
		self.assertEqual(frappe.db.get_value("CRM Lead", lead, ["status", "client"]), ("New", None))

	def test_rest_requires_permission_and_post(self):
		lead = self.lead()
		outsider = make_user("records.outsider@example.com").name
		frappe.db.commit()
		r = self.rest_call("simple_crm.api.lead.convert", {"lead": lead}, user=outsider)
		self.assertEqual(r.status_code, 403, r.text)
		frappe.db.rollback()
		self.assertEqual(created_from(lead), NOTHING)

		# writes only through POST (v15 answers other methods with 403 "Not permitted")
		r = self.request("GET", f"/api/method/simple_crm.api.lead.convert?lead={lead}", user=self.user)
		self.assertEqual(r.status_code, 403, r.text)
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value("CRM Lead", lead, "status"), "New")

	def test_rest_existing_client(self):
		client = self.track("CRM Client", make_client().name)
		lead = self.lead()
		r = self.rest_call(
			"simple_crm.api.lead.convert",
			{"lead": lead, "existing_client": client, "create_deal": False},
			user=self.user,
		)
		self.assertEqual(r.status_code, 200, r.text)
		self.track_conversion(lead, r.data)
		self.assertEqual((r.data["client"], r.data["deal"]), (client, None))


class TestConversionSearch(CRMRestTestCase):
	def test_converted_records_reach_global_search_once_committed(self):
		company = unique("ООО Найдётся ")
		lead = self.track("CRM Lead", make_lead(company_name=company).name)
		frappe.db.commit()
		r = self.rest_call("simple_crm.api.lead.convert", {"lead": lead})
		self.assertEqual(r.status_code, 200, r.text)
		for doctype, key in (("CRM Client", "client"), ("Contact", "contact"), ("CRM Deal", "deal")):
			self.track(doctype, r.data[key])
		# a converted lead is never deleted: undo the marks so that the clean-up may delete it
		frappe.db.set_value(
			"CRM Lead",
			lead,
			{"status": "New", "client": None, "contact": None, "deal": None, "converted_on": None},
			update_modified=False,
		)
		frappe.db.commit()
		queued = {(item["doctype"], item["name"]) for item in search_queue()}
		self.assertIn(("CRM Client", r.data["client"]), queued)
		self.assertIn(("CRM Deal", r.data["deal"]), queued)


class TestConversionOfAnotherManagersClient(SalesOrgRestTestCase):
	"""sales1 converts her lead whose e-mail or phone belongs to a client or contact of sales3 (team B)."""

	def setUp(self):
		super().setUp()
		self.converted: list[str] = []
		self.policy = frappe.db.get_single_value("Simple CRM Settings", "conversion_foreign_match")

	def tearDown(self):
		frappe.db.rollback()
		frappe.db.set_single_value("Simple CRM Settings", "conversion_foreign_match", self.policy or "Refuse")
		for lead in self.converted:
			frappe.db.set_value(
				"CRM Lead",
				lead,
				{"status": "New", "client": None, "contact": None, "deal": None, "converted_on": None},
				update_modified=False,
			)
		frappe.db.commit()
		super().tearDown()

	def set_policy(self, policy: str):
		frappe.db.set_single_value("Simple CRM Settings", "conversion_foreign_match", policy)
		frappe.db.commit()

	def foreign_client(self, **kwargs) -> str:
		return self.track("CRM Client", make_client(responsible=email("sales3"), **kwargs).name)

	def lead(self, **kwargs) -> str:
		name = self.track("CRM Lead", make_lead(responsible=email("sales1"), **kwargs).name)
		frappe.db.commit()
		return name

	def convert(self, lead: str, **kwargs):
		r = self.rest_call("simple_crm.api.lead.convert", {"lead": lead, **kwargs}, user=email("sales1"))
		if r.status_code == 200:
			self.converted.append(lead)
			for doctype, key in (("CRM Client", "client"), ("Contact", "contact"), ("CRM Deal", "deal")):
				if r.data.get(key):
					self.track(doctype, r.data[key])
		frappe.db.rollback()
		return r

	def footprint(self, doctype: str, name: str) -> dict:
		"""What a conversion writes into a record it reuses."""
		frappe.db.rollback()
		return {
			"modified": frappe.db.get_value(doctype, name, "modified"),
			"comments": frappe.db.count("Comment", {"reference_doctype": doctype, "reference_name": name}),
			"links": frappe.db.count(
				"Dynamic Link", {"parent": name} if doctype == "Contact" else {"link_name": name}
			),
			"deals": frappe.db.count("CRM Deal", {"client": name}) if doctype == "CRM Client" else 0,
		}

	def test_refused_with_the_responsible_managers_name(self):
		self.set_policy("Refuse")
		address = unique_email("shared")
		client = self.foreign_client(email=address, client_type="Individual")
		lead = self.lead(email=address)
		frappe.db.commit()
		before = self.footprint("CRM Client", client)
		client_name = frappe.db.get_value("CRM Client", client, "client_name")

		for create_deal in (0, 1):  # without a deal, nothing else stood in the way
			r = self.convert(lead, create_deal=create_deal)
			self.assertEqual(r.status_code, 417, r.text)
			self.assertIn("ForeignMatchError", r.text)
			message = r.error_text()
			self.assertIn(frappe.utils.get_fullname(email("sales3")), message)
			self.assertNotIn(client, message)
			self.assertNotIn(client_name, message)
			self.assertEqual(self.footprint("CRM Client", client), before)
			self.assertEqual(created_from(lead), NOTHING)
			self.assertEqual(frappe.db.get_value("CRM Lead", lead, ["status", "client"]), ("New", None))

	def test_refused_for_another_managers_contact(self):
		self.set_policy("Refuse")
		phone = unique_mobile()
		contact = self.track(
			"Contact",
			make_contact(self.foreign_client(), phone=phone, crm_responsible=email("sales3")).name,
		)
		lead = self.lead(phone=phone)
		before = self.footprint("Contact", contact)

		for create_deal in (0, 1):
			r = self.convert(lead, create_deal=create_deal)
			self.assertEqual(r.status_code, 417, r.text)
			self.assertIn(frappe.utils.get_fullname(email("sales3")), r.error_text())
			self.assertNotIn(contact, r.error_text())
			self.assertEqual(self.footprint("Contact", contact), before)
			self.assertEqual(created_from(lead), NOTHING)

	def test_create_new_leaves_the_other_client_alone(self):
		self.set_policy("Create New")
		phone, address = unique_mobile(), unique_email("shared")
		client = self.foreign_client(email=address, client_type="Individual")
		contact = self.track("Contact", make_contact(client, phone=phone).name)
		lead = self.lead(email=address, phone=phone)
		before = (self.footprint("CRM Client", client), self.footprint("Contact", contact))

		r = self.convert(lead)
		self.assertEqual(r.status_code, 200, r.text)
		self.assertNotEqual(r.data["client"], client)
		self.assertNotEqual(r.data["contact"], contact)
		self.assertEqual(
			frappe.db.get_value("CRM Client", r.data["client"], ["source_lead", "responsible"]),
			(lead, email("sales1")),
		)
		self.assertEqual((self.footprint("CRM Client", client), self.footprint("Contact", contact)), before)

	def test_a_client_she_can_see_is_still_reused(self):
		self.set_policy("Refuse")
		address = unique_email("mine")
		client = self.track(
			"CRM Client",
			make_client(responsible=email("sales1"), email=address, client_type="Individual").name,
		)
		lead = self.lead(email=address)
		r = self.convert(lead)
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(r.data["client"], client)
