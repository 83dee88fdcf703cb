"""The daily digest's complaints: those registered in the 24 hours, each recipient's scope only, in their
language.

As the digest's own tests (test_automation_digest): the job commits, the records are removed afterwards,
the clock is frozen in 2021. Team A: head_a, sales1, sales2; team B: head_b, sales3.
"""

import datetime
from unittest import mock

import frappe

from simple_crm.automation import digest
from simple_crm.tests import factories
from simple_crm.tests.sales_org import email
from simple_crm.tests.test_automation_digest import BEFORE_PERIOD, DAY, IN_PERIOD, DigestTestCase, hours


class TestDigestComplaints(DigestTestCase):
	def complaint(self, manager: str, when: datetime.datetime = IN_PERIOD, **values) -> str:
		"""A complaint of a client of `manager`'s, registered at `when`."""
		with self.freeze_time(DAY - hours(72)):
			client = factories.make_client(responsible=email(manager)).name
			self.track("CRM Client", client)
		with self.freeze_time(when):
			name = factories.make_complaint(
				client, subject=factories.unique("Претензия "), category="Delivery Times", **values
			).name
		frappe.db.commit()
		return self.track("CRM Complaint", name)

	def subject(self, name: str) -> str:
		return frappe.db.get_value("CRM Complaint", name, "subject")

	def assert_lists(self, html: str, name: str) -> None:
		self.assertIn(self.subject(name), html)
		self.assertIn(f"/app/crm-complaint/{name}", html)

	def assert_not_lists(self, html: str, name: str) -> None:
		self.assertNotIn(self.subject(name), html)
		self.assertNotIn(name, html)

	def test_the_section_is_registered(self):
		self.assertIn(digest.new_complaints, digest.SECTIONS)

	def test_new_complaints_of_each_recipient_s_scope(self):
		team_a = self.complaint("sales1")
		team_b = self.complaint("sales3")
		old = self.complaint("sales2", when=BEFORE_PERIOD)
		# received three days ago, registered in the period: new today
		late = self.complaint("sales2", received_on=IN_PERIOD - hours(72))
		self.run_job()

		head_a = self.the_digest("head_a").html
		self.assert_lists(head_a, team_a)
		self.assert_lists(head_a, late)
		self.assert_not_lists(head_a, team_b)
		self.assert_not_lists(head_a, old)
		self.assertIn("New complaints: 2", " ".join(head_a.split()))
		self.assertIn("Delivery Times", head_a)
		self.assertIn(frappe.utils.get_fullname(email("sales1")), head_a)

		# head_b has nothing else in the period: the complaint alone makes the digest
		head_b = self.the_digest("head_b").html
		self.assert_lists(head_b, team_b)
		self.assert_not_lists(head_b, team_a)
		self.assertIn("New complaints: 1", " ".join(head_b.split()))

		director = self.the_digest("director").html
		for name in (team_a, team_b, late):
			self.assert_lists(director, name)
		self.assert_not_lists(director, old)
		self.assertIn("New complaints: 3", " ".join(director.split()))

	def test_in_the_recipient_s_language(self):
		self.set_language("head_b", "ru")
		self.complaint("sales3")
		self.run_job()
		html = self.the_digest("head_b").html
		self.assertIn("Новые претензии: 1", " ".join(html.split()))
		self.assertIn("Сроки поставки", html)
		self.assertIn("Зарегистрирована", html)

	def test_the_section_is_counted_beyond_its_list(self):
		period = digest.Period(start=DAY - hours(17), end=DAY + hours(7), now=DAY + hours(7))
		self.complaint("sales1")
		self.complaint("sales1")
		with mock.patch.object(digest, "ITEMS_PER_SECTION", 1):
			section = digest.new_complaints(digest.Digest(user=email("head_a"), period=period, moves=[]))
		self.assertEqual((section.count, len(section.items)), (2, 1))
