"""How fast are lists under the row-level rules on big tables?

    bench --site SITE execute simple_crm.benchmarks.row_level_lists.run --kwargs "{'deals': 100000}"

Bulk-inserts synthetic deals (a tenth of them with a co-manager), leads and tasks spread over 200
responsible managers, five of whom are real sales managers in one team with a real head of sales; then
prints, for a sales manager, the head of sales and a director, the EXPLAIN plan of the deal list query and
the timing of what the Desk does most: the first page of a list (20 rows, newest first), its count, and a
link search. Everything it inserted is removed at the end. The synthetic records are named
`RLB-<tag>-<n>` and the users end in @bench.invalid. Meant for a development or staging site.
"""

import random
import statistics
import time

import frappe
from frappe.utils import now

from simple_crm import permissions

CHUNK = 10_000
MANAGERS = 200
TEAM = 5


def _user(n: int) -> str:
	return f"rlb.manager{n:03d}@bench.invalid"


HEAD = "rlb.head@bench.invalid"
DIRECTOR = "rlb.director@bench.invalid"
TEAM_NAME = "RLB Benchmark Team"


def make_users() -> None:
	def ensure(email: str, role: str):
		if not frappe.db.exists("User", email):
			frappe.get_doc(
				{
					"doctype": "User",
					"email": email,
					"first_name": email.split("@")[0],
					"send_welcome_email": 0,
					"user_type": "System User",
				}
			).insert(ignore_permissions=True)
		frappe.get_doc("User", email).add_roles(role)

	for n in range(TEAM):
		ensure(_user(n), permissions.SALES_MANAGER)
	ensure(HEAD, permissions.HEAD_OF_SALES)
	ensure(DIRECTOR, "CRM Director")
	if not frappe.db.exists("CRM Sales Team", TEAM_NAME):
		frappe.get_doc(
			{
				"doctype": "CRM Sales Team",
				"team_name": TEAM_NAME,
				"head": HEAD,
				"members": [{"user": _user(n)} for n in range(TEAM)],
			}
		).insert(ignore_permissions=True)


def seed(deals: int, leads: int, tasks: int, rng: random.Random) -> str:
	tag = frappe.generate_hash(length=6)
	ts = now()
	me = frappe.session.user
	pipeline = frappe.db.get_single_value("Simple CRM Settings", "default_pipeline")
	stages = [
		(s.stage_name, s.stage_type)
		for s in frappe.get_all(
			"CRM Pipeline Stage", filters={"parent": pipeline}, fields=["stage_name", "stage_type"]
		)
	]
	base = ["name", "creation", "modified", "owner", "modified_by"]

	def rows(count, make):
		for start in range(0, count, CHUNK):
			yield [make(n) for n in range(start, min(start + CHUNK, count))]

	def deal_row(n):
		stage, stage_type = rng.choice(stages)
		name = f"RLB-{tag}-D{n:07d}"
		return (
			name,
			ts,
			ts,
			me,
			me,
			f"Bench deal {n}",
			pipeline,
			stage,
			stage_type,
			_user(rng.randrange(MANAGERS)),
			rng.randint(1, 100) * 1000,
		)

	deal_fields = [*base, "deal_name", "pipeline", "stage", "stage_type", "responsible", "amount"]
	manager_fields = [*base, "parent", "parenttype", "parentfield", "idx", "user"]
	for chunk in rows(deals, deal_row):
		frappe.db.bulk_insert("CRM Deal", deal_fields, chunk, chunk_size=CHUNK)
		co = [
			(
				f"{row[0]}-M",
				ts,
				ts,
				me,
				me,
				row[0],
				"CRM Deal",
				"co_managers",
				1,
				_user(rng.randrange(MANAGERS)),
			)
			for row in chunk
			if rng.random() < 0.1
		]
		frappe.db.bulk_insert("CRM Deal Manager", manager_fields, co, chunk_size=CHUNK)

	lead_fields = [*base, "lead_name", "status", "responsible", "received_on"]
	for chunk in rows(
		leads,
		lambda n: (
			f"RLB-{tag}-L{n:07d}",
			ts,
			ts,
			me,
			me,
			f"Bench lead {n}",
			"New",
			_user(rng.randrange(MANAGERS)) if rng.random() < 0.9 else None,
			ts,
		),
	):
		frappe.db.bulk_insert("CRM Lead", lead_fields, chunk, chunk_size=CHUNK)

	task_fields = [*base, "subject", "task_type", "status", "priority", "assigned_to", "author"]
	for chunk in rows(
		tasks,
		lambda n: (
			f"RLB-{tag}-T{n:07d}",
			ts,
			ts,
			me,
			me,
			f"Bench task {n}",
			"Call",
			"Open",
			"Medium",
			_user(rng.randrange(MANAGERS)),
			_user(rng.randrange(MANAGERS)),
		),
	):
		frappe.db.bulk_insert("CRM Task", task_fields, chunk, chunk_size=CHUNK)
	return tag


def cleanup(tag: str) -> None:
	prefix = f"RLB-{tag}-%"
	for doctype in ("CRM Deal Manager", "CRM Deal", "CRM Lead", "CRM Task"):
		table = frappe.qb.DocType(doctype)
		frappe.qb.from_(table).delete().where(table.name.like(prefix)).run()
	if frappe.db.exists("CRM Sales Team", TEAM_NAME):
		frappe.delete_doc("CRM Sales Team", TEAM_NAME, force=True, ignore_permissions=True)
	for email in [_user(n) for n in range(TEAM)] + [HEAD, DIRECTOR]:
		if frappe.db.exists("User", email):
			frappe.delete_doc("User", email, force=True, ignore_permissions=True)


def _timings(fn, runs: int) -> dict:
	times = []
	for _ in range(runs):
		started = time.perf_counter()
		fn()
		times.append((time.perf_counter() - started) * 1000)
	times.sort()
	return {
		"runs": runs,
		"mean_ms": round(statistics.mean(times), 2),
		"p50_ms": round(times[len(times) // 2], 2),
		"p95_ms": round(times[max(int(len(times) * 0.95) - 1, 0)], 2),
	}


def measure(user: str, runs: int) -> dict:
	frappe.set_user(user)
	try:
		out = {}
		for doctype in ("CRM Deal", "CRM Lead", "CRM Task"):
			out[f"{doctype} first page"] = _timings(
				lambda doctype=doctype: frappe.get_list(
					doctype, fields=["name"], order_by="modified desc", limit_page_length=20
				),
				runs,
			)
			out[f"{doctype} count"] = _timings(
				lambda doctype=doctype: frappe.get_list(doctype, fields=["count(*) as n"], as_list=True),
				runs,
			)
		out["CRM Deal link search"] = _timings(
			lambda: permissions.search_visible(
				doctype="CRM Deal", txt="Bench deal 12", searchfield="name", start=0, page_len=10
			),
			runs,
		)
		out["visible deals"] = frappe.get_list("CRM Deal", fields=["count(*) as n"], as_list=True)[0][0]
		sql = frappe.get_list(
			"CRM Deal", fields=["name"], order_by="modified desc", limit_page_length=20, run=0
		)
		out["plan"] = frappe.db.sql(f"explain {sql}", as_dict=True)
		return out
	finally:
		frappe.set_user("Administrator")


def run(
	deals: int = 100_000, leads: int = 100_000, tasks: int = 100_000, runs: int = 30, seed_value: int = 42
):
	rng = random.Random(seed_value)
	make_users()
	started = time.perf_counter()
	tag = seed(int(deals), int(leads), int(tasks), rng)
	frappe.db.commit()
	seeded = round(time.perf_counter() - started, 1)
	try:
		for table in ("CRM Deal", "CRM Deal Manager", "CRM Lead", "CRM Task"):
			frappe.db.sql(f"analyze table `tab{table}`")
		print(
			f"Synthetic rows: {deals} deals, {leads} leads, {tasks} tasks over {MANAGERS} managers ({seeded} s)"
		)
		results = {}
		for label, user in (("sales manager", _user(0)), ("head of sales", HEAD), ("director", DIRECTOR)):
			results[label] = measure(user, int(runs))
			_print(label, results[label])
		return {label: {k: v for k, v in r.items() if k != "plan"} for label, r in results.items()}
	finally:
		cleanup(tag)
		frappe.db.commit()


def _print(label: str, result: dict) -> None:
	print(f"\n== {label}: sees {result['visible deals']} deals")
	for row in result["plan"]:
		print(
			f"  EXPLAIN {row.get('select_type')} {row.get('table')}: type={row.get('type')} "
			f"key={row.get('key')} rows={row.get('rows')} extra={row.get('Extra')}"
		)
	for key, t in result.items():
		if isinstance(t, dict) and "mean_ms" in t:
			print(
				f"  {key}: mean={t['mean_ms']} ms p50={t['p50_ms']} ms p95={t['p95_ms']} ms ({t['runs']} runs)"
			)
