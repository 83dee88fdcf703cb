"""The demo's people get exactly their roles.

Frappe makes the first system user created after the setup wizard a System Manager when there is no
other one besides Administrator; on a fresh demo site that used to be the first sales manager, who then
saw every record. The demo creates its own administrator first."""

import frappe

from simple_crm import demo
from simple_crm.tests.utils import CRMTestCase


class TestDemoUsers(CRMTestCase):
	def tearDown(self):
		super().tearDown()  # rolls back
		for email, _first, _last in (demo.ADMINISTRATOR, *demo.MANAGERS, demo.HEAD_OF_SALES):
			frappe.clear_cache(user=email)

	def test_sales_people_are_not_system_managers_on_a_fresh_site(self):
		# a fresh site: the setup is complete and nobody but Administrator is a System Manager
		frappe.db.set_single_value("System Settings", "setup_complete", 1)
		frappe.db.delete("Has Role", {"role": "System Manager", "parent": ("!=", "Administrator")})
		demo.DemoBuilder(42).users()
		for email, _first, _last in demo.MANAGERS:
			with self.subTest(user=email):
				frappe.clear_cache(user=email)
				roles = set(frappe.get_roles(email))
				self.assertIn("CRM Sales Manager", roles)
				self.assertNotIn("System Manager", roles)
		self.assertNotIn("System Manager", frappe.get_roles(demo.HEAD_OF_SALES[0]))
		self.assertIn("System Manager", frappe.get_roles(demo.ADMINISTRATOR[0]))
		# a second run (setup.sh on an existing site) changes nothing
		demo.DemoBuilder(42).users()
		frappe.clear_cache(user=demo.MANAGERS[0][0])
		self.assertNotIn("System Manager", frappe.get_roles(demo.MANAGERS[0][0]))
