"""Zadarma, a virtual PBX: its call notifications in, its callback and its recordings through its API.

Followed: Zadarma's API documentation, https://zadarma.com/en/support/api/ (the sections on call
notifications of the PBX, "request/callback" and "pbx/record/request"), and its OpenAPI description of the
same methods (github.com/zadarma/openapi, spec/v1/openapi.json).

Notifications are POSTed as form fields to the URL set in the PBX; Zadarma first checks the URL with
`GET ?zd_echo=<text>` and expects the text back as the body. The events and the fields used here:

- NOTIFY_START (an incoming call reaches the PBX): call_start, pbx_call_id, caller_id, called_did;
- NOTIFY_INTERNAL (the PBX rings an extension): the same and internal; ringing is not answering, so it is
  acknowledged and not recorded;
- NOTIFY_ANSWER (an extension answers): caller_id, destination, call_start, pbx_call_id, internal;
- NOTIFY_END (the incoming call ends): call_start, pbx_call_id, caller_id, called_did, internal, duration,
  disposition ("answered", or why not: "busy", "cancel", "no answer", "failed", ...), status_code,
  is_recorded, call_id_with_rec;
- NOTIFY_OUT_START (an extension calls out): call_start, pbx_call_id, destination, caller_id, internal;
- NOTIFY_OUT_END: as NOTIFY_END, with destination (the number called) instead of called_did;
- NOTIFY_RECORD (the recording is ready): call_id_with_rec, pbx_call_id.

Each notification is signed in the header "Signature": base64 of the hexadecimal HMAC-SHA1, keyed with the
API secret, of some of its fields' values joined together (the documentation's PHP
`base64_encode(hash_hmac('sha1', ...))`, where hash_hmac gives hex):

- NOTIFY_START, NOTIFY_INTERNAL, NOTIFY_END: caller_id + called_did + call_start;
- NOTIFY_ANSWER: caller_id + destination + call_start;
- NOTIFY_OUT_START, NOTIFY_OUT_END: internal + destination + call_start;
- NOTIFY_RECORD: pbx_call_id + call_id_with_rec.

The other fields are not covered by the signature (Zadarma's scheme), and nothing carries the time the
message was sent: call_start is, so a notification about a call that started more than a day away from the
server's clock is refused, and a copy of a notification already accepted is refused like any replay.

API requests (`GET <api>/v1/<method>/?<query>`) carry `Authorization: <key>:<sign>`, where sign is base64 of
the hexadecimal HMAC-SHA1, keyed with the secret, of method path + query + md5(query), the query being the
parameters sorted by name and URL-encoded. Used: `/v1/request/callback/` (from, to: ring `from` first,
then connect `to`) for click-to-call, and `/v1/pbx/record/request/` (pbx_call_id, lifetime: temporary links
to the recordings) when a recording is played.

Calls are recorded with the call id `zadarma:<pbx_call_id>`, so that they cannot mix with the ids of
another PBX.
"""

import base64
import hashlib
import hmac
import json
import re
from datetime import datetime
from urllib.parse import urlencode, urlparse

import frappe
import requests
from frappe import _
from frappe.utils import add_to_date, escape_html, now_datetime
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from simple_crm.automation.common import claim, settings
from simple_crm.integrations.common import (
	LOG,
	ChannelDisabledError,
	InvalidPayloadError,
	SignatureError,
	inbound,
	request_body,
	same_secret,
	secret,
	write_log,
)
from simple_crm.integrations.telephony import (
	CALL_ID,
	CHANNEL,
	EVENT_BODY_LIMIT,
	MAX_DURATION,
	CallEvent,
	StaleEventError,
	check_enabled,
	record_event,
)
from simple_crm.utils import phones

PREFIX = "zadarma:"
JOB = "zadarma"
SIGNATURE_HEADER = "Signature"
# the fields whose values, joined in this order, each notification is signed over
SIGNED_FIELDS = {
	"NOTIFY_START": ("caller_id", "called_did", "call_start"),
	"NOTIFY_INTERNAL": ("caller_id", "called_did", "call_start"),
	"NOTIFY_END": ("caller_id", "called_did", "call_start"),
	"NOTIFY_ANSWER": ("caller_id", "destination", "call_start"),
	"NOTIFY_OUT_START": ("internal", "destination", "call_start"),
	"NOTIFY_OUT_END": ("internal", "destination", "call_start"),
	"NOTIFY_RECORD": ("pbx_call_id", "call_id_with_rec"),
}
# acknowledged, nothing recorded
IGNORED_EVENTS = ("NOTIFY_INTERNAL",)
CALL_START_FORMAT = "%Y-%m-%d %H:%M:%S"
# how far call_start may be from the server's clock (a long call ends hours after it started)
FRESH_DAYS = 1
ECHO = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
API_TIMEOUT = 10
RECORDING_LINK_LIFETIME = 1800


class ZadarmaAPIError(frappe.ValidationError):
	http_status_code = 502


# --- signatures ----------------------------------------------------------------------------------------


def signature(key: str, *values: str) -> str:
	"""base64 of the hexadecimal HMAC-SHA1 of the values joined (Zadarma's notifications and API)."""
	digest = hmac.new(key.encode(), "".join(values).encode(), hashlib.sha1).hexdigest()
	return base64.b64encode(digest.encode()).decode()


def api_signature(key: str, method: str, query: str) -> str:
	return signature(key, method, query, hashlib.md5(query.encode()).hexdigest())


def api_query(params: dict) -> str:
	return urlencode(sorted((k, str(v)) for k, v in params.items()))


# --- notifications in ----------------------------------------------------------------------------------


def check_zadarma_enabled() -> frappe._dict:
	values = check_enabled()
	if not values.zadarma_enabled:
		frappe.throw(_("Zadarma is switched off in Simple CRM Settings"), ChannelDisabledError)
	return values


def receive():
	"""The endpoint Zadarma's PBX notifies: GET ?zd_echo= checks the URL, POST brings an event."""
	if frappe.request.method == "GET":
		return echo()
	form = frappe.request.form.to_dict()
	with inbound(CHANNEL, form) as entry:
		values = check_zadarma_enabled()
		request_body(EVENT_BODY_LIMIT)
		key = secret("zadarma_api_secret")
		if not key:
			frappe.throw(
				_("Zadarma has no API secret in Simple CRM Settings: its notifications cannot be checked"),
				ChannelDisabledError,
			)
		event_name = form.get("event") or ""
		if event_name not in SIGNED_FIELDS:
			frappe.throw(
				_("Zadarma's event {0} is not one the CRM handles").format(
					escape_html(event_name[:40]) or '""'
				),
				InvalidPayloadError,
			)
		if form.get("pbx_call_id"):
			entry.event_id = PREFIX + form["pbx_call_id"][:100]
		check_signature(key, event_name, form, frappe.get_request_header(SIGNATURE_HEADER))
		if event_name in IGNORED_EVENTS:
			entry.summary = f"{event_name}: nothing to record"
			return {"status": "ignored"}
		event = parse(event_name, form)
		return record_event(entry, event, message_key(form), values)


def echo():
	"""Zadarma checks the notification URL by asking it to repeat a text."""
	value = frappe.form_dict.get("zd_echo")
	with inbound(CHANNEL, {"zd_echo": value}) as entry:
		check_zadarma_enabled()
		if not isinstance(value, str) or not ECHO.match(value):
			frappe.throw(
				_("zd_echo must be up to 64 letters, digits and the signs . _ -"), InvalidPayloadError
			)
		entry.summary = "the notification URL was checked (zd_echo)"
	# a GET request commits nothing by itself: the log row is kept
	frappe.local.flags.commit = True
	response = Response(value, mimetype="text/plain")
	response.headers["X-Content-Type-Options"] = "nosniff"
	return response


def check_signature(key: str, event_name: str, form: dict, given: str | None) -> None:
	for field in SIGNED_FIELDS[event_name]:
		if not form.get(field):
			frappe.throw(_("{0} is missing").format(field), InvalidPayloadError)
	if not given:
		frappe.throw(
			_("The notification is not signed: the {0} header is missing").format(SIGNATURE_HEADER),
			SignatureError,
		)
	expected = signature(key, *(form[field] for field in SIGNED_FIELDS[event_name]))
	if not same_secret(expected, given.strip()):
		frappe.throw(_("The signature of the notification does not match its content"), SignatureError)


def message_key(form: dict) -> str:
	canonical = json.dumps(sorted(form.items()), ensure_ascii=False)
	return "telephony-message:" + hashlib.sha256(canonical.encode()).hexdigest()


def parse(event_name: str, form: dict) -> CallEvent:
	"""A checked notification as a call event."""
	pbx_call_id = _required(form, "pbx_call_id")
	call_id = PREFIX + pbx_call_id
	if not CALL_ID.match(call_id) or len(call_id) > 100:
		_invalid(_("{0} is not a PBX call id: {1}").format("pbx_call_id", escape_html(pbx_call_id[:40])))
	if event_name == "NOTIFY_RECORD":
		return CallEvent(kind="recording", call_id=call_id, at=now_datetime(), recording_on_pbx=True)
	started = call_start(_required(form, "call_start"))
	inbound_call = event_name in ("NOTIFY_START", "NOTIFY_ANSWER", "NOTIFY_END")
	number = _required(form, "caller_id" if inbound_call else "destination")
	event = CallEvent(
		kind={
			"NOTIFY_START": "start",
			"NOTIFY_OUT_START": "start",
			"NOTIFY_ANSWER": "answer",
			"NOTIFY_END": "end",
			"NOTIFY_OUT_END": "end",
		}[event_name],
		call_id=call_id,
		at=now_datetime(),
		phone=international(number),
		direction="Inbound" if inbound_call else "Outbound",
		extension=(form.get("internal") or "").strip() or None,
		started_at=started,
	)
	if event.extension and len(event.extension) > 20:
		_invalid(_("{0} is not a PBX extension: {1}").format("internal", escape_html(event.extension[:40])))
	if event.kind == "end":
		duration = (form.get("duration") or "0").strip()
		if not duration.isdigit() or int(duration) > MAX_DURATION:
			_invalid(
				_("{0} must be a whole number of seconds, got {1}").format(
					"duration", escape_html(duration[:40])
				)
			)
		event.duration = int(duration)
		event.answered = (form.get("disposition") or "").strip().lower() == "answered"
	return event


def call_start(value: str) -> datetime:
	"""Zadarma's call_start ("2026-11-22 10:00:00", the PBX's local time), near the server's clock."""
	try:
		started = datetime.strptime(value.strip(), CALL_START_FORMAT)
	except ValueError:
		_invalid(
			_("{0} must be a date and time like 2026-01-31 10:00:00, got {1}").format(
				"call_start", escape_html(value[:40])
			)
		)
	now = now_datetime()
	if not add_to_date(now, days=-FRESH_DAYS) <= started <= add_to_date(now, days=FRESH_DAYS):
		frappe.throw(
			_(
				"The notification is about a call that started at {0}, more than a day away from the server's time"
			).format(escape_html(value)),
			StaleEventError,
		)
	return started


def international(number: str) -> str:
	"""Zadarma writes international numbers without the "+": put it back where that makes a valid number
	(a national number such as 8 912 ... stays as it is)."""
	number = number.strip()
	if number.isdigit() and len(number) >= 10:
		try:
			phones.parse_phone("+" + number, None)
			return "+" + number
		except (phones.PhoneError, ValueError):
			pass
	return number


def _required(form: dict, field: str) -> str:
	value = (form.get(field) or "").strip()
	if not value:
		_invalid(_("{0} is missing").format(field))
	return value


def _invalid(message: str):
	frappe.throw(message, InvalidPayloadError, title=_("Invalid Request"))


# --- the API out ---------------------------------------------------------------------------------------


def api_configured() -> bool:
	return bool(secret("zadarma_api_key") and secret("zadarma_api_secret") and api_base())


def api_base() -> str | None:
	url = (settings().zadarma_api_url or "").strip().rstrip("/")
	parsed = urlparse(url)
	return url if parsed.scheme in ("http", "https") and parsed.netloc else None


def api_request(method: str, params: dict) -> dict:
	"""A GET request to Zadarma's API; its JSON answer, or ZadarmaAPIError."""
	key, key_secret, base = secret("zadarma_api_key"), secret("zadarma_api_secret"), api_base()
	if not (key and key_secret and base):
		frappe.throw(
			_("Zadarma's API key, secret and address are not all set in Simple CRM Settings"), ZadarmaAPIError
		)
	query = api_query(params)
	try:
		response = requests.get(
			f"{base}{method}?{query}",
			headers={"Authorization": f"{key}:{api_signature(key_secret, method, query)}"},
			timeout=API_TIMEOUT,
			allow_redirects=False,
		)
		answer = response.json()
	except (requests.RequestException, ValueError) as e:
		frappe.throw(
			_("Zadarma's API did not answer: {0}").format(escape_html(str(e)[:200])), ZadarmaAPIError
		)
	if response.status_code != 200 or not isinstance(answer, dict) or answer.get("status") != "success":
		message = answer.get("message") if isinstance(answer, dict) else None
		frappe.throw(
			_("Zadarma's API refused the request ({0}): {1}").format(
				response.status_code, escape_html(str(message or response.text)[:200])
			),
			ZadarmaAPIError,
		)
	return answer


def callback_job_id(log: str) -> str:
	return f"simple_crm:zadarma-callback:{log}"


def request_callback(log: str) -> str:
	"""The click-to-call job: Zadarma rings the manager's extension, then the number (at most once per
	press: the attempt is marked and committed before the request, so a job run again does not ring twice)."""
	row = frappe.db.get_value(LOG, log, ["name", "status", "payload"], as_dict=True)
	if not row or row.status != "Queued":
		return _finish(f"{log}: nothing to do")
	if not claim(f"zadarma-callback:{log}", JOB, LOG, log):
		return _finish(f"{log}: done before")
	frappe.db.set_value(LOG, log, "attempts", 1, update_modified=False)
	frappe.db.commit()
	payload = json.loads(row.payload or "{}")
	values = {"status": "Sent", "next_attempt_on": None}
	try:
		answer = api_request(
			"/v1/request/callback/",
			{"from": payload.get("from"), "to": phones.digits_only(payload.get("to"))},
		)
		values["summary"] = "Zadarma rings {} then {} ({})".format(
			payload.get("from"), payload.get("to"), json.dumps(answer, ensure_ascii=False)[:500]
		)
	except frappe.ValidationError as e:
		frappe.clear_last_message()
		values.update(status="Failed", error=frappe.utils.strip_html(str(e))[:2000])
	frappe.db.set_value(LOG, log, values, update_modified=False)
	frappe.db.commit()
	return _finish(f"{log}: {values['status'].lower()}")


def _finish(line: str) -> str:
	line = f"zadarma_callback: {line}"
	frappe.logger("simple_crm.integrations").info(line)
	return line


def recording_redirect(call: str):
	"""Play a recording kept on the PBX: a fresh temporary link from Zadarma, for users who may see the call."""
	frappe.has_permission("CRM Call", "read", call, throw=True)
	call_id = frappe.db.get_value("CRM Call", call, "call_id") or ""
	if not call_id.startswith(PREFIX):
		frappe.throw(
			_("Call {0} has no recording on Zadarma").format(escape_html(call)), frappe.DoesNotExistError
		)
	try:
		answer = api_request(
			"/v1/pbx/record/request/",
			{"pbx_call_id": call_id[len(PREFIX) :], "lifetime": RECORDING_LINK_LIFETIME},
		)
		link = answer.get("link") or next(iter(answer.get("links") or []), None)
		parsed = urlparse(link or "")
		if parsed.scheme not in ("http", "https") or not parsed.netloc:
			frappe.throw(
				_("Zadarma gave no link to the recording of call {0}").format(escape_html(call)),
				ZadarmaAPIError,
			)
	except frappe.ValidationError as e:
		frappe.db.rollback()
		write_log(
			CHANNEL,
			"Outbound",
			"Failed",
			{"call": call},
			event_id=call_id,
			error=frappe.utils.strip_html(str(e)),
			reference_doctype="CRM Call",
			reference_name=call,
		)
		frappe.db.commit()
		raise
	write_log(
		CHANNEL,
		"Outbound",
		"Sent",
		{"call": call},
		event_id=call_id,
		summary="recording link requested",
		reference_doctype="CRM Call",
		reference_name=call,
	)
	frappe.local.flags.commit = True
	return redirect(link, code=302)
