"""How fast is the duplicate lookup on a big index?

    bench --site SITE execute simple_crm.benchmarks.duplicate_lookup.run --kwargs "{'leads': 100000}"

Bulk-inserts `leads` synthetic leads with a phone and an e-mail each (and their CRM Contact Point
rows), commits, refreshes the table statistics, prints the EXPLAIN plan of the lookup query and the
timing of lookups, then removes everything it inserted. The synthetic records are named
`BENCH-<tag>-<n>` and use phones +7 999 xxx xx xx and e-mails @bench.invalid, so they never collide
with real data. Meant for a development or staging site, not production.
"""

import random
import statistics
import time

import frappe
from frappe.utils import now

from simple_crm.duplicates import CONTACT_POINT, lookup, lookup_statement

CHUNK = 10_000


def synthetic_phone(n: int) -> str:
	return f"+7999{n:07d}"


def synthetic_email(tag: str, n: int) -> str:
	return f"lead{n}.{tag}@bench.invalid"


def seed(leads: int, tag: str | None = None) -> str:
	"""Insert `leads` synthetic leads and their index rows (no controllers, bulk SQL); return the tag."""
	tag = tag or frappe.generate_hash(length=6)
	ts = now()
	user = frappe.session.user
	lead_fields = [
		"name",
		"creation",
		"modified",
		"owner",
		"modified_by",
		"lead_name",
		"status",
		"phone",
		"phone_normalized",
		"email",
		"received_on",
	]
	point_fields = ["name", "creation", "modified", "owner", "modified_by", "kind", "value"]
	point_fields += ["reference_doctype", "reference_name"]
	for start in range(0, leads, CHUNK):
		numbers = range(start, min(start + CHUNK, leads))
		lead_rows, point_rows = [], []
		for n in numbers:
			name = f"BENCH-{tag}-{n:07d}"
			phone, email = synthetic_phone(n), synthetic_email(tag, n)
			lead_rows.append((name, ts, ts, user, user, f"Bench Lead {n}", "New", phone, phone, email, ts))
			for kind, value in (("Phone", phone), ("Email", email)):
				point_rows.append((f"{name}-{kind[0]}", ts, ts, user, user, kind, value, "CRM Lead", name))
		frappe.db.bulk_insert("CRM Lead", lead_fields, lead_rows, chunk_size=CHUNK)
		frappe.db.bulk_insert(CONTACT_POINT, point_fields, point_rows, chunk_size=CHUNK)
	return tag


def cleanup(tag: str) -> None:
	"""Remove what `seed(tag=tag)` inserted."""
	prefix = f"BENCH-{tag}-%"
	point = frappe.qb.DocType(CONTACT_POINT)
	lead = frappe.qb.DocType("CRM Lead")
	frappe.qb.from_(point).delete().where(
		(point.reference_doctype == "CRM Lead") & point.reference_name.like(prefix)
	).run()
	frappe.qb.from_(lead).delete().where(lead.name.like(prefix)).run()


def analyze_index_table() -> None:
	"""Refresh the optimizer's statistics of the index table (implicitly commits)."""
	frappe.db.sql("analyze table `tabCRM Contact Point`")


def explain(points) -> list[dict]:
	"""EXPLAIN of exactly the statement and parameters `lookup(points)` sends to the database."""
	statement, values = lookup_statement(points)
	return frappe.db.sql("explain " + statement, values, as_dict=True)


def _timings(fn, args_list) -> dict:
	times = []
	for args in args_list:
		started = time.perf_counter()
		fn(*args)
		times.append((time.perf_counter() - started) * 1000)
	times.sort()
	return {
		"runs": len(times),
		"mean_ms": round(statistics.mean(times), 3),
		"p50_ms": round(times[len(times) // 2], 3),
		"p95_ms": round(times[int(len(times) * 0.95) - 1], 3),
		"max_ms": round(times[-1], 3),
	}


def _scan(kind: str, value: str):
	"""The same lookup with the index switched off, for comparison."""
	return frappe.db.sql(
		"select kind, value, reference_doctype, reference_name from `tabCRM Contact Point` "
		"ignore index (kind_value_index) where kind = %s and value = %s",
		(kind, value),
	)


def run(leads: int = 100_000, samples: int = 500, seed_value: int = 42) -> dict:
	rng = random.Random(seed_value)
	started = time.perf_counter()
	tag = seed(int(leads))
	frappe.db.commit()
	seeded_s = time.perf_counter() - started
	try:
		analyze_index_table()
		total = frappe.db.count(CONTACT_POINT)
		picks = [rng.randrange(int(leads)) for _ in range(samples)]
		one = {("Phone", synthetic_phone(picks[0]))}
		several = {("Phone", synthetic_phone(picks[1])), ("Email", synthetic_email(tag, picks[2]))}
		plans = {"one value": explain(one), "phone + e-mail": explain(several)}
		results = {
			"leads": int(leads),
			"index_rows": total,
			"seed_seconds": round(seeded_s, 2),
			"plans": plans,
			"lookup_existing_phone": _timings(lookup, [({("Phone", synthetic_phone(n))},) for n in picks]),
			"lookup_phone_and_email": _timings(
				lookup,
				[({("Phone", synthetic_phone(n)), ("Email", synthetic_email(tag, n))},) for n in picks],
			),
			"lookup_unknown_phone": _timings(lookup, [({("Phone", f"+7998{n:07d}")},) for n in picks]),
			"scan_without_index": _timings(_scan, [("Phone", synthetic_phone(n)) for n in picks[:20]]),
		}
		_print(results)
		return results
	finally:
		cleanup(tag)
		frappe.db.commit()
		analyze_index_table()


def _print(results: dict) -> None:
	print(f"Synthetic leads: {results['leads']}, index rows: {results['index_rows']}")
	print(f"Bulk insert: {results['seed_seconds']} s")
	for label, plan in results["plans"].items():
		for row in plan:
			print(
				f"EXPLAIN ({label}): type={row.get('type')} key={row.get('key')} "
				f"key_len={row.get('key_len')} ref={row.get('ref')} rows={row.get('rows')} "
				f"extra={row.get('Extra')}"
			)
	for key in (
		"lookup_existing_phone",
		"lookup_phone_and_email",
		"lookup_unknown_phone",
		"scan_without_index",
	):
		t = results[key]
		print(
			f"{key}: runs={t['runs']} mean={t['mean_ms']} ms p50={t['p50_ms']} ms "
			f"p95={t['p95_ms']} ms max={t['max_ms']} ms"
		)
