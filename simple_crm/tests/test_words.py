"""One Russian word per status wherever it is shown, and durations and people in the user's words on the
timelines (simple_crm.timeline; the Desk's side is public/js/words.js, tried in test_browser_quick_actions)."""

import frappe
from frappe.translate import get_all_translations

from simple_crm.tests import factories
from simple_crm.tests.sales_org import SalesOrgTestCase, email
from simple_crm.timeline import duration_text, get_timeline_content

# the statuses of the CRM's records: the word a form shows (translated in the record's doctype) is the word a
# list, a kanban column or a history line shows (translated without a doctype)
STATUSES = {
	"CRM Task": ("Open", "In Progress", "Done", "Cancelled"),
	"CRM Lead": ("New", "In Progress", "Qualified", "Converted", "Disqualified"),
	"CRM Complaint": ("Registered", "In Work", "Resolved", "Rejected"),
	"CRM Call": ("Answered", "Missed", "Inbound", "Outbound"),
}


class in_russian:
	def __enter__(self):
		self.previous = frappe.local.lang
		frappe.local.lang = "ru"

	def __exit__(self, *exc):
		frappe.local.lang = self.previous


class TestWords(SalesOrgTestCase):
	def test_a_status_reads_the_same_in_the_form_and_everywhere_else(self):
		frappe.cache.delete_value("lang_full_dict")
		translations = get_all_translations("ru")
		for doctype, statuses in STATUSES.items():
			for status in statuses:
				with self.subTest(doctype=doctype, status=status):
					shown_elsewhere = translations.get(status)
					self.assertTrue(shown_elsewhere, f"{status} has no Russian word")
					in_the_form = translations.get(f"{status}:{doctype}", shown_elsewhere)
					self.assertEqual(in_the_form, shown_elsewhere)
		self.assertEqual(translations["Open"], "Открыта")
		self.assertEqual(translations["Done"], "Выполнена")

	def test_durations_in_russian(self):
		with in_russian():
			self.assertEqual(duration_text(824), "13 мин 44 с")
			self.assertEqual(duration_text(3600 + 5), "1 ч 5 с")
			self.assertEqual(duration_text(0), "")
		self.assertEqual(duration_text(824), "13m 44s")

	def test_the_timeline_shows_call_lengths_and_people_in_russian(self):
		manager = email("sales1")
		client = factories.make_client(responsible=manager)
		factories.make_call(client=client.name, manager=manager, duration=824, direction="Outbound")
		factories.make_task(
			subject="Позвонить в обед",
			assigned_to=manager,
			reference_doctype="CRM Client",
			reference_name=client.name,
		)
		with in_russian():
			content = " ".join(item["content"] for item in get_timeline_content("CRM Client", client.name))
		self.assertIn("13 мин 44 с", content)
		self.assertIn("Исходящий звонок", content)
		self.assertIn(frappe.utils.get_fullname(manager), content)
		self.assertNotIn(manager, content, "people by their names, not their e-mails")
		self.assertIn("Открыта", content)
