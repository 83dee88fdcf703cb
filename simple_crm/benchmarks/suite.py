"""The benchmark suite: every figure beside a floor measured in the same run.

From the bench's `sites` directory, with the bench's Python:

    cd ~/frappe-bench/sites
    ../env/bin/python -m simple_crm.benchmarks.suite --site SITE --out ../bench-results.json

or through bench (the same code, the same output):

    bench --site SITE execute simple_crm.benchmarks.suite.run --kwargs "{'out': 'bench-results.json'}"

What it measures (each as median and p95, with the floor: the same operation on Frappe's bare ToDo):

1. REST insert of a CRM Lead against REST insert of a ToDo, as Administrator and as a sales manager, with
   4 and 16 concurrent clients. The suite starts gunicorn itself on a free loopback port with 2 workers,
   as bench's production (supervisor) configuration does, and drives it from a separate load process
   (`simple_crm.benchmarks.http_load`) with keep-alive connections; every run is bounded in requests
   and seconds. Requests use API token authentication.
2. In-process: one lead insert's time and SQL query count against a ToDo's, and a cProfile of lead
   inserts (the top entries by cumulative time in the app, Frappe's assignment rules and workflows).
3. Reads over REST: the first list page (20 rows, newest first) and its count (as the Desk's list asks for
   it: up to 1,001 rows, shown as "1,000+") for leads, deals and tasks
   as a sales manager, a head of sales and a director, and link search by name and by phone; the floor
   is the ToDo list, count and link search of the same user.
4. Reports (part `reports`): every report of the app for the last year, as a sales manager, a head of
   sales and a director, against Frappe's "ToDo" report as the same user (simple_crm.benchmarks.reports).
5. Spreadsheet import (part `import`): 10,000 leads through Frappe's Data Import with the CRM's duplicate
   handling, against 10,000 ToDos through the same import (simple_crm.benchmarks.imports); the figure is
   the whole file's time, req/s its rows per second.
6. The accounting exchange (part `exchange`, simple_crm.benchmarks.exchange): a batch of 1,000 new orders in
   one request as the accounting system's user, and the same batch again, against 1,000 ToDos through
   `frappe.client.insert_many` (five requests of 200, its limit); median and p95 over a few batches.
7. Website inquiries (part `weblead`): new people's inquiries posted to the websites' endpoint by 4 and 16
   clients as a guest, against the REST insert of a ToDo with as many clients, and then the jobs that make
   them leads, run here one after another; and the duplicate lookup (part `lookup`) of 200 random leads'
   phone and e-mail (simple_crm.benchmarks.web_leads).
8. The Desk in a browser (part `desk`, not in the default parts: it needs Debian's Chromium and Playwright):
   the main screens and saves as a sales manager, a head of sales and a director, from the navigation until
   the screen is shown and idle, against the same screens on ToDo (simple_crm.benchmarks.desk).
9. Scheduled jobs (part `jobs`, not in the default parts: it changes the site as the nightly jobs do):
   each job of the app's `scheduler_events`, run twice, with its time, query count and summary
   (simple_crm.benchmarks.jobs).

The suite creates its own users (`bench.*@bench.invalid`, with a sales team) and API keys, inserts
leads and ToDos with e-mails `bench-<run>-<n>@bench.invalid`, and removes all of it at the end (also what
an interrupted earlier run left). It leaves the site's data as it found it, including the round-robin
position of the lead assignment rules. Meant for a development or staging site; it prints a table and
writes the figures as JSON.

`--peer-site`: a site of the same bench running frappe/crm; every REST insert figure then gets the peer's
lead insert beside it, with the peer's own ToDo floor, as Administrator and as a user with its Sales User
role (simple_crm.benchmarks.peer makes and removes those users and what the run inserted there).
"""

import argparse
import contextlib
import cProfile
import io
import json
import math
import os
import platform
import pstats
import random
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

import frappe

from simple_crm.benchmarks import imports, jobs, reports

DOMAIN = "bench.invalid"
MANAGER = f"bench.manager@{DOMAIN}"
HEAD = f"bench.head@{DOMAIN}"
DIRECTOR = f"bench.director@{DOMAIN}"
TEAM = "Bench Team"
RECORD_PATTERN = f"bench-%@{DOMAIN}"
WORKERS = 2

# ----------------------------------------------------------------------------------------------- figures


def percentile(values: list[float], q: float) -> float:
	"""Nearest-rank percentile (`q` in 0..100) of a non-empty list."""
	ordered = sorted(values)
	return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summarise(latencies: list[float], wall_s: float | None = None) -> dict:
	if not latencies:
		return {"n": 0, "median_ms": None, "p95_ms": None, "req_s": None}
	figures = {
		"n": len(latencies),
		"median_ms": round(statistics.median(latencies), 2),
		"p95_ms": round(percentile(latencies, 95), 2),
	}
	figures["req_s"] = round(len(latencies) / wall_s, 1) if wall_s else None
	return figures


def ratio(a: float | None, b: float | None) -> float | None:
	return round(a / b, 2) if a and b else None


# ------------------------------------------------------------------------------------ the site's fixtures


@dataclass
class Actor:
	user: str
	label: str
	authorization: str = ""


@dataclass
class Fixtures:
	"""What the suite creates on the site, so that it can remove exactly that."""

	users: list[str] = field(default_factory=list)
	team: str | None = None
	admin_key_created: bool = False
	rule_positions: dict[str, str | None] = field(default_factory=dict)
	started: str = field(default_factory=lambda: frappe.utils.now())


def _token(user: str, fixtures: Fixtures) -> str:
	"""API token auth for `user`. Administrator's existing key is reused (its secret read back, never
	replaced); a key is made only where there is none and removed at the end."""
	from frappe.utils.password import get_decrypted_password

	doc = frappe.get_doc("User", user)
	if user == "Administrator" and doc.api_key:
		secret = get_decrypted_password("User", user, "api_secret", raise_exception=False)
		if secret:
			return f"token {doc.api_key}:{secret}"
	if user == "Administrator":
		fixtures.admin_key_created = True
	doc.api_key = frappe.generate_hash(length=15)
	secret = frappe.generate_hash(length=15)
	doc.api_secret = secret
	doc.flags.ignore_permissions = True
	doc.save()
	return f"token {doc.api_key}:{secret}"


def _make_user(email: str, role: str, fixtures: Fixtures) -> None:
	if not frappe.db.exists("User", email):
		frappe.get_doc(
			{
				"doctype": "User",
				"email": email,
				"first_name": email.split("@")[0].replace(".", " ").title(),
				"send_welcome_email": 0,
				"user_type": "System User",
				"roles": [{"role": role}],
			}
		).insert(ignore_permissions=True)
	else:
		frappe.get_doc("User", email).add_roles(role)
	fixtures.users.append(email)


def set_up(fixtures: Fixtures) -> dict[str, Actor]:
	from simple_crm import permissions

	remove_records()
	_make_user(MANAGER, permissions.SALES_MANAGER, fixtures)
	_make_user(HEAD, permissions.HEAD_OF_SALES, fixtures)
	_make_user(DIRECTOR, "CRM Director", fixtures)
	if not frappe.db.exists("CRM Sales Team", TEAM):
		frappe.get_doc(
			{"doctype": "CRM Sales Team", "team_name": TEAM, "head": HEAD, "members": [{"user": MANAGER}]}
		).insert(ignore_permissions=True)
	fixtures.team = TEAM
	for rule in frappe.get_all(
		"Assignment Rule", filters={"document_type": "CRM Lead"}, fields=["name", "last_user"]
	):
		fixtures.rule_positions[rule.name] = rule.last_user
	actors = {
		"admin": Actor("Administrator", "Administrator"),
		"manager": Actor(MANAGER, "sales manager"),
		"head": Actor(HEAD, "head of sales"),
		"director": Actor(DIRECTOR, "director"),
	}
	for actor in actors.values():
		actor.authorization = _token(actor.user, fixtures)
	frappe.db.commit()
	return actors


def _delete(doctype: str, name: str) -> None:
	"""Delete a record the suite made, leaving nothing behind: Frappe's delete_doc, then at once (not in a
	background job) the rows it deletes after commit (assignments, versions, comments, notifications),
	and neither a "Deleted" feed comment nor a Deleted Document."""
	from frappe.model.delete_doc import delete_dynamic_links

	frappe.delete_doc(doctype, name, ignore_permissions=True, force=True, delete_permanently=True)
	delete_dynamic_links(doctype, name)
	frappe.db.delete(
		"Comment", {"comment_type": "Deleted", "reference_doctype": doctype, "subject": ("like", f"% {name}")}
	)


def _forget_jobs() -> None:
	"""Drop the delete_dynamic_links jobs delete_doc queued for after the commit: `_delete` did that work."""
	frappe.db.after_commit.reset()


def remove_records() -> dict:
	"""Delete the leads and ToDos the suite inserts (this run's and any an interrupted run left), with
	everything Frappe and the app keep about them (assignments, versions, duplicate index rows)."""
	leads = frappe.get_all("CRM Lead", filters={"email": ("like", RECORD_PATTERN)}, pluck="name")
	for name in leads:
		_delete("CRM Lead", name)
		frappe.db.delete("Workflow Action", {"reference_doctype": "CRM Lead", "reference_name": name})
	todos = frappe.db.count("ToDo", {"description": ("like", RECORD_PATTERN)})
	frappe.db.delete("ToDo", {"description": ("like", RECORD_PATTERN)})
	_forget_jobs()
	frappe.db.commit()
	return {"leads": len(leads), "todos": todos}


def tear_down(fixtures: Fixtures) -> dict:
	frappe.set_user("Administrator")
	frappe.db.rollback()
	removed = remove_records()
	for name, last_user in fixtures.rule_positions.items():
		frappe.db.set_value("Assignment Rule", name, "last_user", last_user, update_modified=False)
	if fixtures.team and frappe.db.exists("CRM Sales Team", fixtures.team):
		_delete("CRM Sales Team", fixtures.team)
	for user in fixtures.users:
		if frappe.db.exists("User", user):
			if not frappe.db.sql(
				"""select 1 from `tabHas Role` r join `tabUser` u on u.name = r.parent
				where r.role = 'System Manager' and u.enabled = 1 and u.name not in ('Administrator', %s)
				limit 1""",
				user,
			):
				# Frappe deletes no user while no System Manager but Administrator is left: the user stays
				# for the next run, without its API key
				frappe.db.set_value("User", user, "api_key", None, update_modified=False)
				frappe.db.delete("__Auth", {"doctype": "User", "name": user, "fieldname": "api_secret"})
				print(
					f"kept {user}: Frappe deletes no user on a site without a System Manager", file=sys.stderr
				)
				continue
			_delete("User", user)
			# User.on_trash deletes the user's Notification Settings the ordinary way
			frappe.db.delete("Deleted Document", {"deleted_name": user})
			frappe.db.delete("Comment", {"comment_type": "Deleted", "subject": ("like", f"% {user}")})
	if fixtures.admin_key_created:
		frappe.db.set_value("User", "Administrator", "api_key", None, update_modified=False)
		frappe.db.delete("__Auth", {"doctype": "User", "name": "Administrator", "fieldname": "api_secret"})
		frappe.db.delete(
			"Version",
			{"ref_doctype": "User", "docname": "Administrator", "creation": (">=", fixtures.started)},
		)
	_forget_jobs()
	frappe.db.commit()
	return removed


# ------------------------------------------------------------------------------------- server and load


def free_port() -> int:
	with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
		sock.bind(("127.0.0.1", 0))
		return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(site: str, workers: int = WORKERS):
	"""gunicorn on a free loopback port, started as bench's supervisor template does
	(`gunicorn -b 127.0.0.1:PORT -w N -t 120 --graceful-timeout 30 frappe.app:application --preload`,
	with the sites directory as the working directory). Yields the port; stops it on exit."""
	bench = frappe.utils.get_bench_path()
	port = free_port()
	log = open(os.path.join(bench, "logs", f"benchmark-gunicorn-{port}.log"), "w+")
	process = subprocess.Popen(
		[
			os.path.join(bench, "env", "bin", "gunicorn"),
			"-b",
			f"127.0.0.1:{port}",
			"-w",
			str(workers),
			"-t",
			"120",
			"--graceful-timeout",
			"30",
			"frappe.app:application",
			"--preload",
		],
		cwd=os.path.join(bench, "sites"),
		stdout=log,
		stderr=subprocess.STDOUT,
	)
	try:
		_wait_ready(site, port, process, log)
		yield port
	finally:
		process.terminate()
		try:
			process.wait(timeout=40)
		except subprocess.TimeoutExpired:
			process.kill()
			process.wait()
		log.close()
		os.unlink(log.name)


def _wait_ready(site: str, port: int, process: subprocess.Popen, log) -> None:
	import http.client

	deadline = time.monotonic() + 90
	while time.monotonic() < deadline:
		if process.poll() is not None:
			log.seek(0)
			raise RuntimeError(f"gunicorn exited:\n{log.read()[-3000:]}")
		try:
			conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
			conn.request("GET", "/api/method/ping", headers={"Host": site})
			if conn.getresponse().status == 200:
				conn.close()
				return
		except OSError:
			pass
		time.sleep(0.5)
	raise RuntimeError("gunicorn did not answer within 90 s")


def load(job: dict) -> dict:
	"""Run one load job in a separate process (`simple_crm.benchmarks.http_load`)."""
	result = subprocess.run(
		[sys.executable, "-m", "simple_crm.benchmarks.http_load"],
		input=json.dumps(job),
		capture_output=True,
		text=True,
		check=True,
		cwd=os.path.join(frappe.utils.get_bench_path(), "sites"),
	)
	return json.loads(result.stdout)


# ------------------------------------------------------------------------------------------ 1. REST insert


def lead_body() -> str:
	"""A CRM Lead with a unique name, mobile ({n9}) and e-mail per request, nobody responsible (so the
	assignment rule distributes it, as for a lead from a web form or an import)."""
	return json.dumps(
		{
			"lead_name": "Bench Lead {n}",
			"company_name": "ООО Бенч {n}",
			"phone": "+79{n9}",
			"email": "bench-{run}-{n}@" + DOMAIN,
		},
		ensure_ascii=False,
	)


def todo_body(user: str) -> str:
	"""The user's own ToDo (Frappe lets a user create a ToDo allocated to or assigned by them)."""
	return json.dumps({"description": "bench-{run}-{n}@" + DOMAIN, "allocated_to": user})


@dataclass
class Target:
	"""One CRM on the bench: its site and how to insert a lead there."""

	site: str
	label: str
	lead_path: str = "/api/resource/CRM Lead"
	lead_body: callable = lead_body


@dataclass
class Peer:
	"""A peer CRM (frappe/crm) on another site of the same bench, measured beside simple_crm with its own
	users and tokens (simple_crm.benchmarks.peer) and its own ToDo floor."""

	target: Target
	tokens: dict[str, str]
	users: dict[str, str]
	version: str | None = None


def _peer_command(site: str, action: str) -> dict:
	result = subprocess.run(
		[sys.executable, "-m", "simple_crm.benchmarks.peer", "--site", site, action],
		capture_output=True,
		text=True,
		check=True,
		cwd=os.path.join(frappe.utils.get_bench_path(), "sites"),
	)
	return json.loads(result.stdout.strip().splitlines()[-1])


def peer_set_up(peer_site: str) -> Peer:
	from simple_crm.benchmarks import peer

	answer = _peer_command(peer_site, "setup")
	return Peer(
		target=Target(site=peer_site, label="frappe/crm", lead_body=peer.lead_body),
		tokens=answer["tokens"],
		users={"admin": "Administrator", "manager": peer.PEER_MANAGER},
		version=answer.get("crm"),
	)


def _insert_load(
	target_site: str,
	port: int,
	path: str,
	body: str,
	authorization: str,
	n_clients: int,
	requests: int,
	seconds: float,
	rng: random.Random,
) -> dict:
	job = {
		"host": "127.0.0.1",
		"port": port,
		"site": target_site,
		"clients": n_clients,
		"method": "POST",
		"path": path,
		"body": body,
		"headers": {"Authorization": authorization},
		"requests": requests,
		"seconds": seconds,
		"warmup": 2,
		"run": frappe.generate_hash(length=8),
		"n_base": rng.randrange(10**9),
	}
	result = load(job)
	figures = summarise(result["latencies_ms"], result["wall_s"])
	figures["errors"] = result["errors"]
	if result["error_samples"]:
		figures["error_samples"] = result["error_samples"]
	return figures


def rest_inserts(
	target: Target,
	port: int,
	actors: dict[str, Actor],
	clients: list[int],
	requests: int,
	seconds: float,
	rng: random.Random,
	peer: Peer | None = None,
) -> list[dict]:
	rows = []
	for key, actor in actors.items():
		for n_clients in clients:
			row = {"operation": "REST insert CRM Lead", "user": actor.label, "clients": n_clients}
			load_args = (n_clients, requests, seconds, rng)
			row["floor"] = _insert_load(
				target.site,
				port,
				"/api/resource/ToDo",
				todo_body(actor.user),
				actor.authorization,
				*load_args,
			)
			row["value"] = _insert_load(
				target.site,
				port,
				quote(target.lead_path),
				target.lead_body(),
				actor.authorization,
				*load_args,
			)
			row["ratio_median"] = ratio(row["value"]["median_ms"], row["floor"]["median_ms"])
			row["ratio_p95"] = ratio(row["value"]["p95_ms"], row["floor"]["p95_ms"])
			if peer and key in peer.tokens:
				user, token = peer.users[key], peer.tokens[key]
				row["peer_floor"] = _insert_load(
					peer.target.site, port, "/api/resource/ToDo", todo_body(user), token, *load_args
				)
				row["peer"] = _insert_load(
					peer.target.site,
					port,
					quote(peer.target.lead_path),
					peer.target.lead_body(),
					token,
					*load_args,
				)
				row["peer_ratio_median"] = ratio(row["peer"]["median_ms"], row["peer_floor"]["median_ms"])
				row["peer_ratio_p95"] = ratio(row["peer"]["p95_ms"], row["peer_floor"]["p95_ms"])
			rows.append(row)
			_progress(row)
	return rows


# --------------------------------------------------------------------------------------- 3. REST reads


LIST_FIELDS = json.dumps(["name", "modified", "_assign", "_comments"])


def _get(port: int, site: str, actor: Actor, path: str, requests: int, seconds: float) -> dict:
	job = {
		"host": "127.0.0.1",
		"port": port,
		"site": site,
		"clients": 1,
		"method": "GET",
		"path": path,
		"headers": {"Authorization": actor.authorization},
		"requests": requests,
		"seconds": seconds,
		"warmup": 2,
	}
	result = load(job)
	figures = summarise(result["latencies_ms"], result["wall_s"])
	figures["errors"] = result["errors"]
	if result["error_samples"]:
		figures["error_samples"] = result["error_samples"]
	return figures


# A typical filter of each list: what is still open
OPEN_FILTERS = {
	"CRM Lead": [["status", "in", ["New", "In Progress"]]],
	"CRM Deal": [["stage_type", "=", "Open"]],
	"CRM Task": [["status", "=", "Open"]],
	"ToDo": [["status", "=", "Open"]],
}


def list_path(doctype: str, filters: list | None = None) -> str:
	"""The Desk's first page: 20 rows in the doctype's default sort."""
	meta = frappe.get_meta(doctype)
	query = {
		"fields": LIST_FIELDS,
		"order_by": f"{meta.sort_field or 'creation'} {meta.sort_order or 'desc'}",
		"limit_page_length": 20,
	}
	if filters:
		query["filters"] = json.dumps(filters)
	return f"/api/resource/{quote(doctype)}?{urlencode(query)}"


# the Desk's list counts up to this many rows and shows "1,000+" beyond (Frappe's list view)
COUNT_UPPER_BOUND = 1001


def count_path(doctype: str, filters: list | None = None) -> str:
	"""The count the Desk's list view asks for under its first page (bounded: "1,000+")."""
	query = {
		"doctype": doctype,
		"fields": "[]",
		"distinct": "false",
		"limit": COUNT_UPPER_BOUND,
		"filters": json.dumps(filters or []),
	}
	return f"/api/method/frappe.desk.reportview.get_count?{urlencode(query)}"


def search_path(doctype: str, txt: str) -> str:
	return f"/api/method/frappe.desk.search.search_link?{urlencode({'doctype': doctype, 'txt': txt})}"


def search_terms() -> dict[str, str]:
	"""A name fragment and a phone fragment of an existing lead (the demo's or the generator's)."""
	lead = frappe.get_all(
		"CRM Lead",
		filters={"email": ("not like", RECORD_PATTERN), "phone": ("is", "set")},
		fields=["lead_name", "phone"],
		order_by="modified desc",
		limit=1,
	)
	if not lead:
		return {"name": "Иван", "phone": "916"}
	digits = "".join(ch for ch in lead[0].phone if ch.isdigit())
	return {"name": lead[0].lead_name.split()[0], "phone": digits[-7:]}


def rest_reads(site: str, port: int, actors: list[Actor], requests: int, seconds: float) -> list[dict]:
	rows = []
	terms = search_terms()
	for actor in actors:
		floors = {
			"list page": _get(port, site, actor, list_path("ToDo"), requests, seconds),
			"count": _get(port, site, actor, count_path("ToDo"), requests, seconds),
			"open list page": _get(
				port, site, actor, list_path("ToDo", OPEN_FILTERS["ToDo"]), requests, seconds
			),
			"open count": _get(
				port, site, actor, count_path("ToDo", OPEN_FILTERS["ToDo"]), requests, seconds
			),
			"link search": _get(port, site, actor, search_path("ToDo", "bench"), requests, seconds),
		}
		cases = []
		for doctype in ("CRM Lead", "CRM Deal", "CRM Task"):
			open_filter = OPEN_FILTERS[doctype]
			cases.append((f"list page {doctype}", "list page", list_path(doctype)))
			cases.append((f"count {doctype}", "count", count_path(doctype)))
			cases.append((f"list page {doctype} open", "open list page", list_path(doctype, open_filter)))
			cases.append((f"count {doctype} open", "open count", count_path(doctype, open_filter)))
		for kind, txt in terms.items():
			cases.append((f"link search CRM Lead by {kind}", "link search", search_path("CRM Lead", txt)))
		for operation, floor_kind, path in cases:
			row = {"operation": operation, "user": actor.label, "clients": 1}
			row["value"] = _get(port, site, actor, path, requests, seconds)
			row["floor"] = floors[floor_kind]
			row["ratio_median"] = ratio(row["value"]["median_ms"], row["floor"]["median_ms"])
			row["ratio_p95"] = ratio(row["value"]["p95_ms"], row["floor"]["p95_ms"])
			rows.append(row)
			_progress(row)
	return rows


# ------------------------------------------------------------------------------------- 2. in-process


class QueryCounter:
	"""Counts `frappe.db.sql` calls (every query Frappe and the app send goes through it)."""

	def __init__(self):
		self.count = 0

	def __enter__(self):
		self.original = frappe.db.sql

		def sql(query, *args, **kwargs):
			self.count += 1
			return self.original(query, *args, **kwargs)

		frappe.db.sql = sql
		return self

	def __exit__(self, *exc):
		del frappe.db.sql


def _insert(doc: dict) -> None:
	frappe.get_doc(doc).insert()


def _lead_doc(tag: str, n: int, rng: random.Random) -> dict:
	return {
		"doctype": "CRM Lead",
		"lead_name": f"Bench Lead {n}",
		"company_name": f"ООО Бенч {n}",
		"phone": f"+79{rng.randrange(10**9):09d}",
		"email": f"bench-{tag}-{n}@{DOMAIN}",
	}


def _todo_doc(tag: str, n: int, rng: random.Random) -> dict:
	return {
		"doctype": "ToDo",
		"description": f"bench-{tag}-{n}@{DOMAIN}",
		"allocated_to": frappe.session.user,
	}


def in_process(actors: list[Actor], repeat: int, rng: random.Random) -> list[dict]:
	"""One insert at a time in this process, rolled back after each, as each user; time and query count."""
	rows = []
	for actor in actors:
		row = {"operation": "in-process insert CRM Lead", "user": actor.label, "clients": 1}
		for key, make in (("floor", _todo_doc), ("value", _lead_doc)):
			tag = frappe.generate_hash(length=8)
			times, queries = [], []
			frappe.set_user(actor.user)
			for n in range(repeat + 3):
				began = time.perf_counter()
				with QueryCounter() as counter:
					_insert(make(tag, n, rng))
				elapsed = (time.perf_counter() - began) * 1000
				frappe.db.rollback()
				if n >= 3:
					times.append(elapsed)
					queries.append(counter.count)
			row[key] = summarise(times)
			row[key]["queries"] = round(statistics.median(queries))
		frappe.set_user("Administrator")
		row["ratio_median"] = ratio(row["value"]["median_ms"], row["floor"]["median_ms"])
		row["ratio_p95"] = ratio(row["value"]["p95_ms"], row["floor"]["p95_ms"])
		rows.append(row)
		_progress(row)
	return rows


PROFILE_PATHS = ("simple_crm/", "frappe/automation/", "frappe/workflow/", "frappe/model/workflow")


def _short_path(path: str) -> str:
	"""A source file's path from its app's repository root: `simple_crm/...`, `frappe/...`."""
	real = os.path.realpath(path)
	for app in ("simple_crm", "frappe"):
		root = os.path.dirname(os.path.realpath(frappe.get_app_path(app)))
		if real.startswith(root + os.sep):
			return os.path.relpath(real, root)
	return path


def profile_lead_insert(actor: Actor, repeat: int, rng: random.Random, top: int = 25) -> dict:
	"""cProfile of `repeat` lead inserts: the whole insert and the top entries by cumulative time in the
	app's code and in Frappe's assignment rules and workflows, per insert (cProfile adds overhead)."""
	tag = frappe.generate_hash(length=8)
	frappe.set_user(actor.user)
	for n in range(3):  # warm caches (meta, workflows, settings) as a running server has them
		_insert(_lead_doc(f"{tag}w", n, rng))
		frappe.db.rollback()
	profiler = cProfile.Profile()
	for n in range(repeat):
		doc = _lead_doc(tag, n, rng)
		profiler.enable()
		_insert(doc)
		profiler.disable()
		frappe.db.rollback()
	frappe.set_user("Administrator")
	stats = pstats.Stats(profiler, stream=io.StringIO())
	entries, total = [], None
	for (filename, line, function), (_cc, ncalls, _tt, cumtime, _callers) in stats.stats.items():
		path = filename.replace(os.sep, "/")
		if function == "_insert" and path.endswith("simple_crm/benchmarks/suite.py"):
			total = round(cumtime * 1000 / repeat, 2)
		if not any(part in path for part in PROFILE_PATHS) or "simple_crm/benchmarks/" in path:
			continue
		short = _short_path(path)
		entries.append(
			{
				"function": f"{short}:{line}({function})",
				"calls_per_insert": round(ncalls / repeat, 1),
				"cumulative_ms_per_insert": round(cumtime * 1000 / repeat, 2),
			}
		)
	entries.sort(key=lambda e: e["cumulative_ms_per_insert"], reverse=True)
	return {"user": actor.label, "inserts": repeat, "total_ms_per_insert": total, "entries": entries[:top]}


# ------------------------------------------------------------------------------------------- output


def _fmt(value, width: int, digits: int = 1) -> str:
	if value is None:
		return "-".rjust(width)
	if isinstance(value, float):
		return f"{value:.{digits}f}".rjust(width)
	return str(value).rjust(width)


HEADER = (
	f"{'operation':<38} {'user':<14} {'cl':>3} {'n':>4} {'median':>8} {'p95':>8} {'req/s':>6}"
	f" | {'floor med':>9} {'p95':>8} {'req/s':>6} | {'x med':>6} {'x p95':>6} {'err':>4}"
)


def _line(row: dict) -> str:
	value, floor = row["value"], row["floor"]
	extra = f"  queries {value['queries']} vs {floor['queries']}" if "queries" in value else ""
	return (
		f"{row['operation']:<38} {row['user']:<14} {row['clients']:>3} {value['n']:>4}"
		f" {_fmt(value['median_ms'], 8)} {_fmt(value['p95_ms'], 8)} {_fmt(value['req_s'], 6)}"
		f" | {_fmt(floor['median_ms'], 9)} {_fmt(floor['p95_ms'], 8)} {_fmt(floor['req_s'], 6)}"
		f" | {_fmt(row['ratio_median'], 6, 2)} {_fmt(row['ratio_p95'], 6, 2)}"
		f" {value.get('errors', 0) + floor.get('errors', 0):>4}{extra}"
	)


def _peer_line(row: dict) -> str | None:
	if "peer" not in row:
		return None
	value, floor = row["peer"], row["peer_floor"]
	return (
		f"{'  frappe/crm (peer)':<38} {row['user']:<14} {row['clients']:>3} {value['n']:>4}"
		f" {_fmt(value['median_ms'], 8)} {_fmt(value['p95_ms'], 8)} {_fmt(value['req_s'], 6)}"
		f" | {_fmt(floor['median_ms'], 9)} {_fmt(floor['p95_ms'], 8)} {_fmt(floor['req_s'], 6)}"
		f" | {_fmt(row['peer_ratio_median'], 6, 2)} {_fmt(row['peer_ratio_p95'], 6, 2)}"
		f" {value.get('errors', 0) + floor.get('errors', 0):>4}"
	)


def _progress(row: dict) -> None:
	print(_line(row), file=sys.stderr, flush=True)
	if _peer_line(row):
		print(_peer_line(row), file=sys.stderr, flush=True)


# The targets of the figures (server time, full dataset): a row whose operation starts with the prefix is held
# to `limit` on `measure` (a ratio to the floor or milliseconds). The nightly jobs carry their own
# (simple_crm.benchmarks.jobs).
TARGETS = (
	("REST insert CRM Lead", "ratio_median", 1.3),
	("REST insert CRM Lead", "ratio_p95", 2.0),
	("list page ", "median_ms", 150),
	("count ", "median_ms", 150),
	("link search ", "median_ms", 100),
	("report ", "median_ms", 2_000),
	("import ", "median_ms", 60_000),
	("exchange ", "median_ms", 10_000),
	("duplicate lookup", "median_ms", 5),
	# at least the floor's requests per second
	("web-to-lead ", "throughput", 1.0),
)


def missed_targets(row: dict) -> list[str]:
	"""What `row` misses of TARGETS, each saying by how much ([] when it meets them or has none)."""
	missed = []
	for prefix, measure, limit in TARGETS:
		if not row["operation"].startswith(prefix):
			continue
		if measure == "throughput":
			value, floor = row["value"].get("req_s"), row["floor"].get("req_s")
			if value is not None and floor and value < floor * limit:
				missed.append(
					f"{value:.1f} requests a second, the floor's {floor:.1f}: short by {floor * limit - value:.1f}"
					f" ({value / floor:.2f}x)"
				)
		elif measure.startswith("ratio"):
			value = row.get(measure)
			if value is not None and value > limit:
				which = "median" if measure == "ratio_median" else "p95"
				missed.append(
					f"{which} {value:.2f}x the floor's, target {limit}x: over by {value - limit:.2f}x"
				)
		else:
			value = row["value"].get(measure)
			if value is not None and value > limit:
				missed.append(
					f"median {value:,.0f} ms, target {limit:,} ms: over by {value - limit:,.0f} ms"
					f" ({value / limit:.2f}x)"
				)
	return missed


def table(results: dict) -> str:
	meta = results["meta"]
	out = [
		f"simple_crm benchmark: site {meta['site']}, {meta['started']}, {meta['cpus']} CPUs, "
		f"load average {meta['loadavg_before']} before, {meta['loadavg_after']} after",
		"times in ms; floor = the same operation on ToDo in the same run; x = value / floor",
		"",
		HEADER,
		"-" * len(HEADER),
	]
	checked, missed_rows, missed = 0, 0, []
	for section in (
		"rest_insert",
		"web_to_lead",
		"in_process",
		"lookup",
		"rest_reads",
		"reports",
		"desk",
		"import",
		"exchange",
	):
		rows = results.get(section) or []
		for row in rows:
			out.append(_line(row))
			if _peer_line(row):
				out.append(_peer_line(row))
			if any(row["operation"].startswith(prefix) for prefix, _measure, _limit in TARGETS):
				checked += 1
			misses = missed_targets(row)
			missed_rows += bool(misses)
			for miss in misses:
				out.append(f"    target missed: {miss}")
				missed.append(f"{row['operation']} ({row['user']}, {row['clients']} cl): {miss}")
			for sample in (
				row["value"].get("error_samples", [])[:1] + row["floor"].get("error_samples", [])[:1]
			):
				out.append(f"    error: {sample[:200]}")
		if rows:
			out.append("")
	if checked:
		out.append(f"Targets: {checked - missed_rows} of {checked} figures met.")
		out += [f"  missed: {miss}" for miss in missed]
		out.append("")
	out += jobs.table(results.get("jobs") or [])
	if results.get("profile"):
		profile = results["profile"]
		out.append(
			f"Where a lead insert's time goes ({profile['user']}, cProfile over {profile['inserts']} inserts,"
			f" {profile['total_ms_per_insert']} ms per insert under the profiler; cumulative ms per insert):"
		)
		for entry in profile["entries"]:
			out.append(
				f"  {entry['cumulative_ms_per_insert']:8.2f}  {entry['calls_per_insert']:6.1f}x  {entry['function']}"
			)
	return "\n".join(out)


# -------------------------------------------------------------------------------------------- entry


def _loadavg() -> list[float] | None:
	with contextlib.suppress(OSError, AttributeError):
		return [round(x, 2) for x in os.getloadavg()]
	return None


def _app_commit() -> str | None:
	with contextlib.suppress(Exception):
		path = frappe.get_app_path("simple_crm")
		return subprocess.run(
			["git", "-C", path, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
		).stdout.strip()
	return None


def run(
	out: str | None = None,
	clients: list[int] | tuple[int, ...] = (4, 16),
	requests: int = 200,
	seconds: float = 30,
	reads: int = 30,
	repeat: int = 20,
	parts: str = "insert,weblead,inprocess,lookup,profile,reads,reports,import,exchange",
	peer_site: str | None = None,
	seed: int = 42,
	report_runs: int = 5,
	import_rows: int = 10_000,
) -> dict:
	"""Run the suite on the connected site; print the table; write JSON to `out` if given."""
	site = frappe.local.site
	wanted = {p.strip() for p in parts.split(",")}
	rng = random.Random(seed)
	targets = [Target(site=site, label="simple_crm")]
	peer = None
	results = {
		"meta": {
			"site": site,
			"started": frappe.utils.now(),
			"frappe": frappe.__version__,
			"simple_crm": _app_commit(),
			"python": platform.python_version(),
			"cpus": os.cpu_count(),
			"loadavg_before": _loadavg(),
			"gunicorn_workers": WORKERS,
			"clients": list(clients),
			"requests_per_run": requests,
			"seconds_per_run": seconds,
			"counts": {
				doctype: frappe.db.count(doctype) for doctype in ("CRM Lead", "CRM Deal", "CRM Task", "ToDo")
			},
		}
	}
	fixtures = Fixtures()
	frappe.set_user("Administrator")
	try:
		actors = set_up(fixtures)
		if peer_site and "insert" in wanted:
			peer = peer_set_up(peer_site)
			results["meta"]["peer"] = {"site": peer_site, "app": "frappe/crm", "version": peer.version}
		print(HEADER, file=sys.stderr, flush=True)
		if wanted & {"insert", "weblead", "reads", "exchange"}:
			with gunicorn(site) as port:
				if "insert" in wanted:
					results["rest_insert"] = rest_inserts(
						targets[0],
						port,
						{"admin": actors["admin"], "manager": actors["manager"]},
						list(clients),
						requests,
						seconds,
						rng,
						peer,
					)
				if "weblead" in wanted:
					from simple_crm.benchmarks import web_leads

					results["web_to_lead"] = web_leads.time_inquiries(
						site, port, actors["admin"], list(clients), requests, seconds, rng
					)
				if "reads" in wanted:
					results["rest_reads"] = rest_reads(
						site,
						port,
						[actors["manager"], actors["head"], actors["director"]],
						reads,
						seconds,
					)
				if "exchange" in wanted:
					from simple_crm.benchmarks import exchange

					results["exchange"] = exchange.run(site, port, fixtures, actors["admin"])
		if "inprocess" in wanted:
			results["in_process"] = in_process([actors["admin"], actors["manager"]], repeat, rng)
		if "lookup" in wanted:
			from simple_crm.benchmarks import web_leads

			results["lookup"] = web_leads.time_lookup()
		if "profile" in wanted:
			results["profile"] = profile_lead_insert(actors["admin"], max(5, repeat // 2), rng)
		if "reports" in wanted:
			results["reports"] = reports.time_reports(
				{"manager": MANAGER, "head": HEAD, "director": DIRECTOR}, runs=report_runs, progress=_progress
			)
		if "import" in wanted:
			results["import"] = imports.time_import(import_rows)
			for row in results["import"]:
				_progress(row)
		if "desk" in wanted:
			from simple_crm.benchmarks import desk

			results["desk"] = desk.time_desk(
				{"manager": MANAGER, "head": HEAD, "director": DIRECTOR},
				RECORD_PATTERN,
				runs=report_runs,
				progress=_progress,
			)
		if "jobs" in wanted:
			results["jobs"] = jobs.time_jobs()
	finally:
		results["meta"]["removed"] = tear_down(fixtures)
		if peer:
			results["meta"]["peer"]["removed"] = _peer_command(peer_site, "teardown")
	results["meta"]["loadavg_after"] = _loadavg()
	print(table(results))
	if out:
		with open(out, "w") as f:
			json.dump(results, f, indent=1, ensure_ascii=False)
		print(f"\nwritten to {os.path.abspath(out)}")
	return results


def main(argv: list[str] | None = None) -> None:
	parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
	parser.add_argument("--site", required=True)
	parser.add_argument("--sites-path", default=".", help="the bench's sites directory (default: here)")
	parser.add_argument("--out", help="write the figures as JSON to this file")
	parser.add_argument("--clients", default="4,16", help="concurrent clients of the insert runs")
	parser.add_argument("--requests", type=int, default=200, help="measured requests per insert run")
	parser.add_argument("--seconds", type=float, default=30, help="time bound of each run")
	parser.add_argument("--reads", type=int, default=30, help="measured requests per read figure")
	parser.add_argument("--repeat", type=int, default=20, help="in-process inserts per figure")
	parser.add_argument(
		"--parts", default="insert,weblead,inprocess,lookup,profile,reads,reports,import,exchange"
	)
	parser.add_argument("--report-runs", type=int, default=5, help="measured runs of each report per user")
	parser.add_argument("--import-rows", type=int, default=10_000, help="rows of the spreadsheet import")
	parser.add_argument("--peer-site", help="a site with frappe/crm on the same bench, measured beside")
	parser.add_argument("--seed", type=int, default=42)
	args = parser.parse_args(argv)
	sites_path = os.path.abspath(args.sites_path)
	os.chdir(sites_path)  # Frappe resolves its paths (logs, config, assets) from the sites directory
	frappe.init(site=args.site, sites_path=sites_path)
	frappe.connect()
	try:
		run(
			out=args.out,
			clients=[int(c) for c in args.clients.split(",")],
			requests=args.requests,
			seconds=args.seconds,
			reads=args.reads,
			repeat=args.repeat,
			parts=args.parts,
			peer_site=args.peer_site,
			seed=args.seed,
			report_runs=args.report_runs,
			import_rows=args.import_rows,
		)
	finally:
		frappe.destroy()


if __name__ == "__main__":
	main()
