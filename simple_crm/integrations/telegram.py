"""Telegram: the company's bot. What people write to it becomes a lead or lands on the timeline of the lead
or contact who wrote; managers answer from the Desk and the answer goes out through the Bot API.

Incoming (`receive_update`, behind the webhook `simple_crm.api.telegram.webhook`): Telegram POSTs each
Update as JSON with the header `X-Telegram-Bot-Api-Secret-Token` carrying the `secret_token` given to
setWebhook. The header is compared in constant time with the Webhook Secret of Simple CRM Settings; a
missing one is refused with 401, a wrong one with 403, and nothing is written but the log row. Telegram
repeats an update until it gets a 2xx answer, so an authenticated update the CRM has no use for (an edited
message, a group chat, a bot) is answered 200 and left alone, and an update that is not one at all (not
JSON, wrong types, too large) is refused with a 4xx.

A message from a private chat is filed once per update (the mark `telegram-update:<bot>:<update_id>`
is written in the same transaction as what the message made, so Telegram's retries find it done):

1. the contact or lead carrying the chat's id (Contact.crm_telegram_chat_id, CRM Lead.telegram_chat_id;
   a converted lead hands the chat on to the contact it became);
2. else, when the person shared their own phone number (a `contact` whose user_id is the sender's, which
   Telegram fills in from the number itself), the contact or open lead with that number
   (simple_crm.duplicates), which then keeps the chat's id;
3. else a new lead (channel Messenger) carrying the chat's id; the new-lead automation distributes it and
   gives it its call-back task after commit (simple_crm.automation.new_leads).

The message itself is a Communication (medium Chat, received) on the record's timeline, and the record's
responsible manager is told of a message on a known record.

Outgoing (`queue_reply`): a user who can see a lead or contact with a chat sends it a text; the reply is a
Communication (medium Chat, sent) on the timeline at once and an outbound log row (Queued) whose job
(`send_reply`, enqueued after commit) calls sendMessage: Sent with Telegram's message id, or on a passing
failure (429 with its retry_after, 5xx, no connection) tried again later with a growing pause
(`send_due_replies`, every minute, also picks up replies whose job was lost), or Failed for good (the bot
blocked, the chat gone, attempts used up) with the author told. A reply is sent at least once: a worker
killed between Telegram's answer and the commit sends it again.
"""

import datetime
import json
import re

import frappe
import requests
from frappe import _
from frappe.utils import (
	add_to_date,
	cint,
	convert_utc_to_system_timezone,
	escape_html,
	get_datetime,
	get_fullname,
	get_url,
	now_datetime,
)

from simple_crm.automation.common import JobRun, as_system, claim, desk_link, in_language, notify
from simple_crm.constants import LEAD_CONVERTED
from simple_crm.duplicates import DuplicateRecordError, drop_converted_leads, lookup
from simple_crm.integrations.common import (
	BODY_LIMIT,
	LOG,
	ChannelDisabledError,
	InvalidPayloadError,
	SignatureError,
	inbound,
	json_body,
	request_body,
	same_secret,
	secret,
	setting,
	write_log,
)
from simple_crm.utils import phones
from simple_crm.validation import default_phone_region

CHANNEL = "Telegram"
JOB = "telegram"
REPLY_JOB = "telegram_replies"
WEBHOOK_METHOD = "simple_crm.api.telegram.webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_API_URL = "https://api.telegram.org"
# the records a chat belongs to, and where each keeps the chat's id
CHAT_FIELD = {"Contact": "crm_telegram_chat_id", "CRM Lead": "telegram_chat_id"}
# Telegram's limit of a message's text
TEXT_LIMIT = 4096
# a reply is tried this often; after the n-th failed try it waits BACKOFF_SECONDS[n - 1] (the last one
# again beyond), unless Telegram says how long (retry_after)
MAX_ATTEMPTS = 5
BACKOFF_SECONDS = (60, 300, 900, 3600)
# a queued reply whose job never ran is picked up by send_due_replies after this long
LOST_JOB_MINUTES = 2
# replies still queued after this long (the channel was off for days) are left in the log as they are
QUEUED_DAYS = 2
REQUEST_TIMEOUT = 10
# what setWebhook accepts as secret_token
SECRET_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# identifiers are Telegram's 64-bit integers
MAX_ID = 2**63
# the kinds of message besides text the CRM names on the timeline
MESSAGE_KINDS = (
	"photo",
	"document",
	"voice",
	"audio",
	"video",
	"video_note",
	"sticker",
	"animation",
	"location",
	"venue",
	"poll",
	"dice",
)


class WrongSecretError(SignatureError):
	http_status_code = 403


class TelegramNotConfiguredError(frappe.ValidationError):
	pass


class NoTelegramChatError(frappe.ValidationError):
	pass


class InvalidReplyError(frappe.ValidationError):
	pass


class TelegramApiError(frappe.ValidationError):
	pass


# --- settings ------------------------------------------------------------------------------------------


def is_enabled() -> bool:
	return bool(cint(setting("telegram_enabled")))


def bot_token() -> str | None:
	return secret("telegram_bot_token")


def method_url(token: str, method: str) -> str:
	base = (setting("telegram_api_url") or DEFAULT_API_URL).strip().rstrip("/")
	return f"{base}/bot{token}/{method}"


def webhook_url() -> str:
	return (setting("telegram_webhook_url") or "").strip() or get_url(f"/api/method/{WEBHOOK_METHOD}")


def bot_id() -> str:
	"""The bot's own id (the token's part before the colon): update ids count per bot."""
	token = bot_token() or ""
	return token.split(":", 1)[0] if ":" in token else "bot"


# --- incoming ------------------------------------------------------------------------------------------


def receive_update() -> dict:
	"""The webhook: check the secret, read the Update, file its message (see the module's docstring)."""
	raw = _body_within_limit()
	# the log keeps what came in only once the secret has been checked: nobody else's body is stored
	payload: dict = {}
	with inbound(CHANNEL, payload) as entry:
		if not is_enabled():
			frappe.throw(_("The Telegram channel is switched off"), ChannelDisabledError, title=_("Telegram"))
		check_secret(frappe.get_request_header(SECRET_HEADER))
		if raw is None:
			request_body(BODY_LIMIT)  # refuses with 413 and its message
		payload["body"] = raw.decode("utf-8", "replace")
		data = json_body(BODY_LIMIT)
		payload.clear()
		payload.update(data)
		update = parse_update(data)
		entry.event_id = str(update.update_id)
		handle_update(update, entry)
	return {"status": entry.status}


def _body_within_limit() -> bytes | None:
	"""The request body, or None when it is too large (refused once the secret has been checked)."""
	try:
		return request_body(BODY_LIMIT)
	except frappe.ValidationError:
		frappe.clear_last_message()
		return None


def check_secret(given: str | None) -> None:
	if not given:
		frappe.throw(
			_("The header {0} is missing").format(SECRET_HEADER), SignatureError, title=_("Telegram Webhook")
		)
	if not same_secret(secret("telegram_webhook_secret"), given):
		frappe.throw(
			_("The header {0} does not match the webhook secret").format(SECRET_HEADER),
			WrongSecretError,
			title=_("Telegram Webhook"),
		)


def _refuse(path: str, expected: str) -> None:
	frappe.throw(
		_("Invalid update: {0} must be {1}").format(path, expected),
		InvalidPayloadError,
		title=_("Invalid Request"),
	)


def _is_id(value) -> bool:
	return isinstance(value, int) and not isinstance(value, bool) and -MAX_ID < value < MAX_ID


def _get(data: dict, key: str, path: str, kind: str, required: bool = False):
	"""data[key] checked against its documented type: "id" (integer), "text" or "object"."""
	value = data.get(key)
	if value is None:
		if required:
			_refuse(path, {"id": _("a whole number"), "text": _("a text"), "object": _("an object")}[kind])
		return None
	if kind == "id" and not _is_id(value):
		_refuse(path, _("a whole number"))
	if kind == "text":
		if not isinstance(value, str):
			_refuse(path, _("a text"))
		# a lone surrogate (valid JSON, not valid UTF-8) or a NUL cannot be stored
		value = value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
	if kind == "object" and not isinstance(value, dict):
		_refuse(path, _("an object"))
	return value


def parse_update(data: dict) -> frappe._dict:
	"""The parts of an Update the CRM reads, checked against the Bot API's types (400 otherwise)."""
	update_id = _get(data, "update_id", "update_id", "id", required=True)
	if update_id < 0:
		_refuse("update_id", _("a whole number"))
	update = frappe._dict(update_id=update_id, message=None)
	message = _get(data, "message", "message", "object")
	if message is None:
		update.kind = next((key for key in data if key != "update_id"), None)
		return update
	chat = _get(message, "chat", "message.chat", "object", required=True)
	sender = _get(message, "from", "message.from", "object") or {}
	contact = _get(message, "contact", "message.contact", "object")
	date = _get(message, "date", "message.date", "id")
	update.message = frappe._dict(
		message_id=_get(message, "message_id", "message.message_id", "id"),
		date=date if date and date > 0 else None,
		chat_id=_get(chat, "id", "message.chat.id", "id", required=True),
		chat_type=_get(chat, "type", "message.chat.type", "text"),
		from_id=_get(sender, "id", "message.from.id", "id"),
		is_bot=bool(sender.get("is_bot")),
		first_name=_get(sender, "first_name", "message.from.first_name", "text"),
		last_name=_get(sender, "last_name", "message.from.last_name", "text"),
		username=_get(sender, "username", "message.from.username", "text"),
		text=_get(message, "text", "message.text", "text"),
		caption=_get(message, "caption", "message.caption", "text"),
		kind=next((kind for kind in MESSAGE_KINDS if message.get(kind) is not None), None),
		contact=None,
	)
	if contact is not None:
		update.message.contact = frappe._dict(
			phone_number=_get(contact, "phone_number", "message.contact.phone_number", "text"),
			user_id=_get(contact, "user_id", "message.contact.user_id", "id"),
		)
	return update


def update_key(update_id: int) -> str:
	return f"telegram-update:{bot_id()}:{update_id}"


def chat_key(chat_id: int) -> str:
	return f"telegram-chat:{bot_id()}:{chat_id}"


def handle_update(update: frappe._dict, entry: frappe._dict) -> None:
	"""File one update's message, once; `entry` (the log row to be) learns what became of it."""
	message = update.message
	if message is None:
		entry.summary = f"ignored: no message ({update.kind or 'empty'})"
		return
	if message.chat_type != "private" or message.is_bot:
		entry.summary = (
			f"ignored: {message.chat_type or 'unknown'} chat" if not message.is_bot else "ignored: bot"
		)
		return
	if not claim(update_key(update.update_id), JOB):
		entry.status = "Duplicate"
		entry.summary = f"update {update.update_id} filed before"
		return
	with as_system():
		record, made = find_or_make_record(message)
		add_message(record, message)
		if not made:
			tell_responsible(record, message)
	entry.reference_doctype, entry.reference_name = record
	entry.summary = f"{'new lead' if made else 'message on'} {record[0]} {record[1]}"


def sender_name(message: frappe._dict) -> str:
	"""The person's name as Telegram has it, for a lead's name (angle brackets left out: escaped, they would
	make a long name too long for its field)."""
	parts = (message.first_name, message.last_name)
	name = " ".join(" ".join(part.replace("<", " ").replace(">", " ").split()) for part in parts if part)
	name = name.strip()
	if not name and message.username:
		name = "@" + "".join(ch for ch in message.username if ch not in "<>")
	return (name.strip() or _("Telegram user {0}").format(message.chat_id))[:140]


def message_text(message: frappe._dict) -> str:
	"""What the person wrote, as plain text (a shared phone number or a file's kind when there is no text)."""
	text = (message.text or message.caption or "").strip()
	if message.contact and message.contact.phone_number:
		shared = _("Shared a phone number: {0}").format(message.contact.phone_number)
		text = f"{text}\n{shared}" if text else shared
	if not text:
		text = _("A message without text ({0})").format(message.kind or "?")
	return text[: TEXT_LIMIT * 2]


def own_phone(message: frappe._dict) -> str | None:
	"""The sender's own number in E.164, when they shared it (Telegram puts their user id on it)."""
	contact = message.contact
	if not contact or not contact.phone_number or contact.user_id is None:
		return None
	if contact.user_id != message.from_id:
		return None
	raw = contact.phone_number.strip()
	# Telegram writes numbers internationally without the plus
	if raw.isdigit():
		raw = f"+{raw}"
	try:
		return phones.normalize_phone(raw, default_phone_region())
	except phones.PhoneError:
		return None


def find_or_make_record(message: frappe._dict) -> tuple[tuple[str, str], bool]:
	"""The record the chat belongs to, made (a new lead) when there is none; and whether it was made."""
	record = find_by_chat(message.chat_id)
	phone = own_phone(message)
	if not record and phone:
		record = find_by_phone(phone)
		if record:
			keep_chat(record, message.chat_id)
	if record:
		return record, False
	# the first message of a new chat: one request makes its lead, one coming at the same time waits for
	# it and finds it (a locking read sees what the other committed)
	if not claim(chat_key(message.chat_id), JOB):
		record = find_by_chat(message.chat_id, for_update=True)
		if record:
			return record, False
	return ("CRM Lead", make_lead(message, phone)), True


def find_by_chat(chat_id: int, for_update: bool = False) -> tuple[str, str] | None:
	contact = frappe.db.get_values(
		"Contact",
		{CHAT_FIELD["Contact"]: str(chat_id)},
		"name",
		order_by="modified desc",
		limit=1,
		pluck=True,
		for_update=for_update,
	)
	if contact:
		return ("Contact", contact[0])
	leads = frappe.db.get_values(
		"CRM Lead",
		{CHAT_FIELD["CRM Lead"]: str(chat_id)},
		["name", "status", "contact"],
		as_dict=True,
		order_by="creation desc",
		limit=20,
		for_update=for_update,
	)
	lead = next((row for row in leads if row.status != LEAD_CONVERTED), None)
	if lead:
		return ("CRM Lead", lead.name)
	for row in leads:
		# a converted lead's chat goes on with the contact it became
		if row.contact and frappe.db.exists("Contact", row.contact):
			keep_chat(("Contact", row.contact), chat_id)
			return ("Contact", row.contact)
	if leads:
		return ("CRM Lead", leads[0].name)
	return None


def find_by_phone(phone: str) -> tuple[str, str] | None:
	"""A contact, else an open lead, with the number (the duplicate index); the first by name of several."""
	rows = drop_converted_leads(lookup({("Phone", phone)}))
	for doctype in ("Contact", "CRM Lead"):
		names = sorted(row.reference_name for row in rows if row.reference_doctype == doctype)
		if names:
			return (doctype, names[0])
	return None


class ChatFieldError(frappe.PermissionError):
	pass


def check_chat_field(doc, method=None) -> None:
	"""validate of CRM Lead and Contact: the Telegram chat a record answers to is set by this channel only
	(else whoever may edit a lead could point its replies at another chat)."""
	fieldname = CHAT_FIELD.get(doc.doctype)
	if not fieldname or frappe.session.user == "Administrator" or doc.flags.ignore_permissions:
		return
	stored = None if doc.is_new() else frappe.db.get_value(doc.doctype, doc.name, fieldname)
	if (doc.get(fieldname) or None) != (stored or None):
		frappe.throw(
			_("{0} is set by the Telegram channel and cannot be changed").format(
				_(doc.meta.get_label(fieldname))
			),
			ChatFieldError,
			title=_("Not Permitted"),
		)


def keep_chat(record: tuple[str, str], chat_id: int) -> None:
	doctype, name = record
	frappe.db.set_value(doctype, name, CHAT_FIELD[doctype], str(chat_id), update_modified=False)


def make_lead(message: frappe._dict, phone: str | None) -> str:
	"""A new lead from the chat's first message. Should the settings block duplicates and the number
	belong to a client already, the lead is made without the number (it stays in the message)."""
	values = {
		"doctype": "CRM Lead",
		"lead_name": sender_name(message),
		"channel": "Messenger",
		"interest": message_text(message),
		"telegram_chat_id": str(message.chat_id),
	}
	if frappe.db.exists("CRM Lead Source", "Messenger"):
		values["source"] = "Messenger"
	if phone:
		frappe.db.savepoint("telegram_lead")
		try:
			return frappe.get_doc({**values, "mobile_no": phone}).insert(ignore_permissions=True).name
		except DuplicateRecordError:
			frappe.db.rollback(save_point="telegram_lead")
			frappe.clear_last_message()
	return frappe.get_doc(values).insert(ignore_permissions=True).name


def message_date(message: frappe._dict):
	"""When the person sent the message (Telegram's Unix time), in the system's time zone; now when the
	date is missing or not plausible."""
	now = now_datetime()
	if not message.date:
		return now
	try:
		moment = convert_utc_to_system_timezone(
			datetime.datetime.fromtimestamp(message.date, tz=datetime.timezone.utc)
		).replace(tzinfo=None)
	except (OverflowError, OSError, ValueError):
		return now
	if not add_to_date(now, days=-30) <= moment <= add_to_date(now, minutes=5):
		return now
	return moment


def as_html(text: str) -> str:
	return escape_html(text).replace("\n", "<br>")


def timeline_links(record: tuple[str, str]) -> list[dict]:
	"""A contact's message shows on the timelines of its clients too."""
	doctype, name = record
	if doctype != "Contact":
		return []
	clients = frappe.get_all(
		"Dynamic Link",
		filters={"parenttype": "Contact", "parent": name, "link_doctype": "CRM Client"},
		pluck="link_name",
	)
	return [{"link_doctype": "CRM Client", "link_name": client} for client in clients]


def add_message(record: tuple[str, str], message: frappe._dict) -> str:
	"""The received message as a Communication on the record's timeline."""
	text = message_text(message)
	doc = frappe.get_doc(
		{
			"doctype": "Communication",
			"communication_type": "Communication",
			"communication_medium": "Chat",
			"sent_or_received": "Received",
			"subject": _("Telegram: {0}").format(text.splitlines()[0][:100]),
			"content": as_html(text),
			"sender_full_name": sender_name(message),
			"communication_date": message_date(message),
			"reference_doctype": record[0],
			"reference_name": record[1],
			"message_id": f"telegram:{message.chat_id}:{message.message_id}",
			"timeline_links": timeline_links(record),
		}
	)
	doc.insert(ignore_permissions=True)
	return doc.name


def responsible_of(record: tuple[str, str]) -> str | None:
	doctype, name = record
	field = {"CRM Lead": "responsible", "Contact": "crm_responsible"}.get(doctype)
	return frappe.db.get_value(doctype, name, field) if field else None


def tell_responsible(record: tuple[str, str], message: frappe._dict) -> None:
	user = responsible_of(record)
	if not user:
		return
	who = escape_html(sender_name(message))
	with in_language(user):
		notify(
			user,
			_("Telegram message from {0}").format(who),
			"{}<br><a href='{}'>{}</a>".format(
				as_html(message_text(message)[:500]), desk_link(*record), _("Open the record")
			),
			*record,
		)


# --- outgoing ------------------------------------------------------------------------------------------


def queue_reply(doctype: str, name: str, text: str) -> dict:
	"""Send `text` to the chat of a lead or contact the user can see: on the timeline now, through the Bot
	API by a job after commit. Returns the log row and the Communication."""
	if doctype not in CHAT_FIELD:
		frappe.throw(
			_("Replies in Telegram go from a lead or a contact, not from {0}").format(_(doctype)),
			InvalidReplyError,
			title=_("Reply in Telegram"),
		)
	frappe.has_permission(doctype, "read", name, throw=True)
	if not is_enabled() or not bot_token():
		frappe.throw(
			_("Telegram is not set up: switch it on and enter the bot token in Simple CRM Settings"),
			TelegramNotConfiguredError,
			title=_("Reply in Telegram"),
		)
	text = (text or "").strip()
	if not text:
		frappe.throw(_("The reply is empty"), InvalidReplyError, title=_("Reply in Telegram"))
	if len(text) > TEXT_LIMIT:
		frappe.throw(
			_("The reply is {0} characters long; Telegram takes at most {1}").format(len(text), TEXT_LIMIT),
			InvalidReplyError,
			title=_("Reply in Telegram"),
		)
	chat_id = frappe.db.get_value(doctype, name, CHAT_FIELD[doctype])
	if not chat_id:
		frappe.throw(
			_(
				"{0} {1} has not written to the company's Telegram bot yet: there is no chat to reply in"
			).format(_(doctype), name),
			NoTelegramChatError,
			title=_("Reply in Telegram"),
		)
	user = frappe.session.user
	communication = frappe.get_doc(
		{
			"doctype": "Communication",
			"communication_type": "Communication",
			"communication_medium": "Chat",
			"sent_or_received": "Sent",
			"subject": _("Telegram: {0}").format(text.splitlines()[0][:100]),
			"content": as_html(text),
			"sender": frappe.db.get_value("User", user, "email") or None,
			"sender_full_name": get_fullname(user),
			"delivery_status": "Sending",
			"reference_doctype": doctype,
			"reference_name": name,
			"timeline_links": timeline_links((doctype, name)),
		}
	).insert(ignore_permissions=True)
	log = write_log(
		CHANNEL,
		"Outbound",
		"Queued",
		payload={"chat_id": chat_id, "text": text},
		summary=f"reply to {doctype} {name}",
		reference_doctype="Communication",
		reference_name=communication.name,
		attempts=0,
	)
	frappe.enqueue(
		"simple_crm.integrations.telegram.send_reply",
		queue="short",
		enqueue_after_commit=True,
		job_id=reply_job_id(log.name),
		log=log.name,
	)
	return {"log": log.name, "communication": communication.name}


def reply_job_id(log: str) -> str:
	return f"simple_crm:telegram-reply:{log}"


def send_reply(log: str) -> str:
	"""The job of one reply (committed by the worker with the job); returns its one-line summary."""
	run = JobRun(REPLY_JOB, commit=False)
	run.count(send_one(log))
	return run.finish()


def send_due_replies() -> str:
	"""Every minute: replies due for another try, and replies whose job was lost. While the channel is off,
	queued replies wait."""
	run = JobRun(REPLY_JOB)
	if not is_enabled():
		return run.finish()
	table = frappe.qb.DocType(LOG)
	now = now_datetime()
	lost = add_to_date(now, minutes=-LOST_JOB_MINUTES)
	names = (
		frappe.qb.from_(table)
		.select(table.name)
		.where(
			(table.channel == CHANNEL)
			& (table.direction == "Outbound")
			& (table.status == "Queued")
			& ((table.next_attempt_on <= now) | (table.next_attempt_on.isnull() & (table.creation <= lost)))
			# a queued reply is written at every try (an hour apart at most): the indexed `modified` keeps
			# the query from reading the whole log
			& (table.modified >= add_to_date(now, days=-QUEUED_DAYS))
		)
		.orderby(table.creation)
		.limit(run.limit + 1)
		.run(pluck=True)
	)
	for name in run.take(names):
		with run.item(name):
			run.count(send_one(name))
	return run.finish()


def send_one(log: str) -> str:
	"""Try one queued reply, once: the log row is locked while it is tried, so a job and the retry run
	never send it twice. Returns what happened (for the run's summary)."""
	row = frappe.db.get_value(
		LOG,
		log,
		[
			"name",
			"channel",
			"direction",
			"status",
			"payload",
			"attempts",
			"next_attempt_on",
			"owner",
			"reference_name",
		],
		as_dict=True,
		for_update=True,
	)
	if not row or row.channel != CHANNEL or row.direction != "Outbound":
		return "not a reply"
	if row.status != "Queued":
		return "done before"
	if row.next_attempt_on and get_datetime(row.next_attempt_on) > now_datetime():
		return "not due"
	communication = row.reference_name
	try:
		body = json.loads(row.payload or "")
		params = {"chat_id": body["chat_id"], "text": body["text"]}
	except (ValueError, KeyError, TypeError):
		return _give_up(row, communication, _("The queued reply cannot be read"))
	answer = call_api("sendMessage", params)
	attempts = cint(row.attempts) + 1
	if answer.ok:
		message_id = (answer.result or {}).get("message_id") if isinstance(answer.result, dict) else None
		frappe.db.set_value(
			LOG,
			log,
			{
				"status": "Sent",
				"attempts": attempts,
				"event_id": str(message_id) if message_id is not None else None,
				"next_attempt_on": None,
				"error": None,
			},
		)
		_set_delivery(communication, "Sent")
		return "sent"
	if answer.transient and attempts < MAX_ATTEMPTS:
		wait = answer.retry_after or BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1]
		frappe.db.set_value(
			LOG,
			log,
			{
				"attempts": attempts,
				"next_attempt_on": add_to_date(now_datetime(), seconds=wait),
				"error": answer.description[:2000],
			},
		)
		return "to try again"
	return _give_up(row, communication, answer.description, attempts)


def _give_up(row, communication: str | None, error: str, attempts: int | None = None) -> str:
	frappe.db.set_value(
		LOG,
		row.name,
		{
			"status": "Failed",
			"attempts": attempts if attempts is not None else cint(row.attempts),
			"next_attempt_on": None,
			"error": (error or "")[:2000],
		},
	)
	_set_delivery(communication, "Error")
	if row.owner and communication:
		reference = frappe.db.get_value(
			"Communication", communication, ["reference_doctype", "reference_name"], as_dict=True
		)
		if reference and reference.reference_doctype and reference.reference_name:
			with in_language(row.owner):
				notify(
					row.owner,
					_("Your Telegram reply to {0} {1} was not delivered: {2}").format(
						_(reference.reference_doctype), reference.reference_name, escape_html(error)
					),
					"",
					reference.reference_doctype,
					reference.reference_name,
				)
	return "failed"


def _set_delivery(communication: str | None, status: str) -> None:
	if communication and frappe.db.exists("Communication", communication):
		frappe.db.set_value("Communication", communication, "delivery_status", status, update_modified=False)


# --- the Bot API ---------------------------------------------------------------------------------------


def call_api(method: str, params: dict) -> frappe._dict:
	"""One Bot API call. Returns ok and result, or the error's description, whether it is worth trying
	again (429, 5xx, no connection) and Telegram's retry_after. The token never appears in a description."""
	token = bot_token()
	if not token:
		return frappe._dict(ok=False, transient=False, description=_("No bot token is set"), retry_after=None)
	try:
		response = requests.post(method_url(token, method), json=params, timeout=REQUEST_TIMEOUT)
	except requests.RequestException as e:
		return frappe._dict(
			ok=False,
			transient=True,
			description=str(e).replace(token, "***") or type(e).__name__,
			retry_after=None,
		)
	try:
		data = response.json()
	except ValueError:
		data = None
	if not isinstance(data, dict):
		data = {}
	if response.status_code == 200 and data.get("ok") is True:
		return frappe._dict(ok=True, result=data.get("result"), transient=False, description="")
	code = data.get("error_code") if _is_id(data.get("error_code")) else response.status_code
	parameters = data.get("parameters") if isinstance(data.get("parameters"), dict) else {}
	retry_after = parameters.get("retry_after")
	retry_after = retry_after if _is_id(retry_after) and 0 < retry_after <= 24 * 3600 else None
	description = str(data.get("description") or response.reason or code).replace(token, "***")
	return frappe._dict(
		ok=False,
		transient=code == 429 or code >= 500,
		description=f"{code}: {description}",
		retry_after=retry_after,
		error_code=code,
	)


def set_webhook() -> dict:
	"""Tell Telegram where to send updates and with which secret (setWebhook). Made for the administrator:
	a webhook secret is generated when none is set."""
	if not {"System Manager", "CRM Administrator"} & set(frappe.get_roles()):
		frappe.throw(
			_("Only an administrator sets the Telegram webhook"), frappe.PermissionError, title=_("Telegram")
		)
	if not bot_token():
		frappe.throw(
			_("Enter the bot token in Simple CRM Settings and save them first"),
			TelegramNotConfiguredError,
			title=_("Telegram"),
		)
	token = secret("telegram_webhook_secret")
	if not token:
		token = frappe.generate_hash(length=48)
		settings = frappe.get_single("Simple CRM Settings")
		settings.telegram_webhook_secret = token
		settings.save(ignore_permissions=True)
	elif not SECRET_TOKEN_RE.match(token):
		frappe.throw(
			_("The webhook secret may hold only letters A-Z and a-z, digits, _ and -, up to 256 characters"),
			TelegramNotConfiguredError,
			title=_("Telegram"),
		)
	url = webhook_url()
	answer = call_api("setWebhook", {"url": url, "secret_token": token, "allowed_updates": ["message"]})
	write_log(
		CHANNEL,
		"Outbound",
		"Sent" if answer.ok else "Failed",
		payload={"method": "setWebhook", "url": url, "allowed_updates": ["message"]},
		summary=f"setWebhook {url}",
		error=None if answer.ok else answer.description,
		attempts=1,
	)
	if not answer.ok:
		# the failure stays in the log (and a generated secret with it) when the error undoes the request
		frappe.db.commit()
		frappe.throw(
			_("Telegram refused the webhook: {0}").format(escape_html(answer.description)),
			TelegramApiError,
			title=_("Telegram"),
		)
	return {"url": url}
