"""Reports and exports read from the site's MariaDB read replica; writes go to the primary.

Runs on a site whose database lives on the pair of `scripts/replica.sh` (a primary and its read-only
replica), with `read_from_replica`, `replica_host` and `replica_db_port` in its site config:
`scripts/test.sh` creates such a site and runs this module there
(`bench --site SITE run-tests --module simple_crm.tests.replica_reads`). Its name does not start with
`test_` so that the app-wide run on the ordinary test site, which has no replica, leaves it out; on a site
without a replica it fails at once.

The proofs go through the paths users hit: REST inserts, and the Desk's report, list count and export calls
over the real WSGI application. The replica is driven with the script (`pause` stops applying the
primary's changes, `stop replica` takes it away) and watched through its own counters.
"""

import os
import subprocess
import time
from pathlib import Path

import frappe
import pymysql
from frappe.database import get_db
from frappe.utils import add_months, today

from simple_crm import replica
from simple_crm.tests import factories
from simple_crm.tests.sales_org import TwoTeamsRecordsTestCase, email

SCRIPT = Path(frappe.get_app_path("simple_crm")).parent / "scripts" / "replica.sh"
REPORT_MODULE = "Simple CRM"
REPLICA_WAIT_SECONDS = 60

# Filters the Desk would send: every report gets the last twelve months; a report that needs more gets them
# in ReplicaReadsTestCase.filters_for (a new report that stops on a missing filter fails the test until then)
PERIOD = {"from_date": add_months(today(), -12), "to_date": today()}


def pair(*args: str) -> str:
	"""`scripts/replica.sh ARGS` (the pair of DB_PAIR_DIR, as this site's was made); fails the test loudly."""
	done = subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, env=os.environ.copy())
	if done.returncode:
		raise AssertionError(f"scripts/replica.sh {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
	return done.stdout


def replica_connection():
	"""A connection to the replica made as Frappe makes it (`frappe.connect_replica`): the site's user."""
	conf = frappe.conf
	return get_db(
		host=conf.replica_host,
		port=conf.replica_db_port,
		user=conf.db_name,
		password=conf.db_password,
		cur_db_name=conf.db_name,
	)


def replica_selects() -> int:
	"""SELECT statements the replica has run so far (all sessions)."""
	db = replica_connection()
	try:
		return int(db.sql("show global status like 'Com_select'")[0][1])
	finally:
		db.close()


def wait_for_replica() -> None:
	"""Until the replica has applied everything the primary has committed."""
	frappe.db.commit()
	position = frappe.db.sql("select @@global.gtid_binlog_pos")[0][0]
	db = replica_connection()
	try:
		if db.sql("select master_gtid_wait(%s, %s)", (position, REPLICA_WAIT_SECONDS))[0][0] != 0:
			raise AssertionError(f"the replica did not reach the primary's GTID {position} in time")
	finally:
		db.close()


def module_reports() -> list[str]:
	return frappe.get_all(
		"Report", filters={"module": REPORT_MODULE, "is_standard": "Yes"}, pluck="name", order_by="name"
	)


def may_run(report: str, user: str) -> bool:
	frappe.set_user(user)
	try:
		return frappe.get_doc("Report", report).is_permitted()
	finally:
		frappe.set_user("Administrator")


class ReplicaReadsTestCase(TwoTeamsRecordsTestCase):
	@classmethod
	def setUpClass(cls):
		conf = frappe.conf
		if not (conf.read_from_replica and conf.replica_host and conf.replica_db_port):
			raise RuntimeError(
				f"{frappe.local.site} has no read replica: run this module on the site scripts/test.sh makes on "
				"the pair of scripts/replica.sh (site config read_from_replica, replica_host, replica_db_port)"
			)
		pair("start", "replica")
		pair("resume")
		super().setUpClass()
		cls.source = frappe.get_doc(
			{"doctype": "CRM Lead Source", "source_name": factories.unique("Replica "), "channel": "Website"}
		).insert(ignore_permissions=True)
		frappe.db.commit()
		wait_for_replica()

	@classmethod
	def tearDownClass(cls):
		pair("start", "replica")
		pair("resume")
		replica.forget_unreachable()
		frappe.db.rollback()
		frappe.delete_doc("CRM Lead Source", cls.source.name, force=True, ignore_permissions=True)
		frappe.db.commit()
		super().tearDownClass()

	def setUp(self):
		super().setUp()
		# whatever an earlier test left: the replica running, applying, and tried at the next read
		pair("start", "replica")
		pair("resume")
		replica.forget_unreachable()

	# --- helpers ---------------------------------------------------------------------------------------

	def filters_for(self, report: str) -> list[dict]:
		"""The filters each report is run with (one run per entry)."""
		if (
			report == "CRM Client 360"
		):  # the 360 page of sales1's client, as its form opens it, and by counterparty
			return [{"client": self.mine["CRM Client"]}, {"counterparty": self.mine["CRM Counterparty"]}]
		return [{}]

	def insert_lead(self) -> str:
		r = self.rest_insert(
			"CRM Lead",
			{"lead_name": "Реплика Тест", "phone": factories.unique_mobile(), "source": self.source.name},
		)
		self.assertEqual(r.status_code, 200, r.text)
		return r.data["name"]

	def run_report(self, report: str, user: str = "Administrator", **filters):
		"""The Desk's call: GET frappe.desk.query_report.run."""
		from urllib.parse import urlencode

		query = urlencode({"report_name": report, "filters": frappe.as_json({**PERIOD, **filters})})
		return self.request("GET", f"/api/method/frappe.desk.query_report.run?{query}", user)

	def leads_reported(self) -> int:
		"""Leads of the test's source in CRM Lead Sources, as the Desk shows it."""
		r = self.run_report("CRM Lead Sources")
		self.assertEqual(r.status_code, 200, r.text)
		rows = [
			row for row in r.data["result"] if isinstance(row, dict) and row.get("source") == self.source.name
		]
		return rows[0]["leads"] if rows else 0

	def leads_counted(self) -> int:
		"""The list's count, as the Desk asks it (frappe.desk.reportview.get_count)."""
		r = self.request(
			"POST",
			"/api/method/frappe.desk.reportview.get_count",
			data={
				"doctype": "CRM Lead",
				"filters": frappe.as_json([["CRM Lead", "source", "=", self.source.name]]),
			},
		)
		self.assertEqual(r.status_code, 200, r.text)
		return r.data

	def leads_on_replica(self) -> int:
		db = replica_connection()
		try:
			return db.sql("select count(*) from `tabCRM Lead` where source = %s", self.source.name)[0][0]
		finally:
			db.close()

	def leads_on_primary(self) -> int:
		return frappe.db.count("CRM Lead", {"source": self.source.name})

	# --- the pair ----------------------------------------------------------------------------------------

	def test_the_replica_is_a_read_only_copy_of_the_primary(self):
		db = replica_connection()
		try:
			self.assertEqual(db.sql("select @@read_only")[0][0], 1)
			self.assertNotEqual(
				db.sql("select @@server_id")[0][0],
				frappe.db.sql("select @@server_id")[0][0],
				"one server, not two",
			)
			self.assertEqual(frappe.db.sql("select @@read_only")[0][0], 0)
			with self.assertRaises(pymysql.err.OperationalError) as refused:
				db.sql("update `tabCRM Lead Source` set description = 'x' where name = %s", self.source.name)
			self.assertEqual(refused.exception.args[0], 1290)  # running with --read-only
		finally:
			db.close()

	def test_every_request_and_job_wraps_frappe_once(self):
		self.assertIn("simple_crm.replica.before_request", frappe.get_hooks("before_request"))
		self.assertIn("simple_crm.replica.before_job", frappe.get_hooks("before_job"))
		replica.install()
		wrapped = (frappe.connect_replica, frappe.log_error)
		replica.install()  # once per process: a second call changes nothing
		self.assertEqual((frappe.connect_replica, frappe.log_error), wrapped)
		self.assertTrue(frappe.connect_replica._crm_wrapped)

	# --- reads from the replica, writes to the primary ----------------------------------------------

	def test_reports_read_the_replica_and_writes_go_to_the_primary(self):
		first = self.insert_lead()
		self.assertTrue(frappe.db.exists("CRM Lead", first), "the REST insert is on the primary")
		wait_for_replica()
		self.assertEqual(self.leads_on_replica(), 1)
		self.assertEqual(self.leads_reported(), 1)

		pair("pause")
		second = self.insert_lead()
		self.assertEqual(self.leads_on_primary(), 2, "the second insert is on the primary")
		self.assertEqual(self.leads_on_replica(), 1, "and not applied on the paused replica")
		# the report and the list's count read the replica: they do not see the second lead yet
		self.assertEqual(self.leads_reported(), 1)
		self.assertEqual(self.leads_counted(), 1)
		# a form reads the primary
		r = self.rest_get("CRM Lead", second)
		self.assertEqual(r.status_code, 200, r.text)

		pair("resume")
		wait_for_replica()
		self.assertEqual(self.leads_on_replica(), 2)
		self.assertEqual(self.leads_reported(), 2)
		self.assertEqual(self.leads_counted(), 2)

	def test_every_report_runs_on_the_replica(self):
		reports = module_reports()
		self.assertGreaterEqual(len(reports), 10, reports)
		users = ("Administrator", email("sales1"), email("head_a"), email("director"))
		ran = set()
		for report in reports:
			for user in users:
				if not may_run(report, user):
					continue
				for filters in self.filters_for(report):
					with self.subTest(report=report, user=user, filters=filters):
						before = replica_selects()
						r = self.run_report(report, user, **filters)
						self.assertEqual(
							r.status_code, 200, f"{report} as {user}: {r.error_text() or r.text}"
						)
						self.assertIn("result", r.data)
						self.assertTrue(r.data["result"] or r.data["columns"], f"{report} as {user}: nothing")
						self.assertGreater(
							replica_selects(), before, f"{report} as {user} read nothing on the replica"
						)
						ran.add(report)
		self.assertEqual(ran, set(reports), "every report ran")

	def test_report_exports_run_on_the_replica(self):
		for report in module_reports():
			filters = self.filters_for(report)[0]
			with self.subTest(report=report):
				before = replica_selects()
				r = self.request(
					"POST",
					"/api/method/frappe.desk.query_report.export_query",
					data={
						"report_name": report,
						"file_format_type": "CSV",
						"filters": frappe.as_json({**PERIOD, **filters}),
						"visible_idx": "[]",
					},
				)
				self.assertEqual(r.status_code, 200, f"{report}: {r.error_text() or r.text}")
				self.assertTrue(r.text, f"{report}: an empty export")
				self.assertGreater(
					replica_selects(), before, f"{report}'s export read nothing on the replica"
				)

	def test_report_builder_export_runs_on_the_replica_and_is_logged(self):
		"""Report Builder's export reads the replica; its Access Log is written on the primary (Frappe swaps
		to it for the log)."""
		user = email("head_a")  # a head of sales exports their team's leads
		logged = {"user": user, "export_from": "CRM Lead", "file_type": "CSV"}
		logs_before = frappe.db.count("Access Log", logged)
		before = replica_selects()
		r = self.request(
			"POST",
			"/api/method/frappe.desk.reportview.export_query",
			user,
			data={
				"doctype": "CRM Lead",
				"file_format_type": "CSV",
				"fields": frappe.as_json(["`tabCRM Lead`.`name`", "`tabCRM Lead`.`lead_name`"]),
				"filters": "[]",
				"title": "CRM Lead",
			},
		)
		self.assertEqual(r.status_code, 200, r.error_text() or r.text)
		self.assertGreater(replica_selects(), before)
		self.assertIn(self.mine["CRM Lead"], r.text, "a lead of the head's team is exported")
		self.assertNotIn(self.theirs["CRM Lead"], r.text, "a lead of another team is not")
		frappe.db.commit()  # a fresh snapshot
		self.assertEqual(
			frappe.db.count("Access Log", logged), logs_before + 1, "the export is in the Access Log"
		)

	def test_a_refused_filter_is_answered_with_its_message(self):
		"""A report that stops on a bad filter logs the error while it reads the replica, which refused that
		write and turned the message into a 500. The log is deferred and saved on the primary by the
		scheduler's job."""
		from frappe.deferred_insert import save_to_db

		save_to_db()  # what earlier requests deferred
		logged = {"method": "Report Error"}
		logs_before = frappe.db.count("Error Log", logged)
		r = self.run_report("CRM Lead Sources", from_date=today(), to_date=add_months(today(), -1))
		self.assertEqual(r.status_code, 417, r.text)
		self.assertEqual(r.json.get("exc_type"), "ReportFilterError", r.text)
		self.assertIn(str(add_months(today(), -1)), r.error_text())  # the message names the dates
		self.assertNotIn("read-only", r.text)
		self.assertEqual(frappe.db.count("Error Log", logged), logs_before, "not written in the request")

		save_to_db()
		frappe.db.commit()
		self.assertEqual(frappe.db.count("Error Log", logged), logs_before + 1)

	def test_after_a_report_the_request_writes_on_the_primary(self):
		"""In-process, as one request: the report swaps to the replica and back; what follows writes."""
		from frappe.desk.query_report import run

		replica.install()
		for name in ("replica_db", "primary_db"):  # a request starts without them
			if hasattr(frappe.local, name):
				delattr(frappe.local, name)
		primary = frappe.local.db
		before = replica_selects()
		result = run("CRM Lead Sources", filters=PERIOD)
		self.assertIn("result", result)
		self.assertGreater(replica_selects(), before)
		self.assertIs(frappe.local.db, primary)
		self.assertEqual(frappe.db.sql("select @@read_only")[0][0], 0)
		lead = factories.make_lead(source=self.source.name)
		self.assertTrue(frappe.db.exists("CRM Lead", lead.name))
		frappe.db.rollback()

	# --- a replica that is away ------------------------------------------------------------------------

	def test_an_unreachable_replica_leaves_reads_on_the_primary(self):
		"""Frappe alone answers every report with a 500 while the replica is away; the app reads the
		primary instead, logs it, and tries the replica again after replica_retry_after seconds."""
		self.insert_lead()
		wait_for_replica()
		from frappe.deferred_insert import save_to_db

		save_to_db()  # what earlier requests deferred
		logged = {"method": "Read replica unreachable"}
		logs_before = frappe.db.count("Error Log", logged)
		pair("stop", "replica")
		try:
			self.insert_lead()
			started = time.monotonic()
			self.assertEqual(self.leads_reported(), 2, "read on the primary: the newest lead is there")
			self.assertEqual(self.leads_counted(), 2)
			self.assertLess(time.monotonic() - started, 10)
			save_to_db()
			frappe.db.commit()
			self.assertEqual(
				frappe.db.count("Error Log", logged), logs_before + 1, "logged once, then left alone"
			)
		finally:
			pair("start", "replica")
		# the replica is back (and catches up); the next read after the retry delay goes to it
		replica.forget_unreachable()
		wait_for_replica()
		before = replica_selects()
		self.assertEqual(self.leads_reported(), 2)
		self.assertGreater(replica_selects(), before)
