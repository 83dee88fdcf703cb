"""Assignments grant access only when made by someone who may hand the record out, and only while open.

sales1 (team A) tries to assign herself sales3's records (team B) through every door Frappe offers; the
head of team B hands a record to her legitimately, and closing, cancelling or deleting that assignment
ends her access. Visibility comes from open ToDo rows, not from the record's `_assign` text.
"""

import json

import frappe

from simple_crm.tests import factories
from simple_crm.tests.sales_org import TwoTeamsRecordsTestCase, email


class TestAssignments(TwoTeamsRecordsTestCase):
	def tearDown(self):
		frappe.db.rollback()
		for doctype, name in (*self.theirs.items(), *self.mine.items()):
			for todo in frappe.get_all(
				"ToDo", filters={"reference_type": doctype, "reference_name": name}, pluck="name"
			):
				frappe.delete_doc("ToDo", todo, force=True, ignore_permissions=True)
		frappe.db.commit()
		super().tearDown()

	def todos(self, doctype: str, name: str) -> list[str]:
		frappe.db.rollback()  # a fresh snapshot: the requests commit in their own connection
		return frappe.get_all(
			"ToDo", filters={"reference_type": doctype, "reference_name": name}, pluck="name"
		)

	def sees(self, key: str, doctype: str, name: str) -> bool:
		return self.rest_get(doctype, name, user=email(key)).status_code == 200

	def test_a_sales_manager_cannot_assign_herself_a_colleagues_record(self):
		for doctype, name in self.theirs.items():
			with self.subTest(doctype=doctype):
				r = self.request(
					"POST",
					"/api/resource/ToDo",
					email("sales1"),
					{
						"allocated_to": email("sales1"),
						"reference_type": doctype,
						"reference_name": name,
						"description": "mine now",
					},
				)
				self.assertEqual(r.status_code, 403, r.text[:300])
				self.assertEqual(self.todos(doctype, name), [])
				self.assertFalse(self.sees("sales1", doctype, name))
				r = self.rest_call(
					"frappe.desk.form.assign_to.add",
					{"doctype": doctype, "name": name, "assign_to": json.dumps([email("sales1")])},
					user=email("sales1"),
				)
				self.assertEqual(r.status_code, 403, r.text[:300])
				self.assertEqual(self.todos(doctype, name), [])

	def test_an_own_assignment_cannot_be_moved_to_a_colleagues_record(self):
		deal = self.mine["CRM Deal"]
		r = self.rest_call(
			"frappe.desk.form.assign_to.add",
			{"doctype": "CRM Deal", "name": deal, "assign_to": json.dumps([email("sales1")])},
			user=email("sales1"),
		)
		self.assertEqual(r.status_code, 200, r.text[:300])
		todo = self.todos("CRM Deal", deal)[0]
		r = self.request(
			"PUT", f"/api/resource/ToDo/{todo}", email("sales1"), {"reference_name": self.theirs["CRM Deal"]}
		)
		self.assertEqual(r.status_code, 403, r.text[:300])
		self.assertEqual(frappe.db.get_value("ToDo", todo, "reference_name"), deal)
		self.assertFalse(self.sees("sales1", "CRM Deal", self.theirs["CRM Deal"]))

	def test_an_unassigned_lead_is_not_taken_by_assigning_oneself(self):
		lead = factories.make_lead().name
		frappe.db.commit()
		try:
			r = self.request(
				"POST",
				"/api/resource/ToDo",
				email("sales1"),
				{"allocated_to": email("sales1"), "reference_type": "CRM Lead", "reference_name": lead},
			)
			self.assertEqual(r.status_code, 403, r.text[:300])
			self.assertFalse(frappe.db.get_value("CRM Lead", lead, "responsible"))
			self.assertFalse(self.sees("sales1", "CRM Lead", lead))
			# the head of sales distributes it: the assignee becomes responsible
			r = self.rest_call(
				"frappe.desk.form.assign_to.add",
				{"doctype": "CRM Lead", "name": lead, "assign_to": json.dumps([email("sales1")])},
				user=email("head_a"),
			)
			self.assertEqual(r.status_code, 200, r.text[:300])
			self.assertEqual(frappe.db.get_value("CRM Lead", lead, "responsible"), email("sales1"))
		finally:
			for todo in self.todos("CRM Lead", lead):
				frappe.delete_doc("ToDo", todo, force=True, ignore_permissions=True)
			frappe.delete_doc("CRM Lead", lead, force=True, ignore_permissions=True)
			frappe.db.commit()

	def test_access_lasts_while_the_assignment_is_open(self):
		deal = self.theirs["CRM Deal"]
		for end in ("Closed", "Cancelled", "deleted"):
			with self.subTest(end=end):
				r = self.rest_call(
					"frappe.desk.form.assign_to.add",
					{"doctype": "CRM Deal", "name": deal, "assign_to": json.dumps([email("sales1")])},
					user=email("head_b"),
				)
				self.assertEqual(r.status_code, 200, r.text[:300])
				self.assertTrue(self.sees("sales1", "CRM Deal", deal))
				todo = self.todos("CRM Deal", deal)[0]
				if end == "deleted":
					frappe.delete_doc("ToDo", todo, force=True, ignore_permissions=True)
				else:
					frappe.db.set_value("ToDo", todo, "status", end)
				frappe.db.commit()
				self.assertFalse(self.sees("sales1", "CRM Deal", deal))
				self.assertNotIn(
					deal, [row["name"] for row in self.rest_list("CRM Deal", user=email("sales1")).data]
				)
				for name in self.todos("CRM Deal", deal):
					frappe.delete_doc("ToDo", name, force=True, ignore_permissions=True)
				frappe.db.commit()

	def test_the_assign_column_grants_nothing(self):
		deal = self.theirs["CRM Deal"]
		frappe.db.set_value("CRM Deal", deal, "_assign", json.dumps([email("sales1")]), update_modified=False)
		frappe.db.commit()
		try:
			self.assertFalse(self.sees("sales1", "CRM Deal", deal))
		finally:
			frappe.db.set_value("CRM Deal", deal, "_assign", None, update_modified=False)
			frappe.db.commit()

	def test_a_sales_manager_hands_out_her_own_records(self):
		deal = self.mine["CRM Deal"]
		r = self.rest_call(
			"frappe.desk.form.assign_to.add",
			{"doctype": "CRM Deal", "name": deal, "assign_to": json.dumps([email("sales3")])},
			user=email("sales1"),
		)
		self.assertEqual(r.status_code, 200, r.text[:300])
		self.assertTrue(self.sees("sales3", "CRM Deal", deal))
		# sales3, who now sees it, cannot hand it on
		r = self.rest_call(
			"frappe.desk.form.assign_to.add",
			{"doctype": "CRM Deal", "name": deal, "assign_to": json.dumps([email("sales2")])},
			user=email("sales3"),
		)
		self.assertEqual(r.status_code, 403, r.text[:300])

	def test_the_assignment_index_exists(self):
		self.assertTrue(frappe.db.has_index("tabToDo", "crm_assignment_index"))

	def test_others_assignments_are_not_counted(self):
		"""frappe.client.get_count counted every row of any doctype; it counts what the user may list."""
		r = self.rest_call(
			"frappe.desk.form.assign_to.add",
			{
				"doctype": "CRM Deal",
				"name": self.theirs["CRM Deal"],
				"assign_to": json.dumps([email("sales3")]),
			},
			user=email("head_b"),
		)
		self.assertEqual(r.status_code, 200, r.text[:300])
		for filters in ({"allocated_to": email("sales3")}, {"reference_name": self.theirs["CRM Deal"]}):
			with self.subTest(filters=filters):
				r = self.rest_call(
					"frappe.client.get_count", {"doctype": "ToDo", "filters": filters}, user=email("sales1")
				)
				self.assertEqual(r.status_code, 200, r.text[:300])
				self.assertEqual(r.data, 0)
		r = self.rest_call(
			"frappe.client.get_count",
			{"doctype": "ToDo", "filters": {"allocated_to": email("sales3")}},
			user=email("sales3"),
		)
		self.assertEqual(r.data, 1)
