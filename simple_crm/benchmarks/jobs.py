"""How long each scheduled job of the app takes on the site as it is (part `jobs` of the suite).

Every job named in hooks.py's `scheduler_events` runs once, as the scheduler would run it, with its time,
its SQL query count and its one-line summary. The jobs that do their work at one hour of the day (the
morning summary, the daily digest) run at that hour: the clock is not faked, the settings' hour is set to
the current one for the run and put back afterwards. The jobs change the site as they would at night
(activity levels, ABC classes, tasks and notifications due), so run this part on a benchmark site.

A second run right after the first shows the jobs' steady state: what is done is not done again, so a job
that touches only what is due or changed is fast the second time.
"""

import time

import frappe
from frappe.utils import now_datetime

APP = "simple_crm"
# settings that gate a job to one hour of the day
HOUR_SETTINGS = ("morning_summary_hour", "daily_digest_hour")
NIGHTLY_TARGET_S = 300


def app_jobs() -> list[tuple[str, str]]:
	"""(method, schedule) of every scheduled job of the app, in hooks order."""
	jobs = []
	for event, methods in frappe.get_hooks("scheduler_events", app_name=APP).items():
		if isinstance(methods, dict):
			jobs += [(method, cron) for cron, listed in methods.items() for method in listed]
		else:
			jobs += [(method, event) for method in methods]
	return jobs


def _count_queries():
	counter = {"n": 0}
	original = frappe.db.sql

	def sql(query, *args, **kwargs):
		counter["n"] += 1
		return original(query, *args, **kwargs)

	frappe.db.sql = sql
	return counter, original


def time_jobs(rounds: int = 2) -> list[dict]:
	"""Run every job `rounds` times; one row per job and round."""
	frappe.set_user("Administrator")
	meta = frappe.get_meta("Simple CRM Settings")
	saved = {
		field: frappe.db.get_single_value("Simple CRM Settings", field)
		for field in HOUR_SETTINGS
		if meta.has_field(field)
	}
	rows = []
	try:
		for field in saved:
			frappe.db.set_single_value("Simple CRM Settings", field, now_datetime().hour)
		frappe.db.commit()
		for round_no in range(1, rounds + 1):
			for method, schedule in app_jobs():
				counter, original = _count_queries()
				began = time.perf_counter()
				error = None
				summary = None
				try:
					summary = frappe.get_attr(method)()
					frappe.db.commit()
				except Exception as e:
					frappe.db.rollback()
					error = f"{type(e).__name__}: {e}"
				finally:
					frappe.db.sql = original
				elapsed = time.perf_counter() - began
				row = {
					"job": method.removeprefix("simple_crm.automation.").removeprefix("simple_crm."),
					"schedule": schedule,
					"round": round_no,
					"seconds": round(elapsed, 3),
					"queries": counter["n"],
					"summary": summary if isinstance(summary, str) else None,
					"error": error,
				}
				if "long" in schedule:
					row["target_s"] = NIGHTLY_TARGET_S
				rows.append(row)
				print(line(row), flush=True)
	finally:
		for field, value in saved.items():
			frappe.db.set_single_value("Simple CRM Settings", field, value)
		frappe.db.commit()
	return rows


HEADER = f"{'job':<52} {'schedule':<12} {'run':>3} {'seconds':>9} {'queries':>8}  summary"


def line(row: dict) -> str:
	text = f"ERROR {row['error']}" if row["error"] else (row["summary"] or "")
	target = row.get("target_s")
	if target and row["seconds"] > target:
		text = f"[over the {target} s target by {row['seconds'] - target:.0f} s] {text}"
	return (
		f"{row['job']:<52} {row['schedule']:<12} {row['round']:>3} {row['seconds']:>9.3f}"
		f" {row['queries']:>8}  {text[:160]}"
	)


def table(rows: list[dict]) -> list[str]:
	if not rows:
		return []
	return [
		"Scheduled jobs (each run once as the scheduler would, then again: the second run is the steady state)",
		HEADER,
		"-" * len(HEADER),
		*[line(row) for row in rows],
		"",
	]
