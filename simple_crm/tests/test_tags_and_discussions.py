"""Tags and discussions about CRM records, read by a hostile sales manager (sales1, team A) and by the head
of another team (head_b), against records of sales3 (team B).

A tag's text is often a client's name or a note about a deal, and a discussion is a conversation about a
record: a tag used only on records the user cannot see, and a discussion (topic or reply) about such a
record, must not be listed, counted or read. Tags used on the user's own records, used on no CRM record at
all, or used on other doctypes' rows stay as Frappe has them.
"""

import json
from urllib.parse import quote, urlencode

import frappe
from frappe.permissions import add_permission, reset_perms, update_permission_property

from simple_crm.tests.sales_org import HEAD_OF_SALES, SALES_MANAGER, TwoTeamsRecordsTestCase, email

PERMISSION_DENIED = 403
DISCUSSION_DOCTYPES = ("Discussion Topic", "Discussion Reply")


def _token() -> str:
	return frappe.generate_hash(length=10)


class TagsAndDiscussionsTestCase(TwoTeamsRecordsTestCase):
	def get(self, method: str, user: str, **params):
		query = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
		return self.request("GET", f"/api/method/{method}?{urlencode(query)}", email(user))

	def listed(self, doctype: str, user: str) -> list[str]:
		r = self.rest_list(doctype, email(user), limit_page_length=0)
		self.assertEqual(r.status_code, 200, r.text[:300])
		return [row["name"] for row in r.data]

	def counts(self, doctype: str, user: str) -> dict[str, int]:
		r = self.rest_call("frappe.client.get_count", {"doctype": doctype}, email(user))
		by_reportview = self.rest_call(
			"frappe.desk.reportview.get_count", {"doctype": doctype, "filters": "[]"}, email(user)
		)
		return {"frappe.client.get_count": r.data, "frappe.desk.reportview.get_count": by_reportview.data}

	def assertTellsNothing(self, response, *secrets):
		decoded = json.dumps(response.json, ensure_ascii=False)
		for secret in secrets:
			for text in (response.text, decoded):
				self.assertNotIn(secret, text, f"{secret!r} leaked: {response.text[:500]}")


class TestTags(TagsAndDiscussionsTestCase):
	"""Tags: `mine` on sales1's deal, `theirs` only on sales3's deal and client (named after the client, as
	people do), `shared` on both deals, `unused` on nothing, `elsewhere` on a row of a non-CRM doctype."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		frappe.set_user("Administrator")
		client_name = frappe.db.get_value("CRM Client", cls.theirs["CRM Client"], "client_name")
		cls.tags = {
			"mine": f"mine {_token()}",
			"theirs": f"{client_name} {_token()}"[:100],
			"shared": f"shared {_token()}",
			"unused": f"unused {_token()}",
			"elsewhere": f"elsewhere {_token()}",
		}
		uses = {
			"mine": [("CRM Deal", cls.mine["CRM Deal"])],
			"theirs": [("CRM Deal", cls.theirs["CRM Deal"]), ("CRM Client", cls.theirs["CRM Client"])],
			"shared": [("CRM Deal", cls.mine["CRM Deal"]), ("CRM Deal", cls.theirs["CRM Deal"])],
			"unused": [],
			"elsewhere": [("User", "Administrator")],
		}
		for key, tag in cls.tags.items():
			frappe.get_doc({"doctype": "Tag", "name": tag}).insert(ignore_permissions=True)
			for doctype, name in uses[key]:
				frappe.get_doc(
					{"doctype": "Tag Link", "tag": tag, "document_type": doctype, "document_name": name}
				).insert(ignore_permissions=True)
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		frappe.db.rollback()
		for tag in cls.tags.values():
			frappe.db.delete("Tag Link", {"tag": tag})
			frappe.db.delete("Tag", {"name": tag})
		frappe.db.commit()
		super().tearDownClass()

	def visible(self, user: str) -> set[str]:
		return {key for key, tag in self.tags.items() if tag in self.listed("Tag", user)}

	def test_tag_list(self):
		self.assertEqual(self.visible("sales1"), {"mine", "shared", "unused", "elsewhere"})
		r = self.rest_list("Tag", email("sales1"), limit_page_length=0, fields=["name", "description"])
		self.assertTellsNothing(r, self.tags["theirs"])
		# sales3 is in head_b's team; sales1's own tag is not
		self.assertEqual(self.visible("head_b"), {"theirs", "shared", "unused", "elsewhere"})
		self.assertEqual(self.visible("director"), set(self.tags))

	def test_tag_counts_agree_with_the_list(self):
		for user in ("sales1", "head_b"):
			with self.subTest(user=user):
				listed = len(self.listed("Tag", user))
				for path, count in self.counts("Tag", user).items():
					self.assertEqual(count, listed, path)

	def test_tag_read_by_name(self):
		r = self.rest_get("Tag", quote(self.tags["theirs"]), email("sales1"))
		self.assertEqual(r.status_code, PERMISSION_DENIED, r.text[:300])
		for key in ("mine", "shared", "unused", "elsewhere"):
			with self.subTest(tag=key):
				r = self.rest_get("Tag", quote(self.tags[key]), email("sales1"))
				self.assertEqual(r.status_code, 200, r.text[:300])
		r = self.rest_get("Tag", quote(self.tags["theirs"]), email("head_b"))
		self.assertEqual(r.status_code, 200, r.text[:300])

	def test_foreign_tag_is_not_changed_or_deleted(self):
		tag = self.tags["theirs"]
		r = self.rest_update("Tag", quote(tag), {"description": "mine now"}, email("sales1"))
		self.assertEqual(r.status_code, PERMISSION_DENIED, r.text[:300])
		r = self.rest_delete("Tag", quote(tag), email("sales1"))
		self.assertEqual(r.status_code, PERMISSION_DENIED, r.text[:300])
		frappe.db.rollback()
		self.assertTrue(frappe.db.exists("Tag", tag))
		self.assertFalse(frappe.db.get_value("Tag", tag, "description"))

	def test_awesomebar_tags(self):
		r = self.get("frappe.desk.doctype.tag.tag.get_tags_list_for_awesomebar", "sales1")
		self.assertEqual(r.status_code, 200, r.text[:300])
		self.assertTellsNothing(r, self.tags["theirs"])
		for key in ("mine", "shared", "unused", "elsewhere"):
			self.assertIn(self.tags[key], r.data)

	def test_tag_link_search_and_value(self):
		r = self.get("frappe.desk.search.search_link", "sales1", doctype="Tag", txt=self.tags["theirs"][:12])
		self.assertEqual(r.status_code, 200, r.text[:300])
		self.assertTellsNothing(r, self.tags["theirs"])
		r = self.get(
			"frappe.client.get_value",
			"sales1",
			doctype="Tag",
			fieldname="name",
			filters={"name": ["like", f"{self.tags['theirs'][:12]}%"]},
		)
		self.assertTellsNothing(r, self.tags["theirs"])
		r = self.get("frappe.desk.doctype.tag.tag.get_tags", "sales1", doctype="CRM Deal", txt="")
		self.assertTellsNothing(r, self.tags["theirs"])


class TestDiscussions(TagsAndDiscussionsTestCase):
	"""A topic with a reply on sales3's deal (foreign to sales1), on sales1's deal, and on a row of a non-CRM
	doctype. Sales managers and heads of sales are given read access to discussions (an administrator may, in the Role
	Permissions Manager): the discussions of records they cannot see must still stay hidden."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		frappe.set_user("Administrator")
		for doctype in DISCUSSION_DOCTYPES:
			for role in (SALES_MANAGER, HEAD_OF_SALES):
				add_permission(doctype, role, 0)
				update_permission_property(doctype, role, 0, "read", 1)
		cls.marker = f"zq{_token()}"
		cls.topics, cls.replies = {}, {}
		for key, (doctype, name) in {
			"theirs": ("CRM Deal", cls.theirs["CRM Deal"]),
			"mine": ("CRM Deal", cls.mine["CRM Deal"]),
			"elsewhere": ("User", "Administrator"),
		}.items():
			topic = frappe.get_doc(
				{
					"doctype": "Discussion Topic",
					"title": f"Topic {key} {cls.marker}",
					"reference_doctype": doctype,
					"reference_docname": name,
				}
			).insert(ignore_permissions=True)
			reply = frappe.get_doc(
				{"doctype": "Discussion Reply", "topic": topic.name, "reply": f"Reply {key} {cls.marker}"}
			).insert(ignore_permissions=True)
			cls.topics[key], cls.replies[key] = topic.name, reply.name
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		frappe.db.rollback()
		frappe.set_user("Administrator")
		frappe.db.delete("Discussion Reply", {"name": ("in", list(cls.replies.values()))})
		frappe.db.delete("Discussion Topic", {"name": ("in", list(cls.topics.values()))})
		for doctype in DISCUSSION_DOCTYPES:
			reset_perms(doctype)
		frappe.db.commit()
		super().tearDownClass()

	def rows(self, doctype: str) -> dict[str, str]:
		return self.topics if doctype == "Discussion Topic" else self.replies

	def test_lists_and_counts(self):
		for doctype in DISCUSSION_DOCTYPES:
			rows = self.rows(doctype)
			for user, hidden in (("sales1", "theirs"), ("head_b", "mine")):
				with self.subTest(doctype=doctype, user=user):
					r = self.rest_list(doctype, email(user), limit_page_length=0, fields=["*"])
					self.assertEqual(r.status_code, 200, r.text[:300])
					listed = {row["name"] for row in r.data}
					self.assertNotIn(rows[hidden], listed)
					self.assertTellsNothing(r, f"{hidden} {self.marker}")
					self.assertLessEqual({name for key, name in rows.items() if key != hidden}, listed)
					for path, count in self.counts(doctype, user).items():
						self.assertEqual(count, len(listed), path)

	def test_read_by_name(self):
		for doctype in DISCUSSION_DOCTYPES:
			rows = self.rows(doctype)
			with self.subTest(doctype=doctype):
				r = self.rest_get(doctype, rows["theirs"], email("sales1"))
				self.assertEqual(r.status_code, PERMISSION_DENIED, r.text[:300])
				self.assertTellsNothing(r, self.marker)
				for key in ("mine", "elsewhere"):
					r = self.rest_get(doctype, rows[key], email("sales1"))
					self.assertEqual(r.status_code, 200, r.text[:300])
				r = self.rest_get(doctype, rows["theirs"], email("head_b"))
				self.assertEqual(r.status_code, 200, r.text[:300])

	def test_read_through_methods(self):
		for doctype in DISCUSSION_DOCTYPES:
			rows = self.rows(doctype)
			with self.subTest(doctype=doctype):
				r = self.get("frappe.client.get", "sales1", doctype=doctype, name=rows["theirs"])
				self.assertEqual(r.status_code, PERMISSION_DENIED, r.text[:300])
				self.assertTellsNothing(r, self.marker)
				r = self.get(
					"frappe.client.get_list",
					"sales1",
					doctype=doctype,
					fields=["*"],
					limit_page_length=0,
				)
				self.assertTellsNothing(r, f"theirs {self.marker}")
