# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe.desk.form.load import get_docinfo
from frappe.utils import add_to_date, get_datetime, now_datetime

from simple_crm.simple_crm.doctype.crm_task.crm_task import (
	TaskAuthorError,
	REFERENCE_DOCTYPES,
	TaskReferenceError,
	TaskReminderError,
	TaskResultRequiredError,
)
from simple_crm.tests.factories import make_client, make_deal, make_lead, make_task, make_user
from simple_crm.tests.utils import CRMRestTestCase, CRMTestCase


class TestCRMTask(CRMTestCase):
	def setUp(self):
		super().setUp()
		self.user = make_user("records.admin@example.com", roles=("System Manager",)).name

	def test_reference_limited_to_crm_records(self):
		client = make_client().name
		task = make_task(reference_doctype="CRM Client", reference_name=client)
		self.assertEqual(task.reference_name, client)
		for doctype, name in (("User", "Administrator"), ("ToDo", None)):
			with self.subTest(doctype), self.assertRaisesRegex(TaskReferenceError, "can be linked to"):
				make_task(reference_doctype=doctype, reference_name=name)
		with self.assertRaises(TaskReferenceError):
			make_task(reference_doctype="CRM Deal")
		self.assertEqual(
			set(REFERENCE_DOCTYPES),
			{"CRM Lead", "CRM Client", "CRM Counterparty", "CRM Deal", "Contact", "CRM Call"},
		)

	def test_author_and_assignee(self):
		colleague = make_user("records.colleague@example.com").name
		with self.set_user(self.user):
			task = make_task()
			self.assertEqual((task.author, task.assigned_to), (self.user, self.user))

			task = make_task(assigned_to=colleague)
			self.assertEqual((task.author, task.assigned_to), (self.user, colleague))
			# nobody writes a task in someone else's name, and the author never changes: refused, not
			# silently replaced
			with self.assertRaises(TaskAuthorError):
				make_task(assigned_to=colleague, author=colleague)
			task.author = colleague
			with self.assertRaises(TaskAuthorError):
				task.save()
		self.assertEqual(task.reload().author, self.user)

	def test_done_call_or_meeting_needs_a_result(self):
		for task_type in ("Call", "Meeting"):
			task = make_task(task_type=task_type)
			task.status = "Done"
			with self.subTest(task_type), self.assertRaises(TaskResultRequiredError):
				task.save()
		task.reload()
		task.status = "Done"
		task.result = "Договорились о встрече"
		task.save()
		self.assertTrue(task.completed_on)
		completed_on = task.completed_on

		task.subject = "Другая тема"
		task.save()
		self.assertEqual(task.completed_on, completed_on)  # set once, when done

		task.status = "Open"
		task.save()
		self.assertIsNone(task.completed_on)

	def test_email_task_done_without_result(self):
		task = make_task(task_type="Email", status="Done")
		self.assertTrue(task.completed_on)

	def test_reminder_not_after_due(self):
		due = add_to_date(now_datetime(), days=1)
		with self.assertRaises(TaskReminderError):
			make_task(due_on=due, remind_at=add_to_date(due, minutes=5))
		task = make_task(due_on=due, remind_at=add_to_date(due, minutes=-30))
		self.assertTrue(task.remind_at)
		self.assertTrue(make_task(remind_at=due).name)  # no due date: nothing to compare with

	def test_checklist_records_who_and_when(self):
		task = make_task(checklist=[{"step": "Позвонить"}, {"step": "Отправить КП"}])
		self.assertEqual([(r.done_by, r.done_on) for r in task.checklist], [(None, None), (None, None)])

		with self.set_user(self.user):
			task.checklist[0].done = 1
			task.checklist[0].done_by = "Administrator"  # cannot be forged
			task.save()
		first = task.checklist[0]
		self.assertEqual(first.done_by, self.user)
		self.assertTrue(first.done_on)
		done_on = first.done_on

		task.reload()
		task.checklist[1].done = 1
		task.save()
		self.assertEqual(task.checklist[0].done_by, self.user)  # an earlier tick keeps its author
		self.assertEqual(get_datetime(task.checklist[0].done_on), get_datetime(done_on))
		self.assertEqual(task.checklist[1].done_by, "Administrator")

		task.checklist[0].done = 0
		task.save()
		self.assertEqual((task.checklist[0].done_by, task.checklist[0].done_on), (None, None))

	def test_task_shows_on_the_timeline_of_its_record(self):
		lead = make_lead()
		task = make_task(
			reference_doctype="CRM Lead", reference_name=lead.name, subject="Перезвонить <b>срочно</b>"
		)
		get_docinfo(doctype="CRM Lead", name=lead.name)
		items = frappe.response["docinfo"]["additional_timeline_content"]
		contents = [item["content"] for item in items]
		self.assertTrue(any(task.name in c for c in contents), contents)
		self.assertTrue(any("&lt;b&gt;срочно" in c for c in contents), "subject is escaped")
		other = make_deal(make_client().name)
		get_docinfo(doctype="CRM Deal", name=other.name)
		self.assertFalse(
			[
				i
				for i in frappe.response["docinfo"]["additional_timeline_content"]
				if task.name in i["content"]
			]
		)


class TestCRMTaskRest(CRMRestTestCase):
	def setUp(self):
		super().setUp()
		self.user = make_user("records.admin@example.com", roles=("System Manager",)).name
		frappe.db.commit()

	def test_rest_rules(self):
		r = self.rest_insert("CRM Task", {"subject": "REST", "author": "Administrator"}, user=self.user)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("TaskAuthorError", r.text)
		r = self.rest_insert("CRM Task", {"subject": "REST"}, user=self.user)
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual((r.data["author"], r.data["assigned_to"]), (self.user, self.user))
		name = r.data["name"]

		r = self.rest_update("CRM Task", name, {"status": "Done"}, user=self.user)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("TaskResultRequiredError", r.text)
		r = self.rest_update("CRM Task", name, {"status": "Done", "result": "Готово"}, user=self.user)
		self.assertEqual(r.status_code, 200, r.text)
		self.assertTrue(r.data["completed_on"])

		r = self.rest_insert(
			"CRM Task",
			{"subject": "REST", "reference_doctype": "User", "reference_name": self.user},
			user=self.user,
		)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("TaskReferenceError", r.text)

		due = add_to_date(now_datetime(), days=2)
		r = self.rest_insert(
			"CRM Task",
			{"subject": "REST", "due_on": str(due), "remind_at": str(add_to_date(due, hours=1))},
			user=self.user,
		)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("TaskReminderError", r.text)

	def test_rest_checklist(self):
		r = self.rest_insert(
			"CRM Task",
			{"subject": "REST", "checklist": [{"step": "A", "done": 1, "done_by": "Administrator"}]},
			user=self.user,
		)
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(r.data["checklist"][0]["done_by"], self.user)
		self.assertTrue(r.data["checklist"][0]["done_on"])

	def test_rest_timeline_shows_the_task(self):
		lead = self.track("CRM Lead", make_lead().name)
		frappe.db.commit()
		r = self.rest_insert(
			"CRM Task",
			{"subject": "Перезвонить", "reference_doctype": "CRM Lead", "reference_name": lead},
			user=self.user,
		)
		self.assertEqual(r.status_code, 200, r.text)
		task = r.data["name"]
		r = self.request(
			"GET", f"/api/method/frappe.desk.form.load.getdoc?doctype=CRM Lead&name={lead}", user=self.user
		)
		self.assertEqual(r.status_code, 200, r.text)
		contents = [item["content"] for item in r.json["docinfo"]["additional_timeline_content"]]
		self.assertTrue(any(task in c and "Перезвонить" in c for c in contents), contents)
