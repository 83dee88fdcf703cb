"""Writes into records the user cannot see.

A sales manager (sales1, team A) and a head of sales of another team (head_a) try, over REST with their
own credentials, every side door Frappe offers for writing into a record without saving it: likes, tags,
attachments, comments, following, `frappe.client` writes with child rows, rename and merge. Each attempt
on a record of sales3 (team B) must answer 403 and leave the record, its timeline and its side tables as
they were; the same on a record they can see still works.
"""

import io
import json

import frappe
from frappe.tests.test_api import make_request

from simple_crm.tests import factories, sales_org
from simple_crm.tests.sales_org import TwoTeamsRecordsTestCase, email

ROW_LEVEL = sales_org.RECORD_DOCTYPES
PERMISSION_DENIED = 403


class ForeignRecordsTestCase(TwoTeamsRecordsTestCase):
	"""Records of sales3 (foreign to sales1 and head_a) and of sales1, committed for the whole class."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.foreign = cls.theirs

	@classmethod
	def tearDownClass(cls):
		frappe.db.rollback()
		frappe.set_user("Administrator")
		for records in (cls.foreign, cls.mine):
			for doctype, name in records.items():
				delete_side_records(doctype, name)
		frappe.db.commit()
		super().tearDownClass()

	def snapshot(self, doctype: str, name: str) -> dict:
		"""What a write through a side door would change: the row's own meta columns and what hangs off it."""
		frappe.db.rollback()
		row = frappe.db.get_value(
			doctype, name, ["modified", "_liked_by", "_user_tags", "_comments"], as_dict=True
		)
		ref = {"reference_doctype": doctype, "reference_name": name}
		return {
			"row": row,
			"comments": frappe.db.count("Comment", ref),
			"files": frappe.db.count("File", {"attached_to_doctype": doctype, "attached_to_name": name}),
			"tag_links": frappe.db.count("Tag Link", {"document_type": doctype, "document_name": name}),
			"follows": frappe.db.count("Document Follow", {"ref_doctype": doctype, "ref_docname": name}),
		}

	def assert_refused(self, response, doctype: str, name: str, before: dict):
		self.assertEqual(response.status_code, PERMISSION_DENIED, f"{doctype}: {response.text[:500]}")
		self.assertEqual(self.snapshot(doctype, name), before, doctype)


def delete_side_records(doctype: str, name: str) -> None:
	for side, filters in (
		("File", {"attached_to_doctype": doctype, "attached_to_name": name}),
		("Tag Link", {"document_type": doctype, "document_name": name}),
		("Document Follow", {"ref_doctype": doctype, "ref_docname": name}),
	):
		for row in frappe.get_all(side, filters=filters, pluck="name"):
			frappe.delete_doc(side, row, force=True, ignore_permissions=True)


class TestSideDoors(ForeignRecordsTestCase):
	def test_like(self):
		for doctype in ROW_LEVEL:
			name = self.foreign[doctype]
			before = self.snapshot(doctype, name)
			r = self.rest_call(
				"frappe.desk.like.toggle_like",
				{"doctype": doctype, "name": name, "add": "Yes"},
				user=email("sales1"),
			)
			self.assert_refused(r, doctype, name, before)

	def test_like_a_visible_record(self):
		name = self.mine["CRM Deal"]
		r = self.rest_call(
			"frappe.desk.like.toggle_like",
			{"doctype": "CRM Deal", "name": name, "add": "Yes"},
			user=email("sales1"),
		)
		self.assertEqual(r.status_code, 200, r.text)
		frappe.db.rollback()
		self.assertIn(email("sales1"), json.loads(frappe.db.get_value("CRM Deal", name, "_liked_by")))
		r = self.rest_call(
			"frappe.desk.like.toggle_like",
			{"doctype": "CRM Deal", "name": name, "add": "No"},
			user=email("sales1"),
		)
		self.assertEqual(r.status_code, 200, r.text)

	def test_tags(self):
		for doctype in ROW_LEVEL:
			name = self.foreign[doctype]
			before = self.snapshot(doctype, name)
			for method, args in (
				("add_tag", {"tag": "чужой", "dt": doctype, "dn": name}),
				("add_tags", {"tags": json.dumps(["чужой"]), "dt": doctype, "docs": json.dumps([name])}),
			):
				r = self.rest_call(f"frappe.desk.doctype.tag.tag.{method}", args, user=email("sales1"))
				self.assert_refused(r, doctype, name, before)

	def test_remove_a_tag(self):
		from frappe.desk.doctype.tag.tag import add_tag

		name = self.foreign["CRM Deal"]
		add_tag("важный", "CRM Deal", name)
		frappe.db.commit()
		before = self.snapshot("CRM Deal", name)
		r = self.rest_call(
			"frappe.desk.doctype.tag.tag.remove_tag",
			{"tag": "важный", "dt": "CRM Deal", "dn": name},
			user=email("sales1"),
		)
		self.assert_refused(r, "CRM Deal", name, before)

	def test_tag_link_over_rest(self):
		if not frappe.db.exists("Tag", "чужой"):
			frappe.get_doc({"doctype": "Tag", "name": "чужой"}).insert(ignore_permissions=True)
			frappe.db.commit()
		for doctype in ROW_LEVEL:
			name = self.foreign[doctype]
			before = self.snapshot(doctype, name)
			r = self.rest_insert(
				"Tag Link",
				{"document_type": doctype, "document_name": name, "tag": "чужой", "title": "x"},
				user=email("sales1"),
			)
			self.assert_refused(r, doctype, name, before)

	def test_upload_file(self):
		for doctype in ROW_LEVEL:
			name = self.foreign[doctype]
			before = self.snapshot(doctype, name)
			r = self.upload(email("sales1"), doctype, name)
			self.assert_refused(r, doctype, name, before)

	def test_upload_file_to_a_visible_record(self):
		r = self.upload(email("sales1"), "CRM Deal", self.mine["CRM Deal"])
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(r.data["attached_to_name"], self.mine["CRM Deal"])

	def upload(self, user: str, doctype: str, name: str):
		from simple_crm.tests.utils import RestResponse

		data = {
			"file": (io.BytesIO(b"price list"), f"{frappe.generate_hash(length=6)}.txt"),
			"doctype": doctype,
			"docname": name,
			"is_private": "1",
		}
		headers = {"Authorization": self.token_for(user), "Accept": "application/json"}
		return RestResponse(
			make_request(
				target=self.client.post,
				args=("/api/method/upload_file",),
				kwargs={"headers": headers, "data": data, "content_type": "multipart/form-data"},
			)
		)

	def test_file_over_rest(self):
		for doctype in ROW_LEVEL:
			name = self.foreign[doctype]
			before = self.snapshot(doctype, name)
			r = self.rest_insert(
				"File",
				{
					"file_name": f"{frappe.generate_hash(length=6)}.txt",
					"content": "price list",
					"is_private": 1,
					"attached_to_doctype": doctype,
					"attached_to_name": name,
				},
				user=email("sales1"),
			)
			self.assert_refused(r, doctype, name, before)

	def test_own_file_moved_onto_a_foreign_record(self):
		r = self.rest_insert(
			"File",
			{"file_name": f"{frappe.generate_hash(length=6)}.txt", "content": "x", "is_private": 1},
			user=email("sales1"),
		)
		self.assertEqual(r.status_code, 200, r.text)
		name = self.foreign["CRM Client"]
		before = self.snapshot("CRM Client", name)
		r = self.rest_update(
			"File",
			r.data["name"],
			{"attached_to_doctype": "CRM Client", "attached_to_name": name},
			user=email("sales1"),
		)
		self.assert_refused(r, "CRM Client", name, before)

	def test_comment(self):
		for doctype in ROW_LEVEL:
			name = self.foreign[doctype]
			before = self.snapshot(doctype, name)
			r = self.rest_call(
				"frappe.desk.form.utils.add_comment",
				{
					"reference_doctype": doctype,
					"reference_name": name,
					"content": "перезвоню сам",
					"comment_email": email("sales1"),
					"comment_by": "Sales1",
				},
				user=email("sales1"),
			)
			self.assert_refused(r, doctype, name, before)

	def test_follow(self):
		frappe.db.set_value("User", email("sales1"), "document_follow_notify", 1)
		frappe.db.commit()
		try:
			# Frappe follows only doctypes that track changes; for the others it writes nothing anyway
			for doctype in (d for d in ROW_LEVEL if frappe.get_meta(d).track_changes):
				name = self.foreign[doctype]
				before = self.snapshot(doctype, name)
				for method, args in (
					("update_follow", {"doctype": doctype, "doc_name": name, "following": 1}),
					("follow_document", {"doctype": doctype, "doc_name": name, "user": email("sales1")}),
				):
					r = self.rest_call(
						f"frappe.desk.form.document_follow.{method}", args, user=email("sales1")
					)
					self.assert_refused(r, doctype, name, before)
		finally:
			frappe.db.set_value("User", email("sales1"), "document_follow_notify", 0)
			frappe.db.commit()

	def test_set_value_and_save(self):
		name = self.foreign["CRM Deal"]
		before = self.snapshot("CRM Deal", name)
		r = self.rest_call(
			"frappe.client.set_value",
			{"doctype": "CRM Deal", "name": name, "fieldname": "deal_name", "value": "моя"},
			user=email("sales1"),
		)
		self.assert_refused(r, "CRM Deal", name, before)

	def test_child_rows_on_a_foreign_parent(self):
		deal, contact = self.foreign["CRM Deal"], self.foreign["Contact"]
		product = factories.make_product().name
		frappe.db.commit()
		self.track("CRM Product", product)
		for doctype, name, row in (
			("CRM Deal", deal, {"doctype": "CRM Deal Item", "parentfield": "items", "product": product}),
			(
				"CRM Deal",
				deal,
				{"doctype": "CRM Deal Manager", "parentfield": "co_managers", "user": email("sales1")},
			),
			(
				"Contact",
				contact,
				{"doctype": "Contact Phone", "parentfield": "phone_nos", "phone": factories.unique_mobile()},
			),
			(
				"Contact",
				contact,
				{
					"doctype": "Dynamic Link",
					"parentfield": "links",
					"link_doctype": "CRM Client",
					"link_name": self.mine["CRM Client"],
				},
			),
		):
			before = self.snapshot(doctype, name)
			row = {**row, "parenttype": doctype, "parent": name}
			for method, args in (
				("frappe.client.insert", {"doc": json.dumps(row)}),
				("frappe.client.insert_many", {"docs": json.dumps([row])}),
			):
				r = self.rest_call(method, args, user=email("sales1"))
				self.assert_refused(r, doctype, name, before)


class TestRenameAndMerge(ForeignRecordsTestCase):
	"""Frappe checks write permission on the record renamed, nothing on the record merged into."""

	def test_merge_into_a_foreign_record(self):
		head = email("head_a")
		for doctype in ("CRM Lead", "CRM Client", "Contact"):
			target = self.foreign[doctype]
			source = self.own_spare(doctype)
			before = self.snapshot(doctype, target)
			for method, args in (
				(
					"frappe.client.rename_doc",
					{"doctype": doctype, "old_name": source, "new_name": target, "merge": 1},
				),
				(
					"frappe.model.rename_doc.update_document_title",
					{"doctype": doctype, "docname": source, "name": target, "merge": 1},
				),
			):
				r = self.rest_call(method, args, user=head)
				self.assert_refused(r, doctype, target, before)
				self.assertTrue(frappe.db.exists(doctype, source))

	def test_merge_within_the_team_still_works(self):
		source, target = self.own_spare("CRM Lead"), self.own_spare("CRM Lead")
		r = self.rest_call(
			"frappe.client.rename_doc",
			{"doctype": "CRM Lead", "old_name": source, "new_name": target, "merge": 1},
			user=email("head_a"),
		)
		self.assertEqual(r.status_code, 200, r.text)
		frappe.db.rollback()
		self.assertFalse(frappe.db.exists("CRM Lead", source))

	def own_spare(self, doctype: str) -> str:
		"""A record of sales1 (team A) made for one test, removed after it."""
		owner = email("sales1")
		if doctype == "CRM Lead":
			name = factories.make_lead(responsible=owner).name
		elif doctype == "CRM Client":
			name = factories.make_client(responsible=owner).name
		else:
			name = factories.make_contact(self.mine["CRM Client"]).name
		frappe.db.commit()
		return self.track(doctype, name)


class TestGuestUpload(ForeignRecordsTestCase):
	def setUp(self):
		super().setUp()
		self.allowed = frappe.db.get_single_value("System Settings", "allow_guests_to_upload_files")
		frappe.db.set_single_value("System Settings", "allow_guests_to_upload_files", 1)
		frappe.db.commit()

	def tearDown(self):
		frappe.db.set_single_value("System Settings", "allow_guests_to_upload_files", self.allowed or 0)
		frappe.db.commit()
		super().tearDown()

	def test_guest_upload_onto_a_crm_record(self):
		from simple_crm.tests.utils import RestResponse

		name = self.foreign["CRM Lead"]
		before = self.snapshot("CRM Lead", name)
		data = {
			"file": (io.BytesIO(b"%PDF-1.4"), f"{frappe.generate_hash(length=6)}.pdf"),
			"doctype": "CRM Lead",
			"docname": name,
		}
		r = RestResponse(
			make_request(
				target=self.client.post,
				args=("/api/method/upload_file",),
				kwargs={"data": data, "content_type": "multipart/form-data"},
			)
		)
		self.assert_refused(r, "CRM Lead", name, before)
