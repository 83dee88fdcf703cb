"""Idle open deals get one follow-up task per idle period; calls, tasks, e-mails, comments and stage moves
keep a deal's last activity, which the nightly job reads.

The job commits what it does (one deal at a time, as the scheduler runs it), so these tests commit the
deals they make and remove everything again afterwards. The clock is frozen: the deals are made at T0 and
the job runs N days later.
"""

import datetime
import json
from unittest import mock

import frappe
from frappe.utils import get_datetime

from simple_crm.automation import deal_follow_up
from simple_crm.patches.v1_0 import deal_last_activity
from simple_crm.tests import factories
from simple_crm.tests.sales_org import SalesOrgTestCase, email
from simple_crm.tests.utils import CommittedSettings

T0 = datetime.datetime(2021, 4, 5, 10, 0, 0)
IDLE_DAYS = 5


class Crash(BaseException):
	"""Ends a job run the way a killed worker does: nothing after it runs, nothing catches it."""


def at(days: float = 0, hours: float = 0) -> datetime.datetime:
	return T0 + datetime.timedelta(days=days, hours=hours)


def follow_ups(deal: str) -> list[frappe._dict]:
	return frappe.get_all(
		"CRM Task",
		filters={
			"reference_doctype": "CRM Deal",
			"reference_name": deal,
			"author": "Administrator",
			"task_type": "Call",
		},
		fields=["name", "subject", "task_type", "status", "assigned_to", "due_on", "creation"],
		order_by="creation asc",
	)


def last_activity(deal: str) -> datetime.datetime | None:
	value = frappe.db.get_value("CRM Deal", deal, "last_activity_on")
	return get_datetime(value) if value else None


def notifications_for(user: str, task: str) -> list[str]:
	return frappe.get_all(
		"Notification Log", filters={"for_user": user, "document_name": task}, pluck="subject"
	)


def remove_deals(deals: list[str], clients: list[str]) -> None:
	frappe.db.rollback()
	frappe.set_user("Administrator")
	for deal in deals:
		tasks = frappe.get_all(
			"CRM Task", filters={"reference_doctype": "CRM Deal", "reference_name": deal}, pluck="name"
		)
		frappe.db.delete("Notification Log", {"document_name": ("in", [deal, *tasks])})
		queued = frappe.get_all(
			"Email Queue", filters={"reference_name": ("in", [deal, *tasks])}, pluck="name"
		)
		frappe.db.delete("Email Queue Recipient", {"parent": ("in", queued)})
		frappe.db.delete("Email Queue", {"name": ("in", queued)})
		frappe.db.delete("CRM Automation Mark", {"reference_name": deal})
		frappe.db.delete(
			"ToDo",
			{"reference_type": ("in", ["CRM Deal", "CRM Task"]), "reference_name": ("in", [deal, *tasks])},
		)
		for task in tasks:
			frappe.delete_doc("CRM Task", task, force=True, ignore_permissions=True)
		for call in frappe.get_all("CRM Call", filters={"deal": deal}, pluck="name"):
			frappe.delete_doc("CRM Call", call, force=True, ignore_permissions=True)
		frappe.db.delete("Comment", {"reference_doctype": "CRM Deal", "reference_name": deal})
		frappe.db.delete("Communication", {"reference_doctype": "CRM Deal", "reference_name": deal})
		frappe.db.delete("Version", {"ref_doctype": "CRM Deal", "docname": deal})
		if frappe.db.exists("CRM Deal", deal):
			frappe.delete_doc("CRM Deal", deal, force=True, ignore_permissions=True)
	for client in clients:
		if frappe.db.exists("CRM Client", client):
			frappe.delete_doc("CRM Client", client, force=True, ignore_permissions=True)
	frappe.db.commit()


class DealFollowUpTestCase(CommittedSettings, SalesOrgTestCase):
	def setUp(self):
		super().setUp()
		self.deals: list[str] = []
		self.clients: list[str] = []
		self.addCleanup(lambda: remove_deals(self.deals, self.clients))
		self.set_automation(
			deal_follow_up_enabled=1, deal_inactivity_days=IDLE_DAYS, automation_batch_size=500
		)

	def make_deal(self, responsible: str | None = "sales1", when: datetime.datetime = T0, **values) -> str:
		"""A deal made at `when` (committed), its manager one of the organisation's users."""
		manager = email(responsible) if responsible else None
		with self.freeze_time(when):
			client = factories.make_client(responsible=manager)
			self.clients.append(client.name)
			deal = factories.make_deal(client.name, responsible=manager, **values)
		self.deals.append(deal.name)
		frappe.db.commit()
		return deal.name

	def run_job(self, when: datetime.datetime) -> str | None:
		with self.freeze_time(when):
			return deal_follow_up.create_follow_up_tasks()

	def move(self, deal: str, stage: str, when: datetime.datetime, **values) -> None:
		with self.freeze_time(when):
			doc = frappe.get_doc("CRM Deal", deal)
			doc.stage = stage
			doc.update(values)
			doc.save(ignore_version=False)  # as outside tests: the move leaves its version
		frappe.db.commit()


class TestLastActivity(DealFollowUpTestCase):
	def test_a_new_deal_starts_with_its_creation(self):
		deal = self.make_deal()
		self.assertEqual(last_activity(deal), T0)
		self.assertEqual(get_datetime(frappe.db.get_value("CRM Deal", deal, "creation")), T0)

	def test_each_kind_of_activity_moves_it_forward(self):
		deal = self.make_deal()
		with self.freeze_time(at(1)):
			factories.make_call(deal=deal, manager=email("sales1"), started_at=at(1))
		self.assertEqual(last_activity(deal), at(1), "a call")
		with self.freeze_time(at(2)):
			frappe.get_doc("CRM Deal", deal).add_comment("Comment", "Клиент просил перезвонить")
		self.assertEqual(last_activity(deal), at(2), "a comment")
		with self.freeze_time(at(3)):
			factories.make_task(
				reference_doctype="CRM Deal", reference_name=deal, assigned_to=email("sales1")
			)
		self.assertEqual(last_activity(deal), at(3), "a task")
		with self.freeze_time(at(4)):
			frappe.get_doc(
				{
					"doctype": "Communication",
					"communication_type": "Communication",
					"communication_medium": "Email",
					"sent_or_received": "Received",
					"subject": "Re: коммерческое предложение",
					"content": "Согласны на условия",
					"sender": "client@example.com",
					"communication_date": at(4),
					"reference_doctype": "CRM Deal",
					"reference_name": deal,
				}
			).insert(ignore_permissions=True)
		self.assertEqual(last_activity(deal), at(4), "an e-mail")
		self.move(deal, "Proposal", at(5))
		self.assertEqual(last_activity(deal), at(5), "a stage move")

	def test_what_is_not_activity_leaves_it(self):
		deal = self.make_deal()
		with self.freeze_time(at(1)):
			doc = frappe.get_doc("CRM Deal", deal)
			doc.add_comment("Info", "Сделка передана")
			doc.expected_close_date = at(30).date()
			doc.save()
			factories.make_call(manager=email("sales1"), started_at=at(1))  # about nothing
		self.assertEqual(last_activity(deal), T0)
		with self.freeze_time(at(2)):
			factories.make_call(deal=deal, manager=email("sales1"), started_at=at(-1))
		self.assertEqual(last_activity(deal), T0, "a call logged late, made before the last activity")

	def test_recorded_without_modified_or_version_noise(self):
		deal = self.make_deal()
		modified = frappe.db.get_value("CRM Deal", deal, "modified")
		with self.freeze_time(at(1)):
			factories.make_call(deal=deal, manager=email("sales1"), started_at=at(1))
			frappe.get_doc("CRM Deal", deal).add_comment("Comment", "Обсудили скидку")
		self.assertEqual(frappe.db.get_value("CRM Deal", deal, "modified"), modified)
		self.assertEqual(frappe.get_all("Version", filters={"ref_doctype": "CRM Deal", "docname": deal}), [])
		self.move(deal, "Proposal", at(2))
		versions = frappe.get_all(
			"Version", filters={"ref_doctype": "CRM Deal", "docname": deal}, pluck="data"
		)
		self.assertEqual(len(versions), 1)
		changed = [change[0] for change in json.loads(versions[0])["changed"]]
		self.assertIn("stage", changed)
		self.assertNotIn("last_activity_on", changed, "the move's version shows the move only")

	def test_a_save_keeps_the_stored_time_whatever_it_sends(self):
		deal = self.make_deal()
		stale = frappe.get_doc("CRM Deal", deal)  # held in memory while activity happens
		with self.freeze_time(at(1)):
			factories.make_call(deal=deal, manager=email("sales1"), started_at=at(1))
		with self.freeze_time(at(2)):
			stale.expected_close_date = at(20).date()
			stale.last_activity_on = at(-100)
			stale.save()
		self.assertEqual(last_activity(deal), at(1))


class TestFollowUpTasks(DealFollowUpTestCase):
	def test_one_follow_up_per_idle_period(self):
		deal = self.make_deal()
		self.assertEqual(self.run_job(at(IDLE_DAYS - 1)), "deal_follow_up: nothing to do")
		self.assertEqual(follow_ups(deal), [], "not idle long enough")
		self.run_job(at(IDLE_DAYS))
		self.assertEqual(follow_ups(deal), [], "exactly N days is not more than N days")

		summary = self.run_job(at(IDLE_DAYS, hours=1))
		self.assertEqual(summary, "deal_follow_up: follow-up tasks: 1")
		[task] = follow_ups(deal)
		self.assertEqual(task.task_type, "Call")
		self.assertEqual(task.status, "Open")
		self.assertEqual(task.assigned_to, email("sales1"))
		self.assertEqual(get_datetime(task.due_on), at(IDLE_DAYS + 1, hours=1), "due within a day")
		self.assertIn(deal, task.subject)
		self.assertEqual(len(notifications_for(email("sales1"), task.name)), 1, "and the manager is told")
		self.assertEqual(last_activity(deal), at(IDLE_DAYS, hours=1), "the follow-up is activity itself")

		self.assertEqual(self.run_job(at(IDLE_DAYS, hours=2)), "deal_follow_up: nothing to do")
		self.run_job(at(2 * IDLE_DAYS))
		self.assertEqual(
			len(follow_ups(deal)), 1, "a second run, or a run within the next period, makes none"
		)

		self.run_job(at(2 * IDLE_DAYS, hours=2))
		self.assertEqual(len(follow_ups(deal)), 2, "another N idle days after the follow-up: another one")

	def test_activity_postpones_the_follow_up(self):
		by_call, by_comment, by_move, by_task, by_info, idle = (self.make_deal() for _ in range(6))
		with self.freeze_time(at(3)):
			factories.make_call(deal=by_call, manager=email("sales1"), started_at=at(3))
			frappe.get_doc("CRM Deal", by_comment).add_comment("Comment", "Ждём бюджет")
			frappe.get_doc("CRM Deal", by_info).add_comment("Info", "Не активность")
			factories.make_task(
				reference_doctype="CRM Deal",
				reference_name=by_task,
				assigned_to=email("sales1"),
				task_type="Meeting",
			)
		frappe.db.commit()
		self.move(by_move, "Proposal", at(3))

		self.run_job(at(IDLE_DAYS, hours=1))
		postponed = (by_call, by_comment, by_move, by_task)
		self.assertEqual([deal for deal in postponed if follow_ups(deal)], [])
		self.assertEqual(len(follow_ups(by_info)), 1, "an Info comment is no activity")
		self.assertEqual(len(follow_ups(idle)), 1)

		self.run_job(at(3 + IDLE_DAYS, hours=1))
		self.assertEqual([len(follow_ups(deal)) for deal in postponed], [1, 1, 1, 1])
		self.assertEqual(len(follow_ups(idle)), 1)

	def test_completing_a_task_on_the_deal_is_activity(self):
		deal = self.make_deal()
		self.run_job(at(IDLE_DAYS, hours=1))
		[task] = follow_ups(deal)
		with self.freeze_time(at(IDLE_DAYS + 3)):
			doc = frappe.get_doc("CRM Task", task.name)
			doc.status = "Done"
			doc.result = "Клиент думает до конца месяца"
			doc.save()
		frappe.db.commit()
		self.run_job(at(2 * IDLE_DAYS, hours=2))
		self.assertEqual(len(follow_ups(deal)), 1, "five days after the follow-up, but two after it was done")
		self.run_job(at(2 * IDLE_DAYS + 3, hours=1))
		self.assertEqual(len(follow_ups(deal)), 2)

	def test_only_open_deals(self):
		won = self.make_deal(amount=1000)
		lost = self.make_deal()
		self.move(won, "Won", T0)
		self.move(lost, "Lost", T0, lost_reason="Price Too High")
		self.run_job(at(IDLE_DAYS * 3))
		self.assertEqual(follow_ups(won) + follow_ups(lost), [])

	def test_switched_off_makes_nothing(self):
		deal = self.make_deal()
		self.set_automation(deal_follow_up_enabled=0)
		self.assertEqual(self.run_job(at(IDLE_DAYS * 3)), "deal_follow_up: nothing to do")
		self.assertEqual(follow_ups(deal), [])

	def test_the_days_are_the_settings(self):
		deal = self.make_deal()
		self.set_automation(deal_inactivity_days=10)
		self.run_job(at(7))
		self.assertEqual(follow_ups(deal), [])
		self.run_job(at(10, hours=1))
		self.assertEqual(len(follow_ups(deal)), 1)

	def test_a_disabled_manager_s_deal_goes_to_their_head(self):
		deal = self.make_deal("sales2")
		frappe.db.set_value("User", email("sales2"), "enabled", 0)
		frappe.db.commit()

		def enable():
			frappe.db.set_value("User", email("sales2"), "enabled", 1)
			frappe.db.commit()

		self.addCleanup(enable)
		self.run_job(at(IDLE_DAYS, hours=1))
		self.assertEqual([task.assigned_to for task in follow_ups(deal)], [email("head_a")])

	def test_a_deal_nobody_manages_is_passed_over_once_not_every_night(self):
		orphan = self.make_deal(None)
		self.set_automation(automation_batch_size=1)
		self.assertEqual(self.run_job(at(IDLE_DAYS, hours=1)), "deal_follow_up: without a manager: 1")
		deal = self.make_deal(when=at(1))
		self.run_job(at(IDLE_DAYS + 1, hours=1))
		self.assertEqual(follow_ups(orphan), [])
		self.assertEqual(len(follow_ups(deal)), 1, "the orphan, the oldest, does not take the batch again")

	def test_activity_after_the_job_read_the_deal_wins(self):
		deal = self.make_deal()
		with self.freeze_time(at(IDLE_DAYS, hours=1)):
			[row] = [row for row in deal_follow_up.idle_deals(at(0, hours=1), 1000) if row.name == deal]
			frappe.get_doc("CRM Deal", deal).add_comment("Comment", "Клиент перезвонил сам")
			frappe.db.commit()
			run = deal_follow_up.JobRun(deal_follow_up.JOB)
			with run.item(deal):
				deal_follow_up.follow_up(row, IDLE_DAYS, run)
		self.assertEqual(run.summary(), "deal_follow_up: active again: 1")
		self.assertEqual(follow_ups(deal), [])

	def test_a_run_is_bounded_by_the_batch_size(self):
		self.set_automation(automation_batch_size=2)
		deals = [self.make_deal(when=at(hours=k)) for k in range(3)]
		summary = self.run_job(at(IDLE_DAYS, hours=5))
		self.assertIn("more left for the next run", summary)
		self.assertEqual([len(follow_ups(deal)) for deal in deals], [1, 1, 0], "the longest idle first")
		self.run_job(at(IDLE_DAYS, hours=6))
		self.assertEqual([len(follow_ups(deal)) for deal in deals], [1, 1, 1])

	def test_a_crash_half_way_then_a_rerun_equals_one_clean_run(self):
		deals = [self.make_deal(when=at(hours=k)) for k in range(4)]
		real_notify = deal_follow_up.notify
		calls = []

		def dies_on_the_third(*args, **kwargs):
			calls.append(args)
			if len(calls) == 3:
				raise Crash
			return real_notify(*args, **kwargs)

		with mock.patch.object(deal_follow_up, "notify", dies_on_the_third):
			with self.assertRaises(Crash):
				self.run_job(at(IDLE_DAYS, hours=5))
		# the worker rolls back what the dead run had not committed
		frappe.db.rollback()
		self.assertEqual([len(follow_ups(deal)) for deal in deals], [1, 1, 0, 0])
		self.assertEqual(last_activity(deals[2]), at(hours=2), "the crashed deal's task is gone with it")

		self.assertEqual(self.run_job(at(IDLE_DAYS, hours=5)), "deal_follow_up: follow-up tasks: 2")
		for deal in deals:
			[task] = follow_ups(deal)
			self.assertEqual(len(notifications_for(email("sales1"), task.name)), 1, deal)
			self.assertEqual(last_activity(deal), at(IDLE_DAYS, hours=5), deal)
		marks = frappe.get_all("CRM Automation Mark", filters={"reference_name": ("in", deals)})
		self.assertEqual(len(marks), 4)

	def test_in_the_manager_s_language(self):
		before = frappe.db.get_value("User", email("sales3"), "language")
		frappe.db.set_value("User", email("sales3"), "language", "ru")
		frappe.db.commit()

		def back_to_default():
			frappe.db.set_value("User", email("sales3"), "language", before)
			frappe.db.commit()

		self.addCleanup(back_to_default)
		deal = self.make_deal("sales3")
		self.run_job(at(IDLE_DAYS, hours=1))
		[task] = follow_ups(deal)
		self.assertIn("Связаться по сделке", task.subject)


class TestLastActivityPatch(DealFollowUpTestCase):
	def test_fills_the_latest_activity_of_deals_without_one(self):
		by_call, by_comment, by_move, by_task, by_email, untouched = (self.make_deal() for _ in range(6))
		with self.freeze_time(at(2)):
			factories.make_call(deal=by_call, manager=email("sales1"), started_at=at(1, hours=5))
			doc = frappe.get_doc("CRM Deal", by_comment)
			doc.add_comment("Comment", "Договорились о встрече")
			factories.make_task(
				reference_doctype="CRM Deal", reference_name=by_task, assigned_to=email("sales1")
			)
			frappe.get_doc(
				{
					"doctype": "Communication",
					"communication_type": "Communication",
					"communication_medium": "Email",
					"sent_or_received": "Sent",
					"subject": "КП",
					"content": "Высылаем предложение",
					"communication_date": at(1, hours=20),
					"reference_doctype": "CRM Deal",
					"reference_name": by_email,
				}
			).insert(ignore_permissions=True)
		with self.freeze_time(at(3)):
			frappe.get_doc("CRM Deal", by_comment).add_comment("Info", "Не активность")
			frappe.get_doc("CRM Deal", by_move).add_comment("Info", "Не активность")
		frappe.db.commit()
		self.move(by_move, "Proposal", at(1, hours=3))
		deals = (by_call, by_comment, by_move, by_task, by_email, untouched)
		frappe.db.sql(
			"update `tabCRM Deal` set last_activity_on = null where name in %(deals)s", {"deals": deals}
		)

		deal_last_activity.execute()
		self.assertEqual(
			[last_activity(deal) for deal in deals],
			[at(1, hours=5), at(2), at(1, hours=3), at(2), at(1, hours=20), T0],
		)
		# a deal with a last activity is left as it is (the patch can run again)
		frappe.db.set_value("CRM Deal", by_call, "last_activity_on", at(9), update_modified=False)
		deal_last_activity.execute()
		self.assertEqual(last_activity(by_call), at(9))
		frappe.db.rollback()


class TestFollowUpJobIndex(DealFollowUpTestCase):
	def test_idle_open_deals_are_one_range_of_an_index(self):
		columns = frappe.db.sql(
			"""select `column_name` from information_schema.statistics
			where `table_schema` = database() and `table_name` = 'tabCRM Deal'
				and `index_name` = 'stage_type_last_activity_index'
			order by `seq_in_index`""",
			pluck=True,
		)
		self.assertEqual([c.lower() for c in columns], ["stage_type", "last_activity_on"])
