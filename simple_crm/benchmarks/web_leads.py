"""Benchmark parts `weblead` and `lookup`: website inquiries over HTTP, and the duplicate lookup on the site's index.

`weblead`, against the suite's gunicorn: inquiries of new people posted to the websites' endpoint
(`simple_crm.api.web_to_lead.submit`, as a guest with the form key, each with a new name, mobile and e-mail, so
each becomes a lead with its log row and its timeline note), by 4 and 16 concurrent clients, beside the REST
insert of a ToDo by Administrator with as many clients in the same run (a guest may write no bare doctype). The
target is throughput: at least the floor's requests per second. For the run the channel is switched on, with a
form key of the run's own and a rate limit no run reaches; the settings, and the rate limiter's count of the
load's address, are put back after it. The leads go with the suite's records (their e-mails are the suite's), and
so do the run's log rows.

`lookup`, in this process: the duplicate check's lookup (`simple_crm.duplicates.lookup`) of the phone and
e-mail of 200 leads picked at random from the index, beside Frappe's lookup of the same leads' assignments
(ToDo by reference, an indexed equality read). Target: 5 ms.
"""

import json
import random
import time

import frappe
from frappe.utils.password import get_decrypted_password, remove_encrypted_password, set_encrypted_password

from simple_crm.benchmarks import suite

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
	finally:
		frappe.db.rollback()
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
