"""Benchmark part `exchange`: a batch of 1,000 orders through the accounting exchange, over HTTP.

Measured against the suite's gunicorn, each figure as median and p95 over `runs` batches (after one warm-up):

- `POST simple_crm.api.exchange.orders` with 1,000 new orders of one counterparty, as the accounting system's
  user (role CRM Integration): the orders are written and the counterparty's and client's figures follow;
- the same 1,000 orders sent again (nothing changes: the idempotent case, read and compare only);
- the floor: 1,000 ToDo rows through Frappe's own batch insert, `frappe.client.insert_many`, which takes at
  most 200 documents a request, so five requests one after the other, timed together.

The part switches the exchange on for its run (and puts the setting back), makes a user
`bench.accounting@bench.invalid` (removed with the suite's users) and one client, and removes every order,
counterparty, ToDo and Integration Log row it made, with their history and search rows.
"""

import http.client
import json
import time

import frappe

from simple_crm.benchmarks import suite

ACCOUNTING = f"bench.accounting@{suite.DOMAIN}"
BATCH = 1000
INSERT_MANY_LIMIT = 200


def _post(port: int, site: str, authorization: str, path: str, body: dict) -> tuple[float, dict]:
	conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
	data = json.dumps(body, ensure_ascii=False).encode()
	began = time.perf_counter()
	conn.request(
		"POST",
		path,
		body=data,
		headers={
			"Host": site,
			"Authorization": authorization,
			"Content-Type": "application/json",
			"Accept": "application/json",
		},
	)
	response = conn.getresponse()
	text = response.read()
	elapsed = (time.perf_counter() - began) * 1000
	conn.close()
	if response.status != 200:
		raise RuntimeError(f"{path}: HTTP {response.status}: {text[:500]!r}")
	return elapsed, json.loads(text).get("message")


def _orders(tag: str, run: int) -> list[dict]:
	return [
		{
			"external_id": f"bench-{tag}-{run}-{i:04d}",
			"order_number": f"Б-{run}-{i:04d}",
			"order_date": "2026-11-20",
			"status": "Отгружен",
			"amount": 1000 + i,
			"paid_amount": 500,
			"counterparty_external_id": f"bench-{tag}-cp",
		}
		for i in range(BATCH)
	]


def _todos(tag: str, run: int, user: str) -> list[list[dict]]:
	docs = [
		{"doctype": "ToDo", "description": f"bench-{tag}-{run}-{i}@{suite.DOMAIN}", "allocated_to": user}
		for i in range(BATCH)
	]
	return [docs[i : i + INSERT_MANY_LIMIT] for i in range(0, BATCH, INSERT_MANY_LIMIT)]


def remove_records() -> None:
	"""The orders and counterparties the part wrote (this run's and an interrupted run's)."""
	for doctype in ("CRM Order", "CRM Counterparty"):
		names = frappe.get_all(doctype, filters={"external_id": ("like", "bench-%")}, pluck="name")
		for start in range(0, len(names), 1000):
			part = names[start : start + 1000]
			frappe.db.delete("Version", {"ref_doctype": doctype, "docname": ("in", part)})
			frappe.db.sql("delete from `__global_search` where doctype = %s and name in %s", (doctype, part))
			frappe.db.delete(
				"CRM Contact Point", {"reference_doctype": doctype, "reference_name": ("in", part)}
			)
			frappe.db.delete(doctype, {"name": ("in", part)})
	for client in frappe.get_all(
		"CRM Client", filters={"client_name": ("like", "Bench Exchange %")}, pluck="name"
	):
		suite._delete("CRM Client", client)
	frappe.db.commit()


def run(site: str, port: int, fixtures, admin, runs: int = 5) -> list[dict]:
	"""The part's rows (see the module's docstring)."""
	from simple_crm.permissions.roles import INTEGRATION

	remove_records()
	suite._make_user(ACCOUNTING, INTEGRATION, fixtures)
	authorization = suite._token(ACCOUNTING, fixtures)
	enabled = frappe.db.get_single_value("Simple CRM Settings", "accounting_enabled")
	frappe.db.set_single_value("Simple CRM Settings", "accounting_enabled", 1)
	started = frappe.utils.now()
	tag = frappe.generate_hash(length=6)
	client = frappe.get_doc({"doctype": "CRM Client", "client_name": f"Bench Exchange {tag}"}).insert()
	frappe.db.commit()
	try:
		_post(
			port,
			site,
			authorization,
			"/api/method/simple_crm.api.exchange.counterparties",
			{"items": [{"external_id": f"bench-{tag}-cp", "full_name": "ООО Бенч", "client": client.name}]},
		)
		new, again, floor = [], [], []
		for n in range(runs + 1):
			items = _orders(tag, n)
			ms, answer = _post(
				port, site, authorization, "/api/method/simple_crm.api.exchange.orders", {"items": items}
			)
			if answer["created"] != BATCH:
				raise RuntimeError(
					f"exchange batch {n}: {answer['created']} created, {answer['errors']} errors"
				)
			ms_again, answer = _post(
				port, site, authorization, "/api/method/simple_crm.api.exchange.orders", {"items": items}
			)
			if answer["unchanged"] != BATCH:
				raise RuntimeError(f"exchange batch {n} again: {answer['unchanged']} unchanged")
			total = 0.0
			for docs in _todos(tag, n, admin.user):
				ms_floor, _names = _post(
					port, site, admin.authorization, "/api/method/frappe.client.insert_many", {"docs": docs}
				)
				total += ms_floor
			if n:  # the first run warms the workers up
				new.append(ms)
				again.append(ms_again)
				floor.append(total)
		rows = []
		for operation, values in (
			("exchange 1,000 new orders (1 request)", new),
			("exchange the same 1,000 orders again", again),
		):
			row = {"operation": operation, "user": "integration", "clients": 1}
			row["value"] = suite.summarise(values)
			row["floor"] = suite.summarise(floor)
			row["floor"]["what"] = "1,000 ToDos by frappe.client.insert_many (5 requests of 200)"
			row["ratio_median"] = suite.ratio(row["value"]["median_ms"], row["floor"]["median_ms"])
			row["ratio_p95"] = suite.ratio(row["value"]["p95_ms"], row["floor"]["p95_ms"])
			rows.append(row)
			suite._progress(row)
		return rows
	finally:
		frappe.db.rollback()
		remove_records()
		frappe.db.set_single_value("Simple CRM Settings", "accounting_enabled", enabled or 0)
		frappe.db.delete("CRM Integration Log", {"channel": "Accounting", "creation": (">=", started)})
		frappe.db.commit()
