"""Read paths beside lists and forms, tried by a hostile sales manager (sales1, team A) and a head of
another team (head_b) against records of sales3 (team B) they cannot see.

Each path must tell them nothing about those records: no name, title or field value, no count that
moves with them, no error that differs with their content. Their own records and their team's stay
reachable through the same paths (the positive controls below).
"""

import json
from urllib.parse import urlencode

import frappe
from frappe.utils.global_search import sync_global_search

from simple_crm.automation import new_leads
from simple_crm.tests import factories, sales_org
from simple_crm.tests.sales_org import TwoTeamsRecordsTestCase, email


class ReadPathsTestCase(TwoTeamsRecordsTestCase):
	"""One record of every kind for sales1 (`mine`) and for sales3 (`theirs`), committed."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.their_titles = {
			"CRM Deal": frappe.db.get_value("CRM Deal", cls.theirs["CRM Deal"], "deal_name"),
			"CRM Client": frappe.db.get_value("CRM Client", cls.theirs["CRM Client"], "client_name"),
			"CRM Counterparty": frappe.db.get_value(
				"CRM Counterparty", cls.theirs["CRM Counterparty"], "short_name"
			),
			"CRM Task": frappe.db.get_value("CRM Task", cls.theirs["CRM Task"], "subject"),
		}
		frappe.db.commit()

	def get(self, method: str, user: str, **params):
		query = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
		return self.request("GET", f"/api/method/{method}?{urlencode(query)}", user)

	def assertTellsNothing(self, response, *secrets):
		"""None of the secrets (names, titles, values of foreign records) is in the response."""
		for secret in secrets:
			self.assertTrue(secret)
			for text in (response.text, json.dumps(response.json, ensure_ascii=False)):
				self.assertNotIn(secret, text, f"{secret!r} leaked: {response.text[:500]}")

	def their_secrets(self, *doctypes) -> list[str]:
		doctypes = doctypes or tuple(self.theirs)
		secrets = [self.theirs[d] for d in doctypes]
		secrets += [self.their_titles[d] for d in doctypes if d in self.their_titles]
		return secrets


class TestLinkTitle(ReadPathsTestCase):
	def test_titles_of_foreign_records_are_not_given(self):
		for doctype in ("CRM Deal", "CRM Client", "CRM Counterparty", "CRM Task"):
			name, title = self.theirs[doctype], self.their_titles[doctype]
			for user in ("sales1", "head_b"):
				with self.subTest(doctype=doctype, user=user):
					r = self.get(
						"frappe.desk.search.get_link_title", email(user), doctype=doctype, docname=name
					)
					if user == "head_b":  # sales3 is in head_b's team
						self.assertEqual(r.data, title)
					else:
						self.assertEqual(r.status_code, 200, r.text[:300])
						self.assertTellsNothing(r, title)
						# the same answer as for a record that does not exist
						missing = self.get(
							"frappe.desk.search.get_link_title",
							email(user),
							doctype=doctype,
							docname="NOPE-1",
						)
						self.assertEqual(r.data, missing.data)

	def test_own_titles_are_given(self):
		deal = self.mine["CRM Deal"]
		r = self.get("frappe.desk.search.get_link_title", email("sales1"), doctype="CRM Deal", docname=deal)
		self.assertEqual(r.data, frappe.db.get_value("CRM Deal", deal, "deal_name"))


class TestGroupByCount(ReadPathsTestCase):
	def setUp(self):
		super().setUp()
		frappe.set_user("Administrator")
		todo = frappe.get_doc(
			{
				"doctype": "ToDo",
				"allocated_to": email("sales3"),
				"reference_type": "CRM Deal",
				"reference_name": self.theirs["CRM Deal"],
				"description": "Позвонить по сделке",
			}
		).insert(ignore_permissions=True)
		self.track("ToDo", todo.name)
		frappe.db.commit()

	def test_assigned_to_counts_only_visible_records(self):
		deal, title = self.theirs["CRM Deal"], self.their_titles["CRM Deal"]
		for filters in ([["CRM Deal", "name", "=", deal]], [["CRM Deal", "deal_name", "=", title]]):
			with self.subTest(filters=filters):
				r = self.get(
					"frappe.desk.listview.get_group_by_count",
					email("sales1"),
					doctype="CRM Deal",
					current_filters=filters,
					field="assigned_to",
				)
				self.assertEqual(r.status_code, 200, r.text[:300])
				self.assertEqual(r.data, [])
		# who sees the deal gets the count
		r = self.get(
			"frappe.desk.listview.get_group_by_count",
			email("head_b"),
			doctype="CRM Deal",
			current_filters=[["CRM Deal", "name", "=", deal]],
			field="assigned_to",
		)
		self.assertEqual(r.data, [{"name": email("sales3"), "count": 1}])

	def test_assigned_to_needs_read_permission_on_the_doctype(self):
		r = self.get(
			"frappe.desk.listview.get_group_by_count",
			email("sales1"),
			doctype="CRM Hand Over",
			current_filters=[],
			field="assigned_to",
		)
		self.assertEqual(r.status_code, 403, r.text[:300])

	def test_owner_and_sidebar_stats_count_only_visible_records(self):
		deal = self.theirs["CRM Deal"]
		filters = [["CRM Deal", "name", "=", deal]]
		r = self.get(
			"frappe.desk.listview.get_group_by_count",
			email("sales1"),
			doctype="CRM Deal",
			current_filters=filters,
			field="owner",
		)
		self.assertEqual(r.data, [])
		r = self.get(
			"frappe.desk.reportview.get_sidebar_stats",
			email("sales1"),
			doctype="CRM Deal",
			stats=["owner", "_assign", "stage"],
			filters=filters,
		)
		self.assertEqual(r.status_code, 200, r.text[:300])
		self.assertTellsNothing(r, deal, email("sales3"))
		self.assertEqual(r.data["stats"].get("stage", []), [])


class TestWorkflowActions(ReadPathsTestCase):
	def test_actions_of_foreign_records_are_not_listed(self):
		lead = self.theirs["CRM Lead"]
		# the new-lead job makes a lead's workflow actions once its insert has committed
		for name in (lead, self.mine["CRM Lead"]):
			new_leads.handle_new_lead(name, frappe._dict(callback_task_enabled=0))
		frappe.db.commit()
		stored = frappe.get_all(
			"Workflow Action", filters={"reference_doctype": "CRM Lead", "reference_name": lead}, pluck="name"
		)
		self.assertTrue(stored, "the lead workflow gives actions to the sales roles")
		for user in ("sales1", "head_b"):
			with self.subTest(user=user):
				r = self.rest_list(
					"Workflow Action",
					user=email(user),
					fields=["name", "reference_name", "workflow_state"],
					filters=[["reference_name", "=", lead]],
				)
				self.assertEqual(r.status_code, 200, r.text[:300])
				self.assertEqual(bool(r.data), user == "head_b")
				r = self.rest_get("Workflow Action", stored[0], user=email(user))
				self.assertEqual(r.status_code, 200 if user == "head_b" else 403, r.text[:300])
		# and the actions of one's own records stay
		r = self.rest_list(
			"Workflow Action",
			user=email("sales1"),
			fields=["name"],
			filters=[["reference_name", "=", self.mine["CRM Lead"]]],
		)
		self.assertTrue(r.data)


class TestGlobalSearch(ReadPathsTestCase):
	"""An administrator may add Frappe's doctypes to the search bar (Global Search Settings)."""

	def setUp(self):
		super().setUp()
		frappe.set_user("Administrator")
		self.added = not frappe.db.exists("Global Search DocType", {"document_type": "ToDo"})
		if self.added:
			settings = frappe.get_single("Global Search Settings")
			settings.append("allowed_in_global_search", {"document_type": "ToDo"})
			settings.save()
			frappe.cache.hdel("global_search", "search_priorities")
			frappe.db.commit()

	def tearDown(self):
		frappe.db.rollback()
		if self.added:
			settings = frappe.get_single("Global Search Settings")
			settings.allowed_in_global_search = [
				row for row in settings.allowed_in_global_search if row.document_type != "ToDo"
			]
			settings.save()
			frappe.cache.hdel("global_search", "search_priorities")
			frappe.db.commit()
		super().tearDown()

	def test_todos_describing_foreign_records_are_not_found(self):
		word = f"Тайна{frappe.generate_hash(length=6)}"
		frappe.set_user("Administrator")
		for user in ("sales3", "sales1"):
			todo = frappe.get_doc(
				{
					"doctype": "ToDo",
					"allocated_to": email(user),
					"reference_type": "CRM Deal",
					"reference_name": self.theirs["CRM Deal"] if user == "sales3" else self.mine["CRM Deal"],
					"description": f"{word} {self.their_titles['CRM Deal'] if user == 'sales3' else 'моя'}",
				}
			).insert(ignore_permissions=True)
			self.track("ToDo", todo.name)
		sync_global_search()
		frappe.db.commit()
		r = self.rest_call("frappe.utils.global_search.search", {"text": word}, user=email("sales1"))
		self.assertEqual(r.status_code, 200, r.text[:300])
		self.assertTellsNothing(r, self.theirs["CRM Deal"], self.their_titles["CRM Deal"])
		self.assertEqual([row["doctype"] for row in r.data], ["ToDo"])  # her own
		# a colleague's ToDo is not listed to a head of sales either (Frappe: one's own ToDos); sales3 finds his
		r = self.rest_call("frappe.utils.global_search.search", {"text": word}, user=email("head_b"))
		self.assertEqual(r.data, [])
		r = self.rest_call("frappe.utils.global_search.search", {"text": word}, user=email("sales3"))
		self.assertEqual(len(r.data), 1)
		self.assertIn(self.their_titles["CRM Deal"], r.data[0]["content"])


class TestAttachments(ReadPathsTestCase):
	def attach(self, name: str, is_private: int) -> frappe._dict:
		frappe.set_user("Administrator")
		file = frappe.get_doc(
			{
				"doctype": "File",
				"file_name": f"{name}.txt",
				"attached_to_doctype": "CRM Deal",
				"attached_to_name": self.theirs["CRM Deal"],
				"is_private": is_private,
				"content": b"contract draft",
			}
		).insert(ignore_permissions=True)
		self.track("File", file.name)
		frappe.db.commit()
		return file

	def test_files_of_foreign_records_are_not_listed_or_read(self):
		files = [self.attach(f"secret-{frappe.generate_hash(length=6)}", private) for private in (0, 1)]
		deal = self.theirs["CRM Deal"]
		for user in ("sales1", "head_b"):
			with self.subTest(user=user):
				r = self.rest_list(
					"File",
					user=email(user),
					fields=["name", "file_name", "file_url", "attached_to_name"],
					filters=[["attached_to_name", "=", deal]],
				)
				self.assertEqual(r.status_code, 200, r.text[:300])
				if user == "head_b":
					self.assertEqual(len(r.data), 2)
					continue
				self.assertEqual(r.data, [])
				for file in files:
					self.assertEqual(self.rest_get("File", file.name, user=email(user)).status_code, 403)
					r = self.request("GET", file.file_url, email(user))
					self.assertNotEqual(r.status_code, 200)
					self.assertNotIn("contract draft", r.text)


class TestOpenCount(ReadPathsTestCase):
	def test_counts_of_a_foreign_record_are_refused(self):
		r = self.get(
			"frappe.desk.notifications.get_open_count",
			email("sales1"),
			doctype="CRM Client",
			name=self.theirs["CRM Client"],
		)
		self.assertEqual(r.status_code, 403, r.text[:300])

	def test_counts_of_an_own_record_leave_out_foreign_links(self):
		# a call of sales3 (telephony links calls by number) on sales1's deal: she does not see it
		frappe.set_user("Administrator")
		call = factories.make_call(manager=email("sales3"), deal=self.mine["CRM Deal"])
		self.track("CRM Call", call.name)
		frappe.db.commit()
		expected = {"sales1": 0, "head_b": 1}
		for user, count in expected.items():
			with self.subTest(user=user):
				r = self.get(
					"frappe.desk.notifications.get_open_count",
					email(user),
					doctype="CRM Deal",
					name=self.mine["CRM Deal"],
				)
				if user == "head_b":  # the deal is not hers to open
					self.assertEqual(r.status_code, 403, r.text[:300])
					continue
				self.assertEqual(r.status_code, 200, r.text[:300])
				counts = {row["doctype"]: row["count"] for row in r.data["count"]["external_links_found"]}
				self.assertEqual(counts["CRM Call"], count)
				self.assertTellsNothing(r, call.name)
		# what the dashboard does not show is not counted (Frappe fails on it)
		r = self.get(
			"frappe.desk.notifications.get_open_count",
			email("sales1"),
			doctype="CRM Client",
			name=self.mine["CRM Client"],
			items=["ToDo"],  # not among the client form's connections
		)
		self.assertEqual(r.status_code, 200, r.text[:300])
		self.assertEqual(r.data["count"]["external_links_found"], [])


class TestKanban(ReadPathsTestCase):
	def setUp(self):
		super().setUp()
		frappe.set_user("Administrator")
		board = frappe.get_doc(
			{
				"doctype": "Kanban Board",
				"kanban_board_name": f"Стадии {frappe.generate_hash(length=6)}",
				"reference_doctype": "CRM Deal",
				"field_name": "stage",
				"columns": [{"column_name": stage} for stage in ("Qualification", "Proposal")],
			}
		).insert(ignore_permissions=True)
		self.board = self.track("Kanban Board", board.name)
		frappe.db.commit()

	def board_orders(self) -> list[str]:
		return [row.order or "" for row in frappe.get_doc("Kanban Board", self.board).columns]

	def test_foreign_cards_cannot_be_moved(self):
		deal = self.theirs["CRM Deal"]
		stage = frappe.db.get_value("CRM Deal", deal, "stage")
		before = self.board_orders()
		answers = set()  # (status, messages): the same whatever the card's column
		for column in ("Qualification", "Proposal"):
			r = self.rest_call(
				"frappe.desk.doctype.kanban_board.kanban_board.update_order",
				{"board_name": self.board, "order": json.dumps({column: [deal]})},
				user=email("sales1"),
			)
			self.assertEqual(r.status_code, 403, r.text[:300])
			answers.add((r.status_code, r.error_text()))
			r = self.rest_call(
				"frappe.desk.doctype.kanban_board.kanban_board.update_order_for_single_card",
				{
					"board_name": self.board,
					"docname": deal,
					"from_colname": stage,
					"to_colname": column,
					"old_index": 0,
					"new_index": 0,
				},
				user=email("sales1"),
			)
			self.assertEqual(r.status_code, 403, r.text[:300])
			r = self.rest_call(
				"frappe.desk.doctype.kanban_board.kanban_board.add_card",
				{"board_name": self.board, "docname": deal, "colname": column},
				user=email("sales1"),
			)
			self.assertEqual(r.status_code, 403, r.text[:300])
		self.assertEqual(len(answers), 1, "the answer does not depend on the card's column")
		frappe.db.rollback()
		self.assertEqual(self.board_orders(), before)
		self.assertEqual(frappe.db.get_value("CRM Deal", deal, "stage"), stage)
		self.assertNotIn(deal, json.dumps(self.board_orders()))

	def test_shared_board_keeps_no_card_names(self):
		# whoever moves cards, the board everyone reads does not list them
		r = self.rest_call(
			"frappe.desk.doctype.kanban_board.kanban_board.update_order",
			{"board_name": self.board, "order": json.dumps({"Qualification": [self.theirs["CRM Deal"]]})},
		)
		self.assertEqual(r.status_code, 200, r.text[:300])
		r = self.rest_get("Kanban Board", self.board, user=email("sales1"))
		self.assertEqual(r.status_code, 200, r.text[:300])
		self.assertTellsNothing(r, self.theirs["CRM Deal"])

	def test_own_cards_move(self):
		deal = self.mine["CRM Deal"]
		r = self.rest_call(
			"frappe.desk.doctype.kanban_board.kanban_board.update_order",
			{"board_name": self.board, "order": json.dumps({"Qualification": [deal]})},
			user=email("sales1"),
		)
		self.assertEqual(r.status_code, 200, r.text[:300])


class TestDuplicateWarning(ReadPathsTestCase):
	def test_warning_names_only_what_she_can_see(self):
		phone = frappe.db.get_value("CRM Lead", self.theirs["CRM Lead"], "phone")
		title = frappe.db.get_value("CRM Lead", self.theirs["CRM Lead"], "lead_name")
		r = self.rest_insert(
			"CRM Lead",
			{"lead_name": f"Дубль {frappe.generate_hash(length=6)}", "phone": phone},
			email("sales1"),
		)
		self.assertEqual(r.status_code, 200, r.text[:300])
		messages = r.error_text()
		self.assertIn(frappe.db.get_value("User", email("sales3"), "full_name"), messages)
		self.assertNotIn(self.theirs["CRM Lead"], messages)
		self.assertNotIn(f">{title}<", messages)
		# whoever sees the twin gets its name
		r = self.rest_insert(
			"CRM Lead",
			{"lead_name": f"Дубль {frappe.generate_hash(length=6)}", "phone": phone},
			email("head_b"),
		)
		self.assertEqual(r.status_code, 200, r.text[:300])
		self.assertIn(self.theirs["CRM Lead"], r.error_text())


class TestErrorMessages(ReadPathsTestCase):
	def test_counterparty_check_does_not_name_a_foreign_client(self):
		r = self.rest_update(
			"CRM Deal",
			self.mine["CRM Deal"],
			{"counterparty": self.theirs["CRM Counterparty"]},
			user=email("sales1"),
		)
		self.assertIn(r.status_code, (403, 417), r.text[:300])
		self.assertTellsNothing(r, self.theirs["CRM Client"], self.their_titles["CRM Client"])

	def test_dependents_of_a_deleted_client_are_named_only_when_visible(self):
		frappe.set_user("Administrator")
		deal = factories.make_deal(self.mine["CRM Client"], responsible=email("sales3"))
		self.track("CRM Deal", deal.name)
		frappe.db.commit()
		r = self.rest_delete("CRM Client", self.mine["CRM Client"], user=email("head_a"))
		self.assertEqual(r.status_code, 417, r.text[:300])
		self.assertIn(self.mine["CRM Deal"], r.error_text())
		self.assertTellsNothing(r, deal.name, deal.deal_name)


class TestOtherDoors(ReadPathsTestCase):
	"""Frappe's other whitelisted read paths, given the name of a foreign record."""

	def test_form_and_value_paths(self):
		deal = self.theirs["CRM Deal"]
		# a refusal may repeat the name she sent, nothing else
		secrets = [self.their_titles["CRM Deal"], *self.their_secrets("CRM Client")]
		amount_field = {"fieldname": ["deal_name", "amount", "stage"]}
		calls = [
			("frappe.desk.form.load.getdoc", {"doctype": "CRM Deal", "name": deal}),
			("frappe.desk.form.load.get_docinfo", {"doctype": "CRM Deal", "name": deal}),
			("frappe.client.get", {"doctype": "CRM Deal", "name": deal}),
			("frappe.client.get_value", {"doctype": "CRM Deal", "filters": deal, **amount_field}),
			("frappe.desk.form.linked_with.get", {"doctype": "CRM Deal", "docname": deal}),
			(
				"frappe.desk.form.linked_with.get",
				{"doctype": "CRM Client", "docname": self.mine["CRM Client"]},
			),
			("frappe.model.workflow.get_transitions", {"doc": {"doctype": "CRM Deal", "name": deal}}),
			(
				"frappe.www.printview.get_html_and_style",
				{"doc": "CRM Deal", "name": deal, "print_format": "Standard"},
			),
			("frappe.utils.print_format.download_pdf", {"doctype": "CRM Deal", "name": deal}),
			("frappe.desk.form.utils.get_pdf_link", {"doctype": "CRM Deal", "docname": deal}),
			("frappe.client.get_list", {"doctype": "CRM Deal Item", "parent": "CRM Deal", "fields": ["*"]}),
			(
				"frappe.desk.reportview.get_list",
				{"doctype": "CRM Deal Manager", "parent_doctype": "CRM Deal", "fields": ["parent"]},
			),
		]
		for method, args in calls:
			with self.subTest(method=method, args=args):
				r = self.get(method, email("sales1"), **args)
				self.assertNotEqual(r.status_code, 500, r.text[:500])
				self.assertTellsNothing(r, *secrets)

	def test_next_record_is_no_oracle_for_a_foreign_value(self):
		deal = self.theirs["CRM Deal"]
		r = self.get(
			"frappe.desk.form.utils.get_next",
			email("sales1"),
			doctype="CRM Deal",
			value=deal,
			prev=0,
			sort_field="amount",
			sort_order="desc",
		)
		self.assertEqual(r.status_code, 403, r.text[:300])

	def test_printview_page(self):
		deal = self.theirs["CRM Deal"]
		r = self.request("GET", f"/printview?doctype=CRM%20Deal&name={deal}", email("sales1"))
		self.assertTellsNothing(r, self.their_titles["CRM Deal"], *self.their_secrets("CRM Client"))

	def test_rows_about_foreign_records(self):
		deal = self.theirs["CRM Deal"]
		frappe.set_user("Administrator")
		rows = [
			{"doctype": "Tag Link", "document_type": "CRM Deal", "document_name": deal, "tag": "vip"},
			{
				"doctype": "Document Follow",
				"ref_doctype": "CRM Deal",
				"ref_docname": deal,
				"user": email("sales3"),
			},
			{
				"doctype": "Comment",
				"comment_type": "Comment",
				"reference_doctype": "CRM Deal",
				"reference_name": deal,
				"content": "секрет",
			},
		]
		if not frappe.db.exists("Tag", "vip"):
			self.track("Tag", frappe.get_doc({"doctype": "Tag", "name": "vip"}).insert().name)
		for row in rows:
			doc = frappe.get_doc(row).insert(ignore_permissions=True)
			self.track(doc.doctype, doc.name)
		frappe.db.commit()
		lists = {
			"Tag Link": "document_name",
			"Document Follow": "ref_docname",
			"Comment": "reference_name",
			"Version": "docname",
			"Communication": "reference_name",
			"ToDo": "reference_name",
			"Workflow Action": "reference_name",
			"File": "attached_to_name",
			"Energy Point Log": "reference_name",
			"Notification Log": "document_name",
		}
		for user in ("sales1", "head_a"):
			for doctype, field in lists.items():
				with self.subTest(user=user, doctype=doctype):
					r = self.rest_list(
						doctype, user=email(user), fields=["name", field], filters=[[field, "=", deal]]
					)
					self.assertIn(r.status_code, (200, 403), r.text[:300])
					self.assertTellsNothing(r, deal)


class TestHooks(ReadPathsTestCase):
	def test_every_reference_doctype_is_wired(self):
		from simple_crm.security.read_paths import REFERENCE_FIELDS

		conditions = frappe.get_hooks("permission_query_conditions")
		permissions = frappe.get_hooks("has_permission")
		for doctype in REFERENCE_FIELDS:
			with self.subTest(doctype=doctype):
				self.assertIn("simple_crm.security.read_paths.reference_query", conditions.get(doctype, []))
				self.assertIn(
					"simple_crm.security.read_paths.reference_permission", permissions.get(doctype, [])
				)
