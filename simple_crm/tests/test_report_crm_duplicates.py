"""The report "CRM Duplicates" runs for every role it is made for, as the Desk calls it."""

from simple_crm.tests.factories import make_lead, unique_mobile
from simple_crm.tests.report_checks import run_report
from simple_crm.tests.sales_org import SalesOrgTestCase, email

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
