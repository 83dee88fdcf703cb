# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

import frappe

from simple_crm.simple_crm.report.crm_duplicates.crm_duplicates import execute
from simple_crm.tests.factories import make_client, make_contact, make_counterparty, make_lead
from simple_crm.tests.utils import CRMTestCase

SBER_INN = "7707083893"


def run(**filters) -> dict[str, list[tuple]]:
	"""Report rows per value: [(doctype, name, title, records in group)], groups numbered apart."""
	_columns, data, _message = execute(frappe._dict(filters))
	groups: dict[str, list[tuple]] = {}
	numbers: dict[str, set] = {}
	for row in data:
		groups.setdefault(row["value"], []).append(
			(row["reference_doctype"], row["reference_name"], row["title"], row["records"])
		)
		numbers.setdefault(row["value"], set()).add(row["group"])
	for value, group_numbers in numbers.items():
		assert len(group_numbers) == 1, f"{value} is split over groups {group_numbers}"
	return groups


class TestCRMDuplicatesReport(CRMTestCase):
	def setUp(self):
		super().setUp()
		self.lead = make_lead(lead_name="Лид-дубль", phone="8 (912) 345-67-89")
		self.contact = make_contact(first_name="Контакт", last_name="Дубль", phone="+7 912 345 67 89")
		self.cp1 = make_counterparty(inn=SBER_INN, short_name="ПАО Сбербанк")
		self.cp2 = make_counterparty(inn=SBER_INN, short_name="Сбер (копия)")

	def test_groups_across_doctypes(self):
		groups = run()
		self.assertEqual(
			sorted(groups["+79123456789"]),
			[
				("CRM Lead", self.lead.name, "Лид-дубль", 2),
				("Contact", self.contact.name, "Контакт Дубль", 2),
			],
		)
		self.assertEqual(
			sorted(groups[SBER_INN]),
			sorted(
				[
					("CRM Counterparty", self.cp1.name, "ПАО Сбербанк", 2),
					("CRM Counterparty", self.cp2.name, "Сбер (копия)", 2),
				]
			),
		)
		columns, _data, _message = execute(frappe._dict())
		self.assertEqual(
			[c["fieldname"] for c in columns],
			[
				"group",
				"kind",
				"value",
				"reference_doctype",
				"reference_name",
				"title",
				"responsible",
				"records",
			],
		)

	def test_filters(self):
		groups = run(kind="INN")
		self.assertIn(SBER_INN, groups)
		self.assertNotIn("+79123456789", groups)
		groups = run(doctype="Contact")
		self.assertIn("+79123456789", groups)
		self.assertNotIn(SBER_INN, groups)
		with self.assertRaises(frappe.ValidationError):
			run(doctype="ToDo")

	def test_converted_leads_and_one_client_left_out(self):
		self.lead.db_set("status", "Converted")
		self.assertNotIn("+79123456789", run())  # a converted lead and a contact: one live record

		client = make_client(phone="(495) 123-45-67")
		make_contact(client=client.name, phone="8 495 123 45 67")
		make_counterparty(client=client.name, phone="+7 495 123-45-67")
		self.assertNotIn("+74951234567", run())  # the client's own people and legal entity

		other = make_client(phone="(495) 123-45-67")  # another client: now it is a duplicate group
		group = run()["+74951234567"]
		self.assertEqual(
			sorted((doctype, records) for doctype, _name, _title, records in group),
			[("CRM Client", 4), ("CRM Client", 4), ("CRM Counterparty", 4), ("Contact", 4)],
		)
		self.assertIn(("CRM Client", other.name), [(r[0], r[1]) for r in group])
