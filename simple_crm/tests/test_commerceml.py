"""1C's standard exchange (CommerceML 2 over HTTP) against the site served by gunicorn on loopback, called as
1C calls it: HTTP Basic on checkauth, then the session cookie, the files as raw request bodies.

The sample files in tests/commerceml/ are hand-written after the format's public description: an orders file
in windows-1251 (a counterparty with INN, KPP, address and contacts; an order naming its CRM deal through the
requisite "Сделка CRM", paid according to "Дата оплаты по 1С"; a payment document the CRM skips), an orders
file in UTF-8 with 1C's namespace (a sole proprietor, a paid amount as "1 500,00", an order naming a
counterparty only by its short name) and a zip holding a counterparties file.

What is proven here:
- a full session (checkauth, init, file in two parts, import, query, success) writes the counterparties and
  orders with their deal, client and paid amounts; sending the same files again in a new session changes
  nothing (no record, no Last Updated);
- query lists the counterparties and clients made in the CRM without an ID of accounting's (not those from
  1C); after success they are not listed again, without success they are;
- bad credentials, a sales manager's key, no session, malformed XML, a wrong encoding, a document type
  declaration, a zip climbing out of itself, a bad INN: "failure" and the reason, and nothing written.
"""

import base64
import io
import os
import zipfile
from xml.etree import ElementTree

import frappe
import requests

from simple_crm.benchmarks.suite import gunicorn
from simple_crm.integrations.commerceml import protocol
from simple_crm.tests import factories
from simple_crm.tests.utils import CRMRestTestCase

SETTINGS = "Simple CRM Settings"
USER = "commerceml.1c@example.com"
MANAGER = "commerceml.manager@example.com"
SAMPLES = os.path.join(os.path.dirname(__file__), "commerceml")
PREFIX = "cml-test-"
SERVER: dict = {}


def sample(name: str) -> bytes:
	with open(os.path.join(SAMPLES, name), "rb") as handle:
		return handle.read()


def setUpModule():
	server = gunicorn(frappe.local.site)
	SERVER["port"] = server.__enter__()
	SERVER["server"] = server


def tearDownModule():
	SERVER.pop("server").__exit__(None, None, None)


def remove_exchanged() -> None:
	for doctype in ("CRM Order", "CRM Counterparty"):
		names = frappe.get_all(doctype, filters={"external_id": ("like", f"{PREFIX}%")}, pluck="name")
		if doctype == "CRM Order":
			names += frappe.get_all(
				doctype, filters={"counterparty_external_id": ("like", f"{PREFIX}%")}, pluck="name"
			)
		if not names:
			continue
		for table, field in (
			("tabVersion", "docname"),
			("__global_search", "name"),
			("tabCRM Contact Point", "reference_name"),
		):
			kind = "ref_doctype" if table == "tabVersion" else "doctype"
			if table == "tabCRM Contact Point":
				kind = "reference_doctype"
			frappe.db.sql(f"delete from `{table}` where {kind} = %s and {field} in %s", (doctype, names))
		frappe.db.sql(f"delete from `tab{doctype}` where name in %s", (names,))


class TestCommerceML(CRMRestTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		frappe.set_user("Administrator")
		factories.make_user(USER, roles=("CRM Integration",), first_name="1C")
		factories.make_user(MANAGER, roles=("CRM Sales Manager",), first_name="Manager")
		doc = frappe.get_single(SETTINGS)
		cls.enabled_before = doc.accounting_enabled
		doc.accounting_enabled = 1
		doc.save()
		frappe.db.commit()
		cls.url = f"http://127.0.0.1:{SERVER['port']}{protocol.PATH}"
		cls.site = frappe.local.site

	@classmethod
	def tearDownClass(cls):
		frappe.db.rollback()
		frappe.set_user("Administrator")
		doc = frappe.get_single(SETTINGS)
		doc.accounting_enabled = cls.enabled_before
		doc.save()
		frappe.db.commit()
		super().tearDownClass()

	def setUp(self):
		super().setUp()
		frappe.cache.delete_value("crm_commerceml_failures:127.0.0.1")
		self.client_name = self.track("CRM Client", factories.make_client().name)
		self.deal = self.track("CRM Deal", factories.make_deal(self.client_name).name)
		frappe.db.commit()

	def tearDown(self):
		frappe.db.rollback()
		remove_exchanged()
		frappe.db.sql(
			"delete from `tabCRM Automation Mark` where job = 'commerceml_delivered' and reference_name in %s",
			([name for _doctype, name in self._cleanup] or [""],),
		)
		frappe.db.commit()
		super().tearDown()

	# --- the protocol's calls

	def basic(self, user: str = USER, secret: str | None = None) -> str:
		key, real = self.token_for(user).split(" ", 1)[1].split(":", 1)
		return "Basic " + base64.b64encode(f"{key}:{secret or real}".encode()).decode()

	def call(self, mode: str, cookie: str | None = None, body: bytes | None = None, filename=None, auth=None):
		frappe.db.commit()
		headers = {"Host": self.site}
		if auth:
			headers["Authorization"] = auth
		if cookie:
			headers["Cookie"] = cookie
		params = {"type": "sale", "mode": mode}
		if filename:
			params["filename"] = filename
		if body is None:
			response = requests.get(self.url, params=params, headers=headers, timeout=120)
		else:
			response = requests.post(self.url, params=params, data=body, headers=headers, timeout=120)
		self.assertEqual(response.status_code, 200, response.text[:500])
		return response.content.decode("utf-8")

	def ok(self, mode: str, cookie: str, **kwargs) -> str:
		text = self.call(mode, cookie, **kwargs)
		self.assertFalse(text.startswith("failure"), text)
		return text

	def failure(self, mode: str, cookie: str | None = None, contains: str | None = None, **kwargs) -> str:
		text = self.call(mode, cookie, **kwargs)
		lines = text.split("\n")
		self.assertEqual(lines[0], "failure", text)
		self.assertTrue(len(lines) > 1 and lines[1].strip(), text)
		if contains:
			self.assertIn(contains, lines[1])
		return lines[1]

	def login(self) -> str:
		lines = self.call("checkauth", auth=self.basic()).split("\n")
		self.assertEqual(lines[0], "success", lines)
		self.assertEqual(lines[1], protocol.COOKIE)
		self.assertGreaterEqual(len(lines[2]), 32)
		return f"{lines[1]}={lines[2]}"

	def send(self, cookie: str, name: str, data: bytes, parts: int = 1) -> None:
		size = -(-len(data) // parts)
		for start in range(0, len(data), size):
			self.assertEqual(
				self.ok("file", cookie, filename=name, body=data[start : start + size]), "success"
			)
		self.assertEqual(self.ok("import", cookie, filename=name), "success")

	def orders_cp1251(self) -> bytes:
		return sample("orders_cp1251.xml").replace(b"@DEAL@", self.deal.encode())

	def exchanged(self) -> dict:
		"""Every record of the samples with every column."""
		frappe.db.rollback()
		return {
			doctype: frappe.db.sql(
				f"select * from `tab{doctype}` where external_id like %s order by external_id",
				f"{PREFIX}%",
				as_dict=True,
			)
			for doctype in ("CRM Counterparty", "CRM Order")
		}

	def counts(self) -> tuple:
		frappe.db.rollback()
		return tuple(frappe.db.count(d) for d in ("CRM Counterparty", "CRM Order", "CRM Client", "Version"))

	def full_session(self) -> None:
		cookie = self.login()
		self.assertEqual(self.ok("init", cookie), f"zip=yes\nfile_limit={protocol.FILE_LIMIT}")
		self.send(cookie, "orders-1.xml", self.orders_cp1251(), parts=2)
		self.send(cookie, "orders-2.xml", sample("orders_utf8.xml"))
		self.send(cookie, "counterparties.zip", sample("counterparties.zip"), parts=3)
		root = ElementTree.fromstring(self.ok("query", cookie).encode())
		self.assertEqual(root.tag, "КоммерческаяИнформация")
		self.assertEqual(self.ok("success", cookie), "success")

	# --- the tests

	def test_a_full_session_and_the_same_files_again(self):
		self.full_session()
		state = self.exchanged()
		counterparties = {r.external_id: r for r in state["CRM Counterparty"]}
		orders = {r.external_id: r for r in state["CRM Order"]}
		self.assertEqual(sorted(counterparties), [f"{PREFIX}cp-1", f"{PREFIX}cp-2", f"{PREFIX}cp-3"])
		romashka = counterparties[f"{PREFIX}cp-1"]
		self.assertEqual(romashka.full_name, "Общество с ограниченной ответственностью «Ромашка»")
		self.assertEqual(romashka.short_name, "ООО «Ромашка»")
		self.assertEqual((romashka.inn, romashka.kpp), ("7708123450", "770801001"))
		self.assertEqual(romashka.phone_normalized, "+74951234567")
		self.assertEqual(romashka.email, "zakaz@romashka-test.ru")
		self.assertEqual(romashka.legal_address, "107140, Москва, ул. Краснопрудная, д. 12")
		self.assertEqual(romashka.counterparty_type, "Legal Entity")
		sidorov = counterparties[f"{PREFIX}cp-2"]
		self.assertEqual((sidorov.inn, sidorov.counterparty_type), ("500123456750", "Sole Proprietor"))
		self.assertEqual(counterparties[f"{PREFIX}cp-3"].full_name, "Акционерное общество «Сибирский лён»")
		self.assertFalse(frappe.db.exists("CRM Counterparty", {"external_id": f"{PREFIX}seller"}))
		first = orders[f"{PREFIX}order-1"]
		self.assertEqual((first.order_number, str(first.order_date)), ("УТ-000101", "2026-11-20"))
		self.assertEqual(
			(first.deal, first.client, first.counterparty), (self.deal, self.client_name, romashka.name)
		)
		self.assertEqual((float(first.amount), float(first.paid_amount)), (125000.5, 125000.5))
		self.assertEqual((first.status, first.currency), ("Отгружен", "RUB"))
		second = orders[f"{PREFIX}order-2"]
		self.assertEqual(
			(float(second.amount), float(second.paid_amount), second.status), (4800, 1500, "В работе")
		)
		self.assertEqual(second.counterparty, sidorov.name)
		self.assertEqual(orders[f"{PREFIX}order-3"].counterparty, romashka.name)
		self.assertFalse(frappe.db.exists("CRM Order", {"external_id": f"{PREFIX}payment-1"}))
		# the accounting exchange linked the counterparty to the deal's client through the order
		before, counts = state, self.counts()
		self.full_session()
		self.assertEqual(self.exchanged(), before)
		self.assertEqual(self.counts(), counts)

	def test_query_lists_the_crms_new_records_until_1c_confirms(self):
		counterparty = self.track(
			"CRM Counterparty",
			factories.make_counterparty(self.client_name, inn="6623015870", kpp="662301001").name,
		)
		person = self.track("CRM Client", factories.make_client(client_type="Individual").name)
		frappe.db.commit()
		cookie = self.login()
		self.send(cookie, "orders-1.xml", self.orders_cp1251())
		listed = self.listed(self.ok("query", cookie))
		self.assertIn(counterparty, listed)
		self.assertIn(person, listed)
		self.assertEqual(listed[counterparty]["ИНН"], "6623015870")
		self.assertNotIn(f"{PREFIX}cp-1", listed)
		# the client with a counterparty goes as its counterparty, not twice
		self.assertNotIn(self.client_name, listed)
		# no success: the next session lists them again
		cookie = self.login()
		listed = self.listed(self.ok("query", cookie))
		self.assertIn(counterparty, listed)
		self.assertEqual(self.ok("success", cookie), "success")
		cookie = self.login()
		listed = self.listed(self.ok("query", cookie))
		self.assertNotIn(counterparty, listed)
		self.assertNotIn(person, listed)
		# the session ended with success: its cookie is no longer taken
		self.failure("query", "{}={}".format(*cookie.split("=", 1)) + "x", contains="")

	def listed(self, xml: str) -> dict:
		root = ElementTree.fromstring(xml.encode())
		out = {}
		for element in root.iter("Контрагент"):
			out[element.findtext("Ид")] = {child.tag: (child.text or "").strip() for child in element}
		return out

	def test_refusals_answer_failure_and_write_nothing(self):
		before = self.counts()
		self.failure("checkauth", auth=self.basic(secret="wrong-secret"), contains="API")
		self.failure("checkauth", contains="HTTP Basic")
		self.failure("checkauth", auth="Basic !!!")
		self.failure("checkauth", auth=self.basic(MANAGER), contains="CRM Integration")
		self.failure("init")
		self.failure("file", "crm_1c_session=made-up", filename="a.xml", body=b"<x/>", contains="checkauth")
		self.failure("import", filename="orders-1.xml")
		cookie = self.login()
		self.failure("file", cookie, filename="../../site_config.json", body=b"{}")
		self.failure("import", cookie, filename="never-sent.xml")
		bad = {
			"broken.xml": (b'<?xml version="1.0" encoding="UTF-8"?><\xd0\x9a><a></b></\xd0\x9a>', "XML"),
			"utf8-as-1251.xml": (
				sample("orders_utf8.xml").replace(b'encoding="UTF-8"', b'encoding="windows-1251"'),
				"UTF-8",
			),
			"1251-as-utf8.xml": (
				self.orders_cp1251().replace(b'encoding="windows-1251"', b'encoding="UTF-8"'),
				"UTF-8",
			),
			"koi8.xml": (b'<?xml version="1.0" encoding="KOI8-R"?><a/>', "koi8-r"),
			"entities.xml": (
				b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
				+ "<КоммерческаяИнформация>&e;</КоммерческаяИнформация>".encode(),
				"",
			),
			"bad-inn.xml": (self.orders_cp1251().replace(b"7708123450", b"7708123451"), "cml-test-cp-1"),
			"unknown-deal.xml": (sample("orders_cp1251.xml"), "@DEAL@"),
			"escape.zip": (self.zipped("../evil.xml", sample("orders_utf8.xml")), "evil"),
			"not-a-zip.zip": (b"PK\x03\x04 not really", "zip"),
		}
		# files that read as whole documents are imported as they arrive: their refusal is the upload's answer
		whole = {"bad-inn.xml", "unknown-deal.xml"}
		for name, (data, reason) in bad.items():
			with self.subTest(name):
				if name in whole:
					self.failure("file", cookie, filename=name, body=data, contains=reason)
					self.failure("import", cookie, filename=name, contains=name)
					continue
				self.assertEqual(self.ok("file", cookie, filename=name, body=data), "success")
				self.failure("import", cookie, filename=name, contains=reason)
		self.assertEqual(self.counts(), before)
		self.assertEqual(self.exchanged(), {"CRM Counterparty": [], "CRM Order": []})
		# the session survives its refusals
		self.send(cookie, "orders-2.xml", sample("orders_utf8.xml"))
		self.assertEqual(len(self.exchanged()["CRM Order"]), 2)

	def test_orders_sent_without_an_import_call(self):
		"""The orders exchange of a stock 1C: checkauth, init, the file (here in two parts), query, success;
		the file is imported when its last part arrives."""
		cookie = self.login()
		self.ok("init", cookie)
		data = sample("orders_utf8.xml")
		half = len(data) // 2
		self.assertEqual(self.ok("file", cookie, filename="orders.xml", body=data[:half]), "success")
		self.assertEqual(self.exchanged()["CRM Order"], [], "half a file is not imported")
		self.assertEqual(self.ok("file", cookie, filename="orders.xml", body=data[half:]), "success")
		self.assertEqual(len(self.exchanged()["CRM Order"]), 2)
		# an import call after it changes nothing
		before = self.exchanged()
		self.assertEqual(self.ok("import", cookie, filename="orders.xml"), "success")
		self.assertEqual(self.exchanged(), before)
		self.ok("query", cookie)
		self.assertEqual(self.ok("success", cookie), "success")

	def test_the_exchange_switched_off_refuses_checkauth(self):
		frappe.db.set_single_value(SETTINGS, "accounting_enabled", 0)
		try:
			self.failure("checkauth", auth=self.basic(), contains="")
		finally:
			frappe.db.set_single_value(SETTINGS, "accounting_enabled", 1)
			frappe.db.commit()

	@staticmethod
	def zipped(name: str, data: bytes) -> bytes:
		buffer = io.BytesIO()
		with zipfile.ZipFile(buffer, "w") as archive:
			archive.writestr(name, data)
		return buffer.getvalue()
