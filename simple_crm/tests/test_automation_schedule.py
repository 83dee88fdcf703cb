"""Every job named in hooks.py's `scheduler_events` exists, is a Scheduled Job Type on the site, and runs
through the scheduler's own path without error, leaving its one-line summary in the Scheduled Job Log."""

import frappe
from frappe.core.doctype.scheduled_job_type.scheduled_job_type import run_scheduled_job

from simple_crm.tests.utils import CRMTestCase

APP = "simple_crm"


def app_jobs() -> list[tuple[str, str, str | None]]:
	"""(method, frequency as Scheduled Job Type spells it, cron format) of every job of the app."""
	events = frappe.get_hooks("scheduler_events", app_name=APP)
	jobs = []
	for event, methods in events.items():
		if isinstance(methods, dict):
			jobs += [(method, "Cron", cron) for cron, listed in methods.items() for method in listed]
		else:
			jobs += [(method, event.replace("_", " ").title(), None) for method in methods]
	return jobs


class TestScheduledJobs(CRMTestCase):
	def test_the_app_has_its_jobs(self):
		methods = {method for method, _frequency, _cron in app_jobs()}
		# one job family per module of simple_crm.automation
		for expected in (
			"simple_crm.automation.new_leads.catch_up",
			"simple_crm.automation.lead_sla.escalate_overdue_leads",
			"simple_crm.automation.task_reminders.send_due_reminders",
			"simple_crm.automation.client_classes.update_activity_levels",
		):
			self.assertIn(expected, methods)
		# the jobs live with the automation, or with the channel whose outgoing messages they retry
		for method in methods:
			self.assertTrue(method.startswith(("simple_crm.automation.", "simple_crm.integrations.")), method)

	def test_every_job_is_a_callable_and_a_scheduled_job_type(self):
		for method, frequency, cron in app_jobs():
			with self.subTest(method=method):
				self.assertTrue(callable(frappe.get_attr(method)))
				job_type = frappe.db.get_value(
					"Scheduled Job Type",
					{"method": method},
					["frequency", "cron_format", "stopped"],
					as_dict=True,
				)
				self.assertIsNotNone(job_type, "synced to the site as a Scheduled Job Type")
				self.assertEqual(job_type.frequency, frequency)
				self.assertEqual(job_type.cron_format or None, cron)
				self.assertFalse(job_type.stopped)

	def test_every_job_runs_as_the_scheduler_runs_it(self):
		for method, _frequency, _cron in app_jobs():
			with self.subTest(method=method):
				job_type = frappe.db.get_value("Scheduled Job Type", {"method": method})
				# what the worker sets before it runs a scheduled job (frappe.utils.background_jobs)
				frappe.local.job = frappe._dict(
					method="frappe.core.doctype.scheduled_job_type.scheduled_job_type.run_scheduled_job",
					kwargs={"job_type": method},
				)
				try:
					run_scheduled_job(job_type=method)
				finally:
					frappe.local.job = None
				log = frappe.get_all(
					"Scheduled Job Log",
					filters={"scheduled_job_type": job_type},
					fields=["status", "details"],
					order_by="creation desc",
					limit=1,
				)
				self.assertEqual(log[0].status, "Complete", log[0].details)
				self.assertTrue(log[0].details, "the run left its one-line summary")
				self.assertNotIn("\n", log[0].details.strip())
				self.assertNotIn("failed:", log[0].details)
