"""The Desk's search bar (`frappe.utils.global_search.search`, answered by simple_crm.permissions.search) over
REST as the sales organisation's users: leads, clients, contact persons and counterparties are found by a
phone typed in any usual form, an e-mail, an INN and the beginning of a name, and a colleague's records are
never in the answer, not even their titles."""

import frappe

from simple_crm.tests import factories
from simple_crm.tests.sales_org import SalesOrgRestTestCase, email

SEARCH = "frappe.utils.global_search.search"


class TestSearchBar(SalesOrgRestTestCase):
	def setUp(self):
		super().setUp()
		self.manager = email("sales1")
		marker = frappe.generate_hash(length=6)
		# the FULLTEXT indexes see committed rows only, and the REST requests run in their own connections
		self.crm_client = factories.make_client(
			client_name=f"ООО Поискодром{marker}",
			phone="+7 (916) 555-01-23",
			email=f"office.{marker}@poiskodrom.example.com",
			responsible=self.manager,
		)
		self.track("CRM Client", self.crm_client.name)
		self.contact = factories.make_contact(
			self.crm_client.name, first_name="Прохор", last_name=f"Искомов{marker}", phone="8 903 555 77 88"
		)
		self.counterparty = factories.make_counterparty(self.crm_client.name)
		self.lead = factories.make_lead(
			lead_name=f"Лидия Поисковая{marker}", phone="+7 926 555-44-33", responsible=self.manager
		)
		for doc in (self.lead, self.counterparty, self.contact):
			self.track(doc.doctype, doc.name)
		self.marker = marker
		frappe.db.commit()

	def search(self, text: str, user: str | None = None) -> list[dict]:
		r = self.rest_call(SEARCH, {"text": text, "limit": 20}, user or self.manager)
		self.assertEqual(r.status_code, 200, r.text[:500])
		return r.data or []

	def found(self, text: str, user: str | None = None) -> set[tuple[str, str]]:
		return {(row["doctype"], row["name"]) for row in self.search(text, user)}

	def test_a_phone_in_any_form_finds_its_record(self):
		client = ("CRM Client", self.crm_client.name)
		for typed in ("+7 (916) 555-01-23", "89165550123", "9165550123", "+79165550123", "8 916 555 01 23"):
			with self.subTest(typed=typed):
				self.assertIn(client, self.found(typed))
		self.assertIn(("Contact", self.contact.name), self.found("+7 (903) 555-77-88"))
		self.assertIn(("CRM Lead", self.lead.name), self.found("89265554433"))

	def test_email_inn_and_name(self):
		self.assertIn(("CRM Client", self.crm_client.name), self.found(self.crm_client.email.upper()))
		self.assertIn(("CRM Counterparty", self.counterparty.name), self.found(self.counterparty.inn))
		# the beginning of a name, in any case
		self.assertIn(("CRM Client", self.crm_client.name), self.found(f"поискодром{self.marker}"[:-2]))
		self.assertIn(("Contact", self.contact.name), self.found(f"искомов{self.marker}"))
		self.assertIn(("CRM Lead", self.lead.name), self.found(f"Поисковая{self.marker}"))

	def test_a_result_shows_the_title_and_what_it_was_found_by(self):
		row = next(r for r in self.search("89165550123") if r["name"] == self.crm_client.name)
		self.assertEqual(row["title"], self.crm_client.client_name)
		self.assertIn("+7 (916) 555-01-23", row["content"])

	def test_a_colleagues_records_are_not_found_not_even_their_titles(self):
		for key in ("sales2", "sales3", "head_b"):
			for typed in ("89165550123", self.counterparty.inn, f"поискодром{self.marker}", "89035557788"):
				with self.subTest(user=key, typed=typed):
					rows = self.search(typed, email(key))
					self.assertEqual(
						[r for r in rows if r["name"] in (self.crm_client.name, self.contact.name)], []
					)
					self.assertNotIn(self.marker, frappe.as_json(rows))
		# the manager's head of sales sees them
		self.assertIn(("CRM Client", self.crm_client.name), self.found("89165550123", email("head_a")))

	def test_contacts_are_in_the_search_bar_settings(self):
		allowed = frappe.get_all(
			"Global Search DocType", filters={"parent": "Global Search Settings"}, pluck="document_type"
		)
		self.assertIn("Contact", allowed)
