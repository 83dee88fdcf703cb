# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

import frappe

from simple_crm.simple_crm.doctype.simple_crm_settings.simple_crm_settings import InvalidSettingsError
from simple_crm.tests.factories import make_pipeline, make_user
from simple_crm.tests.utils import CRMRestTestCase, CRMTestCase


class TestSimpleCRMSettings(CRMTestCase):
	def test_phone_region(self):
		settings = frappe.get_single("Simple CRM Settings")
		settings.default_phone_region = "kz"
		settings.save()
		self.assertEqual(settings.default_phone_region, "KZ")
		settings.default_phone_region = "XX"
		with self.assertRaises(InvalidSettingsError):
			settings.save()

	def test_default_pipeline_cannot_be_disabled_one(self):
		pipeline = make_pipeline(disabled=1)
		settings = frappe.get_single("Simple CRM Settings")
		settings.default_pipeline = pipeline.name
		with self.assertRaisesRegex(InvalidSettingsError, "disabled"):
			settings.save()


class TestSimpleCRMSettingsRest(CRMRestTestCase):
	def test_rest_phone_region(self):
		user = make_user("records.admin@example.com", roles=("System Manager",)).name
		frappe.db.commit()
		r = self.rest_update(
			"Simple CRM Settings", "Simple CRM Settings", {"default_phone_region": "ZZ"}, user=user
		)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("InvalidSettingsError", r.text)
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_single_value("Simple CRM Settings", "default_phone_region"), "RU")
