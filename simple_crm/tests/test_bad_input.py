"""Bad input answers a 4xx with a message naming the field, and writes nothing (simple_crm.security.input).

A table of bad values per CRM doctype, sent over REST as a real sales manager (and as a CRM administrator
for what only administrators write): impossible dates, NaN, infinities and numbers beyond the column,
text longer than its column (also once its HTML is escaped), objects where a value belongs, child tables
that are not lists of rows, request bodies that are not JSON objects or not JSON at all; and the same for
the app's own endpoint `simple_crm.api.lead.convert`. Every case must answer 400-499 (never 500) with a
message, and leave the database as it was: the row counts of the doctype and its child tables, and the
`modified` of the record a PUT aims at. One set of records serves every case.
"""

import json

import frappe
from frappe.tests.test_api import make_request

from simple_crm.tests import factories, sales_org
from simple_crm.tests.sales_org import SalesOrgRestTestCase, email
from simple_crm.tests.utils import RestResponse

TOO_LONG = "x" * 141  # Data, Link and Select fields are varchar(140)
ESCAPED_TOO_LONG = "<x>" * 46  # 138 characters; 414 once Frappe has escaped its HTML
TOO_BIG = 1e13  # Currency, Float, Percent and Duration are decimal(21,9): below 10^12
BAD_BODIES = ("{bad json", "[1, 2]", '"x"', "[]")
ITEM = {"item_name": "Поставка", "qty": 1, "rate": 100}

# doctype: [(method, body, a text the message must contain: the field's label)]; POST creates a record,
# PUT changes the test's record of the doctype; a body given as text is sent as it is
CASES = {
	"CRM Lead": [
		("POST", {"lead_name": "Иван", "received_on": "2026-02-30 10:00"}, "Received On"),
		("PUT", {"received_on": "2026-13-01 10:00:00"}, "Received On"),
		("PUT", {"received_on": "2026-02-03 25:00"}, "Received On"),
		("PUT", {"received_on": "garbage"}, "Received On"),
		("PUT", {"received_on": "2026-02-03T10:00:00Z"}, "Received On"),
		("POST", {"lead_name": "Иван", "company_name": TOO_LONG}, "Company Name"),
		("PUT", {"lead_name": TOO_LONG}, "Person Name"),
		("PUT", {"company_name": ESCAPED_TOO_LONG}, "Company Name"),
		("PUT", {"channel": TOO_LONG}, "Channel"),
		("PUT", {"source": TOO_LONG}, "Source"),
		("PUT", {"interest": "я" * 40_000}, "Interested In"),  # 80,000 bytes in a Small Text
		("PUT", {"lead_name": {"a": 1}}, "Person Name"),
		("POST", {"lead_name": "Иван", "received_on": {"a": 1}}, "Received On"),
		("POST", {"lead_name": "Иван", "idx": "abc"}, "Index"),
	],
	"CRM Deal": [
		("POST", {"deal_name": "Поставка", "amount": "NaN"}, "Amount"),
		("POST", {"deal_name": "Поставка", "amount": "Infinity"}, "Amount"),
		("PUT", {"amount": "1e309"}, "Amount"),
		("PUT", '{"amount": NaN}', "Amount"),
		("PUT", '{"amount": 1e309}', "Amount"),
		("PUT", '{"amount": -Infinity}', "Amount"),
		("PUT", {"amount": TOO_BIG}, "Amount"),
		("PUT", {"amount": -TOO_BIG}, "Amount"),
		("PUT", {"probability": TOO_BIG}, "Probability"),
		("PUT", {"amount": "abc"}, "Amount"),
		("PUT", {"expected_close_date": "2026-02-30"}, "Expected Close Date"),
		("PUT", {"expected_close_date": "0000-00-00"}, "Expected Close Date"),
		("PUT", {"expected_close_date": "10000-01-01"}, "Expected Close Date"),
		("PUT", {"deal_name": TOO_LONG}, "Deal"),
		("PUT", {"items": [{**ITEM, "qty": "NaN"}]}, "Items</strong>, row 1: <strong>Quantity"),
		("PUT", {"items": [ITEM, {**ITEM, "rate": TOO_BIG}]}, "Items</strong>, row 2: <strong>Rate"),
		("PUT", {"items": [{**ITEM, "item_name": TOO_LONG}]}, "row 1: <strong>Item Name"),
		("PUT", {"items": [{**ITEM, "uom": {"a": 1}}]}, "row 1"),
		("PUT", {"items": "abc"}, "Items"),
		("PUT", {"items": {"a": 1}}, "Items"),
		("PUT", {"items": [1, 2]}, "Items"),
		("POST", {"deal_name": "Поставка", "items": [{**ITEM, "rate": "NaN"}]}, "row 1: <strong>Rate"),
	],
	"CRM Client": [
		("POST", {"client_name": "ООО Тест", "birthday": "2026-02-30"}, "Birthday"),
		("PUT", {"client_name": TOO_LONG}, "Client Name"),
		("PUT", {"important_dates": [{"date_type": "Other", "date": "2026-02-30"}]}, "row 1: <strong>Date"),
	],
	"CRM Counterparty": [
		("PUT", {"inn": "1" * 13}, "INN"),  # its column is varchar(12)
		("POST", {"full_name": TOO_LONG}, "Full Legal Name"),
		("PUT", {"bank_accounts": [{"bank_name": "Банк", "bik": "0" * 10}]}, "row 1"),
	],
	"CRM Task": [
		("POST", {"subject": "Позвонить", "due_on": "2026-02-30 10:00"}, "Due"),
		("PUT", {"remind_at": "2026-02-03 10:61"}, None),
		("PUT", {"subject": TOO_LONG}, "Subject"),
		("PUT", {"checklist": [{"step": TOO_LONG}]}, "row 1"),
	],
	"CRM Call": [
		("POST", {"phone": "+79161234567", "duration": "NaN"}, "Duration"),
		("PUT", {"duration": TOO_BIG}, "Duration"),
		("PUT", {"started_at": "2026-13-01 10:00"}, "Started At"),
		("PUT", {"topic": TOO_LONG}, "Topic"),
	],
	"Contact": [
		("PUT", {"crm_birthday": "2026-02-30"}, "Birthday"),
		("POST", {"first_name": TOO_LONG}, "First Name"),
		("PUT", {"phone_nos": [{"phone": "9" * 141}]}, "is not a valid phone number"),
		("PUT", {"last_name": {"a": 1}}, "Last Name"),
	],
}
# what only a CRM administrator writes
ADMIN_CASES = {
	"CRM Product": [
		("PUT", {"standard_rate": "NaN"}, "Standard Price"),
		(
			"POST",
			{"product_code": "P-BAD", "product_name": "Товар", "standard_rate": TOO_BIG},
			"Standard Price",
		),
		("POST", {"product_code": TOO_LONG, "product_name": "Товар"}, "Product Code"),
	],
	"CRM Pipeline": [
		("PUT", {"stages": [{"stage_name": "Qualification", "probability": "NaN"}]}, "row 1"),
		("PUT", {"stages": "abc"}, "Stages"),
	],
	"CRM Order": [
		("PUT", {"amount": "Infinity"}, "Amount"),
		("PUT", {"order_date": "2026-02-30"}, "Order Date"),
	],
	"CRM Lead Source": [("POST", {"source_name": TOO_LONG}, "Source")],
	"CRM Client Segment": [("POST", {"segment_name": TOO_LONG}, "Segment")],
	"Simple CRM Settings": [("PUT", {"default_currency": {"a": 1}}, "Currency")],
}


def resource(doctype: str, name: str | None = None) -> str:
	return f"/api/resource/{doctype}" + (f"/{name}" if name else "")


class TestBadInput(SalesOrgRestTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.sales = email("sales1")
		cls.admin = email("crm_admin")
		cls.records = sales_org.make_records(cls.sales)
		deal = frappe.get_doc("CRM Deal", cls.records["CRM Deal"])
		deal.append("items", ITEM)
		deal.save()
		cls.records["CRM Product"] = factories.make_product().name
		cls.records["CRM Pipeline"] = factories.make_pipeline().name
		cls.records["Simple CRM Settings"] = "Simple CRM Settings"
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		frappe.db.rollback()
		frappe.set_user("Administrator")
		sales_org.delete_records(cls.records)
		for doctype in ("CRM Pipeline", "CRM Product"):
			frappe.delete_doc(doctype, cls.records[doctype], force=True, ignore_permissions=True)
		frappe.db.commit()
		super().tearDownClass()

	def test_sales_manager(self):
		for doctype, cases in CASES.items():
			self.assert_refused(doctype, cases + bodies(), self.sales)

	def test_crm_administrator(self):
		for doctype, cases in ADMIN_CASES.items():
			self.assert_refused(doctype, cases, self.admin)

	def test_convert(self):
		lead = self.records["CRM Lead"]
		cases = [
			({"lead": lead, "deal_amount": "NaN"}, "Deal Amount"),
			({"lead": lead, "deal_amount": "abc"}, "Deal Amount"),
			({"lead": lead, "deal_amount": "1e309"}, "Deal Amount"),
			(f'{{"lead": "{lead}", "deal_amount": Infinity}}', "Deal Amount"),
			# reaches the deal, whose Amount is refused, and the whole conversion with it
			({"lead": lead, "deal_amount": TOO_BIG}, "Amount"),
			({"lead": lead, "create_deal": "maybe"}, "Create Deal"),
			({"deal_amount": 10}, "Lead"),
			# an unpaired surrogate (a JSON escape) in a text argument: refused, not a 500 from the database
			({"lead": "\ud800"}, "Lead"),
			*((raw, None) for raw in BAD_BODIES),
		]
		path = "/api/method/simple_crm.api.lead.convert"
		before = self.state("CRM Lead", also=("CRM Client", "Contact", "CRM Deal"))
		for body, names in cases:
			with self.subTest(body=body):
				self.assert_answer(self.send("POST", path, body, self.sales), names)
				self.assertEqual(self.state("CRM Lead", also=("CRM Client", "Contact", "CRM Deal")), before)

	# --- translation and tracebacks -------------------------------------------------------------------

	def test_message_in_the_language_asked_for(self):
		"""A token-authenticated request gets the language it asks for (Frappe sets a user's own language
		for cookie sessions only)."""
		task = {"subject": "Позвонить", "due_on": "2026-02-30 10:00"}
		r = self.send("POST", resource("CRM Task"), task, self.sales, language="ru")
		self.assertEqual(r.status_code, 417)
		self.assertIn("недопустимые дата и время", " ".join(messages_of(r)))
		r = self.send(
			"PUT", resource("CRM Lead", self.records["CRM Lead"]), "[1, 2]", self.sales, language="ru"
		)
		self.assertEqual(r.status_code, 400)
		self.assertIn("Тело запроса", " ".join(messages_of(r)))

	def test_no_traceback_for_a_sales_manager(self):
		"""A refusal never shows a sales manager a traceback (simple_crm.security.refusals); a server error does
		with Frappe's default and does not with the System Settings the setup command gives a site
		(scripts/lib.sh, hide_tracebacks)."""
		with open(frappe.get_app_path("simple_crm", "..", "scripts", "lib.sh")) as f:
			self.assertIn("'allow_error_traceback', 0", f.read())

		refused = ("POST", resource("CRM Task"), {"subject": "Позвонить", "due_on": "2026-02-30 10:00"}, 417)
		# a Frappe endpoint that still fails on a broken argument (should it be fixed, pick another 500)
		failing = ("POST", "/api/method/frappe.client.insert", {"doc": "{bad json"}, 500)
		default = frappe.db.get_single_value("System Settings", "allow_error_traceback")
		try:
			for allowed in (1, 0):
				frappe.db.set_single_value("System Settings", "allow_error_traceback", allowed)
				frappe.db.commit()
				for method, path, body, status in (refused, failing):
					r = self.send(method, path, body, self.sales)
					self.assertEqual(r.status_code, status, r.text)
					shown = "exc" in r.json or "exception" in r.json or "Traceback" in r.text
					self.assertEqual(shown, bool(allowed) and status == 500, r.text)
					self.assertTrue(r.json.get("exc_type"), r.text)
					if status == 417:
						self.assertTrue(messages_of(r), "the refusal keeps its message")
		finally:
			frappe.db.set_single_value("System Settings", "allow_error_traceback", default)
			frappe.db.commit()

	# --- helpers --------------------------------------------------------------------------------------

	def assert_refused(self, doctype: str, cases: list, user: str):
		name = self.records.get(doctype)
		before = self.state(doctype)
		for method, body, names in cases:
			with self.subTest(doctype=doctype, method=method, body=repr(body)[:80]):
				path = resource(doctype, name if method == "PUT" else None)
				self.assert_answer(self.send(method, path, body, user), names)
				self.assertEqual(self.state(doctype), before)

	def assert_answer(self, r: RestResponse, names: str | None):
		"""A 4xx with a message for the user, naming the field when `names` is given."""
		self.assertTrue(400 <= r.status_code < 500, f"{r.status_code}: {r.text[:500]}")
		messages = " ".join(messages_of(r))
		self.assertTrue(messages.strip(), r.text[:500])
		if names:
			self.assertIn(names, messages)

	def send(self, method: str, path: str, body, user: str, language: str | None = None) -> RestResponse:
		"""A request as `user`; a body given as text is sent as it is, as JSON."""
		headers = {"Authorization": self.token_for(user), "Accept": "application/json"}
		if language:
			headers["Accept-Language"] = language
		kwargs = {"headers": headers}
		if isinstance(body, str):
			kwargs.update(data=body, content_type="application/json")
		else:
			kwargs["json"] = body
		r = RestResponse(
			make_request(target=getattr(self.client, method.lower()), args=(path,), kwargs=kwargs)
		)
		created = r.status_code == 200 and isinstance(r.data, dict) and r.data.get("doctype")
		if created and method == "POST" and path.startswith("/api/resource/"):
			self.track(r.data["doctype"], r.data["name"])  # a case that went through leaves nothing behind
		return r

	def state(self, doctype: str, also: tuple = ()) -> dict:
		"""Row counts of the doctype, its child tables and `also`, and the `modified` of the test's record of
		the doctype (a single's values)."""
		frappe.db.rollback()  # a fresh snapshot: the requests commit in their own connections
		meta = frappe.get_meta(doctype)
		if meta.issingle:
			return frappe.db.get_singles_dict(doctype)
		state = {
			dt: frappe.db.count(dt)
			for dt in (doctype, *(df.options for df in meta.get_table_fields()), *also)
		}
		if self.records.get(doctype):
			state["modified"] = frappe.db.get_value(doctype, self.records[doctype], "modified")
		return state


def bodies() -> list:
	"""Bodies that are not a JSON object, or not JSON, to create and to change a record."""
	return [(method, raw, None) for raw in BAD_BODIES for method in ("POST", "PUT")]


def messages_of(r: RestResponse) -> list[str]:
	"""The messages shown to the user (`_server_messages`), whatever the traceback setting."""
	return [json.loads(m).get("message", "") for m in json.loads(r.json.get("_server_messages") or "[]")]
