"""Recurring tasks set up by sales people with Frappe's Auto Repeat, over REST as the sales organisation.

sales1 and sales2 are sales managers of team A (head_a), sales3 of team B (head_b); crm_admin sees
everything. A sales manager repeats their own task and the scheduler's run makes the copy; nobody below
"sees everything" repeats a colleague's task or another doctype, reads a repeat of a task they cannot
see, has copies e-mailed, or renders a template (which reads any table); a head of sales repeats their
team's tasks. Every refusal is checked to have changed nothing.
"""

import datetime

import frappe
from frappe.utils import get_datetime, getdate

from simple_crm.tests import factories
from simple_crm.tests.sales_org import SalesOrgRestTestCase, email

AUTO_REPEAT = "Auto Repeat"
PERMISSION_DENIED = 403
# a quarter from the start, on a day after anything else on the site
START = datetime.date(2031, 3, 10)
NEXT = datetime.date(2031, 6, 10)
DUE_TIME = datetime.time(11, 30)


def repeats_of(task: str) -> list[str]:
	frappe.db.rollback()
	return frappe.get_all(
		AUTO_REPEAT, {"reference_doctype": "CRM Task", "reference_document": task}, pluck="name"
	)


class RecurringTasksTestCase(SalesOrgRestTestCase):
	def setUp(self):
		super().setUp()
		frappe.set_user("Administrator")
		self.tasks = {key: self.make_task(key) for key in ("sales1", "sales2", "sales3")}
		client = self.track("CRM Client", factories.make_client(responsible=email("sales1")).name)
		self.deal = self.track("CRM Deal", factories.make_deal(client, responsible=email("sales1")).name)
		frappe.db.commit()

	def tearDown(self):
		frappe.db.rollback()
		frappe.set_user("Administrator")
		for task in self.tasks.values():
			for name in frappe.get_all(AUTO_REPEAT, {"reference_document": task}, pluck="name"):
				frappe.db.delete("Error Log", {"reference_doctype": AUTO_REPEAT, "reference_name": name})
				frappe.delete_doc(AUTO_REPEAT, name, force=True, ignore_permissions=True)
		frappe.db.commit()
		super().tearDown()

	def make_task(self, owner: str, **kwargs) -> str:
		task = factories.make_task(
			assigned_to=email(owner),
			author=email(owner),
			task_type="Call",
			due_on=datetime.datetime.combine(START, DUE_TIME),
			remind_at=datetime.datetime.combine(START, DUE_TIME) - datetime.timedelta(hours=1),
			**kwargs,
		)
		return self.track("CRM Task", task.name)

	def repeat_data(self, task: str, **values) -> dict:
		return {
			"reference_doctype": "CRM Task",
			"reference_document": task,
			"frequency": "Quarterly",
			"start_date": str(START),
			**values,
		}

	def create_repeat(self, user: str, task: str, **values):
		return self.rest_insert(AUTO_REPEAT, self.repeat_data(task, **values), email(user))

	def admin_repeat(self, task: str, **values) -> str:
		frappe.set_user("Administrator")
		doc = frappe.get_doc({"doctype": AUTO_REPEAT, **self.repeat_data(task, **values)}).insert()
		frappe.db.commit()
		return doc.name

	def stored(self, name: str) -> dict | None:
		frappe.db.rollback()
		return frappe.db.get_value(AUTO_REPEAT, name, ["*"], as_dict=True)

	def task_repeat(self, task: str) -> str | None:
		frappe.db.rollback()
		return frappe.db.get_value("CRM Task", task, "auto_repeat")

	def assertRefused(self, response, *phrases: str):
		self.assertEqual(response.status_code, PERMISSION_DENIED, response.text[:600])
		for phrase in phrases:
			self.assertIn(phrase, response.error_text())


class TestSetUp(RecurringTasksTestCase):
	def test_crm_roles_may_use_auto_repeat_and_later_changes_stay(self):
		from simple_crm.install import grant_role_permissions

		for role in ("CRM Sales Manager", "CRM Head of Sales", "CRM Administrator"):
			with self.subTest(role=role):
				row = frappe.db.get_value(
					"Custom DocPerm",
					{"parent": AUTO_REPEAT, "role": role, "permlevel": 0},
					["read", "write", "create", "delete"],
					as_dict=True,
				)
				self.assertEqual(row, {"read": 1, "write": 1, "create": 1, "delete": 1})
		self.assertFalse(frappe.db.exists("Custom DocPerm", {"parent": AUTO_REPEAT, "role": "CRM Director"}))
		# Frappe's own rows are kept beside them
		self.assertTrue(frappe.db.exists("Custom DocPerm", {"parent": AUTO_REPEAT, "role": "System Manager"}))
		row = frappe.db.get_value("Custom DocPerm", {"parent": AUTO_REPEAT, "role": "CRM Sales Manager"})
		frappe.db.set_value("Custom DocPerm", row, "delete", 0)
		try:
			grant_role_permissions()
			self.assertEqual(frappe.db.get_value("Custom DocPerm", row, "delete"), 0)
		finally:
			frappe.db.set_value("Custom DocPerm", row, "delete", 1)
			frappe.db.commit()

	def test_the_hooks_are_wired(self):
		self.assertEqual(
			frappe.get_hooks("has_permission")[AUTO_REPEAT],
			[
				"simple_crm.security.read_paths.reference_permission",
				"simple_crm.security.auto_repeat.auto_repeat_permission",
			],
		)
		self.assertIn(
			"simple_crm.security.read_paths.reference_query",
			frappe.get_hooks("permission_query_conditions")[AUTO_REPEAT],
		)
		overrides = frappe.get_hooks("override_whitelisted_methods")
		for method in ("update_reference", "generate_message_preview"):
			self.assertEqual(
				overrides[f"frappe.automation.doctype.auto_repeat.auto_repeat.{method}"],
				[f"simple_crm.security.auto_repeat.{method}"],
			)


class TestOwnTasks(RecurringTasksTestCase):
	def test_a_sales_manager_repeats_her_task_quarterly_and_the_copy_is_made(self):
		from frappe.automation.doctype.auto_repeat.auto_repeat import (
			create_repeated_entries,
			get_auto_repeat_entries,
		)

		task = self.tasks["sales1"]
		r = self.create_repeat("sales1", task)
		self.assertEqual(r.status_code, 200, r.text[:600])
		repeat = r.data["name"]
		self.assertEqual(self.task_repeat(task), repeat)
		self.assertEqual(getdate(self.stored(repeat)["next_schedule_date"]), NEXT)
		r = self.rest_get(AUTO_REPEAT, repeat, email("sales1"))
		self.assertEqual((r.status_code, r.data["reference_document"]), (200, task))
		r = self.rest_list(AUTO_REPEAT, email("sales1"), fields=["name"], limit_page_length=0)
		self.assertIn(repeat, [row["name"] for row in r.data])

		def copies():
			frappe.db.rollback()
			return frappe.get_all("CRM Task", {"auto_repeat": repeat, "name": ("!=", task)}, pluck="name")

		frappe.set_user("Administrator")
		with self.freeze_time(datetime.datetime(2031, 6, 9, 9, 0)):
			create_repeated_entries([e for e in get_auto_repeat_entries() if e.name == repeat])
		self.assertEqual(copies(), [], "nothing before the date")
		with self.freeze_time(datetime.datetime.combine(NEXT, datetime.time(9, 0))):
			due = [e for e in get_auto_repeat_entries() if e.name == repeat]
			self.assertEqual(len(due), 1)
			create_repeated_entries(due)
			create_repeated_entries(due)
		frappe.db.commit()
		made = copies()
		for name in made:
			self.track("CRM Task", name)
		self.assertEqual(len(made), 1, "exactly one copy on the date")
		self.assertFalse(frappe.db.exists("Error Log", {"reference_name": repeat}))
		copy = frappe.get_doc("CRM Task", made[0])
		original = frappe.get_doc("CRM Task", task)
		self.assertEqual(
			(copy.assigned_to, copy.author, copy.subject, copy.status),
			(email("sales1"), email("sales1"), original.subject, "Open"),
		)
		self.assertEqual(get_datetime(copy.due_on), datetime.datetime.combine(NEXT, DUE_TIME))
		# the copy is hers like the original: she sees it
		r = self.rest_get("CRM Task", copy.name, email("sales1"))
		self.assertEqual(r.status_code, 200, r.text[:300])

	def test_make_auto_repeat_from_the_form_works_for_her_task(self):
		r = self.rest_call(
			"frappe.automation.doctype.auto_repeat.auto_repeat.make_auto_repeat",
			{"doctype": "CRM Task", "docname": self.tasks["sales1"], "frequency": "Monthly"},
			email("sales1"),
		)
		self.assertEqual(r.status_code, 200, r.text[:600])
		self.assertEqual(self.task_repeat(self.tasks["sales1"]), r.data["name"])

	def test_she_changes_and_deletes_her_repeat(self):
		repeat = self.create_repeat("sales1", self.tasks["sales1"]).data["name"]
		r = self.rest_update(AUTO_REPEAT, repeat, {"frequency": "Yearly"}, email("sales1"))
		self.assertEqual(r.status_code, 200, r.text[:600])
		self.assertEqual(self.stored(repeat)["frequency"], "Yearly")
		r = self.rest_delete(AUTO_REPEAT, repeat, email("sales1"))
		self.assertEqual(r.status_code, 202, r.text[:600])
		self.assertIsNone(self.stored(repeat))
		self.assertFalse(self.task_repeat(self.tasks["sales1"]))

	def test_a_head_of_sales_repeats_her_teams_tasks_only(self):
		r = self.create_repeat("head_a", self.tasks["sales2"])
		self.assertEqual(r.status_code, 200, r.text[:600])
		self.assertEqual(self.task_repeat(self.tasks["sales2"]), r.data["name"])
		# the task's manager sees the repeat her head set up
		r = self.rest_get(AUTO_REPEAT, r.data["name"], email("sales2"))
		self.assertEqual(r.status_code, 200, r.text[:300])
		r = self.create_repeat("head_a", self.tasks["sales3"])
		self.assertRefused(r, "is not one of the records you can see")
		self.assertEqual(repeats_of(self.tasks["sales3"]), [])
		self.assertFalse(self.task_repeat(self.tasks["sales3"]))


class TestRefusals(RecurringTasksTestCase):
	def test_no_repeat_of_a_colleagues_task(self):
		for task in (self.tasks["sales2"], self.tasks["sales3"], "CRM-TASK-DOES-NOT-EXIST"):
			with self.subTest(task=task):
				r = self.create_repeat("sales1", task)
				if task in self.tasks.values():
					self.assertRefused(r, "is not one of the records you can see, so it cannot be repeated")
				else:  # Frappe's own check of links, as on any form
					self.assertEqual(r.status_code, 417, r.text[:300])
				r = self.rest_call(
					"frappe.automation.doctype.auto_repeat.auto_repeat.make_auto_repeat",
					{"doctype": "CRM Task", "docname": task, "frequency": "Daily"},
					email("sales1"),
				)
				self.assertIn(r.status_code, (PERMISSION_DENIED, 417), r.text[:300])
				self.assertEqual(repeats_of(task), [])
		for key in ("sales2", "sales3"):
			self.assertFalse(self.task_repeat(self.tasks[key]))

	def test_no_repeat_of_another_doctype(self):
		for user in ("sales1", "head_a"):
			with self.subTest(user=user):
				r = self.rest_insert(
					AUTO_REPEAT,
					self.repeat_data(self.deal, reference_doctype="CRM Deal"),
					email(user),
				)
				self.assertRefused(r, "Only tasks can be repeated")
				frappe.db.rollback()
				self.assertFalse(frappe.db.exists(AUTO_REPEAT, {"reference_document": self.deal}))

	def test_her_repeat_cannot_be_moved_to_a_colleagues_task_or_a_deal(self):
		repeat = self.create_repeat("sales1", self.tasks["sales1"]).data["name"]
		before = self.stored(repeat)
		attempts = (
			# a reference the user cannot see is refused as for any row about a record (read_paths)
			("PUT", {"reference_document": self.tasks["sales3"]}, "does not have access"),
			("PUT", {"reference_doctype": "CRM Deal", "reference_document": self.deal}, "Only tasks"),
			(
				"update_reference",
				{"docname": repeat, "reference": self.tasks["sales3"]},
				"cannot be repeated",
			),
			(
				"update_reference",
				{"docname": repeat, "reference": self.tasks["sales2"]},
				"cannot be repeated",
			),
		)
		for how, data, phrase in attempts:
			with self.subTest(how=how, data=data):
				if how == "PUT":
					r = self.rest_update(AUTO_REPEAT, repeat, data, email("sales1"))
				else:
					r = self.rest_call(
						"frappe.automation.doctype.auto_repeat.auto_repeat.update_reference",
						data,
						email("sales1"),
					)
				self.assertRefused(r, phrase)
				self.assertEqual(self.stored(repeat), before)
		for key in ("sales2", "sales3"):
			self.assertFalse(self.task_repeat(self.tasks[key]))

	def test_others_repeats_are_neither_read_nor_changed(self):
		theirs = self.admin_repeat(self.tasks["sales3"], subject="Quarterly review of the key client")
		before = self.stored(theirs)
		hidden = (self.tasks["sales3"], "Quarterly review")
		for user in ("sales1", "head_a"):
			attempts = {
				"GET": lambda: self.rest_get(AUTO_REPEAT, theirs, email(user)),
				"PUT": lambda: self.rest_update(AUTO_REPEAT, theirs, {"disabled": 1}, email(user)),
				"DELETE": lambda: self.rest_delete(AUTO_REPEAT, theirs, email(user)),
				"update_reference": lambda: self.rest_call(
					"frappe.automation.doctype.auto_repeat.auto_repeat.update_reference",
					{"docname": theirs, "reference": self.tasks["sales1"]},
					email(user),
				),
				"get_auto_repeat_schedule": lambda: self.rest_call(
					"run_doc_method",
					{"dt": AUTO_REPEAT, "dn": theirs, "method": "get_auto_repeat_schedule"},
					email(user),
				),
			}
			for how, attempt in attempts.items():
				with self.subTest(user=user, how=how):
					r = attempt()
					self.assertEqual(r.status_code, PERMISSION_DENIED, r.text[:300])
					for text in hidden:  # not even the refusal names her task
						self.assertNotIn(text, r.text)
					self.assertEqual(self.stored(theirs), before)
			with self.subTest(user=user, how="lists"):
				r = self.rest_list(AUTO_REPEAT, email(user), fields=["name", "subject"], limit_page_length=0)
				self.assertEqual(r.status_code, 200, r.text[:300])
				self.assertNotIn(theirs, [row["name"] for row in r.data])
				r = self.rest_call(
					"frappe.client.get_count",
					{"doctype": AUTO_REPEAT, "filters": {"name": theirs}},
					email(user),
				)
				self.assertEqual(r.data, 0)
		self.assertEqual(self.task_repeat(self.tasks["sales3"]), theirs)
		# the head of the task's team does see it
		r = self.rest_get(AUTO_REPEAT, theirs, email("head_b"))
		self.assertEqual(r.status_code, 200, r.text[:300])

	def test_a_repeat_follows_its_task_to_its_new_manager(self):
		repeat = self.create_repeat("sales1", self.tasks["sales1"]).data["name"]
		frappe.set_user("Administrator")
		frappe.db.set_value(
			"CRM Task", self.tasks["sales1"], {"assigned_to": email("sales3"), "author": email("sales3")}
		)
		frappe.db.commit()
		for method in ("GET", "DELETE"):
			r = self.request(method, f"/api/resource/{AUTO_REPEAT}/{repeat}", email("sales1"))
			self.assertEqual(r.status_code, PERMISSION_DENIED, r.text[:300])
		self.assertIsNotNone(self.stored(repeat))
		self.assertEqual(self.rest_get(AUTO_REPEAT, repeat, email("sales3")).status_code, 200)

	def test_no_copies_e_mailed_by_sales_people(self):
		"""The rule: users who do not see everything have no copies e-mailed, to outsiders or anyone else."""
		task = self.tasks["sales1"]
		for recipients in ("outsider@example.org", email("sales1")):
			with self.subTest(recipients=recipients):
				r = self.create_repeat("sales1", task, notify_by_email=1, recipients=recipients)
				self.assertRefused(r, "e-mailed only for users who see every record")
				self.assertEqual(repeats_of(task), [])
				self.assertFalse(self.task_repeat(task))
		repeat = self.create_repeat("sales1", task).data["name"]
		before = self.stored(repeat)
		r = self.rest_update(
			AUTO_REPEAT, repeat, {"notify_by_email": 1, "recipients": "outsider@example.org"}, email("sales1")
		)
		self.assertRefused(r, "e-mailed only for users who see every record")
		self.assertEqual(self.stored(repeat), before)
		# nor can a head of sales
		r = self.create_repeat("head_a", self.tasks["sales2"], notify_by_email=1, recipients="x@example.org")
		self.assertRefused(r, "e-mailed only for users who see every record")

	def test_a_crafted_form_reads_no_contacts(self):
		"""The form's "Get Contacts" (fetch_linked_contacts) runs on the unsaved document the request sends."""
		frappe.set_user("Administrator")
		client = self.track("CRM Client", factories.make_client(responsible=email("sales3")).name)
		contact = factories.make_contact(client, email="hidden.buyer@example.org")
		self.track("Contact", contact.name)
		frappe.db.commit()
		own = self.create_repeat("sales1", self.tasks["sales1"]).data["name"]
		for extra in ({"__islocal": 1}, {"__islocal": 1, "name": own}, {}, {"name": own}):
			with self.subTest(extra=extra):
				doc = {
					"doctype": AUTO_REPEAT,
					"reference_doctype": "CRM Client",
					"reference_document": client,
					"notify_by_email": 1,
					**extra,
				}
				r = self.rest_call(
					"run_doc_method", {"docs": doc, "method": "fetch_linked_contacts"}, email("sales1")
				)
				if extra.get("__islocal"):
					self.assertEqual(r.status_code, PERMISSION_DENIED, r.text[:300])
				self.assertGreaterEqual(r.status_code, 400, r.text[:300])
				self.assertNotIn("hidden.buyer", r.text)
		# her own task's repeat: the contacts linked to it, none here
		doc = {"doctype": AUTO_REPEAT, "__islocal": 1, **self.repeat_data(self.tasks["sales1"])}
		r = self.rest_call(
			"run_doc_method", {"docs": doc, "method": "fetch_linked_contacts"}, email("sales1")
		)
		self.assertEqual(r.status_code, 200, r.text[:300])


class TestTemplates(RecurringTasksTestCase):
	"""A template runs with access to every table, whoever wrote it: anyone but a System Manager writes
	plain text and `{{ doc.<field> }}` only."""

	LEAK = "{{ frappe.get_all('CRM Task', fields=['name', 'subject'], limit=1000) }}"
	BEYOND_LOOKUPS = (
		LEAK,
		"{{ doc.subject | upper }}",
		"{% for t in frappe.get_list('CRM Task') %}{{ t }}{% endfor %}",
		"{{ doc.get_password('x') }}",
		"{{ doc.no_such_field }}",
		"{{{ doc.subject }}: frappe.get_all('CRM Task')} }}",
		"{#{{ doc.subject }}#}",
	)
	REFUSED = "in the subject or message of an Auto Repeat"

	def preview(self, user: str, message: str, subject: str | None = None, task: str | None = None):
		return self.rest_call(
			"frappe.automation.doctype.auto_repeat.auto_repeat.generate_message_preview",
			{
				"reference_dt": "CRM Task",
				"reference_doc": task or self.tasks["sales1"],
				"message": message,
				"subject": subject,
			},
			email(user),
		)

	def test_the_preview_renders_field_lookups_only_for_crm_users(self):
		foreign_subject = frappe.db.get_value("CRM Task", self.tasks["sales3"], "subject")
		own_subject = frappe.db.get_value("CRM Task", self.tasks["sales1"], "subject")
		for user in ("sales1", "head_a", "crm_admin"):
			for message in self.BEYOND_LOOKUPS:
				with self.subTest(user=user, message=message):
					r = self.preview(user, message)
					self.assertRefused(r, self.REFUSED)
					self.assertNotIn(self.tasks["sales3"], r.text)
					self.assertNotIn(foreign_subject, r.text)
			with self.subTest(user=user):
				r = self.preview(
					user, "Please find attached {{ doc.doctype }} #{{doc.name}}", "{{ doc.subject }}"
				)
				self.assertEqual(r.status_code, 200, r.text[:300])
				self.assertEqual(
					r.data,
					{
						"message": f"Please find attached CRM Task #{self.tasks['sales1']}",
						"subject": own_subject,
					},
				)
		r = self.preview("sales1", "{{ doc.subject }}", task=self.tasks["sales3"])
		self.assertRefused(r, "is not one of the records you can see")
		self.assertNotIn(foreign_subject, r.text)
		# a System Manager still previews any template
		r = self.rest_call(
			"frappe.automation.doctype.auto_repeat.auto_repeat.generate_message_preview",
			{
				"reference_dt": "CRM Task",
				"reference_doc": self.tasks["sales1"],
				"message": "{{ doc.name | upper }}",
			},
		)
		self.assertEqual(r.data["message"], self.tasks["sales1"].upper())

	def test_no_template_beyond_field_lookups_is_saved(self):
		task = self.tasks["sales3"]
		for text in self.BEYOND_LOOKUPS:
			for fieldname in ("message", "subject"):
				with self.subTest(text=text, fieldname=fieldname):
					r = self.create_repeat(
						"crm_admin",
						task,
						notify_by_email=1,
						recipients="client@example.org",
						**{fieldname: text},
					)
					self.assertRefused(r, self.REFUSED)
					self.assertEqual(repeats_of(task), [])
					self.assertFalse(self.task_repeat(task))
		r = self.create_repeat("sales1", self.tasks["sales1"], message=self.LEAK)
		self.assertRefused(r, self.REFUSED)
		r = self.create_repeat("sales1", self.tasks["sales1"], subject="Call about {{ doc.subject }}")
		self.assertEqual(r.status_code, 200, r.text[:600])
		repeat = r.data["name"]
		before = self.stored(repeat)
		r = self.rest_update(AUTO_REPEAT, repeat, {"message": self.LEAK}, email("sales1"))
		self.assertRefused(r, self.REFUSED)
		self.assertEqual(self.stored(repeat), before)

	def test_a_system_managers_template_survives_an_edit_by_a_crm_user(self):
		repeat = self.admin_repeat(self.tasks["sales1"], subject="Call {{ doc.subject | upper }}")
		r = self.rest_update(AUTO_REPEAT, repeat, {"frequency": "Monthly"}, email("sales1"))
		self.assertEqual(r.status_code, 200, r.text[:600])
		stored = self.stored(repeat)
		self.assertEqual(
			(stored["subject"], stored["frequency"]), ("Call {{ doc.subject | upper }}", "Monthly")
		)

	def test_an_administrator_of_the_crm_has_the_copies_e_mailed(self):
		from frappe.automation.doctype.auto_repeat.auto_repeat import (
			create_repeated_entries,
			get_auto_repeat_entries,
		)

		# the print of the copy goes along as HTML (a PDF needs wkhtmltopdf on the server)
		as_pdf = frappe.db.get_single_value("Print Settings", "send_print_as_pdf")
		frappe.db.set_single_value("Print Settings", "send_print_as_pdf", 0)
		frappe.db.commit()
		self.addCleanup(frappe.db.commit)
		self.addCleanup(frappe.db.set_single_value, "Print Settings", "send_print_as_pdf", as_pdf)
		task = self.tasks["sales3"]
		r = self.create_repeat(
			"crm_admin",
			task,
			notify_by_email=1,
			recipients="key.client@example.org",
			subject="Next call: {{ doc.subject }}",
		)
		self.assertEqual(r.status_code, 200, r.text[:600])
		repeat = r.data["name"]
		frappe.set_user("Administrator")
		with self.freeze_time(datetime.datetime.combine(NEXT, datetime.time(9, 0))):
			create_repeated_entries([e for e in get_auto_repeat_entries() if e.name == repeat])
		frappe.db.commit()
		copies = frappe.get_all("CRM Task", {"auto_repeat": repeat, "name": ("!=", task)}, pluck="name")
		for name in copies:
			self.track("CRM Task", name)
		self.assertEqual(len(copies), 1)
		mails = frappe.get_all(
			"Communication",
			{"reference_doctype": "CRM Task", "reference_name": copies[0]},
			["name", "subject", "recipients"],
		)
		for mail in mails:
			self.track("Communication", mail.name)
		subject = frappe.db.get_value("CRM Task", task, "subject")
		self.assertEqual(
			[(m.subject, m.recipients) for m in mails], [(f"Next call: {subject}", "key.client@example.org")]
		)
