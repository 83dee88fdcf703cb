"""New leads get their call-back task once, after commit; leads left New past the SLA are escalated.

The jobs commit what they do (one record at a time, as the scheduler runs them), so these tests commit the
leads they make and remove everything again in tearDown.
"""

import datetime
from unittest import mock

import frappe
from frappe.cache_manager import clear_doctype_map
from frappe.desk.form.assign_to import add as assign
from frappe.utils import add_to_date, get_datetime

from simple_crm.automation import lead_sla, new_leads
from simple_crm.tests import factories
from simple_crm.tests.sales_org import SalesOrgRestTestCase, SalesOrgTestCase, email
from simple_crm.tests.utils import CommittedSettings

T0 = datetime.datetime(2026, 3, 10, 10, 0, 0)


class Crash(BaseException):
	"""Ends a job run the way a killed worker does: nothing after it runs, nothing catches it."""


def tasks_of(lead: str) -> list[frappe._dict]:
	return frappe.get_all(
		"CRM Task",
		filters={"reference_doctype": "CRM Lead", "reference_name": lead},
		fields=["name", "assigned_to", "due_on", "task_type", "status", "author"],
	)


def notifications_for(user: str, document_name: str) -> list[str]:
	return frappe.get_all(
		"Notification Log", filters={"for_user": user, "document_name": document_name}, pluck="subject"
	)


def queued_emails(recipient: str, reference_name: str) -> list[str]:
	queue = frappe.qb.DocType("Email Queue")
	recipients = frappe.qb.DocType("Email Queue Recipient")
	return (
		frappe.qb.from_(queue)
		.join(recipients)
		.on(recipients.parent == queue.name)
		.select(queue.name)
		.where((recipients.recipient == recipient) & (queue.reference_name == reference_name))
		.run(pluck=True)
	)


def remove_leads(names: list[str]) -> None:
	frappe.db.rollback()
	frappe.set_user("Administrator")
	for lead in names:
		tasks = frappe.get_all(
			"CRM Task", filters={"reference_doctype": "CRM Lead", "reference_name": lead}, pluck="name"
		)
		frappe.db.delete("Notification Log", {"document_name": ("in", [lead, *tasks])})
		# and the e-mails the notifications queued (a later test may get the same name for its own lead)
		for queue in frappe.get_all(
			"Email Queue", filters={"reference_name": ("in", [lead, *tasks])}, pluck="name"
		):
			frappe.db.delete("Email Queue Recipient", {"parent": queue})
			frappe.db.delete("Email Queue", {"name": queue})
		frappe.db.delete("CRM Automation Mark", {"reference_name": lead})
		frappe.db.delete("ToDo", {"reference_type": "CRM Lead", "reference_name": lead})
		for task in tasks:
			frappe.delete_doc("CRM Task", task, force=True, ignore_permissions=True)
		if frappe.db.exists("CRM Lead", lead):
			frappe.delete_doc("CRM Lead", lead, force=True, ignore_permissions=True)
	frappe.db.commit()


class LeadAutomationTestCase(CommittedSettings, SalesOrgTestCase):
	def setUp(self):
		super().setUp()
		self.leads: list[str] = []
		self.addCleanup(lambda: remove_leads(self.leads))

	def make_lead(self, user: str | None = None, commit: bool = True, **values) -> str:
		frappe.set_user(user or "Administrator")
		doc = frappe.get_doc(
			{
				"doctype": "CRM Lead",
				"lead_name": "Анна Сидорова",
				"company_name": "ООО Вектор",
				"phone": factories.unique_mobile(),
				**values,
			}
		).insert()
		frappe.set_user("Administrator")
		self.leads.append(doc.name)
		if commit:
			frappe.db.commit()
		return doc.name


class TestCallBackTask(LeadAutomationTestCase):
	def test_one_task_for_the_responsible_manager_due_after_the_set_minutes(self):
		self.set_automation(callback_task_enabled=1, callback_minutes=20)
		with self.freeze_time(T0):
			lead = self.make_lead(email("sales1"))
			self.assertEqual(tasks_of(lead), [], "the insert itself makes no task")
			new_leads.process_new_lead(lead)
			new_leads.process_new_lead(lead)
		tasks = tasks_of(lead)
		self.assertEqual(len(tasks), 1, "exactly one task, however often the job runs")
		task = tasks[0]
		self.assertEqual(task.assigned_to, email("sales1"))
		self.assertEqual(task.task_type, "Call")
		self.assertEqual(task.status, "Open")
		self.assertEqual(get_datetime(task.due_on), T0 + datetime.timedelta(minutes=20))
		self.assertEqual(len(notifications_for(email("sales1"), task.name)), 1)
		self.assertEqual(len(queued_emails(email("sales1"), task.name)), 1, "and e-mailed through the queue")

	def test_lead_nobody_is_responsible_for_goes_to_a_head_of_sales(self):
		# a lead an integration enters (as the Administrator) waits for distribution: meanwhile the call-back
		# is the first team's head's
		lead = self.make_lead()
		self.assertFalse(frappe.db.get_value("CRM Lead", lead, "responsible"))
		first_team_head = frappe.get_all(
			"CRM Sales Team", filters={"disabled": 0, "head": ("is", "set")}, order_by="name", pluck="head"
		)[0]
		new_leads.process_new_lead(lead)
		self.assertEqual([t.assigned_to for t in tasks_of(lead)], [first_team_head])

	def test_head_of_the_enterers_team_gets_it_before_any_other(self):
		self.assertEqual(new_leads.head_for_unassigned(email("sales3")), email("head_b"))
		self.assertEqual(new_leads.head_for_unassigned(email("head_b")), email("head_b"))

	def test_lead_already_worked_on_gets_no_call_back(self):
		lead = self.make_lead(email("sales1"))
		frappe.db.set_value("CRM Lead", lead, "status", "In Progress")
		frappe.db.commit()
		new_leads.process_new_lead(lead)
		self.assertEqual(tasks_of(lead), [])

	def test_switched_off_makes_nothing(self):
		self.set_automation(callback_task_enabled=0)
		lead = self.make_lead(email("sales1"))
		new_leads.process_new_lead(lead)
		new_leads.catch_up()
		self.assertEqual(tasks_of(lead), [])

	def test_catch_up_gives_lost_jobs_their_task_once(self):
		first = self.make_lead(email("sales1"))
		second = self.make_lead(email("sales2"))
		new_leads.process_new_lead(first)
		new_leads.catch_up()
		new_leads.catch_up()
		new_leads.process_new_lead(second)
		self.assertEqual([t.assigned_to for t in tasks_of(first)], [email("sales1")])
		self.assertEqual([t.assigned_to for t in tasks_of(second)], [email("sales2")])

	def test_a_crash_half_way_then_a_rerun_equals_one_clean_run(self):
		leads = [self.make_lead(email("sales1")) for _ in range(4)]
		real_notify = new_leads.notify
		calls = []

		def dies_on_the_third(*args, **kwargs):
			calls.append(args)
			if len(calls) == 3:
				raise Crash
			return real_notify(*args, **kwargs)

		with mock.patch.object(new_leads, "notify", dies_on_the_third):
			with self.assertRaises(Crash):
				new_leads.catch_up()
		# the worker rolls back what the dead run had not committed
		frappe.db.rollback()
		done = [lead for lead in leads if tasks_of(lead)]
		self.assertEqual(len(done), 2, "the two leads before the crash are done and committed")
		new_leads.catch_up()
		for lead in leads:
			tasks = tasks_of(lead)
			self.assertEqual(len(tasks), 1, lead)
			self.assertEqual(len(notifications_for(email("sales1"), tasks[0].name)), 1, lead)

	def test_a_run_is_bounded_by_the_batch_size(self):
		self.set_automation(automation_batch_size=2)
		leads = [self.make_lead(email("sales2")) for _ in range(3)]
		summary = new_leads.catch_up()
		self.assertIn("more left for the next run", summary)
		self.assertEqual(sum(1 for lead in leads if tasks_of(lead)), 2)
		new_leads.catch_up()
		self.assertTrue(all(tasks_of(lead) for lead in leads))

	def test_a_rolled_back_insert_enqueues_nothing(self):
		self.make_lead(email("sales1"), commit=False)
		self.assertTrue(frappe.db.after_commit._functions, "the job waits for the commit")
		frappe.db.rollback()
		self.assertFalse(frappe.db.after_commit._functions)


class TestLeadInsertedOverRest(SalesOrgRestTestCase):
	def test_the_insert_returns_before_its_call_back_task_exists(self):
		from frappe.utils.background_jobs import create_job_id, get_redis_conn
		from rq.job import Job

		r = self.rest_insert(
			"CRM Lead", {"lead_name": "Олег Смирнов", "phone": "+79123400001"}, email("sales1")
		)
		self.assertEqual(r.status_code, 200, r.text)
		lead = r.data["name"]
		self.addCleanup(lambda: remove_leads([lead]))
		frappe.db.commit()
		self.assertEqual(tasks_of(lead), [], "the response came back before any task")
		job = Job.fetch(create_job_id(f"simple_crm:new-lead:{lead}"), connection=get_redis_conn())
		self.assertEqual(job.kwargs["method"], "simple_crm.automation.new_leads.process_new_lead")
		self.assertEqual(job.kwargs["site"], frappe.local.site)
		# what the worker runs, run here (the worker would run it as the user who inserted the lead)
		frappe.set_user(job.kwargs["user"])
		frappe.get_attr(job.kwargs["method"])(**job.kwargs["kwargs"])
		frappe.set_user("Administrator")
		job.delete()
		self.assertEqual([t.assigned_to for t in tasks_of(lead)], [email("sales1")])


class TestLeadSLA(LeadAutomationTestCase):
	def setUp(self):
		super().setUp()
		self.set_automation(lead_sla_enabled=1, lead_sla_minutes=60, lead_sla_reassign=0)

	def escalated(self, lead: str) -> bool:
		return bool(frappe.db.exists("CRM Automation Mark", lead_sla.key_for(lead)))

	def test_escalated_to_the_head_at_the_sla_and_not_a_minute_before(self):
		with self.freeze_time(T0):
			lead = self.make_lead(email("sales1"))
		with self.freeze_time(add_to_date(T0, minutes=59)):
			lead_sla.escalate_overdue_leads()
		self.assertFalse(self.escalated(lead))
		self.assertEqual(notifications_for(email("head_a"), lead), [])
		with self.freeze_time(add_to_date(T0, minutes=60)):
			lead_sla.escalate_overdue_leads()
			lead_sla.escalate_overdue_leads()
		self.assertTrue(self.escalated(lead))
		self.assertEqual(len(notifications_for(email("head_a"), lead)), 1, "once, however often it runs")
		self.assertEqual(frappe.db.get_value("CRM Lead", lead, "responsible"), email("sales1"))

	def test_a_lead_worked_on_in_time_is_left_alone(self):
		with self.freeze_time(T0):
			lead = self.make_lead(email("sales1"))
		frappe.db.set_value("CRM Lead", lead, "status", "In Progress")
		frappe.db.commit()
		with self.freeze_time(add_to_date(T0, hours=3)):
			lead_sla.escalate_overdue_leads()
		self.assertFalse(self.escalated(lead))

	def test_round_robin_hands_the_lead_to_the_next_member_with_its_task(self):
		self.set_automation(lead_sla_reassign=1, lead_sla_reassign_rule="Round Robin")
		with self.freeze_time(T0):
			lead = self.make_lead(email("sales1"))
			new_leads.process_new_lead(lead)
		with self.freeze_time(add_to_date(T0, minutes=61)):
			lead_sla.escalate_overdue_leads()
		self.assertEqual(frappe.db.get_value("CRM Lead", lead, "responsible"), email("sales2"))
		self.assertEqual([t.assigned_to for t in tasks_of(lead)], [email("sales2")], "the call-back follows")
		self.assertEqual(len(notifications_for(email("sales2"), lead)), 1)
		self.assertEqual(len(notifications_for(email("sales1"), lead)), 1)
		self.assertEqual(len(notifications_for(email("head_a"), lead)), 1)

	def test_least_busy_picks_the_member_with_fewest_open_leads(self):
		self.set_automation(lead_sla_reassign=1, lead_sla_reassign_rule="Least Busy")
		with self.freeze_time(T0):
			lead = self.make_lead(email("sales2"))
		# in team A only sales1 is left once sales2 is relieved of the lead
		successor = lead_sla.pick_successor(email("head_a"), email("sales2"), "Least Busy")
		self.assertEqual(successor, email("sales1"))
		for _ in range(2):
			self.make_lead(email("sales1"))
		# with a third member who has no open leads, that member is the least busy
		team = frappe.get_doc("CRM Sales Team", {"head": email("head_a")})
		team.append("members", {"user": email("sales3")})
		team.save()
		frappe.db.commit()
		self.addCleanup(lambda: self._drop_member(team.name, email("sales3")))
		open_leads = {
			user: frappe.db.count("CRM Lead", {"responsible": user, "status": ("in", ["New", "In Progress"])})
			for user in (email("sales1"), email("sales3"))
		}
		expected = min(open_leads, key=lambda u: (open_leads[u], u != email("sales1")))
		with self.freeze_time(add_to_date(T0, minutes=61)):
			lead_sla.escalate_overdue_leads()
		self.assertEqual(frappe.db.get_value("CRM Lead", lead, "responsible"), expected)

	def _drop_member(self, team: str, user: str) -> None:
		frappe.db.rollback()
		doc = frappe.get_doc("CRM Sales Team", team)
		doc.members = [m for m in doc.members if m.user != user]
		doc.save()
		frappe.db.commit()


WEEK = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class TestDistributionAfterCommit(SalesOrgTestCase):
	"""Frappe's Assignment Rules hand new leads out in the new-lead job, not in the insert; the assignee
	becomes responsible exactly once."""

	def setUp(self):
		super().setUp()
		self.rules = []

	def tearDown(self):
		super().tearDown()  # rolls the rule back; forget the cached one
		clear_doctype_map("Assignment Rule", "CRM Lead")
		for name in self.rules:
			frappe.clear_document_cache("Assignment Rule", name)

	def make_rule(self, rule: str) -> str:
		doc = frappe.get_doc(
			{
				"doctype": "Assignment Rule",
				"name": f"Новые лиды {rule}",
				"document_type": "CRM Lead",
				"priority": 1,
				"assign_condition": "status == 'New' and not responsible",
				"rule": rule,
				"users": [{"user": email("sales1")}, {"user": email("sales2")}],
				"assignment_days": [{"day": day} for day in WEEK],
			}
		)
		frappe.set_user(email("crm_admin"))  # configured by the CRM administrator
		doc.insert()
		frappe.set_user("Administrator")
		self.rules.append(doc.name)
		return doc.name

	def assignments(self, lead: str) -> list[str]:
		return frappe.get_all(
			"ToDo",
			filters={"reference_type": "CRM Lead", "reference_name": lead, "status": "Open"},
			pluck="allocated_to",
		)

	def test_round_robin_in_the_job_exactly_once(self):
		rule = self.make_rule("Round Robin")
		leads = [factories.make_lead() for _i in range(4)]
		for lead in leads:
			self.assertFalse(lead.responsible, "the insert leaves distribution to the job")
			self.assertEqual(self.assignments(lead.name), [])
			self.assertFalse(frappe.db.exists("Workflow Action", {"reference_name": lead.name}))
		inserted = {lead.name: frappe.db.get_value("CRM Lead", lead.name, "modified") for lead in leads}
		for lead in leads:
			new_leads.process_new_lead(lead.name)
			new_leads.process_new_lead(lead.name)
		owners = [frappe.db.get_value("CRM Lead", lead.name, "responsible") for lead in leads]
		self.assertEqual(sorted(owners), sorted([email("sales1"), email("sales2")] * 2))
		self.assertNotEqual(owners[0], owners[1])
		for lead, owner in zip(leads, owners, strict=True):
			self.assertEqual(self.assignments(lead.name), [owner], "assigned once")
			frappe.set_user(owner)
			self.assertTrue(frappe.has_permission("CRM Lead", "read", doc=lead.name))
			frappe.set_user("Administrator")
			notes = frappe.get_all(
				"Comment",
				filters={"reference_name": lead.name, "comment_type": "Info"},
				pluck="content",
			)
			self.assertTrue(any(rule in note for note in notes), notes)
			# the form a user holds since the insert still saves: the distribution kept the timestamp
			self.assertEqual(frappe.db.get_value("CRM Lead", lead.name, "modified"), inserted[lead.name])
			self.assertEqual([t.assigned_to for t in tasks_of(lead.name)], [owner], "its call-back too")
			self.assertTrue(frappe.db.exists("Workflow Action", {"reference_name": lead.name}))
		form = leads[0]
		form.reload()
		form.interest = "Перезвонить"
		form.save()

	def test_a_lead_that_arrives_with_a_manager_keeps_them(self):
		self.make_rule("Round Robin")
		kept = factories.make_lead(responsible=email("sales3"))
		new_leads.process_new_lead(kept.name)
		self.assertEqual(frappe.db.get_value("CRM Lead", kept.name, "responsible"), email("sales3"))
		self.assertEqual(self.assignments(kept.name), [])

	def test_least_busy_gets_the_next_lead(self):
		self.make_rule("Load Balancing")
		busy = [factories.make_lead(responsible=email("sales1")).name for _i in range(2)]
		for name in busy:
			assign({"doctype": "CRM Lead", "name": name, "assign_to": [email("sales1")]})
		lead = factories.make_lead()
		new_leads.process_new_lead(lead.name)
		self.assertEqual(frappe.db.get_value("CRM Lead", lead.name, "responsible"), email("sales2"))

	def test_a_lead_from_the_web_is_distributed_by_its_job_too(self):
		# web forms and integrations insert as Guest; the worker runs the job as that user
		self.make_rule("Round Robin")
		lead = factories.make_lead()
		frappe.set_user("Guest")
		try:
			new_leads.process_new_lead(lead.name)
		finally:
			frappe.set_user("Administrator")
		self.assertIn(
			frappe.db.get_value("CRM Lead", lead.name, "responsible"), (email("sales1"), email("sales2"))
		)


class TestNoticesWithoutAnOutgoingAccount(SalesOrgTestCase):
	def test_a_muted_site_without_an_outgoing_account_gets_the_notice_in_the_desk_only(self):
		from simple_crm.automation.common import notify, outgoing_email_ready

		frappe.db.set_value("Email Account", {"enable_outgoing": 1}, "enable_outgoing", 0)
		frappe.local.outgoing_email_account = {}
		self.addCleanup(lambda: setattr(frappe.local, "outgoing_email_account", {}))
		self.assertTrue(frappe.flags.mute_emails)
		self.assertFalse(outgoing_email_ready(), "Frappe's stand-in account of a muted site has no address")
		errors = frappe.db.count("Error Log")
		lead = factories.make_lead().name
		notify(email("sales1"), "Перезвонить клиенту", reference_doctype="CRM Lead", reference_name=lead)
		self.assertEqual(notifications_for(email("sales1"), lead), ["Перезвонить клиенту"])
		self.assertEqual(queued_emails(email("sales1"), lead), [])
		self.assertEqual(frappe.db.count("Error Log"), errors)
