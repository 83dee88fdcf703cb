"""The accounting exchange over real HTTP: gunicorn with two workers on a loopback port, started for the class,
called as the accounting system calls it (API key of a user with the CRM Integration role, JSON bodies).

What is proven here:
- the same batch twice changes nothing the second time (values, Last Updated, history, figures);
- 10 bad items among 990 good ones: the 990 are written, the 10 reported with their reasons, in under 10 s;
- orders before their counterparty are kept and linked when it arrives;
- concurrent batches for the same external IDs (threads against two workers) leave one record per ID;
- a sales manager gets 403 from every endpoint and nothing changes; a malformed batch is refused whole;
- rows are what the controllers would store (a save afterwards changes nothing), with their history, search
  and duplicate-index rows;
- the change journal pages in a stable order and skips nothing when records share a timestamp;
- the converted-lead webhook against a local HTTP server: a failure, a retry, then success, signed.

Everything the tests make is removed again; the exchange's own records by their external IDs, which carry the
run's prefix.
"""

import hashlib
import hmac
import json
import random
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import frappe
import requests
from frappe.utils import add_to_date, get_datetime, now_datetime

from simple_crm.benchmarks.suite import free_port, gunicorn
from simple_crm.integrations.exchange import journal, webhook
from simple_crm.tests import factories
from simple_crm.tests.sales_org import SalesOrgUsers, email
from simple_crm.tests.utils import CRMRestTestCase, CRMTestCase

SETTINGS = "Simple CRM Settings"
LOG = "CRM Integration Log"
INTEGRATION_USER = "exchange.accounting@example.com"
SECRET = "whsec-accounting-7f3c"
METHOD = "/api/method/simple_crm.api.exchange."


def set_settings(**values) -> dict:
	"""Save Simple CRM Settings (committed); returns the values they had."""
	doc = frappe.get_single(SETTINGS)
	before = {key: doc.get(key) for key in values}
	doc.update(values)
	doc.save()
	frappe.db.commit()
	return before


SERVER: dict = {}


def setUpModule():
	"""One gunicorn (two workers, as bench's production setup) for every class of the module."""
	server = gunicorn(frappe.local.site)
	SERVER["port"] = server.__enter__()
	SERVER["server"] = server


def tearDownModule():
	SERVER.pop("server").__exit__(None, None, None)


class ExchangeServer(SalesOrgUsers, CRMRestTestCase):
	"""The integration user, the exchange switched on (the journal without hold-back), the module's server."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		frappe.set_user("Administrator")
		factories.make_user(INTEGRATION_USER, roles=("CRM Integration",), first_name="Accounting")
		cls.settings_before = set_settings(
			accounting_enabled=1, accounting_changes_delay=0, accounting_batch_limit=1000
		)
		cls.run_id = "T" + frappe.generate_hash(length=6).upper()
		cls.site = frappe.local.site
		cls.port = SERVER["port"]

	@classmethod
	def tearDownClass(cls):
		frappe.db.rollback()
		frappe.set_user("Administrator")
		set_settings(**cls.settings_before)
		# the user stays for the rest of the run, as the sales organisation's do (Frappe deletes no user on a
		# site whose only System Manager is Administrator)
		frappe.db.commit()
		super().tearDownClass()

	def setUp(self):
		super().setUp()
		self.started = now_datetime()

	def tearDown(self):
		frappe.db.rollback()
		remove_exchanged(self.run_id)
		frappe.db.sql(
			"delete from `tabCRM Integration Log` where channel = 'Accounting' and creation >= %s",
			self.started,
		)
		frappe.db.commit()
		super().tearDown()

	# --- calls

	def ext(self, kind: str, n) -> str:
		return f"{self.run_id}-{kind}-{n}"

	def call(self, method: str, items=None, user: str = INTEGRATION_USER, body=None, params=None):
		"""One request to the exchange as `user`; returns the `requests` response. What the test wrote is
		committed first, and its next read starts a fresh snapshot (after the request)."""
		prepared = self.prepare(method, items, user, body)
		frappe.db.commit()
		return send(*prepared, params=params)

	def prepare(self, method: str, items=None, user: str = INTEGRATION_USER, body=None) -> tuple:
		"""(url, body, headers) of a request, made in the test's thread (it may write the user's API key)."""
		headers = {"Host": self.site, "Authorization": self.token_for(user), "Accept": "application/json"}
		url = f"http://127.0.0.1:{self.port}{METHOD}{method}"
		if method == "changes":
			return url, None, headers
		headers["Content-Type"] = "application/json"
		data = body if body is not None else json.dumps({"items": items}, ensure_ascii=False)
		return url, data.encode(), headers

	def ok(self, method: str, items, **kwargs) -> dict:
		response = self.call(method, items, **kwargs)
		self.assertEqual(response.status_code, 200, response.text[:2000])
		return response.json()["message"]

	# --- what the database holds

	def order(self, n) -> frappe._dict:
		return frappe.db.get_value("CRM Order", {"external_id": self.ext("O", n)}, "*", as_dict=True)

	def counterparty(self, n) -> frappe._dict:
		return frappe.db.get_value("CRM Counterparty", {"external_id": self.ext("CP", n)}, "*", as_dict=True)

	def counterparty_item(self, n, client: str | None = None, **fields) -> dict:
		inn = fields.pop("inn", None) or factories.valid_inn()
		item = {
			"external_id": self.ext("CP", n),
			"full_name": f"Общество с ограниченной ответственностью «Поставщик {n}»",
			"short_name": f"ООО «Поставщик {n}»",
			"inn": inn,
			"kpp": inn[:4] + "01001",
			**fields,
		}
		if client:
			item["client"] = client
		return item

	def order_item(self, n, counterparty=None, **fields) -> dict:
		item = {
			"external_id": self.ext("O", n),
			"order_number": f"ЗК-{n:05d}" if isinstance(n, int) else f"ЗК-{n}",
			"order_date": "2026-11-20",
			"status": "Отгружен",
			"amount": 1000 + (n if isinstance(n, int) else 0),
			"paid_amount": 400,
			**fields,
		}
		if counterparty is not None:
			item["counterparty_external_id"] = self.ext("CP", counterparty)
		return item

	def make_client(self) -> str:
		return self.track("CRM Client", factories.make_client().name)

	def deal(self, client: str, **kwargs) -> str:
		return self.track("CRM Deal", factories.make_deal(client, **kwargs).name)

	def figures(self, client: str) -> tuple:
		row = frappe.db.get_value("CRM Client", client, ["turnover", "debt"])
		return float(row[0]), float(row[1])

	def state(self) -> dict:
		"""Every exchanged record of this run with every column, their history and search rows."""
		frappe.db.rollback()
		like = f"{self.run_id}-%"
		out = {}
		for doctype in ("CRM Order", "CRM Counterparty"):
			rows = frappe.db.sql(
				f"select * from `tab{doctype}` where external_id like %s order by name", like, as_dict=True
			)
			names = [r.name for r in rows] or [""]
			out[doctype] = rows
			out[f"{doctype} versions"] = frappe.db.sql(
				"select name, data from `tabVersion` where ref_doctype = %s and docname in %s order by name",
				(doctype, names),
			)
			out[f"{doctype} search"] = frappe.db.sql(
				"select name, title, content from `__global_search` where doctype = %s and name in %s order by name",
				(doctype, names),
			)
		clients = {r.client for r in out["CRM Order"] + out["CRM Counterparty"] if r.client} or {""}
		out["clients"] = frappe.db.sql(
			"select name, turnover, debt, modified, accounting_synced_on from `tabCRM Client` where name in %s order by name",
			(list(clients),),
		)
		return out


def send(url: str, data: bytes | None, headers: dict, params: dict | None = None):
	"""The HTTP request itself: nothing of the test's database connection (safe in a thread)."""
	if data is None:
		return requests.get(url, params=params or {}, headers=headers, timeout=120)
	return requests.post(url, data=data, headers=headers, timeout=120)


def remove_exchanged(run_id: str) -> None:
	"""The orders and counterparties a run's batches wrote, with their history, search and index rows."""
	like = f"{run_id}-%"
	for doctype in ("CRM Order", "CRM Counterparty"):
		names = frappe.db.sql(
			f"select name from `tab{doctype}` where external_id like %s or counterparty_external_id like %s"
			if doctype == "CRM Order"
			else f"select name from `tab{doctype}` where external_id like %s",
			(like, like) if doctype == "CRM Order" else (like,),
			pluck=True,
		)
		if not names:
			continue
		frappe.db.sql("delete from `tabVersion` where ref_doctype = %s and docname in %s", (doctype, names))
		frappe.db.sql("delete from `__global_search` where doctype = %s and name in %s", (doctype, names))
		frappe.db.sql(
			"delete from `tabCRM Contact Point` where reference_doctype = %s and reference_name in %s",
			(doctype, names),
		)
		frappe.db.sql(
			"delete from `tabComment` where reference_doctype = %s and reference_name in %s", (doctype, names)
		)
		frappe.db.sql(f"delete from `tab{doctype}` where name in %s", (names,))


class TestExchangeBatches(ExchangeServer):
	def test_the_same_batch_twice_changes_nothing_the_second_time(self):
		client = self.make_client()
		deal = self.deal(client)
		counterparties = [self.counterparty_item(n, client, phone=f"8 (912) 300-00-0{n}") for n in range(3)]
		orders = [self.order_item(n, counterparty=n % 3, deal=deal) for n in range(20)]
		del orders[1]["paid_amount"]  # what is paid on this one comes with the payments
		first = self.ok("counterparties", counterparties)
		self.assertEqual((first["created"], first["errors"]), (3, 0), first)
		first = self.ok("orders", orders)
		self.assertEqual((first["created"], first["errors"]), (20, 0), first)
		payments = [{"order_external_id": self.ext("O", 1), "paid_amount": 1001}]
		payments.append({"counterparty_external_id": self.ext("CP", 2), "debt": 150, "turnover": 9000})
		self.assertEqual(self.ok("payments", payments)["updated"], 2)
		before = self.state()
		time.sleep(0.01)
		for method, items in (("counterparties", counterparties), ("orders", orders), ("payments", payments)):
			again = self.ok(method, items)
			self.assertEqual(again["unchanged"], len(items), again)
			self.assertEqual(again["created"] + again["updated"] + again["errors"], 0, again)
		self.assertEqual(self.state(), before)
		self.assertEqual(len(before["CRM Order"]), 20)
		self.assertTrue(all(o.client == client and o.deal == deal for o in before["CRM Order"]))

	def test_ten_bad_items_among_990_good_ones(self):
		client = self.make_client()
		deal = self.deal(client)
		self.ok("counterparties", [self.counterparty_item(0, client)])
		items = [self.order_item(n, counterparty=0) for n in range(990)]
		bad = [
			{"external_id": self.ext("O", "b0"), "amount": "много"},
			{"external_id": self.ext("O", "b1"), "amount": -5},
			{"external_id": self.ext("O", "b2"), "order_date": "2026-02-30"},
			{"external_id": self.ext("O", "b3"), "deal": "DEAL-NO-SUCH"},
			{"external_id": self.ext("O", "b4"), "currency": "XYZ"},
			{"external_id": self.ext("O", "b5"), "status": "x" * 200},
			{"external_id": self.ext("O", "b6"), "amount": 1, "colour": "red"},
			{"external_id": "", "amount": 1},
			{"external_id": self.ext("O", 7), "amount": 5},  # the same ID as item 7
			{"external_id": self.ext("O", "b9"), "paid_amount": float("1e300")},
		]
		positions = [50, 100, 200, 300, 400, 500, 600, 700, 800, 999]
		for position, item in zip(positions, bad, strict=True):
			items.insert(position, item)
		self.assertEqual(len(items), 1000)
		started = time.monotonic()
		answer = self.ok("orders", items)
		elapsed = time.monotonic() - started
		self.assertLess(elapsed, 10, f"1,000 orders took {elapsed:.1f} s")
		self.assertEqual(
			(answer["created"], answer["errors"]),
			(990, 10),
			{k: v for k, v in answer.items() if k != "items"},
		)
		errors = {row["index"]: row for row in answer["items"] if row["status"] == "error"}
		self.assertEqual(sorted(errors), positions)
		reasons = [errors[p]["error"] for p in positions]
		for expected, reason in zip(
			[
				"amount",
				"amount",
				"order_date",
				"DEAL-NO-SUCH",
				"XYZ",
				"status",
				"colour",
				"external_id",
				"item",
				"paid_amount",
			],
			reasons,
			strict=True,
		):
			self.assertIn(expected, reason)
		self.assertEqual(frappe.db.count("CRM Order", {"external_id": ("like", f"{self.run_id}-O-%")}), 990)
		self.assertEqual(frappe.db.count("CRM Order", {"external_id": ("like", f"{self.run_id}-O-b%")}), 0)
		self.assertEqual(float(self.order(7).amount), 1007)
		# every good order is linked, and the client's figures count them all
		self.assertEqual(
			frappe.db.count("CRM Order", {"external_id": ("like", f"{self.run_id}-O-%"), "client": client}),
			990,
		)
		turnover = sum(1000 + n for n in range(990))
		self.assertEqual(self.figures(client), (turnover, turnover - 400 * 990))
		linked = self.ok("orders", [self.order_item("deal", counterparty=0, deal=deal)])
		self.assertEqual(linked["created"], 1)
		self.assertEqual(self.order("deal").deal, deal)

	def test_orders_before_their_counterparty_are_kept_and_linked_when_it_arrives(self):
		client = self.make_client()
		deal = self.deal(client)
		answer = self.ok(
			"orders", [self.order_item(1, counterparty=1), self.order_item(2, counterparty=1, deal=deal)]
		)
		self.assertEqual(answer["created"], 2)
		self.assertTrue(all("not here yet" in row["warnings"][0] for row in answer["items"]), answer)
		first, second = self.order(1), self.order(2)
		self.assertIsNone(first.counterparty)
		self.assertIsNone(first.client)
		self.assertEqual(first.counterparty_external_id, self.ext("CP", 1))
		self.assertEqual((second.deal, second.client, second.counterparty), (deal, client, None))
		# the order with a deal counts for the deal's client; both count through their counterparty later
		self.assertEqual(self.figures(client), (1002.0, 602.0))
		answer = self.ok("counterparties", [self.counterparty_item(1, client)])
		self.assertEqual(answer["items"][0]["linked_orders"], 2)
		counterparty = self.counterparty(1).name
		first, second = self.order(1), self.order(2)
		self.assertEqual((first.counterparty, first.client), (counterparty, client))
		self.assertEqual((second.counterparty, second.client, second.deal), (counterparty, client, deal))
		self.assertEqual(self.figures(client), (2003.0, 1203.0))
		# the link is in the orders' history, and sending the orders again changes nothing
		self.assertTrue(
			frappe.db.exists(
				"Version",
				{"ref_doctype": "CRM Order", "docname": first.name, "data": ("like", "%counterparty%")},
			)
		)
		again = self.ok(
			"orders", [self.order_item(1, counterparty=1), self.order_item(2, counterparty=1, deal=deal)]
		)
		self.assertEqual(again["unchanged"], 2, again)

	def test_an_order_whose_deal_and_counterparty_disagree_waits_for_them_to_agree(self):
		client, other = self.make_client(), self.make_client()
		deal = self.deal(client)
		self.ok("counterparties", [self.counterparty_item(1, other)])
		answer = self.ok("orders", [self.order_item(1, counterparty=1, deal=deal)])
		self.assertIn("belongs to client", answer["items"][0]["warnings"][0])
		order = self.order(1)
		self.assertEqual((order.deal, order.client, order.counterparty), (deal, client, None))
		# accounting moves the counterparty to the deal's client: the order follows
		answer = self.ok("counterparties", [{"external_id": self.ext("CP", 1), "client": client}])
		self.assertEqual(answer["items"][0].get("linked_orders"), 1, answer)
		self.assertEqual(self.order(1).counterparty, self.counterparty(1).name)
		self.assertEqual(self.figures(other), (0.0, 0.0))
		self.assertEqual(self.figures(client), (1001.0, 601.0))

	def test_a_deal_is_found_by_its_name_or_its_external_id(self):
		client = self.make_client()
		deal = self.deal(client, external_id=self.ext("D", 1))
		answer = self.ok(
			"orders",
			[
				self.order_item(1, deal=deal),
				self.order_item(2, deal_external_id=self.ext("D", 1)),
				self.order_item(3, deal_external_id=self.ext("D", "none")),
				self.order_item(4, deal="DEAL-99999999", deal_external_id=self.ext("D", 1)),
			],
		)
		self.assertEqual([row["status"] for row in answer["items"]], ["created", "created", "error", "error"])
		self.assertEqual((self.order(1).deal, self.order(2).deal), (deal, deal))
		self.assertEqual(self.order(2).client, client)
		# no counterparty: the client's figures count the orders themselves
		self.assertEqual(self.figures(client), (2003.0, 1203.0))

	def test_concurrent_batches_for_the_same_ids_make_no_twins(self):
		client = self.make_client()
		counterparties = [self.counterparty_item(n, client) for n in range(20)]
		orders = [self.order_item(n, counterparty=n % 20) for n in range(300)]
		calls = [("orders", orders), ("counterparties", counterparties)] * 3
		requests_ = [self.prepare(method, items) for method, items in calls]
		barrier = threading.Barrier(len(calls))
		responses = [None] * len(calls)
		frappe.db.commit()

		def run(i):
			barrier.wait()
			responses[i] = send(*requests_[i])

		threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
		for thread in threads:
			thread.start()
		for thread in threads:
			thread.join()
		for response in responses:
			self.assertEqual(response.status_code, 200, response.text[:1000])
		answers = [r.json()["message"] for r in responses]
		created = {"orders": 0, "counterparties": 0}
		for (method, _items), answer in zip(calls, answers, strict=True):
			self.assertEqual(answer["errors"], 0, answer)
			created[method] += answer["created"]
		self.assertEqual(created, {"orders": 300, "counterparties": 20})
		frappe.db.rollback()
		for doctype in ("CRM Order", "CRM Counterparty"):
			twins = frappe.db.sql(
				f"select external_id from `tab{doctype}` where external_id like %s group by external_id having count(*) > 1",
				f"{self.run_id}-%",
			)
			self.assertEqual(twins, ())
		self.assertEqual(frappe.db.count("CRM Order", {"external_id": ("like", f"{self.run_id}-O-%")}), 300)
		# whichever batch came first, every order ends linked to its counterparty
		self.assertEqual(
			frappe.db.count(
				"CRM Order", {"external_id": ("like", f"{self.run_id}-O-%"), "counterparty": ("is", "set")}
			),
			300,
		)
		turnover = sum(1000 + n for n in range(300))
		self.assertEqual(self.figures(client), (turnover, turnover - 400 * 300))

	def test_the_external_ids_are_unique_in_the_database(self):
		"""The unique indexes, not a look-up before the insert, are what keeps twins out."""
		for doctype in ("CRM Order", "CRM Counterparty", "CRM Deal"):
			index = frappe.db.get_column_index(f"tab{doctype}", "external_id", unique=True)
			self.assertTrue(index, f"{doctype}.external_id has no unique index")
		self.ok("orders", [self.order_item(1)])
		with self.assertRaises(Exception) as caught:
			frappe.db.sql(
				"insert into `tabCRM Order` (name, external_id) values (%s, %s)",
				("ORD-TWIN-" + self.run_id, self.ext("O", 1)),
			)
		self.assertTrue(frappe.db.is_unique_key_violation(caught.exception), caught.exception)
		frappe.db.rollback()

	def test_payments_set_paid_amounts_and_debts(self):
		client = self.make_client()
		self.ok("counterparties", [self.counterparty_item(1, client)])
		self.ok("orders", [self.order_item(1, counterparty=1), self.order_item(2)])
		frappe.db.set_value("CRM Order", self.order(2).name, "client", client)  # a person links it
		frappe.db.commit()
		self.ok("orders", [self.order_item(2, amount=1002)])  # ...and the figures follow the next change
		self.assertEqual(self.figures(client), (2003.0, 1203.0))
		order_modified = self.order(1).modified
		counterparty = self.counterparty(1)
		answer = self.ok(
			"payments",
			[
				{"order_external_id": self.ext("O", 1), "paid_amount": "1001.00"},
				{"counterparty_external_id": self.ext("CP", 1), "debt": 250.5, "turnover": 12000},
				{"order_external_id": self.ext("O", "none"), "paid_amount": 1},
				{"counterparty_external_id": self.ext("CP", 1), "debt": 1},
				{"amount": 1},
			],
		)
		self.assertEqual(
			[r["status"] for r in answer["items"]], ["updated", "updated", "error", "error", "error"]
		)
		self.assertIn("send it first", answer["items"][2]["error"])
		order = self.order(1)
		self.assertEqual(float(order.paid_amount), 1001)
		self.assertGreater(order.modified, order_modified)
		self.assertTrue(frappe.db.exists("Version", {"ref_doctype": "CRM Order", "docname": order.name}))
		after = self.counterparty(1)
		self.assertEqual((float(after.debt), float(after.turnover)), (250.5, 12000))
		# Last Updated moves (a form opened before sees the change), the history keeps edits only
		self.assertGreater(after.modified, counterparty.modified)
		self.assertFalse(
			frappe.db.exists("Version", {"ref_doctype": "CRM Counterparty", "docname": after.name})
		)
		self.assertTrue(after.accounting_synced_on)
		# the counterparty's figures are accounting's now; the order without a counterparty is the client's
		self.assertEqual(self.figures(client), (13002.0, 852.5))

	def test_counterparty_items_are_checked_as_the_controller_checks_them(self):
		client = self.make_client()
		answer = self.ok(
			"counterparties",
			[
				self.counterparty_item(1, client, inn="7707083894"),  # wrong check digit
				self.counterparty_item(2, client, phone="12"),
				self.counterparty_item(3, client, email="not-an-address"),
				self.counterparty_item(4, "CL-NO-SUCH"),
				self.counterparty_item(5, client, debt=10),
				self.counterparty_item(6, client, counterparty_type="Partnership"),
				{"external_id": self.ext("CP", 7), "inn": factories.valid_inn()},
				self.counterparty_item(
					8, client, counterparty_type="Sole Proprietor", inn=factories.valid_inn("individual")
				),
				self.counterparty_item(9, client),
			],
		)
		statuses = [row["status"] for row in answer["items"]]
		self.assertEqual(statuses, ["error"] * 8 + ["created"], answer)
		for row, word in zip(
			answer["items"],
			["INN", "12", "not-an-address", "CL-NO-SUCH", "debt", "Partnership", "full_name", "KPP"],
			strict=False,
		):
			self.assertIn(word, row["error"])
		created = self.counterparty(9)
		self.assertEqual(created.client, client)
		self.assertEqual(
			{
				(p.kind, p.value)
				for p in frappe.get_all(
					"CRM Contact Point", filters={"reference_name": created.name}, fields=["kind", "value"]
				)
			},
			{("INN", created.inn)},
		)

	def test_a_counterparty_entered_in_the_crm_is_adopted_by_inn_and_kpp(self):
		client = self.make_client()
		manual = factories.make_counterparty(client)
		self.track("CRM Counterparty", manual.name)
		answer = self.ok(
			"counterparties",
			[
				self.counterparty_item(
					1, inn=manual.inn, kpp=manual.kpp, full_name=manual.full_name, director="Иванов И. И."
				)
			],
		)
		self.assertEqual(answer["items"][0]["status"], "updated", answer)
		self.assertEqual(answer["items"][0]["name"], manual.name)
		self.assertIn("matched by INN and KPP", answer["items"][0]["warnings"][0])
		stored = frappe.db.get_value(
			"CRM Counterparty", manual.name, ["external_id", "director", "client"], as_dict=True
		)
		self.assertEqual(
			(stored.external_id, stored.director, stored.client), (self.ext("CP", 1), "Иванов И. И.", client)
		)
		# a branch (same INN, another KPP) is a counterparty of its own
		branch = self.ok(
			"counterparties", [self.counterparty_item(2, inn=manual.inn, kpp=manual.inn[:4] + "02002")]
		)
		self.assertEqual(branch["items"][0]["status"], "created", branch)

	def test_rows_are_what_the_controllers_store(self):
		"""A save of an exchanged record through its controller changes nothing: no value, no history, no
		search row, no duplicate-index row."""
		from frappe.utils.global_search import sync_global_search

		client = self.make_client()
		deal = self.deal(client)
		self.ok(
			"counterparties",
			[
				self.counterparty_item(
					1,
					client,
					phone="+7 912 555-01-01",
					email="Buh@Example.COM",
					legal_address="г. Москва, ул. Ленина, д. 1",
				)
			],
		)
		self.ok(
			"orders",
			[
				self.order_item(1, counterparty=1, deal=deal),
				self.order_item(2, counterparty=9),
				self.order_item(3),
			],
		)
		self.ok("orders", [self.order_item(3, status="Оплачен", amount=5)])  # an update
		frappe.db.rollback()
		for doctype, name in (
			("CRM Counterparty", self.counterparty(1).name),
			("CRM Order", self.order(1).name),
			("CRM Order", self.order(2).name),
			("CRM Order", self.order(3).name),
		):
			before = frappe.db.sql(f"select * from `tab{doctype}` where name = %s", name, as_dict=True)[0]
			versions = frappe.db.count("Version", {"ref_doctype": doctype, "docname": name})
			search = frappe.db.sql(
				"select title, content from `__global_search` where doctype = %s and name = %s",
				(doctype, name),
			)
			points = frappe.db.sql(
				"select kind, value from `tabCRM Contact Point` where reference_doctype = %s and reference_name = %s order by kind, value",
				(doctype, name),
			)
			doc = frappe.get_doc(doctype, name)
			doc.save()
			sync_global_search()
			after = frappe.db.sql(f"select * from `tab{doctype}` where name = %s", name, as_dict=True)[0]
			for column in ("modified", "modified_by"):
				before.pop(column), after.pop(column)
			self.assertEqual(after, before, f"{doctype} {name}")
			self.assertEqual(frappe.db.count("Version", {"ref_doctype": doctype, "docname": name}), versions)
			self.assertEqual(
				frappe.db.sql(
					"select title, content from `__global_search` where doctype = %s and name = %s",
					(doctype, name),
				),
				search,
			)
			self.assertEqual(
				frappe.db.sql(
					"select kind, value from `tabCRM Contact Point` where reference_doctype = %s and reference_name = %s order by kind, value",
					(doctype, name),
				),
				points,
			)
			frappe.db.rollback()
		self.assertEqual(self.order(3).status, "Оплачен")
		self.assertTrue(
			frappe.db.exists("Version", {"ref_doctype": "CRM Order", "docname": self.order(3).name})
		)


class TestExchangeRefusals(ExchangeServer):
	def test_a_user_without_the_integration_role_gets_403_and_nothing_changes(self):
		client = self.make_client()
		self.ok("orders", [self.order_item(1)])
		before = self.state()
		for user in (email("sales1"), email("head_a"), email("director")):
			for method, items in (
				("counterparties", [self.counterparty_item(1, client)]),
				("orders", [self.order_item(1, amount=5), self.order_item(2)]),
				("payments", [{"order_external_id": self.ext("O", 1), "paid_amount": 7}]),
				("changes", None),
			):
				response = self.call(method, items, user=user)
				self.assertEqual(response.status_code, 403, f"{method} as {user}: {response.text[:300]}")
		self.assertEqual(self.state(), before)

	def test_the_integration_user_reads_what_it_exchanges_and_writes_nothing_directly(self):
		client = self.make_client()
		lead = self.track("CRM Lead", factories.make_lead().name)
		self.ok("orders", [self.order_item(1)])
		order = self.order(1).name
		frappe.db.commit()
		self.assertEqual(self.rest_get("CRM Client", client, INTEGRATION_USER).status_code, 200)
		self.assertEqual(self.rest_get("CRM Order", order, INTEGRATION_USER).status_code, 200)
		self.assertEqual(self.rest_get("CRM Lead", lead, INTEGRATION_USER).status_code, 403)
		self.assertEqual(
			self.rest_update("CRM Order", order, {"amount": 1}, INTEGRATION_USER).status_code, 403
		)
		r = self.rest_insert("CRM Client", {"client_name": "Не надо"}, INTEGRATION_USER)
		self.assertEqual(r.status_code, 403, r.text)

	def test_a_malformed_batch_is_refused_whole_and_writes_nothing(self):
		before = self.state()
		good = self.order_item(1)
		cases = [
			("not a list", json.dumps({"items": {"external_id": "x"}}), (417,)),
			("empty", json.dumps({"items": []}), (400,)),
			("no items", json.dumps({}), (400,)),
			("an item not an object", json.dumps({"items": [good, "x"]}), (400,)),
			("too many", json.dumps({"items": [good] * 1001}), (400,)),
			("a JSON list", json.dumps([good]), (400,)),
		]
		for label, body, statuses in cases:
			response = self.call("orders", body=body)
			self.assertIn(response.status_code, statuses, f"{label}: {response.text[:300]}")
		self.assertEqual(self.state(), before)
		logged = frappe.get_all(
			LOG, filters={"channel": "Accounting", "creation": (">=", self.started)}, pluck="status"
		)
		self.assertTrue(logged and set(logged) == {"Rejected"}, logged)

	def test_a_switched_off_exchange_answers_403(self):
		before = set_settings(accounting_enabled=0)
		try:
			response = self.call("orders", [self.order_item(1)])
			self.assertEqual(response.status_code, 403, response.text)
			self.assertIsNone(self.order(1))
		finally:
			set_settings(**before)


class TestChangeJournal(ExchangeServer):
	def page(self, cursor=None, limit=None, status=200) -> dict:
		params = {k: v for k, v in (("cursor", cursor), ("limit", limit)) if v is not None}
		response = self.call("changes", params=params)
		self.assertEqual(response.status_code, status, response.text[:500])
		return response.json().get("message")

	def test_pages_in_a_stable_order_skip_nothing_when_records_share_a_timestamp(self):
		clients = [self.make_client() for _ in range(3)]
		counterparties = [
			self.track("CRM Counterparty", factories.make_counterparty(clients[0]).name) for _ in range(2)
		]
		moment = add_to_date(now_datetime(), hours=-1).replace(microsecond=123456)
		later = moment + timedelta(seconds=1)
		for doctype, names, when in (
			("CRM Client", clients[:2], moment),
			("CRM Counterparty", counterparties, moment),
			("CRM Client", clients[2:], later),
		):
			frappe.db.sql(f"update `tab{doctype}` set modified = %s where name in %s", (when, names))
		frappe.db.commit()
		expected = sorted(
			[("CRM Client", n, moment) for n in clients[:2]]
			+ [("CRM Counterparty", n, moment) for n in counterparties]
			+ [("CRM Client", clients[2], later)],
			key=lambda r: (r[2], r[0], r[1]),
		)
		cursor = journal.encode(moment - timedelta(microseconds=1), "CRM Client", "")
		seen = []
		for _ in range(10):
			answer = self.page(cursor, limit=2)
			seen += [
				(c["doctype"], c["name"], get_datetime(c["modified"]))
				for c in answer["changes"]
				if get_datetime(c["modified"]) <= later
			]
			cursor = answer["cursor"]
			if not answer["changes"] or get_datetime(answer["changes"][-1]["modified"]) > later:
				break
		mine = [row for row in seen if row[1] in clients + counterparties]
		self.assertEqual(mine, expected)
		self.assertEqual(len(seen), len(set(seen)))
		# the counterparty's entry carries what accounting needs
		entry = next(
			c
			for c in self.page(journal.encode(moment - timedelta(microseconds=1), "CRM Client", ""), 10)[
				"changes"
			]
			if c["name"] == counterparties[0]
		)
		self.assertEqual(entry["data"]["client"], clients[0])
		self.assertEqual(len(entry["data"]["inn"]), 10)

	def test_a_change_comes_again_and_young_changes_wait(self):
		client = self.make_client()
		frappe.db.commit()
		latest = self.page()
		while latest["more"]:
			latest = self.page(latest["cursor"])
		cursor = latest["cursor"]
		frappe.db.set_value("CRM Client", client, "website", "https://example.com")
		frappe.db.commit()
		names = [c["name"] for c in self.page(cursor)["changes"]]
		self.assertIn(client, names)
		before = set_settings(accounting_changes_delay=600)
		try:
			frappe.db.set_value("CRM Client", client, "website", "https://example.org")
			frappe.db.commit()
			answer = self.page(cursor)
			self.assertNotIn(client, [c["name"] for c in answer["changes"]])
		finally:
			set_settings(**before)
		self.assertEqual(self.page(cursor + "x", status=400), None)
		self.assertEqual(self.page("bm90IGEgY3Vyc29y", status=400), None)
		self.page(limit=0, status=400)


class Receiver:
	"""Accounting's webhook endpoint on 127.0.0.1: answers each POST with the next status of `statuses`."""

	def __init__(self, statuses: list[int]):
		self.statuses = list(statuses)
		self.requests: list[dict] = []
		owner = self

		class Handler(BaseHTTPRequestHandler):
			def do_POST(self):
				body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
				owner.requests.append({"headers": dict(self.headers), "body": body})
				status = owner.statuses.pop(0) if owner.statuses else 200
				self.send_response(status)
				self.send_header("Content-Length", "2")
				self.end_headers()
				self.wfile.write(b"ok")

			def log_message(self, *args):
				pass

		self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
		self.url = f"http://127.0.0.1:{self.server.server_port}/crm/converted"
		threading.Thread(target=self.server.serve_forever, daemon=True).start()

	def close(self):
		self.server.shutdown()
		self.server.server_close()


class TestConvertedLeadWebhook(CRMTestCase):
	def setUp(self):
		super().setUp()
		self.receiver = Receiver([500, 200])
		self.before = set_settings(
			accounting_enabled=1,
			accounting_webhook_url=self.receiver.url,
			accounting_webhook_secret=SECRET,
			accounting_webhook_attempts=3,
			accounting_webhook_retry_minutes=1,
		)
		self.made: list[tuple[str, str]] = []

	def tearDown(self):
		self.receiver.close()
		frappe.db.rollback()
		for doctype, name in self.made:
			for task in frappe.get_all("CRM Task", filters={"reference_name": name}, pluck="name"):
				frappe.delete_doc("CRM Task", task, force=True, ignore_permissions=True)
			if not name or not frappe.db.exists(doctype, name):
				continue
			if doctype == "CRM Lead":
				# a converted lead is never deleted through its controller: its rows go directly
				for table, column in (
					("CRM Contact Point", "reference_name"),
					("Version", "docname"),
					("Comment", "reference_name"),
				):
					frappe.db.delete(table, {column: name})
				frappe.db.delete("CRM Lead", name)
			else:
				frappe.delete_doc(doctype, name, force=True, ignore_permissions=True)
		frappe.db.sql(
			"delete from `tabCRM Integration Log` where channel = 'Accounting' and event_id like %s",
			"lead_converted:%",
		)
		frappe.db.commit()
		doc = frappe.get_single(SETTINGS)
		doc.update({**self.before, "accounting_webhook_url": None})
		doc.save()
		frappe.db.commit()
		super().tearDown()

	def convert(self) -> frappe._dict:
		from simple_crm.conversion import convert_lead

		# a number and an address no earlier run left behind: the conversion must make a new client
		phone = f"+7 916 {random.SystemRandom().randrange(10**7):07d}"
		lead = factories.make_lead(
			company_name="ООО Новый клиент " + frappe.generate_hash(length=5),
			phone=phone,
			email=factories.unique_email("converted"),
		)
		result = convert_lead(lead.name)
		# deleted in this order, the records pointing at others first
		self.made += [("CRM Lead", lead.name), ("Contact", result.contact), ("CRM Deal", result.deal)]
		self.made.append(("CRM Client", result.client))
		frappe.db.commit()
		return result

	def log_of(self, lead: str) -> frappe._dict:
		return frappe.db.get_value(LOG, {"event_id": webhook.event_id(lead)}, "*", as_dict=True)

	def test_a_failure_then_a_retry_then_success_signed(self):
		result = self.convert()
		log = self.log_of(result.lead)
		self.assertEqual(
			(log.status, log.direction, log.reference_name), ("Queued", "Outbound", result.client)
		)
		webhook.send_first(log.name)
		log = self.log_of(result.lead)
		self.assertEqual((log.status, log.attempts), ("Queued", 1))
		self.assertIn("HTTP 500", log.error)
		self.assertGreater(log.next_attempt_on, now_datetime())
		webhook.send_due()  # not due yet
		self.assertEqual(len(self.receiver.requests), 1)
		frappe.db.set_value(LOG, log.name, "next_attempt_on", add_to_date(now_datetime(), minutes=-1))
		frappe.db.commit()
		webhook.send_due()
		log = self.log_of(result.lead)
		self.assertEqual((log.status, log.attempts, log.error), ("Sent", 2, None))
		self.assertEqual(len(self.receiver.requests), 2)
		for request in self.receiver.requests:
			expected = hmac.new(SECRET.encode(), request["body"], hashlib.sha256).hexdigest()
			self.assertEqual(request["headers"]["X-CRM-Signature"], f"sha256={expected}")
			self.assertEqual(request["headers"]["X-CRM-Delivery"], log.name)
			self.assertEqual(request["headers"]["X-CRM-Event"], "lead_converted")
		self.assertEqual(self.receiver.requests[0]["body"], self.receiver.requests[1]["body"])
		body = json.loads(self.receiver.requests[0]["body"])
		self.assertEqual(body["event_id"], f"lead_converted:{result.lead}")
		self.assertEqual(body["client"]["name"], result.client)
		self.assertTrue(body["client"]["new"])
		self.assertEqual(body["contact"]["name"], result.contact)
		self.assertEqual(body["deal"], result.deal)
		# nothing more to send, and the lead is announced once
		webhook.send_due()
		self.assertEqual(len(self.receiver.requests), 2)
		self.assertIsNone(webhook.queue(frappe.get_doc("CRM Lead", result.lead)))

	def test_after_the_last_attempt_the_notification_fails(self):
		self.receiver.statuses = [503, 503, 503]
		result = self.convert()
		name = self.log_of(result.lead).name
		webhook.send_first(name)
		for _ in range(2):
			frappe.db.set_value(LOG, name, "next_attempt_on", add_to_date(now_datetime(), minutes=-1))
			frappe.db.commit()
			webhook.send_due()
		log = self.log_of(result.lead)
		self.assertEqual((log.status, log.attempts), ("Failed", 3))
		self.assertEqual(len(self.receiver.requests), 3)

	def test_an_unreachable_address_is_a_failed_attempt(self):
		port = free_port()
		set_settings(accounting_webhook_url=f"http://127.0.0.1:{port}/nobody")
		result = self.convert()
		name = self.log_of(result.lead).name
		self.assertEqual(webhook.send_first(name).count("to retry"), 1)
		log = self.log_of(result.lead)
		self.assertEqual((log.status, log.attempts), ("Queued", 1))
		self.assertIn("ConnectionError", log.error)

	def test_no_notification_while_the_exchange_is_off(self):
		set_settings(accounting_enabled=0)
		result = self.convert()
		self.assertIsNone(self.log_of(result.lead))

	def test_the_settings_refuse_a_bad_address_or_numbers(self):
		for values in (
			{"accounting_webhook_url": "ftp://example.com/x"},
			{"accounting_webhook_url": "https://example.com/x", "accounting_webhook_secret": ""},
			{"accounting_batch_limit": 0},
			{"accounting_changes_delay": -1},
			{"accounting_webhook_attempts": 50},
		):
			doc = frappe.get_single(SETTINGS)
			doc.update(values)
			with self.assertRaises(frappe.ValidationError, msg=str(values)):
				doc.save()
			frappe.db.rollback()


class TestFiguresFollowTheDesk(CRMTestCase):
	"""Orders and counterparties changed by people (through their controllers) keep the figures true."""

	def figures(self, doctype: str, name: str) -> tuple:
		row = frappe.db.get_value(doctype, name, ["turnover", "debt"])
		return float(row[0]), float(row[1])

	def test_orders_and_counterparties_saved_in_the_desk(self):
		client = factories.make_client()
		counterparty = factories.make_counterparty(client.name)
		first = factories.make_order(
			client=client.name, counterparty=counterparty.name, amount=1000, paid_amount=300
		)
		factories.make_order(client=client.name, amount=500)
		self.assertEqual(self.figures("CRM Counterparty", counterparty.name), (1000.0, 700.0))
		self.assertEqual(self.figures("CRM Client", client.name), (1500.0, 1200.0))
		first.paid_amount = 1000
		first.save()
		self.assertEqual(self.figures("CRM Client", client.name), (1500.0, 500.0))
		# debt and turnover typed in by an administrator are accounting's figures from then on
		counterparty.reload()
		counterparty.debt, counterparty.turnover = 50, 7000
		counterparty.save()
		self.assertTrue(frappe.db.get_value("CRM Counterparty", counterparty.name, "accounting_synced_on"))
		self.assertEqual(self.figures("CRM Client", client.name), (7500.0, 550.0))
		first.delete()
		self.assertEqual(self.figures("CRM Counterparty", counterparty.name), (7000.0, 50.0))
		self.assertEqual(self.figures("CRM Client", client.name), (7500.0, 550.0))
		# a counterparty moved to another client takes its figures along
		other = factories.make_client()
		counterparty.reload()
		counterparty.client = other.name
		counterparty.save()
		self.assertEqual(self.figures("CRM Client", client.name), (500.0, 500.0))
		self.assertEqual(self.figures("CRM Client", other.name), (7000.0, 50.0))


class TestUniqueCounterpartyIdPatch(CRMTestCase):
	"""The patch that makes a counterparty's accounting ID unique on a site that had twins."""

	def test_twins_lose_the_id_but_the_oldest(self):
		from simple_crm.patches.v1_0 import unique_counterparty_external_id as patch

		table = "tabCRM Counterparty"
		external_id = "PATCH-" + frappe.generate_hash(length=6)
		names = []
		try:
			# the site before the patch: the old non-unique index under the name Frappe gives the unique one
			frappe.db.sql_ddl(f"alter table `{table}` drop index `external_id`")
			frappe.db.sql_ddl(f"alter table `{table}` add index `external_id` (`external_id`)")
			for _ in range(3):
				doc = factories.make_counterparty()
				names.append(doc.name)
				frappe.db.set_value("CRM Counterparty", doc.name, "external_id", external_id)
			blank = factories.make_counterparty()
			names.append(blank.name)
			frappe.db.sql(f"update `{table}` set external_id = ' ' where name = %s", blank.name)
			frappe.db.commit()
			patch.execute()
			frappe.db.updatedb("CRM Counterparty")
			index = frappe.db.get_column_index(table, "external_id", unique=True)
			self.assertTrue(index, "the unique index was not made")
			kept = frappe.get_all("CRM Counterparty", filters={"external_id": external_id}, pluck="name")
			self.assertEqual(kept, [names[0]])
			self.assertIsNone(frappe.db.get_value("CRM Counterparty", blank.name, "external_id"))
			for name in names[1:3]:
				self.assertTrue(
					frappe.db.exists(
						"Comment", {"reference_name": name, "content": ("like", f"%{external_id}%")}
					)
				)
		finally:
			frappe.db.rollback()
			if not frappe.db.get_column_index(table, "external_id", unique=True):
				frappe.db.sql(f"update `{table}` set external_id = null where name in %s", (names or [""],))
				index = frappe.db.get_column_index(table, "external_id", unique=False)
				if index:
					frappe.db.sql_ddl(f"alter table `{table}` drop index `{index.Key_name}`")
				frappe.db.updatedb("CRM Counterparty")
			for name in names:
				frappe.db.delete("Comment", {"reference_doctype": "CRM Counterparty", "reference_name": name})
				if frappe.db.exists("CRM Counterparty", name):
					frappe.delete_doc("CRM Counterparty", name, force=True, ignore_permissions=True)
			frappe.db.commit()
