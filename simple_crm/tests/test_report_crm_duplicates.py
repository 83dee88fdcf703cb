"""The report "CRM Duplicates" runs for every role it is made for, as the Desk calls it."""

import frappe

from simple_crm.tests.factories import make_lead, unique_email, unique_mobile
from simple_crm.tests.report_checks import run_report
from simple_crm.tests.sales_org import SalesOrgTestCase, email
from simple_crm.tests.sales_org import email as email_of

REPORT = "CRM Duplicates"


class TestDuplicatesReport(SalesOrgTestCase):
	def test_every_role_of_the_report_gets_the_groups(self):
		phone = unique_mobile()
		twins = {make_lead(phone=phone).name, make_lead(phone=phone).name}  # the default policy warns
		for user in ("Administrator", email("crm_admin"), email("director")):
			result = run_report(REPORT, user)
			group = next(row["group"] for row in result.result if row["reference_name"] in twins)
			listed = {row["reference_name"] for row in result.result if row["group"] == group}
			self.assertEqual(listed, twins, user)
			self.assertEqual(
				{row["reference_doctype"] for row in result.result if row["group"] == group}, {"CRM Lead"}
			)

	def test_converted_leads_and_filters(self):
		from simple_crm.conversion import convert_lead

		phone, email = unique_mobile(), unique_email("dup")
		live = make_lead(phone=phone).name
		converted = make_lead(phone=phone).name
		convert_lead(converted, client_type="Individual")
		twins = {make_lead(email=email).name, make_lead(email=email).name}
		result = run_report(REPORT, email_of("director"))
		names = {row["reference_name"] for row in result.result}
		# the converted lead is history, never a duplicate; the live lead shares the phone with the client
		# made from it, which is one
		self.assertNotIn(converted, names)
		group = next(row["group"] for row in result.result if row["reference_name"] == live)
		self.assertEqual(
			{row["reference_doctype"] for row in result.result if row["group"] == group},
			{"CRM Lead", "CRM Client", "Contact"},
		)
		self.assertTrue(twins <= names)
		by_kind = run_report(REPORT, email_of("director"), kind="Phone").result
		self.assertFalse(twins & {row["reference_name"] for row in by_kind})
		by_doctype = run_report(REPORT, email_of("director"), doctype="CRM Counterparty").result
		self.assertFalse(twins & {row["reference_name"] for row in by_doctype})
		with self.assertRaises(frappe.ValidationError):
			run_report(REPORT, email_of("director"), kind="Fax")
