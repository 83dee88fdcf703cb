"""The Telegram channel over real HTTP: the webhook called as Telegram calls it, replies and setWebhook sent
to a local server speaking the Bot API (nothing leaves the machine).

The webhook's requests run in their own connection and commit, so everything the channel makes is removed
again after each test (see `TelegramTestCase.tearDown`). Background jobs are taken from the queue and run
here the way the worker runs them.
"""

import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import frappe
from frappe.tests.test_api import ThreadWithReturnValue, make_request
from frappe.utils import add_to_date, now_datetime
from frappe.utils.background_jobs import create_job_id, get_redis_conn
from frappe.utils.password import remove_encrypted_password
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rq.exceptions import NoSuchJobError
from rq.job import Job

from simple_crm.integrations import telegram
from simple_crm.tests import factories
from simple_crm.tests.sales_org import SalesOrgRestTestCase, email
from simple_crm.tests.utils import RestResponse
from simple_crm.validation import normalize_phone

WEBHOOK = "/api/method/simple_crm.api.telegram.webhook"
SETTINGS = "Simple CRM Settings"
TOKEN = "123456789:AAH-test_token-for-the-local-bot-api"
SECRET = "crm-test_webhook-secret-0123456789"
LOG = "CRM Integration Log"


class BotApi:
	"""A local Telegram Bot API: records each call (token, method, JSON body) and answers it from
	`answers` (status, body) in order, then as Telegram answers a successful call."""

	def __init__(self):
		self.calls: list[frappe._dict] = []
		self.answers: list[tuple[int, object]] = []
		self.message_id = 1000
		api = self

		class Handler(BaseHTTPRequestHandler):
			def do_POST(self):
				raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
				_empty, bot, method = self.path.split("/", 2)
				call = frappe._dict(
					token=bot.removeprefix("bot"), method=method, body=json.loads(raw or b"{}")
				)
				api.calls.append(call)
				if call.token != TOKEN:
					status, answer = 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
				elif api.answers:
					status, answer = api.answers.pop(0)
				else:
					status, answer = 200, api.success(call)
				data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
				self.send_response(status)
				self.send_header("Content-Type", "application/json")
				self.send_header("Content-Length", str(len(data)))
				self.end_headers()
				self.wfile.write(data)

			def log_message(self, *args):
				pass

		self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
		self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
		self.thread.start()

	@property
	def url(self) -> str:
		return f"http://127.0.0.1:{self.server.server_address[1]}"

	def success(self, call) -> dict:
		if call.method == "sendMessage":
			self.message_id += 1
			return {
				"ok": True,
				"result": {
					"message_id": self.message_id,
					"from": {"id": 123456789, "is_bot": True, "first_name": "CRM Bot"},
					"chat": {"id": call.body["chat_id"], "type": "private"},
					"date": int(time.time()),
					"text": call.body["text"],
				},
			}
		if call.method == "setWebhook":
			return {"ok": True, "result": True, "description": "Webhook was set"}
		return {"ok": False, "error_code": 404, "description": "Not Found"}

	def sent(self, method: str = "sendMessage") -> list[dict]:
		return [call.body for call in self.calls if call.method == method]

	def stop(self):
		self.server.shutdown()
		self.server.server_close()


def new_id() -> int:
	return random.randint(10**9, 9 * 10**9)


def make_update(chat_id: int, text: str | None = "Здравствуйте! Сколько стоит доставка?", **values) -> dict:
	"""An Update with a private message, as the Bot API documents it."""
	sender = {
		"id": chat_id,
		"is_bot": False,
		"first_name": values.pop("first_name", "Мария"),
		"last_name": values.pop("last_name", "Иванова"),
		"username": values.pop("username", "maria_iv"),
		"language_code": "ru",
	}
	update_id = values.pop("update_id", new_id())
	message = {
		"message_id": random.randint(1, 10**6),
		"from": sender,
		"chat": {"id": chat_id, "first_name": sender["first_name"], "type": "private"},
		"date": int(time.time()),
	}
	if text is not None:
		message["text"] = text
	message.update(values)
	return {"update_id": update_id, "message": message}


def run_job(job_id: str) -> None:
	"""Run a queued job as the worker would (as the user who queued it, committed after), then drop it."""
	frappe.db.commit()
	job = Job.fetch(create_job_id(job_id), connection=get_redis_conn())
	frappe.set_user(job.kwargs["user"])
	try:
		frappe.get_attr(job.kwargs["method"])(**job.kwargs["kwargs"])
		frappe.db.commit()
	finally:
		frappe.set_user("Administrator")
		job.delete()


def drop_job(job_id: str) -> None:
	try:
		Job.fetch(create_job_id(job_id), connection=get_redis_conn()).delete()
	except NoSuchJobError:
		pass


def communications(doctype: str, name: str) -> list[frappe._dict]:
	return frappe.get_all(
		"Communication",
		filters={"reference_doctype": doctype, "reference_name": name},
		fields=["name", "sent_or_received", "communication_medium", "content", "delivery_status", "subject"],
		order_by="creation asc",
	)


class TelegramTestCase(SalesOrgRestTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.api = BotApi()
		settings = frappe.get_single(SETTINGS)
		settings.update(
			{
				"telegram_enabled": 1,
				"telegram_bot_token": TOKEN,
				"telegram_webhook_secret": SECRET,
				"telegram_api_url": cls.api.url,
				"telegram_webhook_url": "",
			}
		)
		settings.save()
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		frappe.db.rollback()
		frappe.db.set_single_value(
			SETTINGS,
			{"telegram_enabled": 0, "telegram_api_url": telegram.DEFAULT_API_URL, "telegram_webhook_url": ""},
		)
		for fieldname in ("telegram_bot_token", "telegram_webhook_secret"):
			remove_encrypted_password(SETTINGS, SETTINGS, fieldname)
			frappe.db.set_single_value(SETTINGS, fieldname, None)
		frappe.db.commit()
		cls.api.stop()
		super().tearDownClass()

	def setUp(self):
		super().setUp()
		self.started = now_datetime()
		self.api.calls.clear()
		self.api.answers.clear()

	def tearDown(self):
		frappe.db.rollback()
		frappe.set_user("Administrator")
		since = {"creation": (">=", self.started)}
		leads = frappe.get_all("CRM Lead", filters={"telegram_chat_id": ("is", "set"), **since}, pluck="name")
		logs = frappe.get_all(LOG, filters={"channel": "Telegram", **since}, pluck="name")
		for lead in leads:
			drop_job(f"simple_crm:new-lead:{lead}")
		for log in logs:
			drop_job(telegram.reply_job_id(log))
		tasks = frappe.get_all(
			"CRM Task",
			filters={"reference_doctype": "CRM Lead", "reference_name": ("in", leads or [""])},
			pluck="name",
		)
		frappe.db.delete("Communication", {"communication_medium": "Chat", **since})
		frappe.db.delete("Notification Log", since)
		frappe.db.delete("Email Queue", since)
		frappe.db.delete("CRM Automation Mark", {"marked_on": (">=", self.started)})
		frappe.db.delete("ToDo", {"reference_type": "CRM Lead", "reference_name": ("in", leads or [""])})
		frappe.db.delete(LOG, {"name": ("in", logs or [""])})
		for task in tasks:
			frappe.delete_doc("CRM Task", task, force=True, ignore_permissions=True)
		for lead in leads:
			# a lead marked converted by a test is history, which is never deleted
			frappe.db.set_value("CRM Lead", lead, {"status": "New", "client": None, "contact": None})
			frappe.delete_doc("CRM Lead", lead, force=True, ignore_permissions=True)
		frappe.db.commit()
		super().tearDown()

	# --- helpers -------------------------------------------------------------------------------------------

	def post(self, body, secret: str | None = SECRET, content_type: str = "application/json") -> RestResponse:
		"""POST to the webhook as Telegram does (a guest: no Authorization, the secret in its header)."""
		frappe.db.commit()
		headers = {"Accept": "application/json"}
		if secret is not None:
			headers[telegram.SECRET_HEADER] = secret
		data = body if isinstance(body, bytes | str) else json.dumps(body)
		kwargs = {"data": data, "headers": headers, "content_type": content_type}
		return RestResponse(make_request(target=self.client.post, args=(WEBHOOK,), kwargs=kwargs))

	def leads_of(self, chat_id: int) -> list[str]:
		return frappe.get_all("CRM Lead", filters={"telegram_chat_id": str(chat_id)}, pluck="name")

	def logs(self, **filters) -> list[frappe._dict]:
		return frappe.get_all(
			LOG,
			filters={"channel": "Telegram", "creation": (">=", self.started), **filters},
			fields=[
				"name",
				"status",
				"direction",
				"event_id",
				"reference_doctype",
				"reference_name",
				"error",
			],
			order_by="creation asc",
		)

	def written(self) -> tuple[int, int]:
		"""Leads and chat messages made since the test began."""
		since = {"creation": (">=", self.started)}
		return (
			frappe.db.count("CRM Lead", since),
			frappe.db.count("Communication", {"communication_medium": "Chat", **since}),
		)

	def make_lead_with_chat(self, responsible: str | None = None) -> tuple[str, int]:
		chat_id = new_id()
		lead = factories.make_lead(responsible=responsible or email("sales1"))
		frappe.db.set_value("CRM Lead", lead.name, "telegram_chat_id", str(chat_id))
		frappe.db.commit()
		return lead.name, chat_id


class TestIncomingMessages(TelegramTestCase):
	def test_a_new_chat_becomes_a_lead_with_its_call_back_job_queued(self):
		chat_id = new_id()
		update = make_update(chat_id)
		r = self.post(update)
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(r.data, {"status": "Processed"})
		[lead] = self.leads_of(chat_id)
		doc = frappe.get_doc("CRM Lead", lead)
		self.assertEqual(doc.lead_name, "Мария Иванова")
		self.assertEqual((doc.channel, doc.source, doc.status), ("Messenger", "Messenger", "New"))
		self.assertEqual(doc.interest, "Здравствуйте! Сколько стоит доставка?")
		self.assertEqual(doc.owner, "Administrator", "made by the system for a guest")
		[message] = communications("CRM Lead", lead)
		self.assertEqual((message.communication_medium, message.sent_or_received), ("Chat", "Received"))
		self.assertIn("Сколько стоит доставка?", message.content)
		[log] = self.logs()
		self.assertEqual(
			(log.status, log.direction, log.event_id, log.reference_doctype, log.reference_name),
			("Processed", "Inbound", str(update["update_id"]), "CRM Lead", lead),
		)
		# the new-lead automation's job, queued after the commit, makes the call-back task
		run_job(f"simple_crm:new-lead:{lead}")
		tasks = frappe.get_all(
			"CRM Task", filters={"reference_doctype": "CRM Lead", "reference_name": lead}, pluck="assigned_to"
		)
		self.assertEqual(tasks, [email("head_a")], "nobody is responsible yet: the first team's head calls")

	def test_a_known_chat_lands_on_the_leads_timeline_and_tells_its_manager(self):
		lead, chat_id = self.make_lead_with_chat(responsible=email("sales1"))
		r = self.post(make_update(chat_id, text="Можно счёт на завтра?"))
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(self.leads_of(chat_id), [lead], "no second lead")
		[message] = communications("CRM Lead", lead)
		self.assertIn("Можно счёт на завтра?", message.content)
		self.assertEqual([log.reference_name for log in self.logs()], [lead])
		subjects = frappe.get_all(
			"Notification Log", filters={"for_user": email("sales1"), "document_name": lead}, pluck="subject"
		)
		self.assertEqual(len(subjects), 1)
		self.assertIn("Мария Иванова", subjects[0])

	def test_a_known_contact_gets_the_message_on_its_and_its_clients_timeline(self):
		client = factories.make_client(responsible=email("sales1"))
		contact = factories.make_contact(client.name, crm_responsible=email("sales1"))
		self.track("CRM Client", client.name)
		self.track("Contact", contact.name)
		chat_id = new_id()
		frappe.db.set_value("Contact", contact.name, "crm_telegram_chat_id", str(chat_id))
		r = self.post(make_update(chat_id, text="Добрый день"))
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(self.leads_of(chat_id), [])
		[message] = communications("Contact", contact.name)
		links = frappe.get_all(
			"Communication Link", filters={"parent": message.name}, fields=["link_doctype", "link_name"]
		)
		self.assertIn({"link_doctype": "CRM Client", "link_name": client.name}, [dict(row) for row in links])

	def test_a_converted_leads_chat_goes_on_with_its_contact(self):
		client = factories.make_client(responsible=email("sales1"))
		contact = factories.make_contact(client.name)
		self.track("CRM Client", client.name)
		self.track("Contact", contact.name)
		lead, chat_id = self.make_lead_with_chat()
		frappe.db.set_value(
			"CRM Lead", lead, {"status": "Converted", "client": client.name, "contact": contact.name}
		)
		r = self.post(make_update(chat_id))
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(len(communications("Contact", contact.name)), 1)
		self.assertEqual(frappe.db.get_value("Contact", contact.name, "crm_telegram_chat_id"), str(chat_id))
		self.assertEqual(self.leads_of(chat_id), [lead], "no new lead")

	def test_a_shared_own_phone_finds_the_contact_and_another_persons_does_not(self):
		phone = factories.unique_mobile()
		contact = factories.make_contact(phone=phone)
		self.track("Contact", contact.name)
		e164 = frappe.db.get_value("Contact Phone", {"parent": contact.name}, "crm_phone_normalized")
		chat_id = new_id()
		# someone else's contact card: Telegram puts that person's user id on it
		shared = make_update(
			chat_id, text=None, contact={"phone_number": e164.lstrip("+"), "first_name": "Анна", "user_id": 7}
		)
		self.assertEqual(self.post(shared).status_code, 200)
		self.assertEqual(communications("Contact", contact.name), [])
		self.assertIsNone(frappe.db.get_value("Contact", contact.name, "crm_telegram_chat_id"))
		[lead] = self.leads_of(chat_id)
		self.assertIn(e164.lstrip("+"), frappe.db.get_value("CRM Lead", lead, "interest"))
		self.assertFalse(frappe.db.get_value("CRM Lead", lead, "mobile_no"), "not the sender's number")
		# the person's own number (the Share Contact button): the contact keeps the chat from now on
		chat_id = new_id()
		own = make_update(chat_id, text=None, contact={"phone_number": e164.lstrip("+"), "user_id": chat_id})
		self.assertEqual(self.post(own).status_code, 200)
		self.assertEqual(len(communications("Contact", contact.name)), 1)
		self.assertEqual(frappe.db.get_value("Contact", contact.name, "crm_telegram_chat_id"), str(chat_id))
		self.assertEqual(self.post(make_update(chat_id, text="Спасибо")).status_code, 200)
		self.assertEqual(len(communications("Contact", contact.name)), 2)
		self.assertEqual(self.leads_of(chat_id), [])

	def test_a_new_persons_own_phone_is_on_the_lead(self):
		chat_id = new_id()
		phone = normalize_phone(factories.unique_mobile(), "Phone")
		# Telegram writes the number internationally, without the plus
		update = make_update(
			chat_id, text=None, contact={"phone_number": phone.lstrip("+"), "user_id": chat_id}
		)
		self.assertEqual(self.post(update).status_code, 200)
		[lead] = self.leads_of(chat_id)
		self.assertEqual(frappe.db.get_value("CRM Lead", lead, "mobile_no_normalized"), phone)

	def test_a_number_a_client_has_is_left_off_the_lead_when_duplicates_are_blocked(self):
		phone = normalize_phone(factories.unique_mobile(), "Phone")
		client = factories.make_client(phone=phone)
		self.track("CRM Client", client.name)
		frappe.db.set_single_value(SETTINGS, "duplicate_policy", "Block")
		try:
			chat_id = new_id()
			update = make_update(
				chat_id, text="Хочу заказ", contact={"phone_number": phone.lstrip("+"), "user_id": chat_id}
			)
			r = self.post(update)
		finally:
			frappe.db.set_single_value(SETTINGS, "duplicate_policy", "Warn")
			frappe.db.commit()
		self.assertEqual(r.status_code, 200, r.text)
		[lead] = self.leads_of(chat_id)
		values = frappe.db.get_value("CRM Lead", lead, ["mobile_no", "interest"], as_dict=True)
		self.assertFalse(values.mobile_no)
		self.assertIn(phone.lstrip("+"), values.interest, "the number is still in the message")

	def test_the_same_update_twice_has_one_effect(self):
		chat_id = new_id()
		update = make_update(chat_id)
		first, second = self.post(update), self.post(update)
		self.assertEqual((first.status_code, second.status_code), (200, 200), "Telegram must stop retrying")
		self.assertEqual(second.data, {"status": "Duplicate"})
		[lead] = self.leads_of(chat_id)
		self.assertEqual(len(communications("CRM Lead", lead)), 1)
		self.assertEqual([log.status for log in self.logs()], ["Processed", "Duplicate"])

	def test_retries_arriving_together_have_one_effect(self):
		"""Telegram delivers over several connections: the same update, and a new chat's next message, may
		arrive while the first is being filed."""
		chat_id = new_id()
		first = make_update(chat_id)
		updates = [first, first, make_update(chat_id, text="Алло?"), first]
		frappe.db.commit()
		threads = [
			ThreadWithReturnValue(
				target=self.client.post,
				args=(WEBHOOK,),
				kwargs={
					"data": json.dumps(update),
					"headers": {telegram.SECRET_HEADER: SECRET},
					"content_type": "application/json",
				},
			)
			for update in updates
		]
		for thread in threads:
			thread.start()
		codes = [thread.join().status_code for thread in threads]
		self.assertEqual(codes, [200] * 4)
		[lead] = self.leads_of(chat_id)
		self.assertEqual(len(communications("CRM Lead", lead)), 2, "two messages, each once")
		self.assertEqual(sorted(log.status for log in self.logs()), ["Duplicate"] * 2 + ["Processed"] * 2)

	def test_injection_strings_are_stored_harmlessly(self):
		chat_id = new_id()
		update = make_update(
			chat_id,
			text="<img src=x onerror=alert(1)>' OR 1=1; DROP TABLE `tabCRM Lead`; --",
			first_name="<script>alert('x')</script>",
			last_name="Robert'); DROP TABLE `tabContact`;--",
		)
		r = self.post(update)
		self.assertEqual(r.status_code, 200, r.text)
		[lead] = self.leads_of(chat_id)
		name = frappe.db.get_value("CRM Lead", lead, "lead_name")
		self.assertNotIn("<", name)
		self.assertIn("Robert'); DROP TABLE `tabContact`;--", name)
		[message] = communications("CRM Lead", lead)
		self.assertNotIn("<img", message.content)
		self.assertIn("DROP TABLE `tabCRM Lead`", message.content)
		self.assertTrue(frappe.db.table_exists("CRM Lead") and frappe.db.table_exists("Contact"))

	def test_a_message_without_text_is_filed_with_its_kind(self):
		chat_id = new_id()
		update = make_update(chat_id, text=None, photo=[{"file_id": "x", "width": 90, "height": 90}])
		update["message"]["caption"] = "Вот такую хочу"
		self.assertEqual(self.post(update).status_code, 200)
		[lead] = self.leads_of(chat_id)
		self.assertEqual(frappe.db.get_value("CRM Lead", lead, "interest"), "Вот такую хочу")
		chat_id = new_id()
		self.assertEqual(
			self.post(make_update(chat_id, text=None, sticker={"file_id": "y"})).status_code, 200
		)
		[lead] = self.leads_of(chat_id)
		self.assertIn("sticker", frappe.db.get_value("CRM Lead", lead, "interest"))


class TestBadInput(TelegramTestCase):
	def test_bad_requests_are_refused_or_ignored_and_nothing_is_half_written(self):
		chat_id = new_id()
		good = make_update(chat_id)

		def changed(**message) -> dict:
			update = make_update(chat_id)
			update["message"].update(message)
			return update

		big = json.dumps({**good, "padding": "x" * (10 * 1024 * 1024)})
		cases = [
			# (what, body, secret header, content type, expected status, log status or None)
			("no secret header", good, None, "application/json", 401, "Rejected"),
			("wrong secret", good, SECRET[:-1] + "X", "application/json", 403, "Rejected"),
			("secret of another length", good, SECRET + "0", "application/json", 403, "Rejected"),
			("empty secret", good, "", "application/json", 401, "Rejected"),
			("not JSON", b"{update_id: 1,", SECRET, "application/json", 400, None),
			("not JSON, sent as text", b"update_id=1", SECRET, "text/plain", 400, "Rejected"),
			("a JSON list", [good], SECRET, "application/json", 400, None),
			("10 MB", big, SECRET, "application/json", 413, "Rejected"),
			("10 MB without the secret", big, None, "application/json", 401, "Rejected"),
			("no update_id", {"message": good["message"]}, SECRET, "application/json", 400, "Rejected"),
			("update_id a text", {**good, "update_id": "1"}, SECRET, "application/json", 400, "Rejected"),
			("update_id true", {**good, "update_id": True}, SECRET, "application/json", 400, "Rejected"),
			("update_id a fraction", {**good, "update_id": 1.5}, SECRET, "application/json", 400, "Rejected"),
			("update_id negative", {**good, "update_id": -1}, SECRET, "application/json", 400, "Rejected"),
			("update_id too big", {**good, "update_id": 2**70}, SECRET, "application/json", 400, "Rejected"),
			("message a text", {**good, "message": "hi"}, SECRET, "application/json", 400, "Rejected"),
			("no chat", changed(chat=None), SECRET, "application/json", 400, "Rejected"),
			(
				"chat id a text",
				changed(chat={"id": "1", "type": "private"}),
				SECRET,
				"application/json",
				400,
				"Rejected",
			),
			("text a number", changed(text=42), SECRET, "application/json", 400, "Rejected"),
			("from a text", changed(**{"from": "me"}), SECRET, "application/json", 400, "Rejected"),
			("contact a list", changed(contact=[1]), SECRET, "application/json", 400, "Rejected"),
			# authenticated updates the CRM has no use for: 200, or Telegram would send them again and again
			(
				"no message",
				{"update_id": new_id(), "edited_message": good["message"]},
				SECRET,
				"application/json",
				200,
				"Processed",
			),
			(
				"a group chat",
				changed(chat={"id": -100123, "type": "group"}),
				SECRET,
				"application/json",
				200,
				"Processed",
			),
			(
				"a bot",
				changed(**{"from": {"id": chat_id, "is_bot": True, "first_name": "B"}}),
				SECRET,
				"application/json",
				200,
				"Processed",
			),
		]
		for what, body, secret, content_type, status, log_status in cases:
			with self.subTest(what):
				before = frappe.db.count(LOG, {"channel": "Telegram"})
				r = self.post(body, secret=secret, content_type=content_type)
				self.assertEqual(r.status_code, status, f"{what}: {r.text[:300]}")
				self.assertEqual(self.written(), (0, 0), what)
				logs = frappe.get_all(
					LOG,
					filters={"channel": "Telegram"},
					fields=["status", "error", "payload"],
					order_by="creation desc",
					limit=1,
				)
				if log_status:
					self.assertEqual(frappe.db.count(LOG, {"channel": "Telegram"}), before + 1, what)
					self.assertEqual(logs[0].status, log_status, what)
					if status >= 400:
						self.assertTrue(logs[0].error, what)
					if status in (401, 403):
						self.assertEqual(
							logs[0].payload, "{}", f"{what}: an unauthenticated body is not kept"
						)
					elif status in (200, 400):
						self.assertNotEqual(logs[0].payload, "{}", f"{what}: what came in is kept")
				else:
					self.assertEqual(frappe.db.count(LOG, {"channel": "Telegram"}), before, what)
				if status >= 400:
					self.assertTrue(r.error_text().strip(), f"{what}: a message says why")
		self.assertEqual(self.leads_of(chat_id), [])

	def test_a_switched_off_channel_takes_nothing(self):
		frappe.db.set_single_value(SETTINGS, "telegram_enabled", 0)
		try:
			r = self.post(make_update(new_id()))
			self.assertEqual(r.status_code, 403, r.text)
			self.assertEqual(self.written(), (0, 0))
			self.assertEqual([log.status for log in self.logs()], ["Rejected"])
		finally:
			frappe.db.set_single_value(SETTINGS, "telegram_enabled", 1)
			frappe.db.commit()

	json_values = st.recursive(
		st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
		lambda children: (
			st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
		),
		max_leaves=6,
	)
	chats = st.fixed_dictionaries(
		{
			"id": st.integers(min_value=10**9, max_value=9 * 10**9),
			"type": st.sampled_from(["private", "group"]),
		}
	)
	senders = st.fixed_dictionaries(
		{"id": st.integers(min_value=1, max_value=10**10)},
		optional={
			"first_name": st.text(max_size=80) | json_values,
			"last_name": st.text(max_size=80),
			"username": st.text(max_size=40),
			"is_bot": st.booleans(),
		},
	)
	messages = st.fixed_dictionaries(
		{"chat": chats | json_values},
		optional={
			"message_id": st.integers() | json_values,
			"from": senders | json_values,
			"date": st.integers() | json_values,
			"text": st.text(max_size=300) | json_values,
			"caption": st.text(max_size=50),
			"contact": st.fixed_dictionaries({"phone_number": st.text(max_size=20), "user_id": st.integers()})
			| json_values,
		},
	)

	@hypothesis_settings(
		max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
	)
	@given(message=messages)
	def test_any_message_is_filed_or_refused_never_an_error(self, message):
		frappe.db.commit()
		before = self.written()
		r = self.post({"update_id": new_id(), "message": message})
		self.assertIn(r.status_code, (200, 400), r.text[:500])
		after = self.written()
		if r.status_code == 400:
			self.assertEqual(after, before, "a refused update writes nothing")
		elif r.data == {"status": "Processed"} and after != before:
			leads, chats = after[0] - before[0], after[1] - before[1]
			self.assertEqual(chats, 1, "one message filed")
			self.assertIn(leads, (0, 1))


class TestReplies(TelegramTestCase):
	def reply(
		self, lead: str, text: str = "Добрый день! Счёт готов.", user: str | None = None, doctype="CRM Lead"
	):
		return self.rest_call(
			"simple_crm.api.telegram.reply",
			{"doctype": doctype, "name": lead, "text": text},
			user=user or email("sales1"),
		)

	def reply_log(self) -> frappe._dict:
		[log] = self.logs(direction="Outbound")
		return frappe.get_doc(LOG, log.name)

	def test_a_reply_goes_out_through_the_bot_api(self):
		lead, chat_id = self.make_lead_with_chat()
		r = self.reply(lead, "Добрый день! <b>Счёт</b> готов.")
		self.assertEqual(r.status_code, 200, r.text)
		log = self.reply_log()
		self.assertEqual((log.status, log.reference_doctype), ("Queued", "Communication"))
		[message] = communications("CRM Lead", lead)
		self.assertEqual((message.sent_or_received, message.delivery_status), ("Sent", "Sending"))
		self.assertIn("&lt;b&gt;Счёт&lt;/b&gt;", message.content)
		self.assertEqual(self.api.calls, [], "sent by the job, after the request")
		run_job(telegram.reply_job_id(log.name))
		self.assertEqual(
			self.api.sent(), [{"chat_id": str(chat_id), "text": "Добрый день! <b>Счёт</b> готов."}]
		)
		log.reload()
		self.assertEqual((log.status, log.attempts, log.event_id), ("Sent", 1, str(self.api.message_id)))
		self.assertEqual(frappe.db.get_value("Communication", message.name, "delivery_status"), "Sent")
		# nothing is sent twice: not by the retries, not by the job run again
		telegram.send_due_replies()
		self.assertEqual(telegram.send_reply(log.name), "telegram_replies: done before: 1")
		self.assertEqual(len(self.api.sent()), 1)

	def test_a_failed_reply_is_tried_again_later(self):
		lead, _chat_id = self.make_lead_with_chat()
		self.api.answers = [
			(
				429,
				{
					"ok": False,
					"error_code": 429,
					"description": "Too Many Requests: retry after 30",
					"parameters": {"retry_after": 30},
				},
			),
			(502, b"<html>Bad Gateway</html>"),
		]
		self.assertEqual(self.reply(lead).status_code, 200)
		log = self.reply_log()
		run_job(telegram.reply_job_id(log.name))
		log.reload()
		self.assertEqual((log.status, log.attempts), ("Queued", 1))
		self.assertIn("429", log.error)
		wait = (log.next_attempt_on - now_datetime()).total_seconds()
		self.assertTrue(25 <= wait <= 30, wait)
		telegram.send_due_replies()
		self.assertEqual(len(self.api.sent()), 1, "not before retry_after")
		with self.freeze_time(add_to_date(now_datetime(), seconds=31)):
			telegram.send_due_replies()
		log.reload()
		self.assertEqual((log.status, log.attempts, len(self.api.sent())), ("Queued", 2, 2))
		self.assertIn("502", log.error)
		# the second failure waits longer (counted from the second try, 31 s on)
		due = log.next_attempt_on
		self.assertEqual(
			round((due - add_to_date(now_datetime(), seconds=31)).total_seconds() / 10) * 10, 300
		)
		with self.freeze_time(add_to_date(due, seconds=-10)):
			telegram.send_due_replies()
		self.assertEqual(len(self.api.sent()), 2, "not before its time")
		with self.freeze_time(add_to_date(due, seconds=1)):
			telegram.send_due_replies()
		log.reload()
		self.assertEqual((log.status, log.attempts, len(self.api.sent())), ("Sent", 3, 3))
		[message] = communications("CRM Lead", lead)
		self.assertEqual(message.delivery_status, "Sent")

	def test_a_blocked_bot_fails_for_good_and_the_author_is_told(self):
		lead, _chat_id = self.make_lead_with_chat()
		self.api.answers = [
			(403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"})
		]
		self.assertEqual(self.reply(lead).status_code, 200)
		log = self.reply_log()
		run_job(telegram.reply_job_id(log.name))
		log.reload()
		self.assertEqual((log.status, log.attempts), ("Failed", 1))
		self.assertIn("bot was blocked", log.error)
		[message] = communications("CRM Lead", lead)
		self.assertEqual(message.delivery_status, "Error")
		[notice] = frappe.get_all(
			"Notification Log", filters={"for_user": email("sales1"), "document_name": lead}, pluck="subject"
		)
		self.assertIn("bot was blocked", notice)
		with self.freeze_time(add_to_date(now_datetime(), hours=3)):
			telegram.send_due_replies()
		self.assertEqual(len(self.api.sent()), 1, "never again")

	def test_a_reply_gives_up_after_its_attempts(self):
		lead, _chat_id = self.make_lead_with_chat()
		self.api.answers = [
			(500, {"ok": False, "error_code": 500, "description": "Internal Server Error"})
		] * 9
		self.assertEqual(self.reply(lead).status_code, 200)
		log = self.reply_log()
		run_job(telegram.reply_job_id(log.name))
		for hours in range(1, telegram.MAX_ATTEMPTS + 2):
			with self.freeze_time(add_to_date(now_datetime(), hours=hours * 2)):
				telegram.send_due_replies()
		log.reload()
		self.assertEqual((log.status, log.attempts), ("Failed", telegram.MAX_ATTEMPTS))
		self.assertEqual(len(self.api.sent()), telegram.MAX_ATTEMPTS)

	def test_a_reply_whose_job_was_lost_is_sent_by_the_retry_run(self):
		lead, _chat_id = self.make_lead_with_chat()
		self.assertEqual(self.reply(lead).status_code, 200)
		log = self.reply_log()
		drop_job(telegram.reply_job_id(log.name))
		telegram.send_due_replies()
		self.assertEqual(self.api.sent(), [], "its job may still be on its way")
		with self.freeze_time(add_to_date(now_datetime(), minutes=telegram.LOST_JOB_MINUTES + 1)):
			telegram.send_due_replies()
		log.reload()
		self.assertEqual((log.status, len(self.api.sent())), ("Sent", 1))

	def test_the_token_never_reaches_the_log(self):
		lead, _chat_id = self.make_lead_with_chat()
		self.assertEqual(self.reply(lead).status_code, 200)
		log = self.reply_log()
		# nothing listens there: the connection error names the URL, which holds the token
		frappe.db.set_single_value(SETTINGS, "telegram_api_url", "http://127.0.0.1:9")
		frappe.db.commit()
		try:
			run_job(telegram.reply_job_id(log.name))
		finally:
			frappe.db.set_single_value(SETTINGS, "telegram_api_url", self.api.url)
			frappe.db.commit()
		log.reload()
		self.assertEqual((log.status, log.attempts), ("Queued", 1))
		self.assertTrue(log.error)
		self.assertNotIn(TOKEN.split(":")[1], log.error + (log.payload or ""))

	def test_only_who_sees_the_record_replies_and_bad_replies_are_refused(self):
		lead, _chat_id = self.make_lead_with_chat(responsible=email("sales1"))
		no_chat = factories.make_lead(responsible=email("sales1")).name
		self.track("CRM Lead", no_chat)
		frappe.db.commit()
		cases = [
			("another team's manager", {"name": lead, "user": email("sales3")}, 403),
			("the head of the other team", {"name": lead, "user": email("head_b")}, 403),
			("no such lead", {"name": "CRM-LEAD-NONE"}, 404),
			("a deal", {"name": lead, "doctype": "CRM Deal"}, 417),
			("empty text", {"name": lead, "text": "   "}, 417),
			("too long", {"name": lead, "text": "я" * (telegram.TEXT_LIMIT + 1)}, 417),
			("a lead without a chat", {"name": no_chat}, 417),
		]
		for what, args, status in cases:
			with self.subTest(what):
				name = args.pop("name")
				r = self.reply(name, **args)
				self.assertEqual(r.status_code, status, f"{what}: {r.text[:300]}")
				self.assertTrue(r.error_text().strip())
				self.assertEqual(self.logs(direction="Outbound"), [], what)
				self.assertEqual(communications("CRM Lead", lead), [], what)
		self.assertEqual(self.reply(lead, user=email("head_a")).status_code, 200, "the team's head may")
		self.assertEqual(self.api.calls, [])

	def test_a_contact_is_replied_to_as_well(self):
		contact = factories.make_contact(crm_responsible=email("sales1"))
		self.track("Contact", contact.name)
		chat_id = new_id()
		frappe.db.set_value("Contact", contact.name, "crm_telegram_chat_id", str(chat_id))
		r = self.reply(contact.name, "Здравствуйте", user=email("sales1"), doctype="Contact")
		self.assertEqual(r.status_code, 200, r.text)
		run_job(telegram.reply_job_id(self.reply_log().name))
		self.assertEqual(self.api.sent(), [{"chat_id": str(chat_id), "text": "Здравствуйте"}])

	def test_no_replies_while_the_channel_is_off(self):
		lead, _chat_id = self.make_lead_with_chat()
		frappe.db.set_single_value(SETTINGS, "telegram_enabled", 0)
		try:
			r = self.reply(lead)
			self.assertEqual(r.status_code, 417, r.text)
			self.assertIn("not set up", r.error_text())
		finally:
			frappe.db.set_single_value(SETTINGS, "telegram_enabled", 1)
			frappe.db.commit()
		self.assertEqual(self.logs(), [])
		# a reply queued before the channel was switched off waits for it to be on again
		self.assertEqual(self.reply(lead).status_code, 200)
		log = self.reply_log()
		drop_job(telegram.reply_job_id(log.name))
		later = add_to_date(now_datetime(), minutes=telegram.LOST_JOB_MINUTES + 1)
		frappe.db.set_single_value(SETTINGS, "telegram_enabled", 0)
		frappe.db.commit()
		try:
			with self.freeze_time(later):
				telegram.send_due_replies()
			self.assertEqual(self.api.calls, [])
		finally:
			frappe.db.set_single_value(SETTINGS, "telegram_enabled", 1)
			frappe.db.commit()
		with self.freeze_time(later):
			telegram.send_due_replies()
		self.assertEqual(len(self.api.sent()), 1)


class TestSetup(TelegramTestCase):
	def test_the_administrator_sets_the_webhook(self):
		r = self.rest_call("simple_crm.api.telegram.set_webhook", user=email("crm_admin"))
		self.assertEqual(r.status_code, 200, r.text)
		[call] = self.api.sent("setWebhook")
		self.assertTrue(call["url"].endswith(WEBHOOK), call)
		self.assertEqual((call["secret_token"], call["allowed_updates"]), (SECRET, ["message"]))
		self.assertEqual([log.status for log in self.logs(direction="Outbound")], ["Sent"])
		self.assertNotIn(
			SECRET,
			json.dumps(frappe.get_all(LOG, filters={"channel": "Telegram"}, fields=["*"]), default=str),
		)

	def test_a_sales_manager_cannot_set_the_webhook(self):
		r = self.rest_call("simple_crm.api.telegram.set_webhook", user=email("sales1"))
		self.assertEqual(r.status_code, 403, r.text)
		self.assertEqual(self.api.calls, [])

	def test_a_refused_webhook_is_told_and_logged(self):
		self.api.answers = [
			(
				400,
				{
					"ok": False,
					"error_code": 400,
					"description": "Bad Request: bad webhook: An HTTPS URL must be provided for webhook",
				},
			)
		]
		r = self.rest_call("simple_crm.api.telegram.set_webhook", user=email("crm_admin"))
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("HTTPS URL must be provided", r.error_text())
		[log] = self.logs(direction="Outbound")
		self.assertEqual(log.status, "Failed")

	def test_a_webhook_secret_is_made_when_there_is_none(self):
		remove_encrypted_password(SETTINGS, SETTINGS, "telegram_webhook_secret")
		frappe.db.set_single_value(SETTINGS, "telegram_webhook_secret", None)
		frappe.db.set_single_value(SETTINGS, "telegram_webhook_url", "https://crm.example.com/hook")
		frappe.db.commit()
		try:
			r = self.rest_call("simple_crm.api.telegram.set_webhook", user=email("crm_admin"))
			self.assertEqual(r.status_code, 200, r.text)
			[call] = self.api.sent("setWebhook")
			self.assertEqual(call["url"], "https://crm.example.com/hook")
			self.assertRegex(call["secret_token"], telegram.SECRET_TOKEN_RE)
			frappe.db.commit()
			self.assertEqual(telegram.secret("telegram_webhook_secret"), call["secret_token"])
			# Telegram's next update carries it
			self.assertEqual(self.post(make_update(new_id()), secret=call["secret_token"]).status_code, 200)
		finally:
			settings = frappe.get_single(SETTINGS)
			settings.telegram_webhook_secret = SECRET
			settings.telegram_webhook_url = ""
			settings.save()
			frappe.db.commit()

	def test_secrets_are_not_returned_to_a_sales_manager(self):
		for user in (email("sales1"), email("head_a"), email("director")):
			with self.subTest(user):
				r = self.rest_get(SETTINGS, SETTINGS, user=user)
				self.assertEqual(r.status_code, 200, r.text)
				self.assertNotIn(TOKEN.split(":")[1], r.text)
				self.assertNotIn(SECRET, r.text)
				self.assertIn("telegram_enabled", r.data)


class TestChatFieldsAreTheChannels(SalesOrgRestTestCase):
	"""The chat a lead or contact answers to is set by the channel only: a user who may edit the record
	cannot point its replies at another chat."""

	def test_a_user_cannot_set_or_change_the_chat(self):
		lead = self.track("CRM Lead", factories.make_lead(responsible=email("sales1")).name)
		frappe.db.set_value("CRM Lead", lead, "telegram_chat_id", "1001", update_modified=False)
		frappe.db.commit()
		r = self.rest_update("CRM Lead", lead, {"telegram_chat_id": "2002"}, email("sales1"))
		self.assertEqual(r.status_code, 403, r.text[:300])
		self.assertIn("Telegram", r.error_text())
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value("CRM Lead", lead, "telegram_chat_id"), "1001")
		r = self.rest_insert(
			"CRM Lead",
			{"lead_name": "Чужой чат", "phone": "+79123400077", "telegram_chat_id": "3003"},
			email("sales1"),
		)
		self.assertEqual(r.status_code, 403, r.text[:300])
		# other changes of the lead go through, the chat stays
		r = self.rest_update("CRM Lead", lead, {"interest": "Прайс"}, email("sales1"))
		self.assertEqual(r.status_code, 200, r.text[:300])
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value("CRM Lead", lead, "telegram_chat_id"), "1001")
