"""Large hand-overs run in the background (simple_crm.automation.hand_over).

The threshold is lowered to 3 records and the chunk (Records per Job Run) to 4, so the leaver's ten open
records go to the background and move in three chunks. The request is made over REST as the head of sales;
the job it enqueued is taken from the long queue and run here the way the worker runs it (as the user who
asked, with the arguments it was enqueued with). The job commits, so everything is committed and removed
again in tearDown. A background worker serving the test site would take the job first: run these tests
without one.
"""

import json
from unittest import mock

import frappe
from frappe.desk.form.assign_to import add as assign
from frappe.utils.background_jobs import create_job_id, generate_qname, get_redis_conn
from rq.exceptions import NoSuchJobError
from rq.job import Job

from simple_crm import handover
from simple_crm.automation import hand_over as background
from simple_crm.tests import factories
from simple_crm.tests.sales_org import SalesOrgRestTestCase, email

HAND_OVER = "simple_crm.api.handover.hand_over"
LEAVER = "bg.leaver@example.com"
SUCCESSOR = "bg.successor@example.com"


class Crash(BaseException):
	"""Ends a job run the way a killed worker does: nothing after it runs, nothing catches it."""


def info_comments(doctype: str, name: str) -> list[str]:
	return frappe.get_all(
		"Comment",
		filters={"reference_doctype": doctype, "reference_name": name, "comment_type": "Info"},
		pluck="content",
	)


def notifications_of(record: str) -> dict[str, list[str]]:
	"""user -> subjects of the notifications about hand-over `record`."""
	rows = frappe.get_all(
		"Notification Log",
		filters={"document_type": "CRM Hand Over", "document_name": record},
		fields=["for_user", "subject"],
	)
	found: dict[str, list[str]] = {}
	for row in rows:
		found.setdefault(row.for_user, []).append(row.subject)
	return found


def take_job(record: str) -> dict:
	"""The job enqueued for `record`, taken out of the queue: what the worker would have run."""
	job = Job.fetch(create_job_id(background.job_id(record)), connection=get_redis_conn())
	queued = {"origin": job.origin, "status": job.get_status(), **job.kwargs}
	job.delete()
	return queued


def run_as_worker(job: dict) -> str:
	"""Run the job's method as the worker does: as the user who enqueued it, with its arguments."""
	frappe.set_user(job["user"])
	try:
		return frappe.get_attr(job["method"])(**job["kwargs"])
	finally:
		frappe.set_user("Administrator")


def crashing_on(call: int, error: BaseException):
	"""A save of moved records that raises `error` on its `call`-th use (the job dies half-way)."""
	real = handover.save_moved
	calls = []

	def save_moved(doc, note):
		calls.append(doc.name)
		if len(calls) == call:
			raise error
		return real(doc, note)

	return mock.patch.object(handover, "save_moved", save_moved)


class TestBackgroundHandOver(SalesOrgRestTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		for user, language in ((LEAVER, "en"), (SUCCESSOR, "ru")):
			factories.make_user(user, roles=("CRM Sales Manager",), first_name=user.split("@")[0])
			frappe.db.set_value("User", user, "language", language)
		team = frappe.get_doc("CRM Sales Team", "Process Test Team A")
		for user in (LEAVER, SUCCESSOR):
			team.append("members", {"user": user})
		team.save()
		frappe.db.commit()

	def setUp(self):
		super().setUp()
		frappe.set_user("Administrator")
		self.set_settings(background_hand_over_threshold=3, automation_batch_size=4)
		make = self.track_new
		self.client_name = make(factories.make_client(responsible=LEAVER))
		self.leads = [make(factories.make_lead(responsible=LEAVER)) for _i in range(2)]
		self.deals = [
			make(factories.make_deal(self.client_name, responsible=LEAVER, amount=100 * i)) for i in (1, 2, 3)
		]
		self.co_managed = make(
			factories.make_deal(self.client_name, responsible=email("sales1"), co_managers=[{"user": LEAVER}])
		)
		self.tasks = [make(factories.make_task(assigned_to=LEAVER)) for _i in range(3)]
		# closed work stays
		self.won_deal = make(
			factories.make_deal(self.client_name, responsible=LEAVER, amount=500, stage="Won")
		)
		self.closed_lead = make(
			factories.make_lead(responsible=LEAVER, status="Disqualified", lost_reason="Spam")
		)
		# sales1's lead, assigned to the leaver as a helper in the Desk
		self.helped_lead = make(factories.make_lead(responsible=email("sales1")))
		assign({"doctype": "CRM Lead", "name": self.helped_lead, "assign_to": [LEAVER]})
		frappe.db.commit()
		self.moved = [
			*(("CRM Lead", name, "responsible") for name in self.leads),
			*(("CRM Deal", name, "responsible") for name in self.deals),
			*(("CRM Task", name, "assigned_to") for name in self.tasks),
			("CRM Client", self.client_name, "responsible"),
		]

	def tearDown(self):
		frappe.db.rollback()
		frappe.set_user("Administrator")
		records = frappe.get_all("CRM Hand Over", filters={"from_user": LEAVER}, pluck="name")
		for record in records:
			try:
				take_job(record)
			except NoSuchJobError:
				pass  # taken and run by the test
			frappe.delete_doc("CRM Hand Over", record, force=True, ignore_permissions=True)
		frappe.db.delete(
			"Notification Log", {"document_type": "CRM Hand Over", "document_name": ("in", records)}
		)
		frappe.db.delete("ToDo", {"allocated_to": ("in", (LEAVER, SUCCESSOR))})
		frappe.db.commit()
		super().tearDown()

	def track_new(self, doc) -> str:
		return self.track(doc.doctype, doc.name)

	def set_settings(self, **values) -> None:
		settings = frappe.get_single("Simple CRM Settings")
		before = {key: settings.get(key) for key in values}
		settings.update(values)
		settings.save()
		frappe.db.commit()

		def restore():
			frappe.db.rollback()
			doc = frappe.get_single("Simple CRM Settings")
			doc.update(before)
			doc.save()
			frappe.db.commit()

		self.addCleanup(restore)

	def request_as_head(self, to_user: str = SUCCESSOR) -> str:
		"""The hand-over requested in-process by the head of sales, committed as a request would be."""
		frappe.set_user(email("head_a"))
		try:
			record = handover.hand_over(LEAVER, to_user, "Отпуск по уходу")
		finally:
			frappe.set_user("Administrator")
		frappe.db.commit()
		return record.name

	def record(self, name: str):
		frappe.db.rollback()  # see what the job and the requests committed
		return frappe.get_doc("CRM Hand Over", name)

	def owner_of(self, doctype: str, name: str, field: str) -> str:
		return frappe.db.get_value(doctype, name, field)

	def assert_all_moved(self, name: str) -> None:
		record = self.record(name)
		self.assertEqual(record.status, "Completed")
		self.assertTrue(record.handed_over_on)
		self.assertEqual(
			(record.leads_moved, record.deals_moved, record.tasks_moved, record.clients_moved), (2, 4, 3, 1)
		)
		self.assertEqual((record.records_to_move, record.records_done), (10, 10))
		details = json.loads(record.details)
		self.assertEqual(sorted(details["deals"]), sorted(self.deals))
		self.assertEqual(details["co_managed_deals"], [self.co_managed])
		self.assertEqual(sorted(details["leads"]), sorted(self.leads))
		self.assertIn(f"CRM Lead {self.helped_lead}", details["assignments"])
		self.assertNotIn("skipped", details)
		for doctype, doc, field in self.moved:
			with self.subTest(moved=f"{doctype} {doc}"):
				self.assertEqual(self.owner_of(doctype, doc, field), SUCCESSOR)
				notes = info_comments(doctype, doc)
				self.assertEqual(len(notes), 1, notes)
				self.assertIn("Отпуск по уходу", notes[0])
		managers = frappe.get_all("CRM Deal Manager", filters={"parent": self.co_managed}, pluck="user")
		self.assertEqual(managers, [SUCCESSOR])
		self.assertEqual(len(info_comments("CRM Deal", self.co_managed)), 1)
		for doctype, doc in (("CRM Deal", self.won_deal), ("CRM Lead", self.closed_lead)):
			self.assertEqual(self.owner_of(doctype, doc, "responsible"), LEAVER)
			self.assertEqual(info_comments(doctype, doc), [])
		assigned = json.loads(frappe.db.get_value("CRM Lead", self.helped_lead, "_assign") or "[]")
		self.assertEqual(assigned, [SUCCESSOR])
		self.assertEqual(self.owner_of("CRM Lead", self.helped_lead, "responsible"), email("sales1"))

	def assert_notified_once(self, name: str) -> None:
		sent = notifications_of(name)
		self.assertEqual(sorted(sent), sorted([LEAVER, SUCCESSOR, email("head_a")]))
		self.assertTrue(all(len(subjects) == 1 for subjects in sent.values()), sent)
		# each in their language: the leaver reads English, the successor Russian
		self.assertIn("Your work has been handed over to", sent[LEAVER][0])
		self.assertIn("2 leads, 4 deals, 3 tasks, 1 clients", sent[LEAVER][0])
		self.assertIn("Вам передана работа", sent[SUCCESSOR][0])
		self.assertIn("лидов: 2, сделок: 4, задач: 3, клиентов: 1", sent[SUCCESSOR][0])

	def test_the_request_queues_it_and_the_job_moves_everything_once(self):
		r = self.rest_call(
			HAND_OVER,
			{"from_user": LEAVER, "to_user": SUCCESSOR, "reason": "Отпуск по уходу"},
			email("head_a"),
		)
		self.assertEqual(r.status_code, 200, r.text[:300])
		name = r.data["name"]
		self.assertEqual((r.data["leads"], r.data["deals"], r.data["tasks"], r.data["clients"]), (0, 0, 0, 0))

		# the request returned before anything moved
		record = self.record(name)
		self.assertEqual((record.status, record.requested_by), ("Queued", email("head_a")))
		self.assertEqual((record.records_to_move, record.records_done), (10, 0))
		self.assertEqual(sorted(json.loads(record.plan)["tasks"]), sorted(self.tasks))
		for doctype, doc, field in self.moved:
			self.assertEqual(self.owner_of(doctype, doc, field), LEAVER)
			self.assertEqual(info_comments(doctype, doc), [])
		self.assertEqual(notifications_of(name), {})

		# on the long queue, run as the head of sales who asked
		job = take_job(name)
		self.assertEqual((job["origin"], job["status"]), (generate_qname("long"), "queued"))
		self.assertEqual(job["method"], "simple_crm.automation.hand_over.run")
		self.assertEqual(
			(job["kwargs"], job["user"], job["site"]),
			({"hand_over": name}, email("head_a"), frappe.local.site),
		)
		summary = run_as_worker(job)
		self.assertIn("hand_over: ", summary)
		self.assert_all_moved(name)
		self.assert_notified_once(name)
		# the head of sales sees the record; the leaver no longer sees the work
		r = self.rest_get("CRM Hand Over", name, user=email("head_a"))
		self.assertEqual(r.status_code, 200)
		r = self.rest_get("CRM Deal", self.deals[0], user=LEAVER)
		self.assertEqual(r.status_code, 403)

		# a second run changes nothing
		modified = self.record(name).modified
		self.assertEqual(run_as_worker(job), "hand_over: nothing to do")
		self.assertEqual(self.record(name).modified, modified)
		self.assert_all_moved(name)
		self.assert_notified_once(name)

	def test_a_run_killed_half_way_is_finished_by_the_next(self):
		name = self.request_as_head()
		job = take_job(name)
		# the sixth record dies: the first chunk of four is committed, the second is not
		with crashing_on(6, Crash()):
			with self.assertRaises(Crash):
				run_as_worker(job)
		frappe.db.rollback()  # the worker's connection dies with what it had not committed
		record = self.record(name)
		self.assertEqual((record.status, record.records_done), ("In Progress", 4))
		self.assertEqual((record.leads_moved, record.deals_moved, record.tasks_moved), (2, 2, 0))
		plan = json.loads(record.plan)
		first_four = [*plan["leads"], *plan["deals"][:2]]
		self.assertEqual(sorted(plan["leads"]), sorted(self.leads))
		for doctype, doc, field in self.moved:
			expected = SUCCESSOR if doc in first_four else LEAVER
			self.assertEqual(self.owner_of(doctype, doc, field), expected, doc)
		self.assertEqual(notifications_of(name), {})

		run_as_worker(job)
		self.assert_all_moved(name)
		self.assert_notified_once(name)

	def test_a_failed_run_is_shown_and_run_again_by_the_head(self):
		name = self.request_as_head()
		job = take_job(name)
		with crashing_on(6, frappe.ValidationError("Диск переполнен")):
			with self.assertRaises(frappe.ValidationError):
				run_as_worker(job)
		record = self.record(name)
		self.assertEqual((record.status, record.records_done, record.error), ("Failed", 4, "Диск переполнен"))
		self.assertTrue(
			frappe.db.exists("Error Log", {"reference_doctype": "CRM Hand Over", "reference_name": name})
		)

		# the form's Run Again: only who may hand the work over may run it again
		resume = {"dt": "CRM Hand Over", "dn": name, "method": "resume"}
		for user in ("sales1", "head_b"):
			r = self.rest_call("run_doc_method", resume, email(user))
			self.assertEqual(r.status_code, 403, r.text[:300])
		self.assertEqual(self.record(name).status, "Failed")
		r = self.rest_call("run_doc_method", resume, email("head_a"))
		self.assertEqual(r.status_code, 200, r.text[:300])
		self.assertEqual(self.record(name).status, "Queued")
		r = self.rest_call("run_doc_method", resume, email("head_a"))
		self.assertEqual(r.status_code, 417, r.text[:300])
		self.assertIn("already queued or running", r.error_text())

		job = take_job(name)
		self.assertEqual(job["user"], email("head_a"))
		run_as_worker(job)
		self.assert_all_moved(name)
		self.assert_notified_once(name)
		frappe.set_user(email("head_a"))
		self.assertRaises(handover.HandOverError, background.resume, name)  # completed
		frappe.set_user("Administrator")

	def test_checked_in_the_request_and_one_at_a_time(self):
		for user in ("head_b", "director", "sales1"):
			r = self.rest_call(HAND_OVER, {"from_user": LEAVER, "to_user": SUCCESSOR}, email(user))
			self.assertEqual(r.status_code, 403, r.text[:300])
		r = self.rest_call(HAND_OVER, {"from_user": LEAVER, "to_user": email("director")}, email("crm_admin"))
		self.assertEqual(r.status_code, 417, r.text[:300])
		frappe.db.rollback()
		self.assertFalse(frappe.db.exists("CRM Hand Over", {"from_user": LEAVER}))

		name = self.request_as_head()
		# a second hand-over of the same work waits for the first
		r = self.rest_call(HAND_OVER, {"from_user": LEAVER, "to_user": email("sales2")}, email("head_a"))
		self.assertEqual(r.status_code, 417, r.text[:300])
		self.assertIn("already being handed over", r.error_text())
		self.assertEqual(frappe.get_all("CRM Hand Over", filters={"from_user": LEAVER}, pluck="name"), [name])

		# the successor was disabled before the job ran: it fails and moves nothing
		job = take_job(name)
		frappe.db.set_value("User", SUCCESSOR, "enabled", 0)
		frappe.db.commit()
		try:
			with self.assertRaises(handover.HandOverError):
				run_as_worker(job)
		finally:
			frappe.db.set_value("User", SUCCESSOR, "enabled", 1)
			frappe.db.commit()
		record = self.record(name)
		self.assertEqual((record.status, record.records_done), ("Failed", 0))
		self.assertIn("disabled", record.error)
		self.assertEqual(self.owner_of("CRM Lead", self.leads[0], "responsible"), LEAVER)

	def test_work_that_changed_hands_meanwhile_is_left_where_it_is(self):
		name = self.request_as_head()
		job = take_job(name)
		# after the request, a lead went to a colleague and a task was done
		frappe.db.set_value("CRM Lead", self.leads[0], "responsible", email("sales2"))
		frappe.db.set_value("CRM Task", self.tasks[0], "status", "Done")
		frappe.db.commit()
		run_as_worker(job)
		record = self.record(name)
		self.assertEqual(record.status, "Completed")
		self.assertEqual((record.leads_moved, record.tasks_moved, record.records_done), (1, 2, 10))
		self.assertEqual(
			json.loads(record.details)["skipped"], [f"CRM Lead {self.leads[0]}", f"CRM Task {self.tasks[0]}"]
		)
		self.assertEqual(self.owner_of("CRM Lead", self.leads[0], "responsible"), email("sales2"))
		self.assertEqual(self.owner_of("CRM Task", self.tasks[0], "assigned_to"), LEAVER)
		self.assertEqual(self.owner_of("CRM Lead", self.leads[1], "responsible"), SUCCESSOR)

	def test_below_the_threshold_it_moves_at_once(self):
		self.set_settings(background_hand_over_threshold=11)
		name = self.request_as_head()
		self.assertRaises(NoSuchJobError, take_job, name)  # nothing was queued
		record = self.record(name)
		self.assertEqual((record.status, record.requested_by), ("Completed", email("head_a")))
		self.assert_all_moved(name)
		self.assertEqual(notifications_of(name), {})
