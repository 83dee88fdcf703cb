"""Website inquiries over real HTTP, as a website and a visitor send them (simple_crm.integrations.web_to_lead).

Every request is a guest's (no Authorization header, no cookies) through Frappe's WSGI application, with the
address a proxy would put in X-Forwarded-For, which is where Frappe reads a caller's IP from. An accepted
inquiry's job, which the request queues, is then run as a worker runs it: Frappe's execute_job in a thread of
its own, with its own connection (`send` does that unless told not to). What the requests and jobs write is
committed; each test removes the leads, clients, tasks, comments, notifications and log rows it made.
"""

import json
import random
import re
import threading
from urllib.parse import urlencode

import frappe
from frappe.utils import add_to_date, get_datetime, now_datetime
from frappe.utils.background_jobs import create_job_id, execute_job, get_redis_conn
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rq.job import Job

from simple_crm.integrations import web_to_lead
from simple_crm.tests import factories
from simple_crm.tests.sales_org import SalesOrgRestTestCase, email
from simple_crm.tests.utils import RestResponse, require_lead_company

SUBMIT = "/api/method/simple_crm.api.web_to_lead.submit"
ACCEPT = "/api/method/frappe.website.doctype.web_form.web_form.accept"
KEY = "site-form-key-" + "k" * 16
SETTINGS = "Simple CRM Settings"
# what the tests run with: on, a key, limits nobody reaches but the rate-limit test
CHANNEL_SETTINGS = {
	"web_to_lead_enabled": 1,
	"web_to_lead_form_key": KEY,
	"web_to_lead_source": "Website",
	"web_to_lead_rate_limit": 100_000,
	"web_to_lead_rate_seconds": 3600,
}
OK = {"message": {"ok": True}}

_rng = random.Random()


def new_ip() -> str:
	"""An address no earlier run used within the rate limit's window (documentation ranges)."""
	return f"198.51.{_rng.randint(0, 255)}.{_rng.randint(1, 254)}"


def national(phone: str) -> str:
	"""The ten digits of a Russian number after +7."""
	return phone[-10:]


def renderings(e164: str) -> list[str]:
	"""The ways people write one Russian mobile number."""
	n = national(e164)
	a, b, c, d = n[:3], n[3:6], n[6:8], n[8:]
	return [
		f"8 ({a}) {b}-{c}-{d}",
		f"+7 {a} {b} {c}{d}",
		n,
		f"+7-{a}-{b}-{c}-{d}",
		f"8{n}",
		f"7 {a} {b} {c} {d}",
		f"+7({a}){b}{c}{d}",
		f"  8 {a} {b}{c}{d}  ",
	]


def fresh_phone() -> str:
	"""A Russian mobile number (E.164) nobody on the site has."""
	while True:
		number = "+7916" + f"{_rng.randint(0, 9_999_999):07d}"
		if not frappe.db.exists("CRM Contact Point", {"kind": "Phone", "value": number}):
			return number


class WebToLeadTestCase(SalesOrgRestTestCase):
	guest = frappe.utils.get_test_client(use_cookies=False)

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.saved_settings = cls.change_settings(CHANNEL_SETTINGS)

	@classmethod
	def tearDownClass(cls):
		frappe.db.rollback()
		cls.change_settings(cls.saved_settings)
		super().tearDownClass()

	@staticmethod
	def change_settings(values: dict) -> dict:
		"""Save `values` in the settings (committed); returns what they were."""
		from frappe.utils.password import get_decrypted_password

		doc = frappe.get_single(SETTINGS)
		before = {
			key: (
				get_decrypted_password(SETTINGS, SETTINGS, key, raise_exception=False)
				if doc.meta.get_field(key).fieldtype == "Password"
				else doc.get(key)
			)
			for key in values
		}
		doc.update(values)
		doc.save(ignore_permissions=True)
		frappe.db.commit()
		return before

	def set_settings(self, **values) -> None:
		"""Change the settings for one test."""
		before = self.change_settings(values)
		self.addCleanup(lambda: (frappe.db.rollback(), self.change_settings(before)))

	def setUp(self):
		super().setUp()
		self.started = add_to_date(now_datetime(), seconds=-1)
		self.ip = new_ip()

	def tearDown(self):
		# before the records the test made itself (a client cannot go while its tasks are there)
		self.remove_what_requests_made()
		super().tearDown()

	# --- requests -------------------------------------------------------------------------------------

	def send(
		self,
		method: str,
		path: str,
		ip: str | None = None,
		headers: dict | None = None,
		handle: bool = True,
		**kwargs,
	):
		"""One guest request through the WSGI application, in a thread of its own (as a server would run it);
		then, unless `handle` is false, the jobs of the inquiries it accepted."""
		frappe.db.commit()
		response = self.in_thread(method, path, ip, headers, **kwargs).join_response()
		if handle:
			self.run_inquiry_jobs()
		return response

	def accepted(self) -> list[str]:
		"""The inquiries accepted since the test began and not handled yet (their log rows)."""
		return frappe.get_all(
			"CRM Integration Log",
			filters={
				"creation": (">=", self.started),
				"channel": ("in", [web_to_lead.API_CHANNEL, web_to_lead.WEB_FORM_CHANNEL]),
				"status": web_to_lead.RECEIVED,
			},
			pluck="name",
			order_by="creation",
		)

	def run_inquiry_jobs(self) -> None:
		"""The queued jobs of the inquiries accepted and not handled yet, all at once, each as a worker runs it
		(Frappe's execute_job in a thread of its own); each job must be in the queue, and is gone afterwards."""
		frappe.db.commit()
		jobs = [queued_job(log) for log in self.accepted()]
		threads = [JobThread(job) for job in jobs]
		for thread, job in zip(threads, jobs, strict=True):
			thread.join()
			job.delete()
			if thread.error:
				raise thread.error
		frappe.db.commit()

	def in_thread(self, method: str, path: str, ip: str | None = None, headers: dict | None = None, **kwargs):
		headers = {
			"X-Frappe-Site-Name": frappe.local.site,
			"X-Forwarded-For": ip or self.ip,
			"Accept": "application/json",
			**(headers or {}),
		}
		target = getattr(self.guest, method.lower())
		return RequestThread(lambda: target(path, headers=headers, **kwargs))

	def submit(self, payload: dict, ip: str | None = None) -> RestResponse:
		return self.send("POST", SUBMIT, ip, json=payload)

	def inquiry(self, **values) -> dict:
		data = {
			"form_key": KEY,
			"name": "Мария Кузнецова",
			"company": "ООО Василёк",
			"phone": "",
			"email": "",
			"message": "Нужен расчёт на 20 стеллажей",
			"homepage": "",
		}
		data.update(values)
		return {k: v for k, v in data.items() if v is not ...}

	def web_form_submit(self, values: dict, web_form: str = web_to_lead.WEB_FORM, ip: str | None = None):
		return self.send(
			"POST", ACCEPT, ip, data={"web_form": web_form, "data": json.dumps(values, ensure_ascii=False)}
		)

	# --- what is on the site --------------------------------------------------------------------------

	def leads_with(self, phone: str | None = None, email_address: str | None = None) -> list[frappe._dict]:
		filters = {"phone_normalized": phone} if phone else {"email": email_address}
		return frappe.get_all(
			"CRM Lead",
			filters=filters,
			fields=["*"],
			order_by="creation",
		)

	def comments_on(self, doctype: str, name: str) -> list[str]:
		return frappe.get_all(
			"Comment",
			filters={"reference_doctype": doctype, "reference_name": name, "comment_type": "Comment"},
			pluck="content",
			order_by="creation",
		)

	def tasks_on(self, doctype: str, name: str) -> list[frappe._dict]:
		return frappe.get_all(
			"CRM Task",
			filters={"reference_doctype": doctype, "reference_name": name},
			fields=["name", "subject", "assigned_to", "task_type", "status", "description", "due_on"],
			order_by="creation",
		)

	def logs(self, **filters) -> list[frappe._dict]:
		return frappe.get_all(
			"CRM Integration Log",
			filters={"creation": (">=", self.started), **filters},
			fields=["*"],
			order_by="creation",
		)

	def counts(self) -> dict[str, int]:
		"""Rows of what an inquiry writes, made since the test began."""
		since = {"creation": (">=", self.started)}
		return {
			doctype: frappe.db.count(doctype, since)
			for doctype in (
				"CRM Lead",
				"CRM Task",
				"Comment",
				"CRM Contact Point",
				"ToDo",
				"Notification Log",
			)
		}

	def remove_what_requests_made(self) -> None:
		frappe.db.rollback()
		frappe.set_user("Administrator")
		since = {"creation": (">=", self.started)}
		leads = frappe.get_all("CRM Lead", filters=since, pluck="name")
		for lead in leads:
			try:
				Job.fetch(create_job_id(f"simple_crm:new-lead:{lead}"), connection=get_redis_conn()).delete()
			except Exception:
				pass  # none queued (or already gone)
		for log in self.accepted():
			try:
				queued_job(log).delete()
			except Exception:
				pass  # none queued (or already gone)
		frappe.db.delete("Notification Log", since)
		frappe.db.delete("CRM Automation Mark", since)
		frappe.db.delete("Comment", {**since, "reference_doctype": ("in", ["CRM Lead", "CRM Client"])})
		for task in frappe.get_all("CRM Task", filters=since, pluck="name"):
			frappe.delete_doc("CRM Task", task, force=True, ignore_permissions=True)
		for lead in leads:
			frappe.delete_doc("CRM Lead", lead, force=True, ignore_permissions=True)
		frappe.db.delete("CRM Integration Log", since)
		frappe.db.commit()


def queued_job(log: str) -> Job:
	return Job.fetch(create_job_id(web_to_lead.job_id(log)), connection=get_redis_conn())


class JobThread(threading.Thread):
	"""A queued job run as a worker runs it (its own site context, connection and commit)."""

	def __init__(self, job: Job):
		super().__init__()
		self.job = job
		self.error = None
		self.start()

	def run(self):
		try:
			execute_job(**self.job.kwargs)
		except Exception as e:
			self.error = e


class RequestThread(threading.Thread):
	def __init__(self, call):
		super().__init__()
		self.call = call
		self.response = None
		self.start()

	def run(self):
		self.response = self.call()

	def join_response(self) -> RestResponse:
		self.join()
		return RestResponse(self.response)


class TestWebsiteInquiries(WebToLeadTestCase):
	def test_a_new_person_becomes_a_lead_with_its_tags_and_its_call_back_task(self):
		phone = fresh_phone()
		r = self.submit(
			self.inquiry(
				phone=renderings(phone)[0],
				email="Maria.K@Example.com",
				utm_source="yandex",
				utm_medium="cpc",
				utm_campaign="spring-sale",
				utm_content="banner-2",
				utm_term="стеллажи",
				page_url="https://shop.example.com/racks?utm_source=yandex",
				referrer="https://yandex.ru/search/?text=стеллажи",
			)
		)
		self.assertEqual((r.status_code, r.json), (200, OK), r.text)
		[lead] = self.leads_with(phone)
		self.assertEqual(lead.lead_name, "Мария Кузнецова")
		self.assertEqual(lead.company_name, "ООО Василёк")
		self.assertEqual(lead.phone, renderings(phone)[0], "kept as typed")
		self.assertEqual(lead.email, "maria.k@example.com")
		self.assertEqual(lead.interest, "Нужен расчёт на 20 стеллажей")
		self.assertEqual((lead.channel, lead.source, lead.status), ("Website", "Website", "New"))
		self.assertEqual(
			[lead.utm_source, lead.utm_medium, lead.utm_campaign, lead.utm_content, lead.utm_term],
			["yandex", "cpc", "spring-sale", "banner-2", "стеллажи"],
		)
		self.assertEqual(lead.campaign, "spring-sale")
		self.assertFalse(lead.responsible, "handed out by distribution, not by the request")
		[comment] = self.comments_on("CRM Lead", lead.name)
		self.assertIn("https://shop.example.com/racks?utm_source=yandex", comment)
		self.assertIn("https://yandex.ru/search/?text=стеллажи", comment)
		[log] = self.logs(channel="Website API")
		self.assertEqual(
			(log.status, log.reference_doctype, log.reference_name), ("Processed", "CRM Lead", lead.name)
		)
		self.assertEqual(log.remote_address, self.ip)
		self.assertNotIn(KEY, log.payload)
		self.assertEqual(json.loads(log.payload)["form_key"], "***")

		# the new-lead automation gives it its call-back task, as for every lead: the job the insert queued,
		# run as the worker runs it
		self.assertEqual(self.tasks_on("CRM Lead", lead.name), [])
		job = Job.fetch(create_job_id(f"simple_crm:new-lead:{lead.name}"), connection=get_redis_conn())
		frappe.set_user(job.kwargs["user"])
		frappe.get_attr(job.kwargs["method"])(**job.kwargs["kwargs"])
		frappe.set_user("Administrator")
		frappe.db.commit()
		job.delete()
		[task] = self.tasks_on("CRM Lead", lead.name)
		self.assertEqual(task.task_type, "Call")
		self.assertIn(task.assigned_to, (email("head_a"), email("head_b")), "a head hands the lead out")

	def test_form_fields_and_text_plain_json_are_read_too(self):
		phone, other = fresh_phone(), fresh_phone()
		form = self.inquiry(phone=renderings(phone)[2], company="", utm_source="vk")
		r = self.send("POST", SUBMIT, data=form)
		self.assertEqual((r.status_code, r.json), (200, OK), r.text)
		[lead] = self.leads_with(phone)
		self.assertEqual((lead.lead_name, lead.utm_source), ("Мария Кузнецова", "vk"))
		# a page may post JSON as text/plain (no CORS preflight)
		body = json.dumps(self.inquiry(name="", phone=renderings(other)[1]), ensure_ascii=False)
		r = self.send("POST", SUBMIT, data=body.encode(), content_type="text/plain")
		self.assertEqual((r.status_code, r.json), (200, OK), r.text)
		[lead] = self.leads_with(other)
		self.assertEqual(lead.lead_name, "ООО Василёк", "a company's inquiry is named after the company")

	def test_a_repeat_inquiry_goes_to_the_open_lead_as_a_comment_and_a_task_for_its_manager(self):
		phone = fresh_phone()
		lead = factories.make_lead(phone=renderings(phone)[0], responsible=email("sales1"))
		self.track("CRM Lead", lead.name)
		frappe.db.commit()
		first = self.submit(self.inquiry(phone=fresh_phone()))  # someone else, for the answer's sake
		r = self.submit(self.inquiry(name="Мария", phone=renderings(phone)[3], message="Повторно: ждём счёт"))
		self.assertEqual(
			(r.status_code, r.text), (first.status_code, first.text), "the same answer as for a stranger"
		)
		self.assertEqual(r.json, OK)
		self.assertEqual([lead.name], [row.name for row in self.leads_with(phone)], "no twin")
		[comment] = self.comments_on("CRM Lead", lead.name)
		self.assertIn("Повторно: ждём счёт", comment)
		[task] = self.tasks_on("CRM Lead", lead.name)
		self.assertEqual((task.assigned_to, task.task_type, task.status), (email("sales1"), "Call", "Open"))
		self.assertIn("Мария", task.subject)
		self.assertIn("Повторно: ждём счёт", task.description)
		self.assertTrue(
			frappe.db.exists("Notification Log", {"for_user": email("sales1"), "document_name": task.name})
		)
		[log] = self.logs(channel="Website API", reference_name=lead.name)
		self.assertEqual((log.status, log.reference_doctype), ("Duplicate", "CRM Lead"))

		# by e-mail too, written otherwise
		r = self.submit(self.inquiry(phone="", email=lead.email.upper(), message="И ещё вопрос"))
		self.assertEqual(r.json, OK)
		self.assertEqual(len(self.comments_on("CRM Lead", lead.name)), 2)
		self.assertEqual(len(self.tasks_on("CRM Lead", lead.name)), 2)

	def test_a_clients_contact_writing_again_reaches_the_clients_manager(self):
		client = factories.make_client(responsible=email("sales3"))
		contact = factories.make_contact(client.name)
		self.track("CRM Client", client.name)
		self.track("Contact", contact.name)
		frappe.db.commit()
		address = contact.email_ids[0].email_id
		leads_before = frappe.db.count("CRM Lead")
		r = self.submit(self.inquiry(phone="", email=address.upper(), message="Нужна ещё партия"))
		self.assertEqual((r.status_code, r.json), (200, OK), r.text)
		self.assertEqual(frappe.db.count("CRM Lead"), leads_before, "a client is not a new lead")
		[comment] = self.comments_on("CRM Client", client.name)
		self.assertIn("Нужна ещё партия", comment)
		[task] = self.tasks_on("CRM Client", client.name)
		self.assertEqual(task.assigned_to, email("sales3"))

	def test_a_disqualified_lead_does_not_swallow_a_new_inquiry_even_when_duplicates_are_blocked(self):
		self.set_settings(duplicate_policy="Block")
		phone = fresh_phone()
		old = factories.make_lead(phone=renderings(phone)[0])
		self.track("CRM Lead", old.name)
		reason = frappe.get_all("CRM Lost Reason", filters={"disabled": 0}, pluck="name", limit=1)
		frappe.db.set_value("CRM Lead", old.name, {"status": "Disqualified", "lost_reason": reason[0]})
		frappe.db.commit()
		r = self.submit(self.inquiry(phone=renderings(phone)[5]))
		self.assertEqual((r.status_code, r.json), (200, OK), r.text)
		self.assertNotIn("_server_messages", r.json)
		new = [row for row in self.leads_with(phone) if row.name != old.name]
		self.assertEqual(len(new), 1)
		[comment] = self.comments_on("CRM Lead", new[0].name)
		self.assertIn(old.name, comment, "the manager learns of the earlier lead")
		self.assertEqual(self.comments_on("CRM Lead", old.name), [])

	def test_injection_strings_are_stored_as_text(self):
		phone = fresh_phone()
		name = "Robert'); DROP TABLE `tabCRM Lead`;--"
		message = "<img src=x onerror=alert(1)> ' OR '1'='1 -- \" ; SELECT * FROM `tabUser`"
		r = self.submit(self.inquiry(name=name, company="O'Reilly & Sons", phone=phone, message=message))
		self.assertEqual((r.status_code, r.json), (200, OK), r.text)
		[lead] = self.leads_with(phone)
		self.assertEqual((lead.lead_name, lead.company_name), (name, "O'Reilly & Sons"))
		self.assertNotIn("onerror", lead.interest)
		self.assertIn("SELECT * FROM `tabUser`", lead.interest)
		[comment] = self.comments_on("CRM Lead", lead.name)
		self.assertNotIn("<img", comment)
		self.assertIn("&lt;img", comment)

	def test_unpaired_surrogates_and_control_characters_are_dropped(self):
		phone = fresh_phone()
		# JSON escapes that read as unpaired surrogates (which the database refuses) and control characters
		body = json.dumps(
			{"form_key": KEY, "name": "\ud800\x00\x07Иван\x1b", "phone": phone, "message": "a\udfffb"}
		)
		r = self.send("POST", SUBMIT, data=body.encode(), content_type="application/json")
		self.assertEqual((r.status_code, r.json), (200, OK), r.text)
		[lead] = self.leads_with(phone)
		self.assertEqual(lead.lead_name, "Иван")
		self.assertEqual(lead.interest, "a b")

	def test_bad_inputs_are_refused_with_a_message_and_write_nothing(self):
		phone = fresh_phone()
		good = self.inquiry(phone=phone)
		cases = [
			# (what, body or (raw bytes, content type), status, part of the message)
			("no name nor company", {**good, "name": "", "company": None}, 400, "name or a company"),
			("no phone nor e-mail", {**good, "phone": " ", "email": None}, 400, "phone or an e-mail"),
			("nothing at all", {"form_key": KEY}, 400, "name or a company"),
			("name is a number", {**good, "name": 42}, 400, "Name must be text"),
			("phone is a list", {**good, "phone": [phone]}, 400, "Phone must be text"),
			("message is an object", {**good, "message": {"a": 1}}, 400, "Message must be text"),
			("utm is a boolean", {**good, "utm_source": True}, 400, "UTM Source must be text"),
			("name too long", {**good, "name": "я" * 141}, 400, "Name is too long"),
			("message too long", {**good, "message": "x" * 5001}, 400, "Message is too long"),
			("page too long", {**good, "page_url": "https://e.com/" + "a" * 1000}, 400, "Page is too long"),
			("not a phone", {**good, "phone": "12"}, 400, "not a valid phone number"),
			("letters for a phone", {**good, "phone": "call me"}, 400, "is not a phone number"),
			("not an e-mail", {**good, "email": "maria@"}, 400, "not a valid e-mail"),
			("SQL in the phone", {**good, "phone": "1' OR '1'='1"}, 400, "is not a phone number"),
			(
				"SQL in the e-mail",
				{**good, "email": "x'; DROP TABLE `tabCRM Lead`;--@example.com"},
				400,
				"not a valid e-mail",
			),
			("HTML in the name", {**good, "name": "<script>alert(1)</script>"}, 400, "angle brackets"),
			("HTML in the company", {**good, "company": "<b>ООО</b>"}, 400, "angle brackets"),
			(
				"HTML in a tag",
				{**good, "utm_term": "<>" * 70},
				400,
				"UTM Term must not contain angle brackets",
			),
			("no form key", {**good, "form_key": None}, 401, "form key is missing"),
			("wrong form key", {**good, "form_key": KEY + "x"}, 401, "form key is wrong"),
			("SQL for a form key", {**good, "form_key": "' OR 1=1 --"}, 401, "form key is wrong"),
			("form key a number", {**good, "form_key": 12345}, 401, "form key is missing"),
			("honeypot filled", {**good, "homepage": "http://spam.example"}, 400, "must stay empty"),
			("10 MB body", {**good, "message": "x" * (10 * 1024 * 1024)}, 413, "too large"),
			("not JSON", (b"{name: bad", "text/plain"), 400, "not valid JSON"),
			("a JSON list", (b'[{"name": "x"}]', "text/plain"), 400, "JSON object"),
			("a JSON list as JSON", (b"[1, 2]", "application/json"), 400, "JSON object"),
		]
		before = self.counts()
		for what, body, status, message in cases:
			with self.subTest(what):
				if isinstance(body, tuple):
					r = self.send("POST", SUBMIT, data=body[0], content_type=body[1])
				else:
					r = self.submit(body)
				self.assertEqual(r.status_code, status, r.text[:500])
				self.assertIn(message, r.error_text())
				self.assertEqual(self.counts(), before, "nothing written")
		self.assertEqual(self.leads_with(phone), [])
		rejected = self.logs(channel="Website API", status="Rejected")
		# the body checked by the app's request guard before the endpoint runs leaves no row
		self.assertEqual(len(rejected), len(cases) - 1)
		self.assertFalse(any(KEY in (row.payload or "") for row in rejected))

	def test_switched_off_nothing_is_accepted(self):
		# the page shown while the channel was on is not served from the website's page cache once it is off
		page = self.send("GET", "/inquiry/new", headers={"Accept": "text/html"})
		self.assertEqual(page.status_code, 200, page.text[:300])
		self.set_settings(web_to_lead_enabled=0)
		phone = fresh_phone()
		r = self.submit(self.inquiry(phone=phone))
		self.assertEqual(r.status_code, 403, r.text)
		self.assertIn("switched off", r.error_text())
		r = self.web_form_submit({"lead_name": "Иван", "phone": phone})
		self.assertEqual(r.status_code, 403, r.text)
		self.assertEqual(self.send("GET", "/inquiry/new", headers={"Accept": "text/html"}).status_code, 404)
		self.assertEqual(self.leads_with(phone), [])

	def test_without_a_form_key_set_the_endpoint_refuses(self):
		self.set_settings(web_to_lead_form_key="")
		r = self.submit(self.inquiry(phone=fresh_phone()))
		self.assertEqual(r.status_code, 403, r.text)
		self.assertIn("form key is not set", r.error_text())

	def test_only_post(self):
		r = self.send("GET", SUBMIT + "?" + urlencode(self.inquiry(phone=fresh_phone())))
		self.assertEqual(r.status_code, 403, r.text)

	def test_the_form_key_is_not_shown_to_sales_managers(self):
		r = self.rest_get(SETTINGS, SETTINGS, email("sales1"))
		self.assertEqual(r.status_code, 200, r.text)
		self.assertNotIn(KEY, r.text)
		self.assertNotEqual(r.data.get("web_to_lead_form_key"), KEY)


class TestRateLimit(WebToLeadTestCase):
	def test_a_burst_from_one_address_gets_429_and_other_addresses_go_on(self):
		self.set_settings(web_to_lead_rate_limit=3, web_to_lead_rate_seconds=60)
		burst, other = new_ip(), new_ip()
		# whatever they carry, requests count: a robot guessing the key is limited too
		for _ in range(3):
			self.assertEqual(self.submit(self.inquiry(form_key="guess"), ip=burst).status_code, 401)
		phone = fresh_phone()
		r = self.submit(self.inquiry(phone=phone), ip=burst)
		self.assertEqual(r.status_code, 429, r.text)
		self.assertIn("rate limit", r.error_text())
		self.assertEqual(self.leads_with(phone), [], "refused before anything is read")
		# Frappe takes the first address of X-Forwarded-For (the client, as the proxy saw it)
		r = self.submit(self.inquiry(phone=phone), ip=f"{burst}, 10.0.0.1")
		self.assertEqual(r.status_code, 429, r.text)
		r = self.submit(self.inquiry(phone=phone), ip=other)
		self.assertEqual((r.status_code, r.json), (200, OK), r.text)
		self.assertEqual(len(self.leads_with(phone)), 1)
		# the web form is limited alike (a counter of its own)
		for _ in range(3):
			r = self.web_form_submit({"lead_name": "Иван", "phone": fresh_phone(), "homepage": "x"}, ip=other)
			self.assertEqual(r.status_code, 400, r.text)
		r = self.web_form_submit({"lead_name": "Иван", "phone": phone}, ip=other)
		self.assertEqual(r.status_code, 429, r.text)


class TestWebForm(WebToLeadTestCase):
	def test_the_public_page_shows_the_form_in_english_and_russian(self):
		r = self.send("GET", "/inquiry", headers={"Accept": "text/html"})
		self.assertIn(r.status_code, (301, 302), r.text[:300])
		r = self.send("GET", "/inquiry/new", headers={"Accept": "text/html", "Accept-Language": "en"})
		self.assertEqual(r.status_code, 200, r.text[:500])
		for text in (
			"web-form",
			"lead_name",
			"company_name",
			"phone",
			"email",
			"interest",
			"Send Us an Inquiry",
		):
			self.assertIn(text, r.text)
		self.assertIn('name="homepage"', r.text, "the honeypot of the form's script")
		r = self.send("GET", "/inquiry/new", headers={"Accept": "text/html", "Accept-Language": "ru"})
		self.assertEqual(r.status_code, 200)
		self.assertIn("Отправьте нам заявку", r.text)
		# the labels come with the page's translations (frappe._messages), as the form's script shows them
		messages = json.loads(re.search(r"frappe\._messages = (\{.*?\n\});", r.text, re.S).group(1))
		self.assertEqual(messages["Your Name"], "Ваше имя")
		self.assertEqual(messages["Your Message"], "Ваше сообщение")
		self.assertEqual(messages["Send"], "Отправить")

	def test_a_submission_makes_the_lead_as_the_endpoint_does_and_a_repeat_makes_none(self):
		phone = fresh_phone()
		values = {
			"doctype": "CRM Lead",
			"web_form_name": web_to_lead.WEB_FORM,
			"lead_name": "Пётр Смирнов",
			"company_name": "ИП Смирнов",
			"phone": renderings(phone)[0],
			"email": "",
			"interest": "Интересует доставка",
			"homepage": "",
			"utm_source": "google",
			"page_url": "https://crm.example.com/inquiry/new?utm_source=google",
			"referrer": "https://google.com/",
		}
		r = self.web_form_submit(values)
		self.assertEqual((r.status_code, r.json), (200, OK), r.text)
		[lead] = self.leads_with(phone)
		self.assertEqual(
			(lead.lead_name, lead.company_name, lead.interest, lead.channel, lead.source, lead.utm_source),
			("Пётр Смирнов", "ИП Смирнов", "Интересует доставка", "Website", "Website", "google"),
		)
		self.assertFalse(lead.responsible)
		self.assertEqual(lead.owner, "Administrator", "made by the system, not by a guest")
		[log] = self.logs(channel="Web Form")
		self.assertEqual((log.status, log.reference_name), ("Processed", lead.name))

		r = self.web_form_submit({**values, "phone": renderings(phone)[2], "interest": "Ещё вопрос"})
		self.assertEqual((r.status_code, r.json), (200, OK), r.text)
		self.assertEqual(len(self.leads_with(phone)), 1)
		self.assertEqual(len(self.comments_on("CRM Lead", lead.name)), 2)
		self.assertEqual(len(self.tasks_on("CRM Lead", lead.name)), 1, "a repeat inquiry task")

	def test_bad_submissions_are_refused_like_the_endpoints(self):
		before = self.counts()
		phone = fresh_phone()
		for what, values, status, message in (
			("honeypot", {"lead_name": "Иван", "phone": phone, "homepage": "x"}, 400, "must stay empty"),
			("no contact", {"lead_name": "Иван"}, 400, "phone or an e-mail"),
			("bad phone", {"lead_name": "Иван", "phone": "abc"}, 400, "is not a phone number"),
			("markup", {"lead_name": "<i>Иван</i>", "phone": phone}, 400, "angle brackets"),
			("a saved lead", {"name": "LEAD-1", "lead_name": "Иван", "phone": phone}, 400, "cannot change"),
		):
			with self.subTest(what):
				r = self.web_form_submit(values)
				self.assertEqual(r.status_code, status, r.text)
				self.assertIn(message, r.error_text())
		r = self.send("POST", ACCEPT, data={"web_form": web_to_lead.WEB_FORM, "data": "{bad"})
		self.assertEqual(r.status_code, 400, r.text)
		self.assertEqual(self.counts(), before)


class TestOnePersonOneLead(WebToLeadTestCase):
	def test_simultaneous_inquiries_of_one_new_person_make_one_lead(self):
		phone = fresh_phone()
		frappe.db.commit()
		threads = [
			self.in_thread("POST", SUBMIT, json=self.inquiry(phone=rendering, message=f"#{i}"))
			for i, rendering in enumerate(renderings(phone)[:5])
		]
		responses = [t.join_response() for t in threads]
		self.assertEqual([(r.status_code, r.json) for r in responses], [(200, OK)] * 5)
		self.assertEqual(self.leads_with(phone), [], "accepted: the jobs make the records")
		# the five jobs at once, as five workers would run them
		self.run_inquiry_jobs()
		[lead] = self.leads_with(phone)
		self.assertEqual(len(self.comments_on("CRM Lead", lead.name)), 5, "one per inquiry")

	def test_no_5xx_no_partial_records_one_lead_per_person(self):
		"""Any mix of good and bad inquiries of three people, each writing the phone their own way: never a
		5xx, a refusal writes nothing, an accepted inquiry writes one comment (and one lead for a new person),
		and each person has one lead however often and however they wrote."""
		people = [fresh_phone() for _ in range(3)]
		mails = [f"hyp.{i}.{frappe.generate_hash(length=8)}@example.com" for i in range(3)]
		answered, statuses = set(), []

		@hypothesis_settings(
			max_examples=45,
			deadline=None,
			derandomize=True,
			suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
		)
		@given(
			person=st.integers(0, 2),
			rendering=st.integers(0, len(renderings(people[0])) - 1),
			name=st.one_of(
				st.sampled_from(["Иван Петров", "O'Brien", "Анна", ""]),
				st.text(max_size=150),
				st.none(),
				st.integers(),
			),
			company=st.sampled_from([None, "", "ООО Ромашка"]),
			message=st.one_of(st.text(max_size=300), st.none()),
			with_email=st.booleans(),
			honeypot=st.sampled_from(["", "", "", "", "", "http://spam.example"]),
			key=st.sampled_from([KEY, KEY, KEY, KEY, KEY, "wrong", None]),
			extra=st.dictionaries(
				st.text(max_size=8), st.one_of(st.text(max_size=8), st.integers()), max_size=1
			),
		)
		def check(person, rendering, name, company, message, with_email, honeypot, key, extra):
			body = {
				**extra,
				"form_key": key,
				"name": name,
				"company": company,
				"phone": renderings(people[person])[rendering],
				"message": message,
				"homepage": honeypot,
			}
			if with_email:
				body["email"] = mails[person].upper() if rendering % 2 else mails[person]
			before = self.counts()
			r = self.submit(body)
			statuses.append(r.status_code)
			self.assertLess(r.status_code, 500, r.text[:1000])
			after = self.counts()
			if r.status_code == 200:
				self.assertEqual(r.json, OK)
				new_person = person not in answered
				answered.add(person)
				self.assertEqual(after["Comment"], before["Comment"] + 1, "one comment per inquiry")
				self.assertEqual(
					after["CRM Lead"], before["CRM Lead"] + new_person, "a lead for a new person only"
				)
				self.assertEqual(
					after["CRM Task"], before["CRM Task"] + (not new_person), "a task for a repeat"
				)
			else:
				self.assertIn(r.status_code, (400, 401), r.text[:500])
				self.assertEqual(after, before, "a refusal writes nothing")
			for index, number in enumerate(people):
				self.assertEqual(len(self.leads_with(number)), int(index in answered), number)
				if index in answered and with_email:
					self.assertLessEqual(len(self.leads_with(email_address=mails[index])), 1)

		check()
		# the examples did go both ways, and people came back
		self.assertGreater(statuses.count(200), len(answered), statuses)
		self.assertTrue(any(400 <= status < 500 for status in statuses), statuses)


class TestAcceptedThenHandled(WebToLeadTestCase):
	"""The request records the inquiry and queues its job; the job makes the records, exactly once."""

	def test_the_request_records_the_inquiry_and_its_job_makes_the_lead(self):
		phone = fresh_phone()
		before = self.counts()
		r = self.send("POST", SUBMIT, json=self.inquiry(phone=renderings(phone)[0]), handle=False)
		self.assertEqual((r.status_code, r.json), (200, OK), r.text)
		self.assertEqual(self.counts(), before, "nothing but the log row yet")
		[log] = self.logs(channel="Website API")
		self.assertEqual((log.status, log.reference_name, log.attempts), ("Received", None, 0))
		self.assertEqual(json.loads(log.inquiry)["phone_normalized"], phone, "the inquiry as read")
		self.assertGreater(get_datetime(log.next_attempt_on), get_datetime(log.received_on))
		self.assertEqual(self.leads_with(phone), [])
		self.assertEqual(queued_job(log.name).kwargs["kwargs"], {"log": log.name})

		self.run_inquiry_jobs()
		[lead] = self.leads_with(phone)
		[log] = self.logs(channel="Website API")
		self.assertEqual(
			(log.status, log.reference_doctype, log.reference_name, log.next_attempt_on),
			("Processed", "CRM Lead", lead.name, None),
		)
		self.assertEqual(get_datetime(lead.received_on), get_datetime(log.received_on), "when it arrived")
		self.assertEqual(len(self.comments_on("CRM Lead", lead.name)), 1)

		# run again (a worker retrying it, or catch_up beside it): nothing more
		self.assertEqual(web_to_lead.process(log.name), "handled already")
		frappe.db.commit()
		self.assertEqual(len(self.leads_with(phone)), 1)
		self.assertEqual(len(self.comments_on("CRM Lead", lead.name)), 1)

	def test_an_inquiry_whose_job_was_lost_is_handled_by_catch_up(self):
		phone = fresh_phone()
		r = self.send("POST", SUBMIT, json=self.inquiry(phone=phone), handle=False)
		self.assertEqual((r.status_code, r.json), (200, OK), r.text)
		[log] = self.accepted()
		queued_job(log).delete()  # lost: a worker's Redis emptied
		web_to_lead.catch_up()
		frappe.db.commit()
		self.assertEqual(self.leads_with(phone), [], "its job may still come: not due yet")
		frappe.db.set_value(
			"CRM Integration Log", log, "next_attempt_on", add_to_date(now_datetime(), seconds=-1)
		)
		frappe.db.commit()
		summary = web_to_lead.catch_up()
		frappe.db.commit()
		self.assertIn("handled: 1", summary)
		[lead] = self.leads_with(phone)
		self.assertEqual(
			frappe.db.get_value("CRM Integration Log", log, ["status", "reference_name"]),
			("Processed", lead.name),
		)
		self.assertIn("nothing to do", web_to_lead.catch_up())

	def test_the_job_and_catch_up_at_once_make_one_lead(self):
		phone = fresh_phone()
		r = self.send("POST", SUBMIT, json=self.inquiry(phone=phone), handle=False)
		self.assertEqual(r.status_code, 200, r.text)
		[log] = self.accepted()
		frappe.db.set_value(
			"CRM Integration Log", log, "next_attempt_on", add_to_date(now_datetime(), seconds=-1)
		)
		frappe.db.commit()
		job = queued_job(log)
		sweep = frappe._dict(
			kwargs={
				"site": frappe.local.site,
				"method": "simple_crm.integrations.web_to_lead.catch_up",
				"event": None,
				"job_name": "simple_crm.integrations.web_to_lead.catch_up",
				"kwargs": {},
				"user": "Administrator",
				"is_async": True,
			}
		)
		threads = [JobThread(job), JobThread(sweep)]
		for thread in threads:
			thread.join()
			self.assertIsNone(thread.error)
		job.delete()
		frappe.db.commit()
		[lead] = self.leads_with(phone)
		self.assertEqual(len(self.comments_on("CRM Lead", lead.name)), 1)
		self.assertEqual(frappe.db.get_value("CRM Integration Log", log, "status"), "Processed")

	def test_an_inquiry_that_cannot_be_handled_ends_failed_with_its_reason(self):
		# an administrator made Company mandatory for leads (Customize Form): a person's inquiry has none
		undo = require_lead_company(self)
		phone = fresh_phone()
		before = self.counts()
		r = self.submit(self.inquiry(company="", phone=phone))
		self.assertEqual((r.status_code, r.json), (200, OK), "accepted: the caller did nothing wrong")
		self.assertEqual(self.counts(), before, "nothing half-written")
		self.assertEqual(self.leads_with(phone), [])
		[log] = self.logs(channel="Website API")
		self.assertEqual((log.status, log.attempts, log.reference_name), ("Failed", 1, None))
		self.assertIn("Company", log.error)
		self.assertEqual(json.loads(log.inquiry)["phone_normalized"], phone, "what the person wrote is kept")
		self.assertTrue(
			frappe.db.exists(
				"Error Log", {"reference_doctype": "CRM Integration Log", "reference_name": log.name}
			)
		)
		frappe.db.delete(
			"Error Log", {"reference_doctype": "CRM Integration Log", "reference_name": log.name}
		)
		frappe.db.commit()

		# the cause fixed, an administrator has it handled again; sales staff may not, and nothing else is
		undo()
		method = "simple_crm.api.web_to_lead.handle_again"
		for user in (email("sales1"), email("head_a"), email("director")):
			with self.subTest(user=user):
				r = self.rest_call(method, {"log": log.name}, user=user)
				self.assertEqual(r.status_code, 403, r.text)
		self.assertEqual(frappe.db.get_value("CRM Integration Log", log.name, "status"), "Failed")
		r = self.rest_call(method, {"log": log.name}, user=email("crm_admin"))
		self.assertEqual((r.status_code, r.data), (200, {"status": "Received"}), r.text)
		self.assertEqual(self.leads_with(phone), [], "by its job")
		self.run_inquiry_jobs()
		[lead] = self.leads_with(phone)
		row = frappe.db.get_value("CRM Integration Log", log.name, ["status", "reference_name"], as_dict=True)
		self.assertEqual((row.status, row.reference_name), ("Processed", lead.name))
		# once is enough; and only inquiries
		r = self.rest_call(method, {"log": log.name})
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("Only a failed inquiry", r.error_text())
		rejected = self.send("POST", SUBMIT, json=self.inquiry(form_key="wrong"))
		self.assertEqual(rejected.status_code, 401)
		[refused] = self.logs(channel="Website API", status="Rejected")
		r = self.rest_call(method, {"log": refused.name})
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("Only a website inquiry", r.error_text())
		r = self.rest_call(method, {"log": "no-such-row"})
		self.assertEqual(r.status_code, 404, r.text)
		for garbage in (["x"], {"a": 1}, 123, "\ud800"):
			with self.subTest(log=garbage):
				r = self.rest_call(method, {"log": garbage})
				self.assertEqual(r.status_code, 417, r.text)
				self.assertIn("Log", r.error_text())

	def test_a_passing_failure_is_tried_again_later_then_given_up(self):
		phone = fresh_phone()
		self.send("POST", SUBMIT, json=self.inquiry(phone=phone), handle=False)
		[log] = self.accepted()
		queued_job(log).delete()
		for attempt in (1, 2):
			try:
				raise frappe.QueryDeadlockError("Deadlock found when trying to get lock")
			except frappe.QueryDeadlockError as e:
				self.assertEqual(web_to_lead.failed(log, attempt, e), "retry")
			row = frappe.db.get_value(
				"CRM Integration Log", log, ["status", "attempts", "next_attempt_on", "error"], as_dict=True
			)
			self.assertEqual((row.status, row.attempts), ("Received", attempt))
			self.assertIn("Deadlock", row.error)
			wait = (get_datetime(row.next_attempt_on) - now_datetime()).total_seconds()
			self.assertAlmostEqual(wait, 60 * 2**attempt, delta=30, msg="the pause doubles")
		# due: catch_up handles it, and the error is gone from the row
		frappe.db.set_value(
			"CRM Integration Log", log, "next_attempt_on", add_to_date(now_datetime(), seconds=-1)
		)
		frappe.db.commit()
		web_to_lead.catch_up()
		frappe.db.commit()
		self.assertEqual(len(self.leads_with(phone)), 1)
		row = frappe.db.get_value("CRM Integration Log", log, ["status", "error"], as_dict=True)
		self.assertEqual((row.status, row.error), ("Processed", None))
		# the last try of another inquiry fails for good
		self.send("POST", SUBMIT, json=self.inquiry(phone=fresh_phone()), handle=False)
		[other] = self.accepted()
		queued_job(other).delete()
		try:
			raise frappe.QueryDeadlockError("Deadlock found when trying to get lock")
		except frappe.QueryDeadlockError as e:
			self.assertEqual(web_to_lead.failed(other, web_to_lead.ATTEMPTS, e), "failed")
		self.assertEqual(frappe.db.get_value("CRM Integration Log", other, "status"), "Failed")
		frappe.db.delete(
			"Error Log", {"reference_doctype": "CRM Integration Log", "creation": (">=", self.started)}
		)
		frappe.db.commit()
