"""Benchmark parts `weblead` and `lookup`: website inquiries over HTTP, and the duplicate lookup on the site's index.

`weblead`, against the suite's gunicorn: inquiries of new people posted to the websites' endpoint
(`simple_crm.api.web_to_lead.submit`, as a guest with the form key, each with a new name, mobile and e-mail), by
4 and 16 concurrent clients, beside the REST insert of a ToDo by Administrator with as many clients in the same
run (a guest may write no bare doctype). The target is throughput: at least the floor's requests per second. The
request accepts an inquiry (its log row, its job queued); the suite runs no worker, so after each load the run's
inquiries are handled here, one after another, as a worker runs their jobs (`web_to_lead.process`): each becomes
a lead with its timeline note. That is the row "inquiry handled by its job", beside a ToDo inserted and committed
in this process (no target: it says how many inquiries a second one worker turns into leads). For the run the
channel is switched on, with a form key of the run's own and a rate limit no run reaches; the settings, and the
rate limiter's count of the load's address, are put back after it. The leads go with the suite's records (their
e-mails are the suite's), and so do the run's log rows and their queued jobs.

`lookup`, in this process: the duplicate check's lookup (`simple_crm.duplicates.lookup`) of the phone and
e-mail of 200 leads picked at random from the index, beside Frappe's lookup of the same leads' assignments
(ToDo by reference, an indexed equality read). Target: 5 ms.
"""

import json
import random
import time

import frappe
from frappe.utils.background_jobs import create_job_id, get_redis_conn
from frappe.utils.password import get_decrypted_password, remove_encrypted_password, set_encrypted_password

from simple_crm.benchmarks import suite
from simple_crm.integrations import web_to_lead

SETTINGS = "Simple CRM Settings"
METHOD = "simple_crm.api.web_to_lead.submit"
PATH = f"/api/method/{METHOD}"
CHANNEL = "Website API"
LOOKUPS = 200


def _settings_now() -> dict:
	values = {
		field: frappe.db.get_single_value(SETTINGS, field)
		for field in ("web_to_lead_enabled", "web_to_lead_rate_limit", "web_to_lead_rate_seconds")
	}
	values["form_key"] = get_decrypted_password(
		SETTINGS, SETTINGS, "web_to_lead_form_key", raise_exception=False
	)
	return values


def _apply(values: dict) -> None:
	for field in ("web_to_lead_enabled", "web_to_lead_rate_limit", "web_to_lead_rate_seconds"):
		frappe.db.set_single_value(SETTINGS, field, values[field])
	if values["form_key"]:
		set_encrypted_password(SETTINGS, SETTINGS, values["form_key"], "web_to_lead_form_key")
		frappe.db.set_single_value(SETTINGS, "web_to_lead_form_key", "*" * len(values["form_key"]))
	else:
		remove_encrypted_password(SETTINGS, SETTINGS, "web_to_lead_form_key")
		frappe.db.set_single_value(SETTINGS, "web_to_lead_form_key", None)
	frappe.clear_document_cache(SETTINGS, SETTINGS)
	frappe.db.commit()


def inquiry_body(form_key: str) -> str:
	return json.dumps(
		{
			"name": "Bench Web {n}",
			"phone": "+79{n9}",
			"email": "bench-{run}-{n}@" + suite.DOMAIN,
			"message": "Нужна консультация",
			"form_key": form_key,
		},
		ensure_ascii=False,
	)


def _guest_load(site: str, port: int, body: str, clients: int, requests: int, seconds: float, rng) -> dict:
	job = {
		"host": "127.0.0.1",
		"port": port,
		"site": site,
		"clients": clients,
		"method": "POST",
		"path": PATH,
		"body": body,
		"headers": {},
		"requests": requests,
		"seconds": seconds,
		"warmup": 2,
		"run": frappe.generate_hash(length=8),
		"n_base": rng.randrange(10**9),
	}
	result = suite.load(job)
	figures = suite.summarise(result["latencies_ms"], result["wall_s"])
	figures["errors"] = result["errors"]
	if result["error_samples"]:
		figures["error_samples"] = result["error_samples"]
	return figures


def _accepted(started: str) -> list[str]:
	"""The run's inquiries accepted and not handled yet (their log rows), oldest first."""
	return frappe.get_all(
		"CRM Integration Log",
		filters={
			"channel": CHANNEL,
			"status": web_to_lead.RECEIVED,
			"creation": (">=", started),
			"payload": ("like", f"%@{suite.DOMAIN}%"),
		},
		pluck="name",
		order_by="creation",
	)


def _forget_queued(logs: list[str]) -> None:
	"""Drop the queued jobs of the run's inquiries (handled here, or about to be removed)."""
	from rq.job import Job

	connection = get_redis_conn()
	for log in logs:
		try:
			Job.fetch(create_job_id(web_to_lead.job_id(log)), connection=connection).delete()
		except Exception:
			pass  # none queued (or already gone)


def _handle(started: str, admin_user: str) -> dict:
	"""The run's accepted inquiries handled as a worker runs their jobs, one after another, beside as many ToDos
	inserted and committed in this process."""
	logs = _accepted(started)
	_forget_queued(logs)
	results = []
	for log in logs:
		began = time.perf_counter()
		outcome = web_to_lead.process(log)
		results.append(((time.perf_counter() - began) * 1000, outcome))
	frappe.set_user(admin_user)
	tag = frappe.generate_hash(length=8)
	floor_times = []
	for n in range(len(logs)):
		began = time.perf_counter()
		frappe.get_doc(suite._todo_doc(tag, n, None)).insert()
		frappe.db.commit()
		floor_times.append((time.perf_counter() - began) * 1000)
	frappe.set_user("Administrator")
	times = [elapsed for elapsed, _outcome in results]
	value = suite.summarise(times, sum(times) / 1000)
	value["errors"] = sum(outcome != "handled" for _elapsed, outcome in results)
	floor = suite.summarise(floor_times, sum(floor_times) / 1000)
	floor["errors"] = 0
	row = {
		"operation": "inquiry handled by its job",
		"user": "system",
		"clients": 1,
		"value": value,
		"floor": floor,
		"ratio_median": suite.ratio(value["median_ms"], floor["median_ms"]),
		"ratio_p95": suite.ratio(value["p95_ms"], floor["p95_ms"]),
	}
	suite._progress(row)
	return row


def time_inquiries(
	site: str, port: int, admin, clients: list[int], requests: int, seconds: float, rng: random.Random
) -> list[dict]:
	before = _settings_now()
	form_key = frappe.generate_hash(length=32)
	started = frappe.utils.now()
	_apply(
		{
			"web_to_lead_enabled": 1,
			"web_to_lead_rate_limit": 10**9,
			"web_to_lead_rate_seconds": 3600,
			"form_key": form_key,
		}
	)
	rows = []
	try:
		for n_clients in clients:
			row = {"operation": "web-to-lead inquiry", "user": "Guest", "clients": n_clients}
			row["floor"] = suite._insert_load(
				site,
				port,
				"/api/resource/ToDo",
				suite.todo_body(admin.user),
				admin.authorization,
				n_clients,
				requests,
				seconds,
				rng,
			)
			row["value"] = _guest_load(site, port, inquiry_body(form_key), n_clients, requests, seconds, rng)
			row["ratio_median"] = suite.ratio(row["value"]["median_ms"], row["floor"]["median_ms"])
			row["ratio_p95"] = suite.ratio(row["value"]["p95_ms"], row["floor"]["p95_ms"])
			rows.append(row)
			suite._progress(row)
			rows.append(_handle(started, admin.user))
	finally:
		frappe.db.rollback()
		frappe.set_user("Administrator")
		_forget_queued(_accepted(started))
		_apply(before)
		# the run's own log rows (its inquiries carry the suite's e-mails), and its count at Frappe's rate limiter,
		# which would turn away inquiries from this address for the rest of the limit's window
		frappe.db.delete(
			"CRM Integration Log",
			{"channel": CHANNEL, "creation": (">=", started), "payload": ("like", f"%@{suite.DOMAIN}%")},
		)
		frappe.cache.delete(frappe.cache.make_key(f"rl:{METHOD}:127.0.0.1"))
		frappe.db.commit()
	return rows


def _sample_leads(count: int) -> list[str]:
	"""Leads of the index picked at random (one pass over the index with a probability per row)."""
	total = frappe.db.sql(
		"select table_rows from information_schema.tables where table_schema = database() and table_name = %s",
		"tabCRM Contact Point",
	)
	share = min(1.0, 3 * count / max(1, (total and total[0][0]) or 1))
	return frappe.db.sql_list(
		"""select distinct reference_name from `tabCRM Contact Point`
		where reference_doctype = 'CRM Lead' and rand() < %s limit %s""",
		(share, count),
	)


def _times(fn, items) -> dict:
	times = []
	for item in items:
		began = time.perf_counter()
		fn(item)
		times.append((time.perf_counter() - began) * 1000)
	return suite.summarise(times)


def time_lookup() -> list[dict]:
	from simple_crm.duplicates import CONTACT_POINT, lookup

	leads = _sample_leads(LOOKUPS)
	points = {
		lead: {
			(row.kind, row.value)
			for row in frappe.get_all(
				CONTACT_POINT,
				filters={"reference_doctype": "CRM Lead", "reference_name": lead},
				fields=["kind", "value"],
			)
		}
		for lead in leads
	}
	# one pass unmeasured, so both read warm pages
	for lead in leads:
		lookup(points[lead])
	value = _times(lambda lead: lookup(points[lead]), leads)
	floor = _times(
		lambda lead: frappe.db.sql(
			"select name from `tabToDo` where reference_type = 'CRM Lead' and reference_name = %s", lead
		),
		leads,
	)
	row = {
		"operation": "duplicate lookup (phone and e-mail)",
		"user": "Administrator",
		"clients": 1,
		"value": {**value, "errors": 0},
		"floor": {**floor, "errors": 0},
		"ratio_median": suite.ratio(value["median_ms"], floor["median_ms"]),
		"ratio_p95": suite.ratio(value["p95_ms"], floor["p95_ms"]),
	}
	suite._progress(row)
	return [row]
