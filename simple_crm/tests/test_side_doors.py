"""Side doors to records the user cannot see (simple_crm.security.side_doors).

A sales manager (sales1, team A), over REST with her own credentials, tries the records of sales3 (team B)
through child rows read by name, notifications, and Frappe's whitelisted methods that look records up on
their own: nothing of sales3's records may come back (names, marker texts, phones, amounts), nothing may be
written, and the same request about her own records still works.
"""

import json
from urllib.parse import quote

import frappe

from simple_crm.tests.sales_org import SalesOrgRestTestCase, email
from simple_crm.tests.security import world

PERMISSION_DENIED = 403
NOT_FOUND = 404


def _sent(data) -> str:
	return json.dumps(data, ensure_ascii=False)


class TestSideDoors(SalesOrgRestTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		frappe.set_user("Administrator")
		cls.mine = world.make_owner_records("sales1")
		cls.foreign = world.make_owner_records("sales3")
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		world.destroy_world({"sales1": cls.mine, "sales3": cls.foreign})
		super().tearDownClass()

	def call(self, method: str, data: dict, http: str = "POST", user: str = "sales1"):
		return self.request(http, f"/api/method/{method}", email(user), data)

	def assert_no_leak(self, response, sent: str, secrets: set[str] | None = None):
		found = world.leaks(response.text, secrets or self.foreign.secrets(), sent)
		self.assertEqual(found, [], f"{sent}: HTTP {response.status_code} {response.text[:500]}")

	def child_row(self, child: str, records: world.OwnerRecords) -> str:
		parent_doctype, parentfield = world.CHILD_TABLES[child]
		return frappe.db.get_value(
			child,
			{
				"parenttype": parent_doctype,
				"parent": records.names[parent_doctype],
				"parentfield": parentfield,
			},
			"name",
		)

	def test_child_rows_of_foreign_records(self):
		tried = 0
		for child in world.CHILD_TABLES:
			row = self.child_row(child, self.foreign)
			if not row:  # the world's deals have no co-managers
				continue
			tried += 1
			path = f"/api/resource/{quote(child)}/{row}"
			for method, body in (("GET", None), ("PUT", {"idx": 7}), ("DELETE", None)):
				with self.subTest(child=child, method=method):
					r = self.request(method, path, email("sales1"), body)
					self.assertEqual(r.status_code, PERMISSION_DENIED, f"{method} {child}: {r.text[:300]}")
					self.assert_no_leak(r, f"{path} {_sent(body)}")
			frappe.db.rollback()
			self.assertTrue(frappe.db.exists(child, row), f"{child} row deleted")
			self.assertNotEqual(frappe.db.get_value(child, row, "idx"), 7)
			# the user's own rows read as before
			own = self.child_row(child, self.mine)
			r = self.request("GET", f"/api/resource/{quote(child)}/{own}", email("sales1"))
			self.assertEqual(r.status_code, 200, f"own {child}: {r.text[:300]}")
			self.assertEqual(r.data["name"], own)
		self.assertGreaterEqual(tried, 9)

	def test_child_row_added_to_foreign_record(self):
		task = self.foreign.names["CRM Task"]
		before = frappe.db.count("CRM Task Checklist Item", {"parent": task})
		body = {"parent": task, "parenttype": "CRM Task", "parentfield": "checklist", "step": "Mine now"}
		r = self.request("POST", "/api/resource/CRM Task Checklist Item", email("sales1"), body)
		self.assertEqual(r.status_code, PERMISSION_DENIED, r.text[:300])
		frappe.db.rollback()
		self.assertEqual(frappe.db.count("CRM Task Checklist Item", {"parent": task}), before)

	def test_child_row_through_client_get(self):
		row = self.child_row("CRM Deal Item", self.foreign)
		data = {"doctype": "CRM Deal Item", "name": row, "parent": "CRM Deal"}
		r = self.call("frappe.client.get", data, http="GET")
		self.assertEqual(r.status_code, PERMISSION_DENIED, r.text[:300])
		self.assert_no_leak(r, _sent(data))

	def test_notification_of_another_user(self):
		for doctype in world.ROW_LEVEL:
			theirs = self.foreign.related[("Notification Log", doctype)]
			r = self.request("GET", f"/api/resource/Notification Log/{theirs}", email("sales1"))
			self.assertEqual(r.status_code, PERMISSION_DENIED, f"{doctype}: {r.text[:300]}")
			self.assert_no_leak(r, theirs)
		mine = self.mine.related[("Notification Log", "CRM Deal")]
		r = self.request("GET", f"/api/resource/Notification Log/{mine}", email("sales1"))
		self.assertEqual(r.status_code, 200, r.text[:300])

	def test_client_get_with_filters(self):
		for doctype in world.ROW_LEVEL:
			data = {"doctype": doctype, "filters": [["name", "=", self.foreign.names[doctype]]]}
			with self.subTest(doctype=doctype):
				r = self.call("frappe.client.get", data, http="GET")
				self.assertEqual(r.status_code, NOT_FOUND, r.text[:300])
				# what the name was sent for is not confirmed: only what the caller sent comes back
				data = {
					"doctype": doctype,
					"filters": [["owner", "=", "Administrator"], ["name", "like", "%"]],
				}
				r = self.call("frappe.client.get", data, http="GET")
				self.assert_no_leak(r, _sent(data))
		data = {"doctype": "CRM Deal", "filters": {"name": self.mine.names["CRM Deal"]}}
		r = self.call("frappe.client.get", data, http="GET")
		self.assertEqual(r.status_code, 200, r.text[:300])
		self.assertEqual(r.data["name"], self.mine.names["CRM Deal"])

	def test_sms_contact_number(self):
		for records, visible in ((self.foreign, False), (self.mine, True)):
			data = {
				"contact_name": records.names["Contact"],
				"ref_doctype": "CRM Client",
				"ref_name": records.names["CRM Client"],
			}
			r = self.call("frappe.core.doctype.sms_settings.sms_settings.get_contact_number", data, "GET")
			self.assertEqual(r.status_code, 200, r.text[:300])
			self.assertEqual(bool(r.data), visible, r.text[:300])
			self.assert_no_leak(r, _sent(data))

	def test_tag_suggestions(self):
		for doctype in ("CRM Lead", "Contact"):
			data = {"doctype": doctype, "txt": "zq"}
			r = self.call("frappe.desk.doctype.tag.tag.get_tags", data, http="GET")
			self.assertEqual(r.status_code, 200, r.text[:300])
			self.assert_no_leak(r, _sent(data))
			self.assertIn(self.mine.tag, r.data)

	def test_attach_a_foreign_file(self):
		own_lead = self.mine.names["CRM Lead"]
		for doctype in world.ROW_LEVEL:
			file = self.foreign.related[("File", doctype)]
			data = {"doctype": "CRM Lead", "name": own_lead, "attachments": [file]}
			r = self.call("frappe.utils.file_manager.add_attachments", data)
			self.assertEqual(r.status_code, PERMISSION_DENIED, f"{doctype}: {r.text[:300]}")
			self.assert_no_leak(r, _sent(data))
		frappe.db.rollback()
		marker = f"%{self.foreign.marker}%"
		self.assertFalse(
			frappe.db.exists("File", {"attached_to_name": own_lead, "file_name": ("like", marker)})
		)
		# the user's own file is attached
		data = {
			"doctype": "CRM Lead",
			"name": own_lead,
			"attachments": [self.mine.related[("File", "CRM Deal")]],
		}
		r = self.call("frappe.utils.file_manager.add_attachments", data)
		self.assertEqual(r.status_code, 200, r.text[:300])
		for row in r.data:
			self.track("File", row["name"])

	def test_discussion_on_foreign_record(self):
		before = frappe.db.count("Discussion Topic")
		for doctype in world.ROW_LEVEL:
			data = {
				"doctype": doctype,
				"docname": self.foreign.names[doctype],
				"reply": "Hello",
				"title": "Mine",
			}
			r = self.call("frappe.website.doctype.discussion_topic.discussion_topic.submit_discussion", data)
			self.assertEqual(r.status_code, PERMISSION_DENIED, f"{doctype}: {r.text[:300]}")
			self.assert_no_leak(r, _sent(data))
		frappe.db.rollback()
		self.assertEqual(frappe.db.count("Discussion Topic"), before)

	def test_unzip_a_foreign_file(self):
		# also by the method's old path, which Frappe's own hooks send on to the new one
		for path in ("frappe.core.api.file.unzip_file", "frappe.core.doctype.file.file.unzip_file"):
			for doctype in world.ROW_LEVEL:
				data = {"name": self.foreign.related[("File", doctype)]}
				r = self.call(path, data)
				self.assertEqual(r.status_code, PERMISSION_DENIED, f"{path} {doctype}: {r.text[:300]}")
				self.assert_no_leak(r, _sent(data))

	def test_unfollow_for_another_user(self):
		for doctype in world.ROW_LEVEL:
			follow = self.foreign.related[("Document Follow", doctype)]
			data = {"doctype": doctype, "doc_name": self.foreign.names[doctype], "user": email("sales3")}
			r = self.call("frappe.desk.form.document_follow.unfollow_document", data)
			self.assertIn(r.status_code, (200, PERMISSION_DENIED), r.text[:300])
			self.assertFalse(r.data, r.text[:300])
			self.assert_no_leak(r, _sent(data))
			frappe.db.rollback()
			self.assertTrue(frappe.db.exists("Document Follow", follow), doctype)
