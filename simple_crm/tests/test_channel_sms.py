"""The SMS channel, through real HTTP to a gateway on localhost that speaks SMS.ru's protocol.

Users send over REST as the sales organisation's users; the send job is taken from the queue and run as the
worker runs it; retries and delivery checks run as the scheduler runs them, with the clock moved on. What the
tests commit (records, log rows, settings) is removed again after each test.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import frappe
from frappe.utils import add_to_date, get_datetime, now_datetime
from frappe.utils.background_jobs import create_job_id, get_redis_conn
from hypothesis import given, settings
from hypothesis import strategies as st
from rq.exceptions import NoSuchJobError
from rq.job import Job

from simple_crm.automation import sms_retries
from simple_crm.automation.notifications import LEAD_RECEIVED_SMS
from simple_crm.integrations import sms
from simple_crm.tests import factories
from simple_crm.tests.sales_org import SalesOrgRestTestCase, SalesOrgTestCase, email
from simple_crm.tests.utils import CRMTestCase

API_ID = "test-api-id-7f3a"
LOG = "CRM Integration Log"
SETTINGS = "Simple CRM Settings"


class SmsRuHandler(BaseHTTPRequestHandler):
	"""SMS.ru's /sms/send and /sms/status as documented (form fields in, JSON out), plus a plain GET endpoint
	for Frappe's own SMS Settings. What it does with the next send requests is scripted by the test."""

	gateway: "FakeSmsRu"

	def do_POST(self):
		length = int(self.headers.get("Content-Length") or 0)
		fields = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
		path = urlparse(self.path).path
		if path == "/sms/send":
			self.gateway.sends.append(fields)
			self.answer(*self.gateway.send(fields))
		elif path == "/sms/status":
			self.gateway.checks.append(fields)
			self.answer(200, self.gateway.status(fields))
		else:
			self.answer(404, {"status": "ERROR", "status_code": 211, "status_text": "Метод не найден"})

	def do_GET(self):
		url = urlparse(self.path)
		self.gateway.frappe_requests.append({k: v[0] for k, v in parse_qs(url.query).items()})
		self.send_response(500 if url.path == "/broken" else 200)
		self.end_headers()
		self.wfile.write(b"OK")

	def answer(self, code: int, body):
		data = body if isinstance(body, bytes) else json.dumps(body).encode()
		self.send_response(code)
		self.send_header("Content-Type", "application/json")
		self.send_header("Content-Length", str(len(data)))
		self.end_headers()
		self.wfile.write(data)

	def log_message(self, *args):
		pass


class FakeSmsRu:
	def __init__(self):
		handler = type("Handler", (SmsRuHandler,), {"gateway": self})
		self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
		self.server.daemon_threads = True
		# a client that gave up waiting (the timeout tests) is no error worth printing
		self.server.handle_error = lambda request, address: None
		threading.Thread(target=self.server.serve_forever, daemon=True).start()
		self.url = f"http://127.0.0.1:{self.server.server_port}"
		self.reset()

	def reset(self):
		self.sends: list[dict] = []
		self.checks: list[dict] = []
		self.frappe_requests: list[dict] = []
		# what the next send requests get: "ok", "http500", "error220", "slow", "garbage"
		self.script: list[str] = []
		# number (without "+") -> error code the gateway answers for it
		self.refuse: dict[str, int] = {}
		# sms_id -> status code sms/status answers
		self.delivery: dict[str, int] = {}
		self.taken: dict[str, str] = {}
		self.slow_seconds = 1.5

	def stop(self):
		self.server.shutdown()
		self.server.server_close()

	def send(self, fields: dict) -> tuple[int, dict | bytes]:
		if fields.get("api_id") != API_ID:
			return 200, {"status": "ERROR", "status_code": 200, "status_text": "Неправильный api_id"}
		behaviour = self.script.pop(0) if self.script else "ok"
		if behaviour == "slow":
			time.sleep(self.slow_seconds)
			return 503, b""
		if behaviour == "http500":
			return 500, b"Internal Server Error"
		if behaviour == "garbage":
			return 200, b"<html>maintenance</html>"
		if behaviour == "error220":
			return 200, {"status": "ERROR", "status_code": 220, "status_text": "Сервис временно недоступен"}
		answers = {}
		for number in fields["to"].split(","):
			if number in self.refuse:
				code = self.refuse[number]
				answers[number] = {"status": "ERROR", "status_code": code, "status_text": f"Ошибка {code}"}
			else:
				sms_id = f"000000-{len(self.taken) + 1:08d}"
				self.taken[sms_id] = number
				answers[number] = {"status": "OK", "status_code": 100, "sms_id": sms_id}
		return 200, {"status": "OK", "status_code": 100, "sms": answers, "balance": 4122.56}

	def status(self, fields: dict) -> dict:
		answers = {}
		for sms_id in fields["sms_id"].split(","):
			if sms_id not in self.taken:
				answers[sms_id] = {
					"status": "ERROR",
					"status_code": -1,
					"status_text": "Сообщение не найдено",
				}
			else:
				code = self.delivery.get(sms_id, 102)
				answers[sms_id] = {
					"status": "OK",
					"status_code": code,
					"cost": 0.5,
					"status_text": f"Код {code}",
				}
		return {"status": "OK", "status_code": 100, "sms": answers}

	def numbers_sent(self) -> list[list[str]]:
		"""The numbers of each send request, in order (SMS.ru does not care about their order)."""
		return [sorted(request["to"].split(",")) for request in self.sends]


def sms_rows(**filters) -> list[frappe._dict]:
	return frappe.get_all(
		LOG,
		filters={"channel": "SMS", **filters},
		fields=[
			"name",
			"status",
			"direction",
			"event_id",
			"attempts",
			"next_attempt_on",
			"error",
			"reference_doctype",
			"reference_name",
			"payload",
		],
		order_by="creation asc, name asc",
	)


class SmsSettingsMixin:
	"""The channel switched on against the local gateway (committed: REST requests and jobs read it)."""

	gateway: FakeSmsRu

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.gateway = FakeSmsRu()

	@classmethod
	def tearDownClass(cls):
		cls.gateway.stop()
		super().tearDownClass()

	def setUp(self):
		super().setUp()
		self.gateway.reset()
		self.configure(
			sms_enabled=1,
			sms_api_url=self.gateway.url,
			sms_api_id=API_ID,
			sms_sender="CRM",
			sms_max_parts=8,
			sms_bulk_limit=100,
			sms_max_attempts=6,
			sms_retry_minutes=2,
			sms_timeout_seconds=5,
		)
		self.addCleanup(self.forget_messages)

	def configure(self, **values):
		"""Saved as an administrator saves Simple CRM Settings in the Desk."""
		previous = frappe.session.user
		frappe.set_user("Administrator")
		doc = frappe.get_single(SETTINGS)
		doc.update(values)
		doc.save()
		frappe.db.commit()
		frappe.set_user(previous)

	def forget_messages(self):
		frappe.db.rollback()
		for name in frappe.get_all(LOG, filters={"channel": "SMS"}, pluck="name"):
			self.delete_job(name)
		frappe.db.delete(LOG, {"channel": "SMS"})
		frappe.db.set_single_value(SETTINGS, "sms_enabled", 0)
		frappe.db.commit()

	@staticmethod
	def delete_job(first: str) -> None:
		try:
			Job.fetch(create_job_id(f"simple_crm:sms:{first}"), connection=get_redis_conn()).delete()
		except NoSuchJobError:
			pass

	def run_send_job(self, first: str) -> str:
		"""The job the request queued, run as the worker runs it (as the user who sent)."""
		frappe.db.commit()
		job = Job.fetch(create_job_id(f"simple_crm:sms:{first}"), connection=get_redis_conn())
		self.assertEqual(job.kwargs["method"], "simple_crm.integrations.sms.send_queued")
		self.assertEqual(job.kwargs["site"], frappe.local.site)
		frappe.set_user(job.kwargs["user"])
		try:
			return frappe.get_attr(job.kwargs["method"])(**job.kwargs["kwargs"])
		finally:
			frappe.set_user("Administrator")

	def at(self, moment, job):
		"""A scheduled job run at `moment`."""
		with self.freeze_time(moment):
			return job()


class TestSmsText(CRMTestCase):
	def test_parts_as_the_gateway_counts_them(self):
		for text, parts in (
			("a", 1),
			("a" * 160, 1),
			("a" * 161, 2),
			("a" * 306, 2),
			("a" * 307, 3),
			("{" * 80, 1),  # two septets each
			("{" * 81, 2),
			("я" * 70, 1),
			("я" * 71, 2),
			("я" * 536, 8),
			("я" * 537, 9),
			("Привет, a" + "😀" * 30, 1),  # 9 + 60 UTF-16 units
			("😀" * 36, 2),
		):
			with self.subTest(text=text[:12], length=len(text)):
				self.assertEqual(sms.sms_parts(text), parts)

	@settings(max_examples=50, deadline=None, derandomize=True)
	@given(st.text(min_size=1, max_size=400))
	def test_parts_grow_with_the_text(self, text):
		parts = sms.sms_parts(text)
		self.assertGreaterEqual(parts, 1)
		self.assertGreaterEqual(sms.sms_parts(text + text), parts)
		self.assertLessEqual(parts, len(text.encode("utf-16-le")) // 2 // 67 + 1)

	def test_the_wait_doubles_per_attempt_up_to_a_day(self):
		self.assertEqual([sms.retry_wait_minutes(n, 2) for n in (1, 2, 3, 4)], [2, 4, 8, 16])
		self.assertEqual(sms.retry_wait_minutes(30, 2), 24 * 60)


class TestSendOverRest(SmsSettingsMixin, SalesOrgRestTestCase):
	def make_lead(self, owner: str = "sales1", **kwargs) -> frappe._dict:
		lead = factories.make_lead(responsible=email(owner), **kwargs)
		frappe.db.commit()
		self.track("CRM Lead", lead.name)
		return lead

	def send(self, user: str = "sales1", **data):
		return self.rest_call("simple_crm.api.sms.send", data, email(user) if "@" not in user else user)

	def send_bulk(self, user: str = "sales1", **data):
		return self.rest_call("simple_crm.api.sms.send_bulk", data, email(user))

	def test_one_sms_from_the_form_is_queued_sent_once_and_delivered(self):
		lead = self.make_lead(phone="8 (916) 123-45-01")
		r = self.send(doctype="CRM Lead", name=lead.name, message="Здравствуйте! Ждём вас в офисе.")
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual((r.data["queued"], r.data["phones"]), (1, ["+79161234501"]))
		frappe.db.commit()
		[row] = sms_rows()
		self.assertEqual((row.status, row.direction, row.attempts), ("Queued", "Outbound", 0))
		self.assertEqual((row.reference_doctype, row.reference_name), ("CRM Lead", lead.name))
		self.assertIsNone(row.event_id)
		self.assertEqual(self.gateway.sends, [], "the request only queues")

		summary = self.run_send_job(row.name)
		self.assertIn("sent: 1", summary)
		[request] = self.gateway.sends
		self.assertEqual(
			request,
			{
				"api_id": API_ID,
				"to": "79161234501",
				"msg": "Здравствуйте! Ждём вас в офисе.",
				"json": "1",
				"from": "CRM",
			},
		)
		[row] = sms_rows()
		self.assertEqual((row.status, row.attempts, row.error), ("Sent", 1, None))
		self.assertEqual(row.event_id, "000000-00000001")
		self.assertNotIn(API_ID, row.payload, "the api_id never reaches the log")

		# the job again, and the scheduled retry later: nothing is sent twice
		self.run_send_job(row.name)
		self.at(add_to_date(now_datetime(), hours=1), sms_retries.retry_failed_sends)
		self.assertEqual(len(self.gateway.sends), 1)

		# delivery: on its way, then delivered
		self.at(add_to_date(now_datetime(), minutes=2), sms_retries.check_delivery)
		self.assertEqual(self.gateway.checks[-1]["sms_id"], "000000-00000001")
		self.assertEqual(sms_rows()[0].status, "Sent")
		self.gateway.delivery["000000-00000001"] = 103
		self.at(add_to_date(now_datetime(), minutes=30), sms_retries.check_delivery)
		[row] = sms_rows()
		self.assertEqual((row.status, row.next_attempt_on), ("Delivered", None))
		checks = len(self.gateway.checks)
		self.at(add_to_date(now_datetime(), hours=2), sms_retries.check_delivery)
		self.assertEqual(len(self.gateway.checks), checks, "a delivered message is not asked about again")

	def test_a_chosen_number_must_be_one_of_the_record(self):
		lead = self.make_lead(phone="8 (916) 123-45-02", mobile_no="8 (916) 123-45-03")
		r = self.request(
			"GET",
			f"/api/method/simple_crm.api.sms.recipients?doctype=CRM%20Lead&name={lead.name}",
			email("sales1"),
		)
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(r.data["phones"], ["+79161234503", "+79161234502"], "the mobile field first")
		r = self.send(doctype="CRM Lead", name=lead.name, message="Текст", phone="+7 916 123-45-02")
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(r.data["phones"], ["+79161234502"])
		r = self.send(doctype="CRM Lead", name=lead.name, message="Текст", phone="+7 916 999-45-02")
		self.assertEqual(r.status_code, 400, r.text)
		self.assertIn("is not a mobile number of", r.error_text())
		self.assertEqual(len(sms_rows()), 1)

	def test_a_selection_from_a_list(self):
		first = self.make_lead(phone="8 (916) 123-45-11")
		second = self.make_lead(phone="8 (916) 123-45-12")
		no_phone = self.make_lead(phone=None)
		client = factories.make_client(responsible=email("sales1"), phone="8 (916) 123-45-13")
		frappe.db.commit()
		self.track("CRM Client", client.name)
		self.gateway.refuse["79161234512"] = 207  # no route to this number: final

		r = self.send_bulk(
			doctype="CRM Lead", names=[first.name, second.name, no_phone.name], message="Акция недели"
		)
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(r.data["queued"], 2)
		self.assertEqual([s["name"] for s in r.data["skipped"]], [no_phone.name])
		self.run_send_job(r.data["messages"][0])
		self.assertEqual(self.gateway.numbers_sent(), [["79161234511", "79161234512"]], "one request")
		rows = {row.reference_name: row for row in sms_rows()}
		self.assertEqual(rows[first.name].status, "Sent")
		self.assertEqual((rows[second.name].status, rows[second.name].attempts), ("Failed", 1))
		self.assertIn("207", rows[second.name].error)
		self.assertIsNone(rows[second.name].next_attempt_on)
		# a final refusal is not retried
		self.at(add_to_date(now_datetime(), hours=3), sms_retries.retry_failed_sends)
		self.assertEqual(len(self.gateway.sends), 1)

		# the clients' list too, as a JSON string the Desk sends
		r = self.send_bulk(doctype="CRM Client", names=json.dumps([client.name]), message="Акция недели")
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(r.data["queued"], 1)

	def test_a_contact_gets_its_primary_mobile(self):
		client = factories.make_client(responsible=email("sales1"))
		contact = factories.make_contact(client.name, phone="8 (916) 123-45-21")
		frappe.db.commit()
		self.track("CRM Client", client.name)
		self.track("Contact", contact.name)
		r = self.send(doctype="Contact", name=contact.name, message="Добрый день")
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(r.data["phones"], ["+79161234521"])

	def test_only_records_the_user_can_see(self):
		mine = self.make_lead("sales1")
		theirs = self.make_lead("sales3")
		cases = (
			("send", {"doctype": "CRM Lead", "name": theirs.name}),
			("send", {"doctype": "CRM Lead", "name": "CRM-LEAD-NO-SUCH"}),
			("send_bulk", {"doctype": "CRM Lead", "names": [mine.name, theirs.name]}),
		)
		for method, data in cases:
			with self.subTest(method=method, data=data):
				r = self.rest_call(
					f"simple_crm.api.sms.{method}", {**data, "message": "Привет"}, email("sales1")
				)
				self.assertEqual(r.status_code, 403, r.text)
				self.assertIn("only to records you can see", r.error_text())
				self.assertNotIn(theirs.phone_normalized, r.text)
		r = self.request(
			"GET",
			f"/api/method/simple_crm.api.sms.recipients?doctype=CRM%20Lead&name={theirs.name}",
			email("sales1"),
		)
		self.assertEqual(r.status_code, 403, r.text)
		self.assertNotIn(theirs.phone_normalized, r.text)
		self.assertEqual(sms_rows(), [])
		# the head of team A sees sales1's lead, sales3's not
		self.assertEqual(
			self.send("head_a", doctype="CRM Lead", name=mine.name, message="Привет").status_code, 200
		)
		self.assertEqual(
			self.send("head_a", doctype="CRM Lead", name=theirs.name, message="Привет").status_code, 403
		)
		self.assertEqual(len(sms_rows()), 1)

	def test_bad_inputs_are_refused_and_nothing_is_queued(self):
		lead = self.make_lead(phone="8 (916) 123-45-31")
		ok = {"doctype": "CRM Lead", "name": lead.name, "message": "Привет"}
		cases = (
			("send", {**ok, "message": ""}, "message is empty"),
			("send", {**ok, "message": "   \n "}, "message is empty"),
			("send", {**ok, "message": "я" * 537}, "9 SMS parts"),
			("send", {**ok, "message": "Привет\x07"}, "control characters"),
			("send", {**ok, "message": ["a", "b"]}, "Message"),
			("send", {**ok, "phone": "позвоните мне"}, "is not a phone number"),
			("send", {**ok, "phone": "+7 916"}, "is not a phone number"),
			("send", {**ok, "doctype": "User", "name": "Administrator"}, "contacts, leads and clients only"),
			("send", {**ok, "doctype": "CRM Deal"}, "contacts, leads and clients only"),
			("send", {"doctype": "CRM Lead", "message": "Привет"}, "is required"),
			("send_bulk", {**ok, "names": []}, "Choose the records"),
			("send_bulk", {**ok, "names": [123]}, "Choose the records"),
			("send_bulk", {**ok, "names": {"a": 1}}, ""),
			("send_bulk", {**ok, "names": "{not json"}, ""),
			("send_bulk", {**ok, "names": [lead.name], "message": "я" * 600}, "SMS parts"),
		)
		for method, data, expected in cases:
			with self.subTest(method=method, data=str(data)[:80]):
				r = self.rest_call(f"simple_crm.api.sms.{method}", data, email("sales1"))
				self.assertGreaterEqual(r.status_code, 400, r.text)
				self.assertLess(r.status_code, 500, r.text)
				self.assertIn(expected, r.error_text())
		self.assertEqual(sms_rows(), [])

	def test_a_bulk_send_is_bounded(self):
		self.configure(sms_bulk_limit=2)
		leads = [self.make_lead() for _i in range(3)]
		r = self.send_bulk(doctype="CRM Lead", names=[lead.name for lead in leads], message="Привет")
		self.assertEqual(r.status_code, 400, r.text)
		self.assertIn("At most 2 records", r.error_text())
		self.assertEqual(sms_rows(), [])
		r = self.send_bulk(doctype="CRM Lead", names=[lead.name for lead in leads[:2]], message="Привет")
		self.assertEqual((r.status_code, r.data["queued"]), (200, 2), r.text)

	def test_switched_off_nothing_is_queued(self):
		lead = self.make_lead()
		self.configure(sms_enabled=0)
		r = self.send(doctype="CRM Lead", name=lead.name, message="Привет")
		self.assertEqual(r.status_code, 403, r.text)
		self.assertIn("switched off", r.error_text())
		self.assertEqual(sms_rows(), [])

	def test_the_api_id_is_not_returned_to_a_sales_manager(self):
		for user in (email("sales1"), email("head_a")):
			r = self.rest_get(SETTINGS, SETTINGS, user)
			self.assertEqual(r.status_code, 200, r.text)
			self.assertNotIn(API_ID, r.text)
			self.assertNotEqual(r.data.get("sms_api_id"), API_ID)
		self.assertEqual(sms.secret("sms_api_id"), API_ID)

	def test_frappe_sms_to_any_number_is_for_system_managers_only(self):
		method = "frappe.core.doctype.sms_settings.sms_settings.send_sms"
		data = {"receiver_list": json.dumps(["+79161234541"]), "msg": "Привет"}
		r = self.rest_call(method, data, email("sales1"))
		self.assertEqual(r.status_code, 403, r.text)
		self.assertEqual(sms_rows(), [])
		r = self.rest_call(method, data, "Administrator")
		self.assertEqual(r.status_code, 200, r.text)
		[row] = sms_rows()
		self.assertEqual(row.status, "Queued")
		self.run_send_job(row.name)
		self.assertEqual(self.gateway.numbers_sent(), [["79161234541"]])


class TestRetries(SmsSettingsMixin, SalesOrgRestTestCase):
	def queue(self, *phones: str, message: str = "Напоминание о встрече") -> list[str]:
		"""Messages queued by sales1 (the request's own code path, run in this process and committed)."""
		leads = []
		for phone in phones:
			lead = factories.make_lead(responsible=email("sales1"), phone=phone)
			self.track("CRM Lead", lead.name)
			leads.append(lead.name)
		frappe.db.commit()
		frappe.set_user(email("sales1"))
		if len(leads) == 1:
			result = sms.send_to_record("CRM Lead", leads[0], message)
		else:
			result = sms.send_to_records("CRM Lead", leads, message)
		frappe.set_user("Administrator")
		frappe.db.commit()
		return result["messages"]

	def row(self, name: str) -> frappe._dict:
		return next(row for row in sms_rows() if row.name == name)

	def test_gateway_errors_are_retried_with_backoff_until_sent(self):
		[name] = self.queue("8 (916) 123-45-51")
		self.gateway.script = ["http500", "error220", "garbage"]
		self.run_send_job(name)
		row = self.row(name)
		self.assertEqual((row.status, row.attempts), ("Queued", 1))
		self.assertIn("HTTP status 500", row.error)
		first_retry = get_datetime(row.next_attempt_on)

		# not before the backoff has passed
		self.at(add_to_date(first_retry, seconds=-30), sms_retries.retry_failed_sends)
		self.assertEqual(len(self.gateway.sends), 1)
		summary = self.at(add_to_date(first_retry, seconds=1), sms_retries.retry_failed_sends)
		self.assertIn("to retry: 1", summary)
		row = self.row(name)
		self.assertEqual((row.status, row.attempts), ("Queued", 2))
		self.assertIn("220", row.error)
		second_retry = get_datetime(row.next_attempt_on)
		self.assertAlmostEqual(
			(second_retry - add_to_date(first_retry, seconds=1)).total_seconds(), 4 * 60, delta=2
		)

		self.at(add_to_date(second_retry, seconds=1), sms_retries.retry_failed_sends)
		row = self.row(name)
		self.assertEqual(row.attempts, 3)
		self.assertIn("not readable", row.error)
		third_retry = get_datetime(row.next_attempt_on)
		self.assertAlmostEqual(
			(third_retry - add_to_date(second_retry, seconds=1)).total_seconds(), 8 * 60, delta=2
		)

		self.at(add_to_date(third_retry, seconds=1), sms_retries.retry_failed_sends)
		row = self.row(name)
		self.assertEqual((row.status, row.attempts, row.error), ("Sent", 4, None))
		self.assertEqual(self.gateway.numbers_sent(), [["79161234551"]] * 4)
		self.assertEqual({request["msg"] for request in self.gateway.sends}, {"Напоминание о встрече"})
		# and never again
		self.at(add_to_date(third_retry, days=1), sms_retries.retry_failed_sends)
		self.run_send_job(name)
		self.assertEqual(len(self.gateway.sends), 4)

	def test_a_timeout_is_retried_up_to_a_final_failed(self):
		self.configure(sms_timeout_seconds=1, sms_max_attempts=3)
		[name] = self.queue("8 (916) 123-45-52")
		self.gateway.script = ["slow"] * 5
		self.run_send_job(name)
		row = self.row(name)
		self.assertEqual((row.status, row.attempts), ("Queued", 1))
		self.assertIn("within 1 seconds", row.error)
		moment = now_datetime()
		for attempt in (2, 3):
			moment = add_to_date(get_datetime(self.row(name).next_attempt_on), seconds=1)
			self.at(moment, sms_retries.retry_failed_sends)
			self.assertEqual(self.row(name).attempts, attempt)
		row = self.row(name)
		self.assertEqual((row.status, row.next_attempt_on), ("Failed", None))
		self.at(add_to_date(moment, days=2), sms_retries.retry_failed_sends)
		self.assertEqual(len(self.gateway.sends), 3, "a final Failed is not sent again")

	def test_a_retry_sends_only_what_the_gateway_did_not_take(self):
		first, second = self.queue("8 (916) 123-45-53", "8 (916) 123-45-54")
		self.gateway.refuse["79161234554"] = 231  # the same message to this number within a minute: passing
		self.run_send_job(first)
		self.assertEqual(self.row(first).status, "Sent")
		self.assertEqual((self.row(second).status, self.row(second).attempts), ("Queued", 1))
		del self.gateway.refuse["79161234554"]
		retry = add_to_date(get_datetime(self.row(second).next_attempt_on), seconds=1)
		self.at(retry, sms_retries.retry_failed_sends)
		self.assertEqual(self.gateway.numbers_sent(), [["79161234553", "79161234554"], ["79161234554"]])
		self.assertEqual(self.row(second).status, "Sent")
		self.assertNotEqual(self.row(first).event_id, self.row(second).event_id)

		# one is not delivered, the other's report never comes: after three days nobody asks any more
		self.gateway.delivery[self.row(first).event_id] = 104
		self.gateway.taken.pop(self.row(second).event_id)
		self.at(add_to_date(retry, minutes=5), sms_retries.check_delivery)
		self.assertEqual(self.row(first).status, "Failed")
		self.assertIn("104", self.row(first).error)
		self.assertEqual(self.row(second).status, "Sent")
		self.at(add_to_date(retry, hours=73), sms_retries.check_delivery)
		self.assertEqual((self.row(second).status, self.row(second).next_attempt_on), ("Sent", None))

	def test_a_lost_send_job_is_done_by_the_schedule(self):
		[name] = self.queue("8 (916) 123-45-55")
		self.delete_job(name)  # the worker never ran it
		self.at(add_to_date(now_datetime(), minutes=1), sms_retries.retry_failed_sends)
		self.assertEqual(self.gateway.sends, [], "the request's own job still has its time")
		summary = self.at(add_to_date(now_datetime(), minutes=3), sms_retries.retry_failed_sends)
		self.assertIn("sent: 1", summary)
		self.assertEqual(self.row(name).status, "Sent")

	def test_a_wrong_api_id_fails_after_the_attempts(self):
		self.configure(sms_api_id="wrong", sms_max_attempts=2)
		[name] = self.queue("8 (916) 123-45-56")
		self.run_send_job(name)
		self.at(
			add_to_date(get_datetime(self.row(name).next_attempt_on), seconds=1),
			sms_retries.retry_failed_sends,
		)
		row = self.row(name)
		self.assertEqual((row.status, row.attempts), ("Failed", 2))
		self.assertIn("200", row.error)

	def test_switched_off_the_jobs_send_nothing(self):
		[name] = self.queue("8 (916) 123-45-57")
		self.configure(sms_enabled=0)
		self.run_send_job(name)
		self.at(add_to_date(now_datetime(), hours=1), sms_retries.retry_failed_sends)
		self.assertEqual(self.gateway.sends, [])
		self.assertEqual(self.row(name).status, "Queued")


class TestNotificationSms(SmsSettingsMixin, SalesOrgTestCase):
	"""Frappe's Notifications with the SMS channel (the app's example, switched on by an administrator)."""

	def setUp(self):
		super().setUp()
		# what every request and job does first (hooks.py before_request / before_job)
		sms.route_frappe_sms()
		doc = frappe.get_doc("Notification", LEAD_RECEIVED_SMS)
		doc.enabled = 1
		doc.save()
		self.addCleanup(lambda: frappe.cache.hdel("notifications", "CRM Lead"))

	def test_every_request_and_job_routes_frappe_sms(self):
		for hook in ("before_request", "before_job"):
			self.assertIn("simple_crm.integrations.sms.route_frappe_sms", frappe.get_hooks(hook))
		from frappe.email.doctype.notification.notification import Notification

		self.assertTrue(Notification.send_sms._crm)
		sms.route_frappe_sms()  # once per process: a second call changes nothing
		self.assertTrue(Notification.send_sms._frappe.__qualname__.startswith("Notification."))

	def test_with_the_channel_on_a_notification_is_queued_with_its_record(self):
		lead = factories.make_lead(lead_name="Пётр Иванов", mobile_no="8 (916) 123-45-61")
		[row] = sms_rows()
		self.assertEqual(
			(row.status, row.reference_doctype, row.reference_name), ("Queued", "CRM Lead", lead.name)
		)
		payload = json.loads(row.payload)
		self.assertEqual(payload["to"], "+79161234561")
		self.assertIn("Пётр Иванов", payload["text"])
		self.assertEqual(payload["source"], f"Notification: {LEAD_RECEIVED_SMS}")
		self.assertEqual(self.gateway.frappe_requests, [], "Frappe's SMS Settings are not used")

	def test_with_the_channel_off_frappe_sends_and_each_request_is_logged(self):
		frappe.db.set_single_value(SETTINGS, "sms_enabled", 0)
		settings_doc = frappe.get_single("SMS Settings")
		settings_doc.sms_gateway_url = f"{self.gateway.url}/send"
		settings_doc.message_parameter = "text"
		settings_doc.receiver_parameter = "to"
		settings_doc.save()
		lead = factories.make_lead(lead_name="Пётр Иванов", mobile_no="8 (916) 123-45-62")
		self.assertEqual([r["to"] for r in self.gateway.frappe_requests], ["+79161234562"])
		[row] = sms_rows()
		self.assertEqual((row.status, row.reference_name, row.attempts), ("Sent", lead.name, 1))
		self.assertEqual(json.loads(row.payload)["source"], "SMS Settings")

		settings_doc.sms_gateway_url = f"{self.gateway.url}/broken"
		settings_doc.save()
		other = factories.make_lead(mobile_no="8 (916) 123-45-63")
		failed = [row for row in sms_rows() if row.reference_name == other.name]
		self.assertEqual([row.status for row in failed], ["Failed"])
		self.assertIn("500", failed[0].error)
