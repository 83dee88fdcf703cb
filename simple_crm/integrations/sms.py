"""SMS to the CRM's contacts, leads and clients through the SMS.ru gateway: queued, logged, retried, tracked.

Where messages come from:
- a user on a record's form or list (`simple_crm.api.sms`): only records the user can see, only the
  record's own numbers, a bounded selection;
- Frappe's Notifications with the SMS channel (status changes; the app ships a disabled example): while the
  channel is on, their messages take this path too, with the record as their reference (`route_frappe_sms`).
  While it is off, Frappe sends them through its own SMS Settings as before, and each request Frappe makes
  is logged here as Sent or Failed (Frappe keeps no gateway id, so those are not retried or tracked).

Every message to one number is one `CRM Integration Log` row (channel SMS, direction Outbound):

    Queued --send job--> Sent (event_id = the gateway's sms_id) --status check--> Delivered | Failed
       \\--gateway error, timeout--> Queued again (attempts, error, next_attempt_on = backoff) ... --> Failed

A request only writes Queued rows; the send job is enqueued when its transaction commits. The scheduled
retry (`simple_crm.automation.sms_retries`) sends what is due: retries after their backoff (`sms_retry_minutes`
doubled per attempt) and first sends whose job was lost. A row is sent only while locked and still Queued,
and leaves Queued in the transaction that records the gateway's answer, so a retry never sends again what the
gateway took; a batch the gateway answered per number retries only the numbers it refused for a passing
reason. (A timeout is the one doubtful case: the gateway may have taken the message without answering; it
is sent again, as with any queue that must not lose a message.)

SMS.ru, as documented at https://sms.ru/api/send and https://sms.ru/api/status; the fields followed:
- POST {base}/sms/send with api_id, to (numbers in international format without "+", comma-separated, at
  most 100), msg (UTF-8), json=1 and, when set, from (an approved sender name). The answer: status
  ("OK"/"ERROR"), status_code (100 = done), status_text, and sms: {number: {status, status_code, sms_id,
  status_text}} per number.
- POST {base}/sms/status with api_id, sms_id (comma-separated), json=1. The answer: status, status_code and
  sms: {sms_id: {status, status_code, status_text}}, where status_code is -1 (not found), 100 (queued at the
  gateway), 101 (passing to the operator), 102 (sent, on its way), 103 (delivered), 104 (expired), 105
  (deleted by the operator), 106 (phone failure), 107 (unknown reason), 108 (rejected), 110 (read; Viber),
  150 (no route to the number).
- Error codes of a send: 200 wrong api_id, 201 not enough money, 202 wrong recipient, 203 no text, 204
  sender name not approved, 205 message too long (more than 8 SMS), 206 daily limit, 207 no route to the
  number, 208 wrong time, 209 number in the stop list, 210 GET instead of POST, 211 no such method, 212
  text not in UTF-8, 213 more than 100 numbers, 214 foreign number, 215 number in the spam list, 216
  forbidden text, 220 service temporarily unavailable, 230-233 message limits, 300-302 authorisation, 500
  gateway error. The codes about the number or the text are final (`FINAL_CODES`); the others are retried.
"""

import json
import math
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass

import frappe
import phonenumbers
import requests
from frappe import _
from frappe.utils import add_to_date, cint, get_datetime, now_datetime
from redis import exceptions as redis_exceptions

from simple_crm.automation.common import JobRun, settings
from simple_crm.integrations.common import LOG, ChannelDisabledError, secret, write_log
from simple_crm.utils import phones

CHANNEL = "SMS"
DIRECTION = "Outbound"
QUEUED, SENT, DELIVERED, FAILED = "Queued", "Sent", "Delivered", "Failed"
# the records a user sends SMS to
DOCTYPES = ("Contact", "CRM Lead", "CRM Client")

SEND_JOB = "sms_send"
RETRY_JOB = "sms_retries"
DELIVERY_JOB = "sms_delivery"
# SMS.ru takes at most this many numbers in one request
NUMBERS_PER_REQUEST = 100
# a first send whose job was lost is picked up by the scheduled retry after this long
FIRST_SEND_GRACE_MINUTES = 2
# how long after queueing the delivery of a sent message is still asked for
DELIVERY_WINDOW_HOURS = 72
# the longest a retry or a status check waits
LONGEST_WAIT_MINUTES = 24 * 60

# SMS.ru codes after which sending the same message to the same number again cannot succeed
FINAL_CODES = frozenset((202, 203, 205, 207, 209, 212, 214, 215, 216))
DELIVERED_CODES = frozenset((103, 110))
UNDELIVERED_CODES = frozenset((104, 105, 106, 107, 108, 150))

# GSM 03.38: the characters one 7-bit SMS carries, and those that take two septets
GSM7_BASIC = frozenset(
	"@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
	"abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")
MOBILE_TYPES = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


class SmsInputError(frappe.ValidationError):
	http_status_code = 400


class SmsPermissionError(frappe.PermissionError):
	http_status_code = 403


class GatewayError(Exception):
	"""The gateway did not take a request: `code` is SMS.ru's status_code (None for a transport error)."""

	def __init__(self, message: str, code: int | None = None):
		super().__init__(message)
		self.message = message
		self.code = code

	@property
	def final(self) -> bool:
		return self.code in FINAL_CODES


@dataclass(frozen=True)
class Recipient:
	doctype: str | None
	name: str | None
	phone: str  # E.164


# --- the text -------------------------------------------------------------------------------------------


def sms_parts(text: str) -> int:
	"""How many SMS `text` takes: 160 characters in one (153 per part) in the GSM 7-bit alphabet, where a
	few characters take two; otherwise UCS-2, 70 UTF-16 units in one (67 per part)."""
	if all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text):
		length = sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)
		single, part = 160, 153
	else:
		length = len(text.encode("utf-16-le")) // 2
		single, part = 70, 67
	return 1 if length <= single else math.ceil(length / part)


def clean_text(message, max_parts: int) -> str:
	"""The message as it will be sent, or a translated 400."""
	text = message.strip() if isinstance(message, str) else ""
	if not text:
		frappe.throw(_("The message is empty"), SmsInputError, title=_("Invalid Message"))
	if any(unicodedata.category(ch) == "Cc" and ch not in "\n\r\t" for ch in text):
		frappe.throw(_("The message contains control characters"), SmsInputError, title=_("Invalid Message"))
	parts = sms_parts(text)
	if parts > max_parts:
		frappe.throw(
			_("The message is too long: {0} SMS parts ({1} characters), at most {2} parts allowed").format(
				parts, len(text), max_parts
			),
			SmsInputError,
			title=_("Invalid Message"),
		)
	return text


# --- numbers --------------------------------------------------------------------------------------------


def is_mobile(e164: str) -> bool:
	try:
		return phonenumbers.number_type(phonenumbers.parse(e164)) in MOBILE_TYPES
	except phonenumbers.NumberParseException:
		return False


def parse_number(raw, region: str | None = None) -> str:
	"""E.164 form of a number given in a request, or a translated 400."""
	from simple_crm.validation import default_phone_region

	if not isinstance(raw, str) or not raw.strip():
		frappe.throw(_("The phone number is empty"), SmsInputError, title=_("Invalid Phone Number"))
	try:
		return phones.normalize_phone(raw, region or default_phone_region())
	except phones.PhoneError:
		frappe.throw(
			_("'{0}' is not a phone number").format(frappe.utils.escape_html(raw[:50])),
			SmsInputError,
			title=_("Invalid Phone Number"),
		)


def record_numbers(doctype: str, names: list[str]) -> dict[str, list[str]]:
	"""The mobile numbers (E.164) of each record, the preferred first: a lead's mobile before its phone, a
	contact's primary mobile row before its other rows. Numbers that are not mobile are left out."""
	found: dict[str, list[str]] = {name: [] for name in names}
	if not names:
		return found
	if doctype == "Contact":
		rows = frappe.get_all(
			"Contact Phone",
			filters={"parenttype": "Contact", "parent": ("in", names)},
			fields=["parent", "crm_phone_normalized as phone", "is_primary_mobile_no", "idx"],
			order_by="is_primary_mobile_no desc, idx asc",
		)
		pairs = [(row.parent, row.phone) for row in rows]
	else:
		fields = (
			["mobile_no_normalized", "phone_normalized"] if doctype == "CRM Lead" else ["phone_normalized"]
		)
		pairs = []
		for row in frappe.get_all(doctype, filters={"name": ("in", names)}, fields=["name", *fields]):
			pairs += [(row.name, row.get(field)) for field in fields]
	for name, number in pairs:
		if number and is_mobile(number) and number not in found[name]:
			found[name].append(number)
	return found


# --- who may send to what -------------------------------------------------------------------------------


def check_doctype(doctype) -> str:
	if doctype not in DOCTYPES:
		frappe.throw(
			_("SMS are sent to contacts, leads and clients only, not to {0}").format(
				frappe.utils.escape_html(str(doctype)[:50])
			),
			SmsInputError,
			title=_("Invalid Recipient"),
		)
	return doctype


def visible_records(doctype: str, names: list) -> list[str]:
	"""`names` (distinct, in order) when the user can see every one of them; otherwise a 403 that does not
	tell a record the user cannot see from one that does not exist. Read as the user's list is read (one
	query, the CRM's row-level conditions; the same the record's own permission check applies)."""
	if not names or not all(isinstance(n, str) and n and len(n) <= 140 for n in names):
		frappe.throw(_("Choose the records to send to"), SmsInputError, title=_("Invalid Recipient"))
	names = list(dict.fromkeys(names))
	# the row-level rules of the CRM, as the user's list view applies them
	seen = frappe.get_list(doctype, filters={"name": ("in", names)}, pluck="name", limit=len(names))
	if len(set(seen)) < len(names):
		frappe.throw(
			_("You can send SMS only to records you can see"),
			SmsPermissionError,
			title=_("Not Permitted"),
		)
	return names


# --- settings -------------------------------------------------------------------------------------------


def config() -> frappe._dict:
	values = settings()
	return frappe._dict(
		enabled=bool(values.sms_enabled),
		url=(values.sms_api_url or "https://sms.ru").strip().rstrip("/"),
		sender=(values.sms_sender or "").strip() or None,
		max_parts=max(1, cint(values.sms_max_parts) or 8),
		bulk_limit=max(1, cint(values.sms_bulk_limit) or 100),
		max_attempts=max(1, cint(values.sms_max_attempts) or 6),
		retry_minutes=max(1, cint(values.sms_retry_minutes) or 2),
		timeout=max(1, cint(values.sms_timeout_seconds) or 10),
	)


def check_enabled(values: frappe._dict) -> None:
	if not values.enabled:
		frappe.throw(_("Sending SMS is switched off"), ChannelDisabledError, title=_("SMS Switched Off"))
	if not secret("sms_api_id"):
		frappe.throw(
			_("Sending SMS is not set up: the gateway's API ID is missing in Simple CRM Settings"),
			ChannelDisabledError,
			title=_("SMS Not Set Up"),
		)


def gateway(values: frappe._dict) -> "SmsRu":
	return SmsRu(values.url, secret("sms_api_id") or "", values.sender, values.timeout)


# --- queueing -------------------------------------------------------------------------------------------


def send_to_record(doctype: str, name: str, message, phone=None) -> dict:
	"""Queue an SMS to one record the user can see, at `phone` (one of the record's own numbers) or at its
	preferred mobile number."""
	values = config()
	check_enabled(values)
	doctype = check_doctype(doctype)
	[name] = visible_records(doctype, [name])
	text = clean_text(message, values.max_parts)
	numbers = record_numbers(doctype, [name])[name]
	if phone:
		number = parse_number(phone)
		if number not in numbers:
			frappe.throw(
				_("{0} is not a mobile number of {1}").format(number, frappe.utils.escape_html(name)),
				SmsInputError,
				title=_("Invalid Phone Number"),
			)
	elif numbers:
		number = numbers[0]
	else:
		frappe.throw(
			_("{0} has no mobile number").format(frappe.utils.escape_html(name)),
			SmsInputError,
			title=_("No Mobile Number"),
		)
	names = queue([Recipient(doctype, name, number)], text, "form")
	return {"queued": len(names), "messages": names, "phones": [number]}


def send_to_records(doctype: str, names, message) -> dict:
	"""Queue one SMS per number to a selection of records the user can see (at most `sms_bulk_limit`);
	records without a mobile number, or with a number already chosen, are skipped and named."""
	values = config()
	check_enabled(values)
	doctype = check_doctype(doctype)
	if isinstance(names, str):
		try:
			names = json.loads(names)
		except ValueError:
			names = [names]
	if not isinstance(names, list):
		frappe.throw(_("Choose the records to send to"), SmsInputError, title=_("Invalid Recipient"))
	if len(names) > values.bulk_limit:
		frappe.throw(
			_("At most {0} records can get an SMS in one go; {1} were chosen").format(
				values.bulk_limit, len(names)
			),
			SmsInputError,
			title=_("Too Many Recipients"),
		)
	names = visible_records(doctype, names)
	text = clean_text(message, values.max_parts)
	numbers = record_numbers(doctype, names)
	recipients, skipped, taken = [], [], {}
	for name in names:
		if not numbers[name]:
			skipped.append({"name": name, "reason": _("no mobile number")})
		elif numbers[name][0] in taken:
			skipped.append({"name": name, "reason": _("same number as {0}").format(taken[numbers[name][0]])})
		else:
			taken[numbers[name][0]] = name
			recipients.append(Recipient(doctype, name, numbers[name][0]))
	if not recipients:
		frappe.throw(
			_("None of the chosen records has a mobile number"), SmsInputError, title=_("No Mobile Number")
		)
	queued = queue(recipients, text, "list")
	return {"queued": len(queued), "messages": queued, "skipped": skipped}


def queue(recipients: list[Recipient], text: str, source: str) -> list[str]:
	"""One Queued log row per recipient, and the send job once this transaction commits."""
	now = now_datetime()
	names = [
		write_log(
			CHANNEL,
			DIRECTION,
			QUEUED,
			payload={"to": r.phone, "text": text, "source": source, "user": frappe.session.user},
			summary=f"{r.phone}: {text[:100]}",
			reference_doctype=r.doctype,
			reference_name=r.name,
			attempts=0,
			next_attempt_on=add_to_date(now, minutes=FIRST_SEND_GRACE_MINUTES),
		).name
		for r in recipients
	]
	try:
		frappe.enqueue(
			"simple_crm.integrations.sms.send_queued",
			queue="short",
			enqueue_after_commit=True,
			job_id=f"simple_crm:sms:{names[0]}",
			names=names,
		)
	except redis_exceptions.ConnectionError:
		# the rows are queued all the same; the scheduled retry sends them within minutes
		frappe.log_error(title="simple_crm: SMS send job not queued")
	return names


def log_refused(recipient: Recipient | None, raw_to: str | None, text: str, source: str, error: str) -> str:
	"""A message that cannot be sent at all (no number, bad text), logged as Failed."""
	return write_log(
		CHANNEL,
		DIRECTION,
		FAILED,
		payload={"to": (recipient and recipient.phone) or raw_to, "text": text, "source": source},
		summary=f"{(recipient and recipient.phone) or raw_to}: {text[:100]}",
		error=error,
		reference_doctype=recipient.doctype if recipient else None,
		reference_name=recipient.name if recipient else None,
		attempts=0,
	).name


# --- sending (jobs) -------------------------------------------------------------------------------------


def send_queued(names: list[str]) -> str:
	"""The send job of one request: the first attempt of its rows that are still waiting for it."""
	run = JobRun(SEND_JOB)
	values = config()
	if values.enabled:
		log = frappe.qb.DocType(LOG)
		rows = _outbound().where(log.name.isin(list(names)) & (log.attempts == 0)).run(as_dict=True)
		_send_rows(run, rows, values, first=True)
	return run.finish()


def send_due(run: JobRun) -> None:
	"""Send what is due (retries after their backoff, first sends whose job was lost); bounded by `run`."""
	values = config()
	if not values.enabled:
		return
	log = frappe.qb.DocType(LOG)
	rows = (
		_outbound()
		.where(log.next_attempt_on <= now_datetime())
		.orderby(log.next_attempt_on)
		.orderby(log.name)
		.limit(run.limit + 1)
		.run(as_dict=True)
	)
	_send_rows(run, run.take(rows), values, first=False)


def _outbound(status: str = QUEUED):
	log = frappe.qb.DocType(LOG)
	return (
		frappe.qb.from_(log)
		.select(log.name, log.payload, log.attempts, log.event_id, log.received_on)
		.where((log.channel == CHANNEL) & (log.direction == DIRECTION) & (log.status == status))
	)


def _message(row) -> tuple[str, str]:
	data = json.loads(row.payload or "{}")
	return data.get("to") or "", data.get("text") or ""


def batches(rows: list) -> list[tuple[str, list]]:
	"""Rows grouped by text into requests of at most NUMBERS_PER_REQUEST distinct numbers (the gateway
	answers per number: a number twice in one request would be ambiguous)."""
	by_text: dict[str, list[list]] = {}
	for row in rows:
		to, text = _message(row)
		groups = by_text.setdefault(text, [])
		for group in groups:
			if len(group) < NUMBERS_PER_REQUEST and all(_message(r)[0] != to for r in group):
				group.append(row)
				break
		else:
			groups.append([row])
	return [(text, group) for text, groups in by_text.items() for group in groups]


def _send_rows(run: JobRun, rows: list, values: frappe._dict, first: bool) -> None:
	client = gateway(values)
	for text, group in batches(rows):
		with run.item(group[0].name):
			for what, n in _send_batch(client, text, [r.name for r in group], values, first).items():
				run.count(what, n)


def _send_batch(client: "SmsRu", text: str, names: list[str], values: frappe._dict, first: bool) -> dict:
	"""Send one request for the rows still Queued (locked until the answer is written and committed)."""
	log = frappe.qb.DocType(LOG)
	query = _outbound().where(log.name.isin(names)).orderby(log.name).for_update()
	query = query.where(log.attempts == 0) if first else query.where(log.next_attempt_on <= now_datetime())
	rows = query.run(as_dict=True)
	if not rows:
		return {"sent before": len(names)}
	by_number = {}
	for row in rows:
		to, _text = _message(row)
		by_number[to.lstrip("+")] = row
	done = {}
	try:
		answers = client.send(list(by_number), text)
	except GatewayError as e:
		for row in rows:
			what = _failed_attempt(row, e.message, e.final, values)
			done[what] = done.get(what, 0) + 1
		return done
	for number, row in by_number.items():
		answer = answers.get(number)
		if answer is None:
			what = _failed_attempt(row, _("The gateway gave no answer for this number"), False, values)
		elif answer.sms_id:
			_mark_sent(row, answer.sms_id)
			what = "sent"
		else:
			what = _failed_attempt(row, answer.message, answer.code in FINAL_CODES, values)
		done[what] = done.get(what, 0) + 1
	return done


def retry_wait_minutes(attempts: int, first_wait: int) -> int:
	"""The wait before attempt `attempts + 1`: `first_wait` doubled per attempt made, at most a day."""
	return min(first_wait * 2 ** max(0, attempts - 1), LONGEST_WAIT_MINUTES)


def _failed_attempt(row, error: str, final: bool, values: frappe._dict) -> str:
	attempts = cint(row.attempts) + 1
	if final or attempts >= values.max_attempts:
		_update(row.name, status=FAILED, attempts=attempts, error=error, next_attempt_on=None)
		return "failed"
	wait = retry_wait_minutes(attempts, values.retry_minutes)
	_update(
		row.name,
		status=QUEUED,
		attempts=attempts,
		error=error,
		next_attempt_on=add_to_date(now_datetime(), minutes=wait),
	)
	return "to retry"


def _mark_sent(row, sms_id: str) -> None:
	_update(
		row.name,
		status=SENT,
		event_id=str(sms_id)[:140],
		attempts=cint(row.attempts) + 1,
		error=None,
		# the first delivery check
		next_attempt_on=add_to_date(now_datetime(), minutes=1),
	)


def _update(name: str, **values) -> None:
	if values.get("error"):
		values["error"] = values["error"][:2000]
	frappe.db.set_value(LOG, name, values, update_modified=True)


# --- delivery -------------------------------------------------------------------------------------------


def check_delivery(run: JobRun) -> None:
	"""Ask the gateway how the sent messages that are due for a check are doing; bounded by `run`."""
	values = config()
	if not values.enabled:
		return
	log = frappe.qb.DocType(LOG)
	rows = (
		_outbound(SENT)
		.where((log.next_attempt_on <= now_datetime()) & log.event_id.isnotnull())
		.orderby(log.next_attempt_on)
		.orderby(log.name)
		.limit(run.limit + 1)
		.run(as_dict=True)
	)
	rows = run.take(rows)
	client = gateway(values)
	for start in range(0, len(rows), NUMBERS_PER_REQUEST):
		chunk = rows[start : start + NUMBERS_PER_REQUEST]
		with run.item(chunk[0].name):
			for what, n in _check_chunk(client, chunk).items():
				run.count(what, n)


def _check_chunk(client: "SmsRu", rows: list) -> dict:
	done: dict[str, int] = {}
	try:
		answers = client.status([row.event_id for row in rows])
	except GatewayError as e:
		for row in rows:
			_next_check(row, e.message)
		return {"status unknown": len(rows)}
	for row in rows:
		answer = answers.get(row.event_id)
		if answer and answer.code in DELIVERED_CODES:
			_update_if_sent(row.name, status=DELIVERED, error=None, next_attempt_on=None)
			what = "delivered"
		elif answer and answer.code in UNDELIVERED_CODES:
			_update_if_sent(row.name, status=FAILED, error=answer.message, next_attempt_on=None)
			what = "undelivered"
		else:
			what = _next_check(row, answer.message if answer and answer.code != -1 else None)
		done[what] = done.get(what, 0) + 1
	return done


def _next_check(row, note: str | None) -> str:
	"""Check again later: the older the message, the longer the wait; past the window, no more checks."""
	now = now_datetime()
	age = (now - get_datetime(row.received_on)).total_seconds() / 60
	if age >= DELIVERY_WINDOW_HOURS * 60:
		_update_if_sent(row.name, next_attempt_on=None, error=note)
		return "no delivery report"
	wait = min(max(1, int(age / 4)), 60)
	_update_if_sent(row.name, next_attempt_on=add_to_date(now, minutes=wait), error=note)
	return "on its way"


def _update_if_sent(name: str, **values) -> None:
	log = frappe.qb.DocType(LOG)
	query = frappe.qb.update(log).where((log.name == name) & (log.status == SENT))
	for field, value in {**values, "modified": now_datetime()}.items():
		query = query.set(log[field], value[:2000] if isinstance(value, str) else value)
	query.run()


# --- the SMS.ru gateway ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
	code: int
	message: str
	sms_id: str | None = None


class SmsRu:
	"""The two calls of SMS.ru's HTTP API the CRM uses (see the module's docstring for the fields)."""

	def __init__(self, base_url: str, api_id: str, sender: str | None = None, timeout: int = 10):
		self.base_url = base_url.rstrip("/")
		self.api_id = api_id
		self.sender = sender
		self.timeout = timeout

	def send(self, numbers: list[str], text: str) -> dict[str, Answer]:
		"""Send `text` to `numbers` (international format without "+"); the gateway's answer per number: a
		sms_id when it took the message, its error code and text when it did not."""
		data = {"api_id": self.api_id, "to": ",".join(numbers), "msg": text, "json": 1}
		if self.sender:
			data["from"] = self.sender
		answer = self._post("/sms/send", data)
		return {str(number): self._answer(item) for number, item in (answer.get("sms") or {}).items()}

	def status(self, sms_ids: list[str]) -> dict[str, Answer]:
		answer = self._post("/sms/status", {"api_id": self.api_id, "sms_id": ",".join(sms_ids), "json": 1})
		return {str(sms_id): self._answer(item) for sms_id, item in (answer.get("sms") or {}).items()}

	@staticmethod
	def _answer(item) -> Answer:
		if not isinstance(item, dict):
			return Answer(0, _("The gateway's answer for this number is not readable"))
		code = cint(item.get("status_code"))
		text = str(item.get("status_text") or "")
		sms_id = item.get("sms_id") if item.get("status") == "OK" else None
		return Answer(code, f"{code}: {text}" if text else str(code), str(sms_id) if sms_id else None)

	def _post(self, path: str, data: dict) -> dict:
		if not self.base_url.startswith(("http://", "https://")):
			raise GatewayError(_("The gateway address must start with http:// or https://"))
		try:
			response = requests.post(f"{self.base_url}{path}", data=data, timeout=self.timeout)
		except requests.Timeout:
			raise GatewayError(_("The gateway did not answer within {0} seconds").format(self.timeout))
		except requests.RequestException as e:
			raise GatewayError(_("The gateway could not be reached: {0}").format(type(e).__name__))
		if response.status_code != 200:
			raise GatewayError(_("The gateway answered with HTTP status {0}").format(response.status_code))
		try:
			answer = response.json()
		except ValueError:
			answer = None
		if not isinstance(answer, dict):
			raise GatewayError(_("The gateway's answer is not readable"))
		if answer.get("status") != "OK":
			code = cint(answer.get("status_code"))
			text = str(answer.get("status_text") or "")
			raise GatewayError(f"{code}: {text}" if text else str(code), code)
		return answer


# --- Frappe's own SMS -----------------------------------------------------------------------------------


def route_frappe_sms() -> None:
	"""`before_request` / `before_job` hook: Frappe's SMS take the CRM's path (see the module's docstring).
	Frappe looks its SMS functions up at every send, so replacing them once per process is enough."""
	from frappe.core.doctype.sms_settings import sms_settings
	from frappe.email.doctype.notification.notification import Notification

	if getattr(Notification.send_sms, "_crm", False):
		return
	frappe_notification_send_sms = Notification.send_sms
	frappe_send_request = sms_settings.send_request

	def send_sms(self, doc, context):
		values = config()
		if not values.enabled:
			with _reference(doc.doctype, doc.name):
				return frappe_notification_send_sms(self, doc, context)
		queue_for_frappe(
			self.get_receiver_list(doc, context),
			frappe.render_template(self.message, context),
			f"Notification: {self.name}",
			doc.doctype,
			doc.name,
		)

	def send_request(gateway_url, params, headers=None, use_post=False, use_json=False):
		receiver, message = frappe.db.get_value(
			"SMS Settings", "SMS Settings", ["receiver_parameter", "message_parameter"]
		) or (None, None)
		reference = getattr(frappe.local, "crm_sms_reference", None) or (None, None)
		payload = {"to": params.get(receiver), "text": params.get(message), "source": "SMS Settings"}
		try:
			status = frappe_send_request(gateway_url, params, headers, use_post, use_json)
		except Exception as e:
			write_log(
				CHANNEL,
				DIRECTION,
				FAILED,
				payload=payload,
				summary=f"{payload['to']}: {str(payload['text'])[:100]}",
				error=str(e)[:2000] or type(e).__name__,
				reference_doctype=reference[0],
				reference_name=reference[1],
				attempts=1,
			)
			raise
		write_log(
			CHANNEL,
			DIRECTION,
			SENT,
			payload=payload,
			summary=f"{payload['to']}: {str(payload['text'])[:100]}",
			reference_doctype=reference[0],
			reference_name=reference[1],
			attempts=1,
		)
		return status

	send_sms._crm = send_request._crm = True
	send_sms._frappe = frappe_notification_send_sms
	send_request._frappe = frappe_send_request
	Notification.send_sms = send_sms
	sms_settings.send_request = send_request


@contextmanager
def _reference(doctype: str | None, name: str | None):
	previous = getattr(frappe.local, "crm_sms_reference", None)
	frappe.local.crm_sms_reference = (doctype, name)
	try:
		yield
	finally:
		frappe.local.crm_sms_reference = previous


def queue_for_frappe(
	receivers: list, text: str, source: str, doctype: str | None = None, name: str | None = None
) -> list[str]:
	"""Queue the SMS of a Notification (or Frappe's SMS dialog): what cannot be sent is logged as Failed
	instead of stopping the save that sent it."""
	from simple_crm.validation import default_phone_region

	values = config()
	text = (text or "").strip()
	error = None
	if not text:
		error = _("The message is empty")
	elif sms_parts(text) > values.max_parts:
		error = _(
			"The message is too long: {0} SMS parts ({1} characters), at most {2} parts allowed"
		).format(sms_parts(text), len(text), values.max_parts)
	recipients, seen = [], set()
	for raw in receivers or []:
		if not raw:
			continue
		try:
			number = phones.normalize_phone(str(raw), default_phone_region())
		except phones.PhoneError:
			log_refused(
				Recipient(doctype, name, ""),
				str(raw)[:50],
				text,
				source,
				_("Not a phone number: {0}").format(raw),
			)
			continue
		if number in seen:
			continue
		seen.add(number)
		recipient = Recipient(doctype, name, number)
		if error:
			log_refused(recipient, number, text, source, error)
		else:
			recipients.append(recipient)
	return queue(recipients, text, source) if recipients else []
