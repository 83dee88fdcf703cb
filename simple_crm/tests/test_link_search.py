"""Link search finds records through indexes (word prefixes, whole phones, e-mails and INNs, name
prefixes) and still only what the user may see.

The records are committed (a FULLTEXT index sees committed rows only, as every search of a running site
does) and removed at the end.
"""

import frappe

from simple_crm.permissions import rules, search
from simple_crm.tests import factories
from simple_crm.tests.sales_org import SalesOrgRestTestCase, email


class TestLinkSearch(SalesOrgRestTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		frappe.set_user("Administrator")
		search.add_search_indexes()
		cls.mine = factories.make_lead(
			lead_name="Ефросинья Квашнина",
			company_name="ООО Глубокий Омут",
			phone="+7 912 555 01 02",
			email="kvashnina@omut.example.com",
			responsible=email("sales1"),
		).name
		cls.theirs = factories.make_lead(
			lead_name="Ефросинья Квашнина-Теплова",
			company_name="ООО Тихий Омут",
			phone="+7 912 555 03 04",
			responsible=email("sales3"),
		).name
		cls.crm_client = factories.make_client(
			client_name="Квашнинский хлебозавод", responsible=email("sales1")
		).name
		cls.counterparty = factories.make_counterparty(cls.crm_client).name
		cls.inn = frappe.db.get_value("CRM Counterparty", cls.counterparty, "inn")
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		frappe.db.rollback()
		for doctype, name in (
			("CRM Counterparty", cls.counterparty),
			("CRM Client", cls.crm_client),
			("CRM Lead", cls.mine),
			("CRM Lead", cls.theirs),
		):
			frappe.delete_doc(doctype, name, force=True, ignore_permissions=True)
		frappe.db.commit()
		super().tearDownClass()

	def found(self, doctype: str, txt: str, user: str = "sales1") -> list[str]:
		r = self.rest_call("frappe.desk.search.search_link", {"doctype": doctype, "txt": txt}, email(user))
		self.assertEqual(r.status_code, 200, r.text[:300])
		return [row["value"] for row in r.data]

	def test_the_search_index_exists(self):
		for doctype in search.SEARCH_INDEX:
			with self.subTest(doctype=doctype):
				self.assertTrue(search.has_search_index(doctype))

	def test_word_prefixes_of_any_name_field(self):
		for txt in ("Квашн", "квашнина", "Ефрос Квашн", "Глубок", "омут глубокий"):
			with self.subTest(txt=txt):
				self.assertIn(self.mine, self.found("CRM Lead", txt))

	def test_a_user_who_sees_few_records_gets_the_index_answer_from_their_own(self):
		"""A sales manager sees few leads: the words are tested on their own records instead of the FULLTEXT
		index's list of every lead with the word; both ways find the same."""
		user = email("sales1")
		frappe.set_user(user)
		try:
			self.assertTrue(rules.sees_few("CRM Lead", user))
			condition = rules.condition_for("CRM Lead")
			for txt in (
				"Квашн",
				"квашнина",
				"Ефрос Квашн",
				"Глубок",
				"омут глубокий",
				"ашнин",
				"теплова",
				"ООО",
			):
				with self.subTest(txt=txt):
					words = search.search_words(txt)
					among_few = search._word_matches_among_few("CRM Lead", words, condition)
					self.assertEqual(
						sorted(among_few), sorted(search._word_matches_in_index("CRM Lead", words, condition))
					)
			self.assertIn(self.mine, search._word_matches_among_few("CRM Lead", ["омут"], condition))
			self.assertNotIn(self.theirs, search._word_matches_among_few("CRM Lead", ["квашнина"], condition))
			self.assertFalse(rules.sees_few("CRM Lead", "Administrator"))
		finally:
			frappe.set_user("Administrator")

	def test_a_phone_however_written_an_email_an_inn(self):
		for txt in ("+79125550102", "8 (912) 555-01-02", "9125550102", "KVASHNINA@omut.example.com"):
			with self.subTest(txt=txt):
				self.assertEqual(self.found("CRM Lead", txt), [self.mine])
		self.assertEqual(self.found("CRM Counterparty", self.inn), [self.counterparty])

	def test_a_name_by_its_prefix(self):
		self.assertEqual(self.found("CRM Lead", self.mine), [self.mine])
		self.assertIn(self.mine, self.found("CRM Lead", self.mine[:-1]))

	def test_only_what_the_user_may_see(self):
		self.assertNotIn(self.theirs, self.found("CRM Lead", "Квашнина"))
		self.assertIn(self.theirs, self.found("CRM Lead", "Квашнина", "sales3"))
		self.assertEqual(self.found("CRM Lead", "+79125550304"), [])
		self.assertEqual(self.found("CRM Lead", self.theirs), [])
		self.assertIn(self.theirs, self.found("CRM Lead", "Квашнина", "director"))

	def test_short_words_and_parts_of_words_fall_back_to_like(self):
		# two letters are below what the index holds; the middle of a word is no word prefix
		self.assertIn(self.mine, self.found("CRM Lead", "Ом"))
		self.assertIsNone(search.indexed_candidates("CRM Lead", "Ом"))
		self.assertIsNotNone(search.indexed_candidates("CRM Lead", "ашнин"))
		self.assertNotIn(self.mine, self.found("CRM Lead", "ашнин"))

	def test_nothing_typed_lists_the_latest(self):
		self.assertIn(self.mine, self.found("CRM Lead", ""))
		self.assertNotIn(self.theirs, self.found("CRM Lead", ""))

	def test_boolean_syntax_typed_is_only_text(self):
		for txt in ('+Квашн* -"омут"', "Квашн' or 1=1 --", "%", "_", "Квашн)*(", "Квашн\\E.*", "щ" * 3000):
			with self.subTest(txt=txt):
				self.assertNotIn(self.theirs, self.found("CRM Lead", txt))
