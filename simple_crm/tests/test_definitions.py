"""The lists several parts of the app depend on are defined once and agree with the site.

A doctype added to the row-level list must get a rule, the permission hooks, link search, the
assignment guard and its child tables' conditions; a child table added to a row-level doctype must be
listed too. These tests fail when one of them is forgotten.
"""

import frappe

from simple_crm.constants import ROW_LEVEL_CHILD_DOCTYPES, ROW_LEVEL_DOCTYPES, TIMELINE_DOCTYPES
from simple_crm.permissions.assignments import RESPONSIBLE_FIELD, VIA_CLIENT
from simple_crm.permissions.rules import RULES
from simple_crm.tests.utils import CRMTestCase


class TestDefinitions(CRMTestCase):
	def test_every_row_level_doctype_has_a_rule(self):
		self.assertEqual(set(RULES), set(ROW_LEVEL_DOCTYPES))

	def test_child_tables_are_the_row_level_doctypes_children(self):
		children = {
			df.options for doctype in ROW_LEVEL_DOCTYPES for df in frappe.get_meta(doctype).get_table_fields()
		}
		self.assertEqual(children, set(ROW_LEVEL_CHILD_DOCTYPES))

	def test_hooks_follow_the_lists(self):
		hooks = frappe.get_hooks(app_name="simple_crm")
		conditions = hooks["permission_query_conditions"]
		for doctype in (*ROW_LEVEL_DOCTYPES, *ROW_LEVEL_CHILD_DOCTYPES):
			with self.subTest(doctype=doctype):
				self.assertEqual(conditions[doctype], ["simple_crm.permissions.rules.query_conditions"])
		for doctype in ROW_LEVEL_DOCTYPES:
			with self.subTest(doctype=doctype):
				self.assertIn(
					"simple_crm.permissions.records.has_permission", hooks["has_permission"][doctype]
				)
				self.assertIn(
					"simple_crm.permissions.search.search_visible", hooks["standard_queries"][doctype]
				)
				events = hooks["doc_events"][doctype]
				self.assertIn("simple_crm.permissions.records.check_links_visible", events["validate"])
				self.assertIn("simple_crm.permissions.assignments.record_save_started", events["on_update"])
				self.assertIn("simple_crm.permissions.assignments.record_save_finished", events["on_change"])
		for doctype in TIMELINE_DOCTYPES:
			self.assertIn(doctype, hooks["additional_timeline_content"])

	def test_every_row_level_doctype_says_who_may_assign_it(self):
		self.assertEqual(set(ROW_LEVEL_DOCTYPES), {*RESPONSIBLE_FIELD, *VIA_CLIENT, "CRM Task"})
		for doctype, fieldname in RESPONSIBLE_FIELD.items():
			with self.subTest(doctype=doctype):
				self.assertEqual(frappe.get_meta(doctype).get_field(fieldname).options, "User")
