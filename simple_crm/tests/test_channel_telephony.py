"""Telephony over real HTTP: the PBX's signed call events, Zadarma's notifications and API, the Call button.

Public events are sent as the PBX sends them: no session, the raw body signed, each request in its own
thread and database connection (committed there). Zadarma's API is a small local HTTP server that checks
the documented request signature and answers as Zadarma does. Every test removes what it made.
"""

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlparse

import frappe
from frappe.tests.test_api import make_request
from frappe.utils import add_to_date, get_test_client, now_datetime
from frappe.utils.password import set_encrypted_password
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from simple_crm.integrations import telephony, zadarma
from simple_crm.tests import factories
from simple_crm.tests.sales_org import SalesOrgRestTestCase, email
from simple_crm.tests.utils import RestResponse
from simple_crm.timeline import get_timeline_content

SETTINGS = "Simple CRM Settings"
EVENT = "/api/method/simple_crm.api.telephony.event"
ZADARMA = "/api/method/simple_crm.api.telephony.zadarma"
SECRET = "pbx-signing-secret-0f3a"
ZD_KEY = "zd-user-key-4711"
ZD_SECRET = "zd-api-secret-90ab"
EXT1, EXT2 = "701", "702"
LOG = "CRM Integration Log"


# --- the PBX's side -----------------------------------------------------------------------------------------


def sign(body: bytes, key: str = SECRET) -> str:
	return hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def zd_sign(*values: str, key: str = ZD_SECRET) -> str:
	"""Zadarma's scheme, written out: base64 of the hex HMAC-SHA1 of the values joined."""
	hex_digest = hmac.new(key.encode(), "".join(values).encode(), hashlib.sha1).hexdigest()
	return base64.b64encode(hex_digest.encode()).decode()


def event_body(event: str, call_id: str, ts: int | None = None, **fields) -> bytes:
	data = {"event": event, "call_id": call_id, "timestamp": int(time.time()) if ts is None else ts, **fields}
	return json.dumps(data, ensure_ascii=False).encode()


def guest(
	method: str, path: str, body: bytes = b"", headers: dict | None = None, content_type="application/json"
):
	"""One request without a session, in its own thread (its own database connection), as a PBX makes it."""
	frappe.db.commit()
	out = {}

	def run():
		client = get_test_client(use_cookies=False)
		response = client.open(
			path,
			method=method,
			data=body,
			content_type=content_type,
			headers={"X-Frappe-Site-Name": site, "Accept": "application/json", **(headers or {})},
		)
		out["response"] = RestResponse(response)
		out["headers"] = dict(response.headers)

	site = frappe.local.site
	thread = threading.Thread(target=run)
	thread.start()
	thread.join()
	response = out["response"]
	response.headers = out["headers"]
	return response


def post_event(body: bytes, signature: str | None = "sign", **kwargs):
	headers = (
		{} if signature is None else {"X-CRM-Signature": sign(body) if signature == "sign" else signature}
	)
	return guest("POST", EVENT, body, headers, **kwargs)


def send(event: str, call_id: str, ts: int | None = None, **fields):
	return post_event(event_body(event, call_id, ts, **fields))


def zd_post(form: dict, signature: str | None = None):
	fields = zadarma.SIGNED_FIELDS.get(form.get("event"), ())
	if signature is None:
		signature = zd_sign(*(form.get(f, "") for f in fields))
	return guest(
		"POST",
		ZADARMA,
		urlencode(form).encode(),
		{"Signature": signature},
		content_type="application/x-www-form-urlencoded",
	)


class FakeZadarma:
	"""Zadarma's API on 127.0.0.1: checks `Authorization: key:sign` as documented and answers in its JSON."""

	def __init__(self):
		self.requests: list[dict] = []
		owner = self

		class Handler(BaseHTTPRequestHandler):
			def do_GET(self):
				url = urlparse(self.path)
				params = dict(parse_qsl(url.query, keep_blank_values=True))
				query = urlencode(sorted(params.items()))
				expected = zd_sign(url.path, query, hashlib.md5(query.encode()).hexdigest())
				authorized = self.headers.get("Authorization") == f"{ZD_KEY}:{expected}"
				owner.requests.append({"path": url.path, "params": params, "authorized": authorized})
				if not authorized:
					return self.answer(401, {"status": "error", "message": "Not authorized"})
				if url.path == "/v1/request/callback/":
					return self.answer(
						200,
						{
							"status": "success",
							"from": params["from"],
							"to": params["to"],
							"time": int(time.time()),
						},
					)
				if url.path == "/v1/pbx/record/request/":
					link = f"https://records.example.com/{params['pbx_call_id']}.mp3"
					return self.answer(
						200, {"status": "success", "links": [link], "lifetime_till": "2030-01-01"}
					)
				return self.answer(404, {"status": "error", "message": "Unknown method"})

			def answer(self, code: int, data: dict):
				body = json.dumps(data).encode()
				self.send_response(code)
				self.send_header("Content-Type", "application/json")
				self.send_header("Content-Length", str(len(body)))
				self.end_headers()
				self.wfile.write(body)

			def log_message(self, *args):
				pass

		self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
		self.url = f"http://127.0.0.1:{self.server.server_port}"
		threading.Thread(target=self.server.serve_forever, daemon=True).start()

	def close(self):
		self.server.shutdown()
		self.server.server_close()


# --- what the tests look at -----------------------------------------------------------------------------------


def call_of(call_id: str) -> frappe._dict | None:
	rows = frappe.get_all(
		"CRM Call",
		filters={"call_id": call_id},
		fields=[
			"name",
			"phone",
			"phone_normalized",
			"direction",
			"call_status",
			"duration",
			"manager",
			"started_at",
			"recording_url",
			"lead",
			"client",
			"contact",
			"deal",
		],
	)
	assert len(rows) <= 1
	return rows[0] if rows else None


def leads_with(e164: str) -> list[str]:
	return frappe.get_all("CRM Lead", filters={"phone_normalized": e164}, pluck="name")


def tasks_about(doctype: str, name: str) -> list[frappe._dict]:
	return frappe.get_all(
		"CRM Task",
		filters={"reference_doctype": doctype, "reference_name": name},
		fields=["name", "assigned_to", "subject", "task_type", "status"],
	)


def logs_of(call_id: str) -> list[str]:
	return frappe.get_all(
		LOG, filters={"channel": "Telephony", "event_id": call_id}, pluck="status", order_by="creation"
	)


def counts() -> dict[str, int]:
	return {
		doctype: frappe.db.count(doctype)
		for doctype in (
			"CRM Call",
			"CRM Lead",
			"CRM Task",
			"CRM Automation Mark",
			"Notification Log",
			"Contact",
		)
	}


def new_call_id(prefix: str = "t") -> str:
	return f"{prefix}-{frappe.generate_hash(length=10)}"


def e164_of(raw: str) -> str:
	from simple_crm.utils.phones import normalize_phone

	return normalize_phone(raw, "RU")


class TelephonyTestCase(SalesOrgRestTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.api = FakeZadarma()
		cls.saved = frappe.db.get_singles_dict(SETTINGS)
		for fieldname, value in {
			"telephony_enabled": 1,
			"telephony_replay_window": 300,
			"telephony_create_leads": 1,
			"telephony_missed_call_tasks": 1,
			"callback_task_enabled": 1,
			"callback_minutes": 15,
			"zadarma_enabled": 1,
			"zadarma_click_to_call": 1,
			"zadarma_api_url": cls.api.url,
		}.items():
			frappe.db.set_single_value(SETTINGS, fieldname, value)
		for fieldname, value in (
			("telephony_secret", SECRET),
			("zadarma_api_key", ZD_KEY),
			("zadarma_api_secret", ZD_SECRET),
		):
			set_encrypted_password(SETTINGS, SETTINGS, value, fieldname)
		frappe.db.set_value("User", email("sales1"), "crm_phone_extension", EXT1)
		frappe.db.set_value("User", email("sales2"), "crm_phone_extension", EXT2)
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		frappe.db.rollback()
		for fieldname in (
			"telephony_enabled",
			"telephony_replay_window",
			"telephony_create_leads",
			"telephony_missed_call_tasks",
			"callback_task_enabled",
			"callback_minutes",
			"zadarma_enabled",
			"zadarma_click_to_call",
			"zadarma_api_url",
		):
			if fieldname in cls.saved:
				frappe.db.set_single_value(SETTINGS, fieldname, cls.saved[fieldname])
			else:  # never saved on this site: its default stands again
				frappe.db.delete("Singles", {"doctype": SETTINGS, "field": fieldname})
		frappe.db.sql(
			"delete from `__Auth` where doctype = %s and fieldname in %s",
			(SETTINGS, ("telephony_secret", "zadarma_api_key", "zadarma_api_secret")),
		)
		for user in ("sales1", "sales2"):
			frappe.db.set_value("User", email(user), "crm_phone_extension", None)
		frappe.db.commit()
		cls.api.close()
		super().tearDownClass()

	def setUp(self):
		super().setUp()
		# what the test's requests make is what appears from now on (the class's own records are older)
		self.started = now_datetime()
		self.api.requests.clear()

	def tearDown(self):
		self.wipe()
		super().tearDown()

	def wipe(self):
		"""What the requests made (committed in their own connections) goes, with its traces."""
		frappe.db.rollback()
		frappe.set_user("Administrator")
		since = {"creation": (">=", self.started)}
		leads = frappe.get_all("CRM Lead", filters=since, pluck="name")
		calls = frappe.get_all("CRM Call", filters=since, pluck="name")
		tasks = frappe.get_all("CRM Task", filters=since, pluck="name")
		frappe.db.delete(
			"CRM Contact Point", {"reference_doctype": "CRM Lead", "reference_name": ("in", leads or [""])}
		)
		for doctype, names in (("CRM Task", tasks), ("CRM Call", calls), ("CRM Lead", leads)):
			if names:
				frappe.db.delete("ToDo", {"reference_name": ("in", names)})
				frappe.db.delete("Version", {"ref_doctype": doctype, "docname": ("in", names)})
				frappe.db.delete(doctype, {"name": ("in", names)})
		for doctype in ("Notification Log", "CRM Automation Mark", LOG, "Email Queue"):
			frappe.db.delete(doctype, since)
		frappe.db.commit()

	def assertOk(self, response, status: str = "Processed"):
		self.assertEqual(response.status_code, 200, response.text)
		self.assertEqual(response.data["status"], status, response.text)
		return response.data.get("call")


class TestCallEvents(TelephonyTestCase):
	def test_a_call_from_an_unknown_number_start_to_recording(self):
		call_id, raw = new_call_id(), factories.unique_mobile()
		self.assertOk(send("start", call_id, phone=raw, direction="inbound"))
		call = call_of(call_id)
		self.assertEqual((call.direction, call.call_status, call.phone), ("Inbound", "Missed", raw))
		self.assertEqual(leads_with(e164_of(raw)), [call.lead], "an unknown number became a lead")
		lead = frappe.db.get_value("CRM Lead", call.lead, ["channel", "source", "status"], as_dict=True)
		self.assertEqual((lead.channel, lead.source, lead.status), ("Phone", "Phone Call", "New"))

		self.assertOk(send("answer", call_id, phone=raw, extension=EXT1))
		call = call_of(call_id)
		self.assertEqual((call.call_status, call.manager), ("Answered", email("sales1")))

		self.assertOk(send("end", call_id, phone=raw, extension=EXT1, duration=95, status="ANSWER"))
		self.assertOk(send("recording", call_id, recording_url="https://pbx.example.com/rec/1.wav"))
		call = call_of(call_id)
		self.assertEqual((call.call_status, call.duration), ("Answered", 95))
		self.assertEqual(call.recording_url, "https://pbx.example.com/rec/1.wav")
		self.assertEqual(tasks_about("CRM Lead", call.lead), [], "an answered call needs no call-back")
		self.assertEqual(logs_of(call_id), ["Processed"] * 4)
		# the manager who answered sees the call
		self.assertEqual(self.rest_get("CRM Call", call.name, email("sales1")).status_code, 200)
		self.assertEqual(self.rest_get("CRM Call", call.name, email("sales3")).status_code, 403)

	def test_retries_and_events_out_of_order_give_one_call_in_its_final_state(self):
		call_id, raw = new_call_id(), factories.unique_mobile()
		now = int(time.time())
		self.assertOk(
			send("end", call_id, now, phone=raw, duration=60, status="answered", started_at=now - 70)
		)
		self.assertOk(send("answer", call_id, now - 1, phone=raw, extension=EXT2))
		self.assertOk(send("start", call_id, now - 2, phone=raw, started_at=now - 80))
		# the PBX retries: the same events again (a new timestamp), and an end saying something else
		self.assertOk(send("answer", call_id, now + 1, phone=raw, extension=EXT2), "Duplicate")
		self.assertOk(send("end", call_id, now + 2, phone=raw, duration=5, status="missed"), "Duplicate")
		call = call_of(call_id)
		self.assertEqual((call.call_status, call.duration, call.manager), ("Answered", 60, email("sales2")))
		self.assertEqual(call.started_at, telephony.from_unix(now - 80), "the earliest start is kept")
		self.assertEqual(len(leads_with(e164_of(raw))), 1)
		self.assertEqual(frappe.db.count("CRM Call", {"phone_normalized": e164_of(raw)}), 1)
		self.assertEqual(tasks_about("CRM Lead", call.lead), [])

	def test_a_message_received_twice_is_refused_and_changes_nothing(self):
		call_id, raw = new_call_id(), factories.unique_mobile()
		body = event_body("start", call_id, phone=raw)
		self.assertOk(post_event(body))
		before = counts()
		replay = post_event(body)
		self.assertEqual(replay.status_code, 409, replay.text)
		self.assertIn("received before", replay.error_text())
		self.assertEqual(counts(), before)
		self.assertEqual(logs_of(call_id), ["Processed", "Rejected"])

	def test_a_missed_call_from_a_known_number_gives_its_manager_one_task(self):
		lead = factories.make_lead(responsible=email("sales2"), phone="+7 912 610-00-01")
		self.track("CRM Lead", lead.name)
		call_id = new_call_id()
		self.assertOk(send("start", call_id, phone="89126100001"))
		self.assertOk(send("end", call_id, phone="89126100001", duration=0, status="NOANSWER"))
		self.assertOk(
			send("end", call_id, int(time.time()) + 1, phone="89126100001", duration=0), "Duplicate"
		)
		call = call_of(call_id)
		self.assertEqual((call.lead, call.call_status, call.manager), (lead.name, "Missed", email("sales2")))
		tasks = tasks_about("CRM Lead", lead.name)
		self.assertEqual(
			[(t.assigned_to, t.task_type, t.status) for t in tasks], [(email("sales2"), "Call", "Open")]
		)
		self.assertIn("missed call", tasks[0].subject)
		self.assertEqual(leads_with("+79126100001"), [lead.name], "a known number makes no lead")

	def test_a_missed_call_from_an_unknown_number_gets_the_new_leads_call_back_only(self):
		from frappe.utils.background_jobs import create_job_id, get_redis_conn
		from rq.job import Job

		call_id, raw = new_call_id(), factories.unique_mobile()
		self.assertOk(send("start", call_id, phone=raw))
		self.assertOk(send("end", call_id, phone=raw, duration=0, status="missed"))
		lead = call_of(call_id).lead
		self.assertEqual(tasks_about("CRM Lead", lead), [])
		# the new-lead job, run as the worker runs it: the lead's one call-back task
		job = Job.fetch(create_job_id(f"simple_crm:new-lead:{lead}"), connection=get_redis_conn())
		frappe.get_attr(job.kwargs["method"])(**job.kwargs["kwargs"])
		job.delete()
		frappe.db.commit()
		self.assertEqual(len(tasks_about("CRM Lead", lead)), 1)

	def test_a_known_number_is_linked_to_the_client_its_contact_and_its_one_open_deal(self):
		client = factories.make_client(responsible=email("sales1"))
		contact = factories.make_contact(client.name, phone="+7 (912) 620-00-02")
		deal = factories.make_deal(client.name, responsible=email("sales1"))
		for doctype, doc in (("CRM Client", client), ("Contact", contact), ("CRM Deal", deal)):
			self.track(doctype, doc.name)
		call_id = new_call_id()
		self.assertOk(send("start", call_id, phone="8 912 620 00 02"))
		call = call_of(call_id)
		self.assertEqual((call.client, call.contact, call.deal), (client.name, contact.name, deal.name))
		self.assertEqual(call.manager, email("sales1"), "nobody's extension took it: the client's manager")
		self.assertIsNone(call.lead)
		self.assertEqual(leads_with("+79126200002"), [])

	def test_the_last_ten_digits_find_a_number_written_with_another_country_code(self):
		lead = factories.make_lead(phone="+7 912 630-00-03")
		self.track("CRM Lead", lead.name)
		call_id = new_call_id()
		self.assertOk(send("start", call_id, phone="+1 912 630 0003"))
		self.assertEqual(call_of(call_id).lead, lead.name)
		self.assertEqual(leads_with("+19126300003"), [])

	def test_an_unknown_extension_leaves_the_manager_to_the_records_responsible(self):
		lead = factories.make_lead(responsible=email("sales2"), phone="+7 912 640-00-04")
		self.track("CRM Lead", lead.name)
		call_id = new_call_id()
		self.assertOk(send("start", call_id, phone="+79126400004", extension="999"))
		self.assertOk(send("answer", call_id, phone="+79126400004", extension="999"))
		self.assertEqual(call_of(call_id).manager, email("sales2"))

	def test_concurrent_copies_of_the_first_event_make_one_call(self):
		call_id, raw = new_call_id(), factories.unique_mobile()
		now = int(time.time())
		bodies = [event_body("start", call_id, now + i, phone=raw) for i in range(3)]
		results = [None] * len(bodies)

		def run(i):
			client = get_test_client(use_cookies=False)
			results[i] = client.post(
				EVENT,
				data=bodies[i],
				content_type="application/json",
				headers={"X-Frappe-Site-Name": site, "X-CRM-Signature": sign(bodies[i])},
			)

		site = frappe.local.site
		frappe.db.commit()
		threads = [threading.Thread(target=run, args=(i,)) for i in range(len(bodies))]
		for thread in threads:
			thread.start()
		for thread in threads:
			thread.join()
		statuses = sorted(json.loads(r.get_data())["message"]["status"] for r in results)
		self.assertEqual(statuses, ["Duplicate", "Duplicate", "Processed"], [r.get_data() for r in results])
		self.assertEqual(frappe.db.count("CRM Call", {"call_id": call_id}), 1)
		self.assertEqual(len(leads_with(e164_of(raw))), 1)

	def test_a_switched_off_channel_refuses_events(self):
		frappe.db.set_single_value(SETTINGS, "telephony_enabled", 0)
		try:
			before = counts()
			r = send("start", new_call_id(), phone=factories.unique_mobile())
			self.assertEqual(r.status_code, 403, r.text)
			self.assertEqual(counts(), before)
		finally:
			frappe.db.set_single_value(SETTINGS, "telephony_enabled", 1)
			frappe.db.commit()

	def test_the_secrets_never_reach_a_sales_manager(self):
		r = self.rest_get(SETTINGS, SETTINGS, email("sales1"))
		for value in (SECRET, ZD_KEY, ZD_SECRET):
			self.assertNotIn(value, r.text)
		r = self.rest_get(SETTINGS, SETTINGS, "Administrator")
		self.assertEqual(r.status_code, 200, r.text)
		for value in (SECRET, ZD_KEY, ZD_SECRET):
			self.assertNotIn(value, r.text, "stored encrypted, shown masked")


class TestBadEvents(TelephonyTestCase):
	def test_bad_events_are_refused_and_write_nothing_but_their_log_row(self):
		known = new_call_id()
		self.assertOk(send("start", known, phone=factories.unique_mobile()))
		now = int(time.time())
		ok = json.loads(event_body("start", "t-bad", now, phone="+79126500005"))

		def body(**changes) -> bytes:
			data = {**ok, **changes}
			return json.dumps({k: v for k, v in data.items() if v is not ...}).encode()

		good = body()
		cases = [
			# label, body, signature ("sign", None or a value), content type, expected status, logged
			("no signature", good, None, "application/json", 401, True),
			("a wrong signature", good, sign(b"something else"), "application/json", 401, True),
			("signed with another secret", good, sign(good, "another"), "application/json", 401, True),
			("a signature that is not hex", good, "zzz", "application/json", 401, True),
			("not JSON", b"{not json", "sign", "text/plain", 400, True),
			(
				"not a JSON object (the app's request guard)",
				b"[1, 2]",
				"sign",
				"application/json",
				400,
				False,
			),
			("no event", body(event=...), "sign", "application/json", 400, True),
			("an unknown event", body(event="transfer"), "sign", "application/json", 400, True),
			("no call id", body(call_id=...), "sign", "application/json", 400, True),
			("a call id that is a number", body(call_id=12345), "sign", "application/json", 400, True),
			("a call id with SQL", body(call_id="1' OR '1'='1"), "sign", "application/json", 400, True),
			("a call id with HTML", body(call_id="<b>x</b>"), "sign", "application/json", 400, True),
			("a call id too long", body(call_id="x" * 101), "sign", "application/json", 400, True),
			("no timestamp", body(timestamp=...), "sign", "application/json", 400, True),
			("a timestamp as text", body(timestamp=str(now)), "sign", "application/json", 400, True),
			("a timestamp that is true", body(timestamp=True), "sign", "application/json", 400, True),
			("a stale timestamp", body(timestamp=now - 3600), "sign", "application/json", 401, True),
			("a timestamp in the future", body(timestamp=now + 3600), "sign", "application/json", 401, True),
			("no phone", body(phone=...), "sign", "application/json", 400, True),
			("a phone that is a list", body(phone=["+79126500005"]), "sign", "application/json", 400, True),
			(
				"a phone with SQL",
				body(phone="'; DROP TABLE `tabCRM Call`; --"),
				"sign",
				"application/json",
				417,
				True,
			),
			(
				"a phone with HTML",
				body(phone="<script>alert(1)</script>"),
				"sign",
				"application/json",
				417,
				True,
			),
			("an unknown direction", body(direction="sideways"), "sign", "application/json", 400, True),
			("an extension that is a list", body(extension=[701]), "sign", "application/json", 400, True),
			("an extension with HTML", body(extension="<i>7</i>"), "sign", "application/json", 400, True),
			(
				"a start ten days back",
				body(started_at=now - 10 * 86400),
				"sign",
				"application/json",
				400,
				True,
			),
			("a negative duration", body(event="end", duration=-5), "sign", "application/json", 400, True),
			("a duration as text", body(event="end", duration="60"), "sign", "application/json", 400, True),
			("an end without duration", body(event="end"), "sign", "application/json", 400, True),
			(
				"an unknown end status",
				body(event="end", duration=1, status="maybe"),
				"sign",
				"application/json",
				400,
				True,
			),
			(
				"a recording for an unknown call",
				body(event="recording", recording_url="https://pbx.example.com/r.wav"),
				"sign",
				"application/json",
				404,
				True,
			),
			(
				"a recording link that is a script",
				body(event="recording", call_id=known, recording_url="javascript:alert(1)"),
				"sign",
				"application/json",
				400,
				True,
			),
			("a 10 MB body", body(padding="x" * (10 * 1024 * 1024)), "sign", "application/json", 413, True),
		]
		for label, payload, signature, content_type, expected, logged in cases:
			with self.subTest(label):
				before = counts()
				rejected = frappe.db.count(LOG, {"status": "Rejected"})
				r = post_event(payload, signature, content_type=content_type)
				self.assertEqual(r.status_code, expected, f"{label}: {r.text[:500]}")
				self.assertTrue(r.error_text().strip(), f"{label}: a message says why")
				self.assertEqual(counts(), before, f"{label}: nothing written")
				self.assertEqual(frappe.db.count(LOG, {"status": "Rejected"}), rejected + int(logged), label)
		self.assertIsNone(call_of("t-bad"))
		self.assertEqual(leads_with("+79126500005"), [])


# the callers of the property test: one subscriber each, written as people and PBXs write numbers
SUBSCRIBERS = ("9127000001", "9127000002", "9127000003")
WRITINGS = (
	lambda d: f"+7{d}",
	lambda d: f"8{d}",
	lambda d: f"+7 ({d[:3]}) {d[3:6]}-{d[6:8]}-{d[8:]}",
	lambda d: f"8 {d[:3]} {d[3:6]} {d[6:8]} {d[8:]}",
	lambda d: f"7{d}",
	lambda d: d,
)
SPOILERS = (None, None, None, "signature", "phone", "timestamp", "duration", "drop")
event_strategy = st.tuples(
	st.sampled_from(("start", "answer", "end", "recording")),
	st.integers(0, 4),  # the call; call i is always subscriber i % 3
	st.integers(0, len(WRITINGS) - 1),
	st.sampled_from(SPOILERS),
	st.booleans(),  # answered, for an end
)


class TestEventsProperty(TelephonyTestCase):
	@hypothesis_settings(
		max_examples=30,
		deadline=None,
		derandomize=True,
		suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
	)
	@given(st.lists(event_strategy, min_size=1, max_size=5))
	def test_no_error_no_partial_record_one_lead_per_caller(self, events):
		prefix = new_call_id("p")
		try:
			self.check_events(prefix, events)
		finally:
			self.wipe()

	def check_events(self, prefix: str, events):
		accepted: dict[str, set[str]] = {}
		now = int(time.time())
		for i, (kind, call, writing, spoiler, answered) in enumerate(events):
			call_id = f"{prefix}-{call}"
			data = {"event": kind, "call_id": call_id, "timestamp": now + i}
			if kind != "recording":
				data["phone"] = WRITINGS[writing](SUBSCRIBERS[call % 3])
			if kind == "end":
				data.update(duration=30 if answered else 0, status="answered" if answered else "missed")
			if kind == "recording":
				data["recording_url"] = f"https://pbx.example.com/{call_id}.wav"
			if spoiler == "phone" and "phone" in data:
				data["phone"] = "<img src=x onerror=alert(1)>"
			elif spoiler == "timestamp":
				data["timestamp"] = str(data["timestamp"])
			elif spoiler == "duration" and kind == "end":
				data["duration"] = -1
			elif spoiler == "drop":
				data.pop("call_id")
			body = json.dumps(data).encode()
			r = post_event(body, "bad" if spoiler == "signature" else "sign")
			self.assertLess(r.status_code, 500, r.text)
			if r.status_code == 200:
				accepted.setdefault(call_id, set()).add(kind)
			else:
				self.assertGreaterEqual(r.status_code, 400)

		recorded = {call_id for call_id, kinds in accepted.items()}
		calls = frappe.get_all(
			"CRM Call",
			filters={"call_id": ("like", f"{prefix}-%")},
			fields=["call_id", "lead", "phone_normalized", "call_status", "direction"],
		)
		self.assertEqual(
			sorted(c.call_id for c in calls), sorted(recorded), "a call exactly where an event was taken"
		)
		for subscriber in SUBSCRIBERS:
			e164 = "+7" + subscriber
			leads = leads_with(e164)
			called = [c for c in calls if c.phone_normalized == e164]
			self.assertEqual(len(leads), 1 if called else 0, f"one lead for {e164}, however written")
			self.assertTrue(
				all(c.lead == leads[0] for c in called), "each call of the caller is linked to it"
			)
		# marks: one per call and kind taken, no more
		marks = frappe.get_all(
			"CRM Automation Mark", filters={"name": ("like", f"telephony:{prefix}-%")}, pluck="name"
		)
		expected_marks = {
			telephony.kind_key(call_id, kind) for call_id, kinds in accepted.items() for kind in kinds
		}
		self.assertEqual(set(marks), expected_marks)
		# a call-back task for each missed call whose caller was known before it (the rest: the new lead's own)
		lead_makers = set(
			frappe.get_all(
				"CRM Automation Mark", filters={"name": ("like", f"telephony-lead:{prefix}-%")}, pluck="name"
			)
		)
		missed = [
			c
			for c in calls
			if "end" in accepted[c.call_id]
			and c.call_status == "Missed"
			and telephony.lead_key(c.call_id) not in lead_makers
		]
		tasks = frappe.get_all(
			"CRM Task", filters={"creation": (">=", self.started), "subject": ("like", "%missed%")}
		)
		self.assertEqual(len(tasks), len(missed))


class TestZadarma(TelephonyTestCase):
	def notify(self, event: str, pbx_call_id: str, **fields):
		form = {"event": event, "pbx_call_id": pbx_call_id, **fields}
		return zd_post(form)

	def test_the_url_check_repeats_the_text(self):
		r = guest("GET", f"{ZADARMA}?zd_echo=a1B2c3")
		self.assertEqual((r.status_code, r.text), (200, "a1B2c3"))
		self.assertTrue(r.headers["Content-Type"].startswith("text/plain"))
		r = guest("GET", f"{ZADARMA}?zd_echo=%3Cscript%3E")
		self.assertEqual(r.status_code, 400, r.text)

	def test_an_incoming_call_with_its_recording(self):
		pbx_call_id = "in_" + frappe.generate_hash(length=40)
		start = now_datetime().strftime("%Y-%m-%d %H:%M:%S")
		number, did = "79126600006", "74950000000"
		signed = {"caller_id": number, "called_did": did, "call_start": start}
		self.assertOk(self.notify("NOTIFY_START", pbx_call_id, **signed))
		r = self.notify("NOTIFY_INTERNAL", pbx_call_id, internal=EXT1, **signed)
		self.assertEqual((r.status_code, r.data["status"]), (200, "ignored"), r.text)
		self.assertOk(
			self.notify(
				"NOTIFY_ANSWER",
				pbx_call_id,
				caller_id=number,
				destination=EXT1,
				call_start=start,
				internal=EXT1,
			)
		)
		self.assertOk(
			self.notify(
				"NOTIFY_END",
				pbx_call_id,
				internal=EXT1,
				duration="42",
				disposition="answered",
				status_code="16",
				is_recorded="1",
				call_id_with_rec="1700000000.123",
				**signed,
			)
		)
		self.assertOk(self.notify("NOTIFY_RECORD", pbx_call_id, call_id_with_rec="1700000000.123"))
		call = call_of("zadarma:" + pbx_call_id)
		self.assertEqual((call.phone, call.phone_normalized), ("+79126600006", "+79126600006"))
		self.assertEqual((call.direction, call.call_status, call.duration), ("Inbound", "Answered", 42))
		self.assertEqual(call.manager, email("sales1"))
		self.assertEqual(leads_with("+79126600006"), [call.lead])
		self.assertEqual(call.recording_url, telephony.recording_link(call.name))

		# playing it: a fresh link from Zadarma, for whoever may see the call
		r = self.raw_get(call.recording_url, email("sales1"))
		self.assertEqual(r.status_code, 302, r.get_data(as_text=True))
		self.assertEqual(r.headers["Location"], f"https://records.example.com/{pbx_call_id}.mp3")
		self.assertEqual(self.api.requests[-1]["params"]["pbx_call_id"], pbx_call_id)
		self.assertTrue(self.api.requests[-1]["authorized"])
		self.assertEqual(self.raw_get(call.recording_url, email("sales3")).status_code, 403)

	def raw_get(self, path: str, user: str):
		frappe.db.commit()
		headers = {"Authorization": self.token_for(user), "Accept": "application/json"}
		return make_request(target=self.client.get, args=(path,), kwargs={"headers": headers})

	def test_a_missed_call_from_a_client_and_an_outgoing_call(self):
		client = factories.make_client(responsible=email("sales2"), phone="+7 912 670-00-07")
		self.track("CRM Client", client.name)
		start = now_datetime().strftime("%Y-%m-%d %H:%M:%S")
		incoming = "in_" + frappe.generate_hash(length=20)
		signed = {"caller_id": "79126700007", "called_did": "74950000000", "call_start": start}
		self.assertOk(self.notify("NOTIFY_START", incoming, **signed))
		self.assertOk(self.notify("NOTIFY_END", incoming, duration="0", disposition="no answer", **signed))
		call = call_of("zadarma:" + incoming)
		self.assertEqual(
			(call.client, call.call_status, call.manager), (client.name, "Missed", email("sales2"))
		)
		self.assertEqual(len(tasks_about("CRM Client", client.name)), 1)

		outgoing = "out_" + frappe.generate_hash(length=20)
		out = {"internal": EXT1, "destination": "79126700007", "call_start": start}
		self.assertOk(self.notify("NOTIFY_OUT_START", outgoing, caller_id="74950000000", **out))
		self.assertOk(
			self.notify(
				"NOTIFY_OUT_END", outgoing, duration="0", disposition="busy", caller_id="74950000000", **out
			)
		)
		call = call_of("zadarma:" + outgoing)
		self.assertEqual(
			(call.direction, call.call_status, call.manager), ("Outbound", "Missed", email("sales1"))
		)
		self.assertEqual(
			len(tasks_about("CRM Client", client.name)), 1, "an unanswered outgoing call needs no task"
		)

	def test_bad_notifications_are_refused(self):
		start = now_datetime().strftime("%Y-%m-%d %H:%M:%S")
		pbx_call_id = "in_" + frappe.generate_hash(length=20)
		signed = {
			"event": "NOTIFY_START",
			"pbx_call_id": pbx_call_id,
			"caller_id": "79126800008",
			"called_did": "74950000000",
			"call_start": start,
		}
		raw_digest = base64.b64encode(
			hmac.new(
				ZD_SECRET.encode(), ("79126800008" + "74950000000" + start).encode(), hashlib.sha1
			).digest()
		).decode()
		stale = add_to_date(now_datetime(), days=-2).strftime("%Y-%m-%d %H:%M:%S")
		cases = [
			("no signature", signed, "", 401),
			(
				"signed with another secret",
				signed,
				zd_sign("79126800008", "74950000000", start, key="x"),
				401,
			),
			("the binary digest in base64 (not Zadarma's scheme)", signed, raw_digest, 401),
			("a signed field changed", {**signed, "caller_id": "79126800009"}, None, None),
			("an unknown event", {**signed, "event": "NOTIFY_SOMETHING"}, None, 400),
			("no call id", {**signed, "pbx_call_id": ""}, None, 400),
			("a call id with SQL", {**signed, "pbx_call_id": "1' OR '1'='1"}, None, 400),
			("no call start", {**signed, "call_start": ""}, None, 400),
			(
				"a call that started two days ago",
				{**signed, "call_start": stale},
				zd_sign("79126800008", "74950000000", stale),
				401,
			),
			(
				"a recording of an unknown call",
				{"event": "NOTIFY_RECORD", "pbx_call_id": pbx_call_id, "call_id_with_rec": "1.2"},
				None,
				404,
			),
		]
		for label, form, signature, expected in cases:
			with self.subTest(label):
				before = counts()
				if expected is None:
					# signed over the original values: the change breaks the signature
					r = zd_post(form, zd_sign("79126800008", "74950000000", start))
					expected = 401
				else:
					r = zd_post(form, signature)
				self.assertEqual(r.status_code, expected, f"{label}: {r.text[:300]}")
				self.assertEqual(counts(), before, f"{label}: nothing written")
		self.assertEqual(
			frappe.db.count(LOG, {"status": "Rejected", "creation": (">=", self.started)}), len(cases)
		)


class TestCallButton(TelephonyTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		frappe.set_user("Administrator")
		cls.client_doc = factories.make_client(responsible=email("sales1"))
		cls.contact = factories.make_contact(cls.client_doc.name, phone="+7 912 690-00-09")
		cls.deals = [factories.make_deal(cls.client_doc.name, responsible=email("sales1")) for _ in range(2)]
		cls.lead = factories.make_lead(responsible=email("sales1"), phone="+7 912 690-00-10")
		cls.foreign_lead = factories.make_lead(responsible=email("sales3"), phone="+7 912 690-00-11")
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		frappe.db.rollback()
		for doctype, name in (
			*(("CRM Deal", d.name) for d in cls.deals),
			("Contact", cls.contact.name),
			("CRM Client", cls.client_doc.name),
			("CRM Lead", cls.lead.name),
			("CRM Lead", cls.foreign_lead.name),
		):
			frappe.delete_doc(doctype, name, force=True, ignore_permissions=True)
		frappe.db.commit()
		super().tearDownClass()

	def options(self, doctype: str, name: str, user: str):
		return self.request(
			"GET",
			f"/api/method/simple_crm.api.telephony.call_options?{urlencode({'doctype': doctype, 'name': name})}",
			user,
		)

	def test_click_to_call_rings_the_extension_then_the_number_and_links_the_call(self):
		from frappe.utils.background_jobs import create_job_id, get_redis_conn
		from rq.job import Job

		deal = self.deals[1]
		r = self.options("CRM Deal", deal.name, email("sales1"))
		self.assertEqual(r.status_code, 200, r.text)
		self.assertTrue(r.data["click_to_call"])
		self.assertEqual([p["e164"] for p in r.data["phones"]], ["+79126900009"])

		r = self.rest_call(
			"simple_crm.api.telephony.start_call", {"doctype": "CRM Deal", "name": deal.name}, email("sales1")
		)
		self.assertEqual(r.status_code, 200, r.text)
		log = r.data["log"]
		self.assertEqual(self.api.requests, [], "the request waits for the background job")
		job = Job.fetch(create_job_id(zadarma.callback_job_id(log)), connection=get_redis_conn())
		frappe.get_attr(job.kwargs["method"])(**job.kwargs["kwargs"])
		# the job run again (a worker that died after the request) rings nobody twice
		frappe.get_attr(job.kwargs["method"])(**job.kwargs["kwargs"])
		job.delete()
		self.assertEqual(len(self.api.requests), 1)
		request = self.api.requests[0]
		self.assertEqual((request["path"], request["authorized"]), ("/v1/request/callback/", True))
		self.assertEqual(request["params"], {"from": EXT1, "to": "79126900009"})
		self.assertEqual(frappe.db.get_value(LOG, log, "status"), "Sent")

		# the PBX then reports the call: it is about the deal pressed (the client has two open deals)
		start = now_datetime().strftime("%Y-%m-%d %H:%M:%S")
		pbx_call_id = "out_" + frappe.generate_hash(length=20)
		form = {
			"event": "NOTIFY_OUT_START",
			"pbx_call_id": pbx_call_id,
			"internal": EXT1,
			"destination": "79126900009",
			"call_start": start,
			"caller_id": "74950000000",
		}
		self.assertOk(zd_post(form))
		call = call_of("zadarma:" + pbx_call_id)
		self.assertEqual(
			(call.deal, call.client, call.manager), (deal.name, self.client_doc.name, email("sales1"))
		)

	def test_a_failed_callback_is_logged(self):
		from frappe.utils.background_jobs import create_job_id, get_redis_conn
		from frappe.utils.password import set_encrypted_password as set_password
		from rq.job import Job

		r = self.rest_call(
			"simple_crm.api.telephony.start_call",
			{"doctype": "CRM Lead", "name": self.lead.name},
			email("sales1"),
		)
		self.assertEqual(r.status_code, 200, r.text)
		set_password(SETTINGS, SETTINGS, "a-wrong-secret", "zadarma_api_secret")
		frappe.db.commit()
		try:
			job = Job.fetch(
				create_job_id(zadarma.callback_job_id(r.data["log"])), connection=get_redis_conn()
			)
			frappe.get_attr(job.kwargs["method"])(**job.kwargs["kwargs"])
			job.delete()
		finally:
			set_password(SETTINGS, SETTINGS, ZD_SECRET, "zadarma_api_secret")
			frappe.db.commit()
		status, error = frappe.db.get_value(LOG, r.data["log"], ["status", "error"])
		self.assertEqual(status, "Failed")
		self.assertIn("401", error)

	def test_only_users_who_see_the_record_may_call_or_log_a_call(self):
		foreign = self.foreign_lead.name
		before = counts()
		self.assertEqual(self.options("CRM Lead", foreign, email("sales1")).status_code, 403)
		r = self.rest_call(
			"simple_crm.api.telephony.start_call", {"doctype": "CRM Lead", "name": foreign}, email("sales1")
		)
		self.assertEqual(r.status_code, 403, r.text)
		r = self.rest_call(
			"simple_crm.api.telephony.log_call",
			{"doctype": "CRM Lead", "name": foreign, "phone": "+79126900011"},
			email("sales1"),
		)
		self.assertEqual(r.status_code, 403, r.text)
		self.assertEqual(counts(), before)
		self.assertEqual(frappe.db.count(LOG, {"creation": (">=", self.started)}), 0, "nothing queued")
		# the one it belongs to may
		self.assertEqual(self.options("CRM Lead", foreign, email("sales3")).status_code, 200)
		r = self.rest_call(
			"simple_crm.api.telephony.start_call", {"doctype": "CRM Lead", "name": foreign}, email("sales3")
		)
		self.assertEqual(r.status_code, 417, "sales3 has no extension: " + r.text)
		self.assertIn("extension", r.error_text())

	def test_without_click_to_call_the_call_is_logged_about_the_record(self):
		frappe.db.set_single_value(SETTINGS, "zadarma_click_to_call", 0)
		frappe.db.commit()
		try:
			r = self.options("Contact", self.contact.name, email("sales1"))
			self.assertEqual(r.status_code, 200, r.text)
			self.assertFalse(r.data["click_to_call"])
			r = self.rest_call(
				"simple_crm.api.telephony.log_call",
				{
					"doctype": "Contact",
					"name": self.contact.name,
					"phone": r.data["phones"][0]["phone"],
					"duration": 120,
					"topic": "<b>Delivery</b> dates",
					"result": "Agreed",
				},
				email("sales1"),
			)
			self.assertEqual(r.status_code, 200, r.text)
			call = frappe.get_doc("CRM Call", r.data)
			self.assertEqual(
				(call.contact, call.client, call.manager, call.direction, call.duration),
				(self.contact.name, self.client_doc.name, email("sales1"), "Outbound", 120),
			)
			# kept as typed, shown as text
			self.assertEqual(call.topic, "<b>Delivery</b> dates")
			frappe.set_user(email("sales1"))
			timeline = " ".join(
				item["content"] for item in get_timeline_content("Contact", self.contact.name)
			)
			frappe.set_user("Administrator")
			self.assertIn("&lt;b&gt;Delivery&lt;/b&gt; dates", timeline)
			self.assertNotIn("<b>Delivery", timeline)
			r = self.rest_call(
				"simple_crm.api.telephony.start_call",
				{"doctype": "Contact", "name": self.contact.name},
				email("sales1"),
			)
			self.assertEqual(r.status_code, 417, r.text)
		finally:
			frappe.db.set_single_value(SETTINGS, "zadarma_click_to_call", 1)
			frappe.db.commit()
