"""Task reminders, overdue notices, the morning summary and recurring tasks, with a controlled clock.

The jobs commit what they do (one task or user at a time, as the scheduler runs them), so the tests commit
the tasks they make and remove them, their marks, notifications and e-mails again afterwards. The clock is
set in 2031, after anything else on the site, and what the jobs write then is recognised by that date.
"""

import datetime
from contextlib import contextmanager
from unittest import mock

import frappe
from frappe.utils import add_days, add_to_date, format_datetime, get_datetime, getdate

from simple_crm.automation import task_reminders
from simple_crm.tests import factories
from simple_crm.tests.sales_org import SalesOrgTestCase, email
from simple_crm.tests.utils import CommittedSettings

# Monday 10 March 2031, 10:00 (the system's time zone)
T0 = datetime.datetime(2031, 3, 10, 10, 0, 0)
# everything the jobs write in these tests is dated from here on
EPOCH = datetime.datetime(2031, 1, 1)


class Crash(BaseException):
	"""Ends a job run the way a killed worker does: nothing after it runs, nothing catches it."""


def notices(user: str, task: str) -> list[frappe._dict]:
	return frappe.get_all(
		"Notification Log",
		filters={"for_user": user, "document_type": "CRM Task", "document_name": task},
		fields=["subject", "email_content"],
		order_by="creation asc",
	)


def summaries(user: str) -> list[frappe._dict]:
	return frappe.get_all(
		"Notification Log",
		filters={"for_user": user, "document_name": ("is", "not set"), "creation": (">=", EPOCH)},
		fields=["subject", "email_content", "creation"],
		order_by="creation asc",
	)


def emails(recipient: str, reference_name: str | None = None) -> list[str]:
	queue = frappe.qb.DocType("Email Queue")
	recipients = frappe.qb.DocType("Email Queue Recipient")
	query = (
		frappe.qb.from_(queue)
		.join(recipients)
		.on(recipients.parent == queue.name)
		.select(queue.name)
		.where((recipients.recipient == recipient) & (queue.creation >= EPOCH))
	)
	if reference_name:
		query = query.where(queue.reference_name == reference_name)
	else:
		query = query.where(queue.reference_name.isnull())
	return query.run(pluck=True)


def clean_up(tasks: list[str], clients: list[str]) -> None:
	"""Remove the tasks, the clients and whatever the jobs wrote in the tests' time."""
	frappe.db.rollback()
	frappe.set_user("Administrator")
	for doctype in ("Notification Log", "Error Log", "CRM Automation Mark"):
		frappe.db.delete(doctype, {"creation": (">=", EPOCH)})
	queued = frappe.get_all("Email Queue", filters={"creation": (">=", EPOCH)}, pluck="name")
	if queued:
		frappe.db.delete("Email Queue Recipient", {"parent": ("in", queued)})
		frappe.db.delete("Email Queue", {"name": ("in", queued)})
	frappe.db.delete("CRM Automation Mark", {"reference_name": ("in", tasks or [""])})
	for name in frappe.get_all(
		"Auto Repeat", filters={"reference_document": ("in", tasks or [""])}, pluck="name"
	):
		frappe.delete_doc("Auto Repeat", name, force=True, ignore_permissions=True)
	for task in reversed(tasks):
		if frappe.db.exists("CRM Task", task):
			frappe.delete_doc("CRM Task", task, force=True, ignore_permissions=True)
	for client in clients:
		if frappe.db.exists("CRM Client", client):
			frappe.delete_doc("CRM Client", client, force=True, ignore_permissions=True)
	frappe.db.commit()


def another_connection():
	"""A second connection to the site's database: another worker's transactions."""
	mine = frappe.local.db
	frappe.connect()
	other, frappe.local.db = frappe.local.db, mine
	return other


@contextmanager
def using(connection):
	mine = frappe.local.db
	frappe.local.db = connection
	try:
		yield
	finally:
		frappe.local.db = mine


class TaskAutomationTestCase(CommittedSettings, SalesOrgTestCase):
	def setUp(self):
		super().setUp()
		self.tasks: list[str] = []
		self.clients: list[str] = []
		self.addCleanup(lambda: clean_up(self.tasks, self.clients))
		self.set_automation(
			task_reminders_enabled=1,
			overdue_tasks_enabled=1,
			overdue_escalation_hours=24,
			morning_summary_enabled=1,
			morning_summary_hour=8,
			automation_batch_size=500,
		)

	def make_task(self, assignee: str, commit: bool = True, **values) -> str:
		frappe.set_user("Administrator")
		doc = factories.make_task(assigned_to=assignee, author=email("head_a"), **values)
		self.tasks.append(doc.name)
		if commit:
			frappe.db.commit()
		return doc.name

	def make_client(self, manager: str):
		client = factories.make_client(responsible=manager)
		self.clients.append(client.name)
		return client

	def set_language(self, user: str, language: str) -> None:
		before = frappe.db.get_value("User", user, "language")
		frappe.db.set_value("User", user, "language", language)
		frappe.db.commit()

		def restore():
			frappe.db.rollback()
			frappe.db.set_value("User", user, "language", before)
			frappe.db.commit()

		self.addCleanup(restore)

	def reschedule(self, task: str, **values) -> None:
		doc = frappe.get_doc("CRM Task", task)
		doc.update(values)
		doc.save()
		frappe.db.commit()


class TestReminders(TaskAutomationTestCase):
	def test_reminder_at_remind_at_and_not_a_minute_before_once(self):
		client = self.make_client(email("sales1"))
		due = add_to_date(T0, hours=2)
		task = self.make_task(
			email("sales1"),
			remind_at=T0,
			due_on=due,
			reference_doctype="CRM Client",
			reference_name=client.name,
		)
		subject = frappe.db.get_value("CRM Task", task, "subject")
		with self.freeze_time(add_to_date(T0, minutes=-1)):
			task_reminders.send_due_reminders()
		self.assertEqual(notices(email("sales1"), task), [], "nothing before Remind At")
		with self.freeze_time(T0):
			summary = task_reminders.send_due_reminders()
			task_reminders.send_due_reminders()
		with self.freeze_time(add_to_date(T0, minutes=1)):
			task_reminders.send_due_reminders()
		self.assertIn("reminded: 1", summary)
		sent = notices(email("sales1"), task)
		self.assertEqual(len(sent), 1, "exactly one reminder, however often the job runs")
		self.assertIn(subject, sent[0].subject)
		self.assertIn(format_datetime(due), sent[0].subject)
		self.assertIn(client.client_name, sent[0].email_content, "the linked record is named")
		self.assertIn(task_reminders.desk_link("CRM Client", client.name), sent[0].email_content)
		self.assertIn(task_reminders.desk_link("CRM Task", task), sent[0].email_content)
		self.assertEqual(len(emails(email("sales1"), task)), 1, "and e-mailed once")
		self.assertEqual(notices(email("head_a"), task), [], "only the assignee is reminded")

	def test_a_moved_reminder_reminds_again(self):
		task = self.make_task(email("sales1"), remind_at=T0, due_on=add_to_date(T0, hours=3))
		with self.freeze_time(T0):
			task_reminders.send_due_reminders()
		self.reschedule(task, remind_at=add_to_date(T0, minutes=30))
		with self.freeze_time(add_to_date(T0, minutes=29)):
			task_reminders.send_due_reminders()
		self.assertEqual(len(notices(email("sales1"), task)), 1)
		with self.freeze_time(add_to_date(T0, minutes=30)):
			task_reminders.send_due_reminders()
			task_reminders.send_due_reminders()
		self.assertEqual(len(notices(email("sales1"), task)), 2, "one for each Remind At")

	def test_no_reminder_for_closed_tasks_or_stale_reminders(self):
		done = self.make_task(
			email("sales1"), remind_at=T0, task_type="Other", status="Done", due_on=add_to_date(T0, hours=1)
		)
		cancelled = self.make_task(email("sales1"), remind_at=T0, status="Cancelled")
		# the scheduler was down for two days: a reminder that old is not sent any more
		stale = self.make_task(email("sales1"), remind_at=add_days(T0, -2))
		with self.freeze_time(T0):
			task_reminders.send_due_reminders()
		for task in (done, cancelled, stale):
			self.assertEqual(notices(email("sales1"), task), [], task)

	def test_in_the_assignees_language_without_records_they_cannot_see(self):
		self.set_language(email("sales2"), "ru")
		# a task of sales2 about a client of the other team, whose name sales2 may not read
		foreign = self.make_client(email("sales3"))
		task = self.make_task(
			email("sales2"), remind_at=T0, reference_doctype="CRM Client", reference_name=foreign.name
		)
		self.assertFalse(frappe.has_permission("CRM Client", "read", doc=foreign.name, user=email("sales2")))
		with self.freeze_time(T0):
			task_reminders.send_due_reminders()
		sent = notices(email("sales2"), task)
		self.assertEqual(len(sent), 1)
		self.assertTrue(sent[0].subject.startswith("Напоминание: "), sent[0].subject)
		self.assertIn("Срок не указан", sent[0].email_content)
		self.assertIn("Открыть задачу", sent[0].email_content)
		self.assertNotIn(foreign.client_name, sent[0].email_content)
		self.assertNotIn(foreign.name, sent[0].email_content)

	def test_switched_off_sends_nothing(self):
		self.set_automation(task_reminders_enabled=0)
		task = self.make_task(email("sales1"), remind_at=T0)
		with self.freeze_time(T0):
			task_reminders.send_due_reminders()
		self.assertEqual(notices(email("sales1"), task), [])

	def test_a_run_is_bounded_by_the_batch_size(self):
		self.set_automation(automation_batch_size=2)
		tasks = [self.make_task(email("sales1"), remind_at=add_to_date(T0, minutes=-i)) for i in range(3)]
		with self.freeze_time(T0):
			summary = task_reminders.send_due_reminders()
			self.assertIn("more left for the next run", summary)
			self.assertEqual(sum(1 for t in tasks if notices(email("sales1"), t)), 2)
			summary = task_reminders.send_due_reminders()
			self.assertNotIn("more left", summary)
		self.assertEqual([len(notices(email("sales1"), t)) for t in tasks], [1, 1, 1])

	def test_a_crash_half_way_then_a_rerun_equals_one_clean_run(self):
		tasks = [self.make_task(email("sales1"), remind_at=add_to_date(T0, minutes=-i)) for i in range(4)]
		real_notify = task_reminders.notify
		calls = []

		def dies_on_the_third(*args, **kwargs):
			calls.append(args)
			if len(calls) == 3:
				raise Crash
			return real_notify(*args, **kwargs)

		with self.freeze_time(T0):
			with mock.patch.object(task_reminders, "notify", dies_on_the_third):
				with self.assertRaises(Crash):
					task_reminders.send_due_reminders()
			# the worker rolls back what the dead run had not committed
			frappe.db.rollback()
			self.assertEqual(sum(1 for t in tasks if notices(email("sales1"), t)), 2, "two done, committed")
			self.assertEqual(
				frappe.db.count("CRM Automation Mark", {"job": task_reminders.REMINDERS_JOB}),
				2,
				"and marked, the third neither sent nor marked",
			)
			task_reminders.send_due_reminders()
			task_reminders.send_due_reminders()
		for task in tasks:
			self.assertEqual(len(notices(email("sales1"), task)), 1, task)
			self.assertEqual(len(emails(email("sales1"), task)), 1, task)

	def test_a_task_another_run_holds_fails_alone_and_is_reminded_by_the_next_run(self):
		"""A run that is reminding of a task (its mark written, not committed yet) holds that task: a run
		started meanwhile gives up on it after the lock wait, goes on with the others, and the task is
		reminded once, by whichever run gets to it after the holder is gone."""
		tasks = [self.make_task(email("sales1"), remind_at=add_to_date(T0, minutes=-i)) for i in range(3)]
		held = tasks[1]
		other_run = another_connection()
		self.addCleanup(other_run.close)
		with using(other_run):
			task_reminders.claim(task_reminders.reminder_key(held, add_to_date(T0, minutes=-1)), "other run")
		frappe.db.sql("set session innodb_lock_wait_timeout = 1")
		self.addCleanup(
			lambda: frappe.db.sql("set session innodb_lock_wait_timeout = @@global.innodb_lock_wait_timeout")
		)
		with self.freeze_time(T0):
			summary = task_reminders.send_due_reminders()
			self.assertIn(f"failed: 1 ({held})", summary)
			self.assertEqual([len(notices(email("sales1"), t)) for t in tasks], [1, 0, 1])
			# the other run died without committing
			with using(other_run):
				frappe.db.rollback()
			task_reminders.send_due_reminders()
			task_reminders.send_due_reminders()
		self.assertEqual([len(notices(email("sales1"), t)) for t in tasks], [1, 1, 1])


class TestOverdueTasks(TaskAutomationTestCase):
	def test_assignee_once_when_overdue_then_the_head_once_after_the_delay(self):
		task = self.make_task(email("sales1"), due_on=T0)
		subject = frappe.db.get_value("CRM Task", task, "subject")
		with self.freeze_time(T0):
			task_reminders.notify_overdue_tasks()
		self.assertEqual(notices(email("sales1"), task), [], "due now is not overdue yet")
		with self.freeze_time(add_to_date(T0, minutes=5)):
			task_reminders.notify_overdue_tasks()
			task_reminders.notify_overdue_tasks()
		sent = notices(email("sales1"), task)
		self.assertEqual(len(sent), 1)
		self.assertIn(subject, sent[0].subject)
		self.assertEqual(len(emails(email("sales1"), task)), 1)
		self.assertEqual(notices(email("head_a"), task), [])

		with self.freeze_time(add_to_date(T0, hours=24, minutes=-1)):
			task_reminders.notify_overdue_tasks()
		self.assertEqual(notices(email("head_a"), task), [], "not before the escalation delay")
		with self.freeze_time(add_to_date(T0, hours=24)):
			summary = task_reminders.notify_overdue_tasks()
			task_reminders.notify_overdue_tasks()
		self.assertIn("escalated: 1", summary)
		told = notices(email("head_a"), task)
		self.assertEqual(len(told), 1, "the head of the assignee's team, once")
		self.assertIn(subject, told[0].subject)
		self.assertIn("Sales1", told[0].subject, "naming whose task it is")
		self.assertEqual(len(emails(email("head_a"), task)), 1)
		self.assertEqual(len(notices(email("sales1"), task)), 1, "the assignee is not told again")
		self.assertEqual(notices(email("head_b"), task), [], "not the head of another team")

	def test_a_new_due_time_is_a_new_overdue_notice(self):
		task = self.make_task(email("sales1"), due_on=T0)
		with self.freeze_time(add_to_date(T0, minutes=5)):
			task_reminders.notify_overdue_tasks()
			self.reschedule(task, due_on=add_to_date(T0, hours=1))
		with self.freeze_time(add_to_date(T0, hours=1, minutes=5)):
			task_reminders.notify_overdue_tasks()
			task_reminders.notify_overdue_tasks()
		self.assertEqual(len(notices(email("sales1"), task)), 2)

	def test_done_tasks_old_backlog_and_heads_own_tasks(self):
		done = self.make_task(email("sales1"), due_on=T0, task_type="Other", status="Done")
		backlog = self.make_task(email("sales1"), due_on=add_days(T0, -30))
		# a head's own task: the head hears of it, nobody above
		heads_own = self.make_task(email("head_a"), due_on=T0)
		with self.freeze_time(add_to_date(T0, hours=25)):
			summary = task_reminders.notify_overdue_tasks()
			task_reminders.notify_overdue_tasks()
		self.assertEqual(notices(email("sales1"), done), [])
		self.assertEqual(notices(email("sales1"), backlog), [])
		self.assertEqual(len(notices(email("head_a"), heads_own)), 1)
		self.assertIn("no head of sales to escalate to: 1", summary)
		self.assertEqual(
			frappe.get_all("Notification Log", filters={"document_name": heads_own}, pluck="for_user"),
			[email("head_a")],
		)

	def test_switched_off_sends_nothing(self):
		self.set_automation(overdue_tasks_enabled=0)
		task = self.make_task(email("sales1"), due_on=T0)
		with self.freeze_time(add_to_date(T0, hours=30)):
			task_reminders.notify_overdue_tasks()
		self.assertEqual(frappe.get_all("Notification Log", filters={"document_name": task}), [])

	def test_a_run_is_bounded_by_the_batch_size(self):
		self.set_automation(automation_batch_size=1)
		tasks = [self.make_task(email("sales1"), due_on=add_to_date(T0, minutes=i)) for i in range(2)]
		with self.freeze_time(add_to_date(T0, hours=1)):
			self.assertIn("more left for the next run", task_reminders.notify_overdue_tasks())
			self.assertEqual([len(notices(email("sales1"), t)) for t in tasks], [1, 0])
			task_reminders.notify_overdue_tasks()
		self.assertEqual([len(notices(email("sales1"), t)) for t in tasks], [1, 1])

	def test_a_crash_half_way_then_a_rerun_equals_one_clean_run(self):
		self.set_automation(overdue_escalation_hours=1)
		tasks = [self.make_task(email("sales2"), due_on=add_to_date(T0, minutes=i)) for i in range(3)]
		real_notify = task_reminders.notify
		calls = []

		def dies_on_the_fourth(*args, **kwargs):
			# each task makes two notices (assignee and head): the crash falls inside the second task
			calls.append(args)
			if len(calls) == 4:
				raise Crash
			return real_notify(*args, **kwargs)

		with self.freeze_time(add_to_date(T0, hours=2)):
			with mock.patch.object(task_reminders, "notify", dies_on_the_fourth):
				with self.assertRaises(Crash):
					task_reminders.notify_overdue_tasks()
			frappe.db.rollback()
			self.assertEqual([len(notices(email("sales2"), t)) for t in tasks], [1, 0, 0])
			self.assertEqual([len(notices(email("head_a"), t)) for t in tasks], [1, 0, 0])
			task_reminders.notify_overdue_tasks()
			task_reminders.notify_overdue_tasks()
		self.assertEqual([len(notices(email("sales2"), t)) for t in tasks], [1, 1, 1])
		self.assertEqual([len(notices(email("head_a"), t)) for t in tasks], [1, 1, 1])


class TestMorningSummary(TaskAutomationTestCase):
	day = getdate(T0)
	at_eight = datetime.datetime(2031, 3, 10, 8, 0, 0)

	def make_tasks(self) -> dict[str, str]:
		return {
			"overdue": self.make_task(email("sales1"), due_on=add_days(self.at_eight, -2)),
			"today": self.make_task(email("sales1"), due_on=add_to_date(self.at_eight, hours=9)),
			"tomorrow": self.make_task(email("sales1"), due_on=add_days(self.at_eight, 1)),
			"done": self.make_task(email("sales1"), due_on=T0, task_type="Other", status="Done"),
			"colleague": self.make_task(email("sales2"), due_on=add_to_date(self.at_eight, hours=3)),
		}

	def test_at_the_hour_once_a_day_each_users_own_tasks_in_their_language(self):
		self.set_language(email("sales2"), "ru")
		tasks = self.make_tasks()
		with self.freeze_time(add_to_date(self.at_eight, minutes=-1)):
			task_reminders.send_morning_summaries()
		self.assertEqual(summaries(email("sales1")), [], "not before the hour")
		with self.freeze_time(self.at_eight):
			task_reminders.send_morning_summaries()
			task_reminders.send_morning_summaries()
		with self.freeze_time(add_to_date(self.at_eight, hours=1)):
			task_reminders.send_morning_summaries()

		mine = summaries(email("sales1"))
		self.assertEqual(len(mine), 1, "one summary a day")
		self.assertEqual(mine[0].subject, "Your tasks for today: 1 due today, 1 overdue")
		listed = {
			name
			for name in tasks.values()
			if task_reminders.desk_link("CRM Task", name) in mine[0].email_content
		}
		self.assertEqual(
			listed, {tasks["overdue"], tasks["today"]}, "their own open tasks due today or overdue"
		)
		self.assertEqual(len(emails(email("sales1"))), 1, "and e-mailed")

		theirs = summaries(email("sales2"))
		self.assertEqual(len(theirs), 1)
		self.assertEqual(theirs[0].subject, "Ваши задачи: на сегодня — 1, просрочено — 0")
		self.assertIn(task_reminders.desk_link("CRM Task", tasks["colleague"]), theirs[0].email_content)
		self.assertNotIn(task_reminders.desk_link("CRM Task", tasks["today"]), theirs[0].email_content)
		self.assertEqual(summaries(email("head_a")), [], "nothing due, no summary")

		# the next morning the summary comes again, with the day moved on
		with self.freeze_time(add_days(self.at_eight, 1)):
			task_reminders.send_morning_summaries()
		mine = summaries(email("sales1"))
		self.assertEqual(len(mine), 2)
		self.assertEqual(mine[1].subject, "Your tasks for today: 1 due today, 2 overdue")

	def test_switched_off_sends_nothing(self):
		self.set_automation(morning_summary_enabled=0)
		self.make_tasks()
		with self.freeze_time(self.at_eight):
			task_reminders.send_morning_summaries()
		self.assertEqual(summaries(email("sales1")), [])

	def test_a_day_with_more_users_than_a_run_takes_goes_on_in_a_follow_up_job(self):
		from frappe.utils.background_jobs import get_queue
		from rq.exceptions import DeserializationError

		self.set_automation(automation_batch_size=1)
		self.make_tasks()
		queue = get_queue("default")

		def follow_ups():
			found = []
			for job in queue.get_jobs():
				try:
					kwargs = job.kwargs
				except DeserializationError:
					continue  # a job of an application this bench does not have, in the same Redis
				if (
					kwargs.get("site") == frappe.local.site
					and kwargs.get("method") == "simple_crm.automation.task_reminders.send_morning_summaries"
				):
					found.append(job)
			return found

		for job in follow_ups():
			job.delete()
		with self.freeze_time(self.at_eight):
			summary = task_reminders.send_morning_summaries()
		self.assertIn("more left", summary)
		self.assertEqual(len(summaries(email("sales1"))) + len(summaries(email("sales2"))), 1)
		runs = 0
		# what the worker runs, run here, minutes later, until the day is done
		with self.freeze_time(add_to_date(self.at_eight, minutes=2)):
			while jobs := follow_ups():
				self.assertLess(runs, 20)
				job = jobs[0]
				self.assertEqual(job.kwargs["kwargs"], {"day": str(self.day)})
				job.delete()
				frappe.get_attr(job.kwargs["method"])(**job.kwargs["kwargs"])
				runs += 1
		self.assertGreaterEqual(runs, 1)
		self.assertEqual(len(summaries(email("sales1"))), 1)
		self.assertEqual(len(summaries(email("sales2"))), 1)
		# a follow-up that comes only the next day does nothing
		with self.freeze_time(add_days(self.at_eight, 1) - datetime.timedelta(hours=1)):
			self.assertIn("nothing to do", task_reminders.send_morning_summaries(day=str(self.day)))

	def test_a_crash_half_way_then_a_rerun_equals_one_clean_run(self):
		self.make_tasks()
		real_notify = task_reminders.notify

		def dies_for_the_second_user(user, *args, **kwargs):
			if user == email("sales2"):
				raise Crash
			return real_notify(user, *args, **kwargs)

		with self.freeze_time(self.at_eight):
			with mock.patch.object(task_reminders, "notify", dies_for_the_second_user):
				with self.assertRaises(Crash):
					task_reminders.send_morning_summaries()
			frappe.db.rollback()
			self.assertEqual(len(summaries(email("sales1"))), 1)
			self.assertEqual(summaries(email("sales2")), [])
			task_reminders.send_morning_summaries()
			task_reminders.send_morning_summaries()
		self.assertEqual(len(summaries(email("sales1"))), 1)
		self.assertEqual(len(summaries(email("sales2"))), 1)


class TestRecurringTasks(TaskAutomationTestCase):
	def test_crm_task_can_repeat(self):
		meta = frappe.get_meta("CRM Task")
		self.assertTrue(meta.allow_auto_repeat)
		field = meta.get_field("auto_repeat")
		self.assertEqual((field.fieldtype, field.options, field.no_copy), ("Link", "Auto Repeat", 1))

	def test_the_next_date_makes_exactly_one_fresh_open_task(self):
		from frappe.automation.doctype.auto_repeat.auto_repeat import (
			create_repeated_entries,
			get_auto_repeat_entries,
		)

		with self.freeze_time(T0):
			source = frappe.get_doc(
				{
					"doctype": "CRM Task",
					"subject": "Квартальный звонок клиенту",
					"task_type": "Call",
					"assigned_to": email("sales1"),
					"author": email("head_a"),
					"due_on": add_to_date(T0, hours=2),
					"remind_at": add_to_date(T0, hours=1),
					"checklist": [{"step": "Подготовить отчёт"}, {"step": "Согласовать встречу"}],
				}
			).insert()
			self.tasks.append(source.name)
		with self.freeze_time(add_to_date(T0, minutes=1)):
			source = frappe.get_doc("CRM Task", source.name)
			source.checklist[0].done = 1
			source.status = "Done"
			source.result = "Договорились о продлении"
			source.save()
			self.assertTrue(source.completed_on)
			repeat = frappe.get_doc(
				{
					"doctype": "Auto Repeat",
					"reference_doctype": "CRM Task",
					"reference_document": source.name,
					"frequency": "Quarterly",
					"start_date": getdate(T0),
				}
			).insert()
		self.assertEqual(frappe.db.get_value("CRM Task", source.name, "auto_repeat"), repeat.name)
		self.assertEqual(getdate(repeat.next_schedule_date), getdate("2031-06-10"))

		def repeated():
			return frappe.get_all(
				"CRM Task", filters={"auto_repeat": repeat.name, "name": ("!=", source.name)}, pluck="name"
			)

		with self.freeze_time(datetime.datetime(2031, 6, 9, 9, 0)):
			create_repeated_entries(get_auto_repeat_entries())
		self.assertEqual(repeated(), [], "nothing before the next date")
		with self.freeze_time(datetime.datetime(2031, 6, 10, 9, 0)):
			create_repeated_entries(get_auto_repeat_entries())
			create_repeated_entries(get_auto_repeat_entries())
		made = repeated()
		self.assertEqual(len(made), 1, "exactly one new task on the date")
		self.tasks.extend(made)
		self.assertEqual(frappe.get_all("Error Log", filters={"creation": (">=", EPOCH)}, pluck="method"), [])
		task = frappe.get_doc("CRM Task", made[0])
		self.assertEqual(task.status, "Open")
		self.assertIsNone(task.completed_on)
		self.assertFalse(task.result)
		self.assertEqual(
			(task.subject, task.task_type, task.assigned_to), (source.subject, "Call", email("sales1"))
		)
		self.assertEqual([row.step for row in task.checklist], ["Подготовить отчёт", "Согласовать встречу"])
		self.assertEqual(
			[(row.done, row.done_by, row.done_on) for row in task.checklist], [(0, None, None)] * 2
		)
		# due on the repeat's date at the original time of day, reminded as long before as the original
		due = datetime.datetime.combine(datetime.date(2031, 6, 10), get_datetime(source.due_on).time())
		self.assertEqual(get_datetime(task.due_on), due)
		self.assertEqual(get_datetime(task.remind_at), due - datetime.timedelta(hours=1))
		self.assertEqual(
			getdate(frappe.db.get_value("Auto Repeat", repeat.name, "next_schedule_date")),
			getdate("2031-09-10"),
		)
