"""Telephony: the office PBX reports its calls, and each call becomes one CRM Call in its final state.

Two ways in, one way of recording:

- the CRM's own event format, for any PBX that can send a signed HTTP request (an Asterisk bridge, a
  script): `POST /api/method/simple_crm.api.telephony.event`, parsed and checked here (see the README,
  "Telephony", for the format);
- Zadarma's call notifications: `/api/method/simple_crm.api.telephony.zadarma`, parsed and checked in
  `simple_crm.integrations.zadarma`.

Each adapter turns a message into a `CallEvent` ("start", "answer", "end" or "recording") and hands it to
`record_event`, which runs inside `inbound()` (one log row per message, nothing half-written):

- A message is accepted once: a copy of one already accepted is refused (409), in the same transaction as
  the work, so two copies arriving together cannot both pass.
- One CRM Call per PBX call id (`CRM Call.call_id` is unique). The first event of a call, whatever its kind,
  creates the call; a request inserting it alongside another one loses on the unique key and updates the
  winner's call instead. Later events lock the call's row (`for update`) and merge into it, each kind once
  per call, so retries and events out of order ("end" before "answer") leave the same final state: the
  end decides answered or missed and the duration; the answer names the manager who took the call.
- The caller is looked up by the normalised number, then by its last 10 digits, among leads, clients and
  contacts (`simple_crm.duplicates`); the call is linked to what matched, and to the client's open deal
  when it has exactly one. An inbound call from a number nobody has becomes a new lead (channel "Phone",
  when the setting is on), which the new-lead automation distributes and gives its call-back task.
- The manager is the user whose PBX extension (User's `crm_phone_extension`) answered or made the call;
  else the manager responsible for the caller's record.
- A missed inbound call gives the manager one call-back task (the lead this very call created gets its
  call-back from the new-lead automation instead, so there is one task either way).

The Desk's "Call" button (public/js/call_button.js) asks `call_options`; where the PBX can ring the manager
first (Zadarma's callback) `start_call` does it in the background, otherwise the manager logs the call
(`log_call`). Only users who can see the record may do either.
"""

import hashlib
import json
import re
import time
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import frappe
from frappe import _
from frappe.utils import (
	add_to_date,
	cint,
	escape_html,
	format_datetime,
	get_datetime,
	get_system_timezone,
	now_datetime,
)

from simple_crm.automation.common import as_system, claim, desk_link, in_language, notify, settings
from simple_crm.calls import client_of_contact, find_caller
from simple_crm.duplicates import describe_records, drop_converted_leads, lookup
from simple_crm.integrations.common import (
	LOG,
	ChannelDisabledError,
	InvalidPayloadError,
	SignatureError,
	hmac_sha256,
	inbound,
	request_body,
	same_secret,
	secret,
	write_log,
)
from simple_crm.utils import phones
from simple_crm.validation import default_phone_region, normalize_phone

CHANNEL = "Telephony"
JOB = "telephony"
KINDS = ("start", "answer", "end", "recording")
# the request header carrying the signature of the CRM's own event format
SIGNATURE_HEADER = "X-CRM-Signature"
# a call event is a few hundred bytes
EVENT_BODY_LIMIT = 16 * 1024
# requests per minute and address, for each public endpoint
RATE_LIMIT = 1200
# PBX call ids are short tokens (Asterisk's "1700000000.42", Zadarma's "in_3f2a..."): nothing else is taken
CALL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,99}$")
EXTENSION = re.compile(r"^[A-Za-z0-9._*#+-]{1,20}$")
# a call longer than two days is not a call
MAX_DURATION = 2 * 24 * 3600
# CRM Call.recording_url is a Data field
RECORDING_URL_LENGTH = 140
# Asterisk's DIALSTATUS values that mean nobody answered, besides "missed"
MISSED_STATUSES = {"missed", "busy", "noanswer", "no answer", "cancel", "congestion", "chanunavail", "failed"}
ANSWERED_STATUSES = {"answered", "answer"}
# a click-to-call ring is matched to the call the PBX then reports for as long as this
CLICK_TO_CALL_MINUTES = 15
# the doctypes a call can be about, and the CRM Call field pointing at each
CALL_LINK_FIELD = {"CRM Lead": "lead", "CRM Client": "client", "Contact": "contact", "CRM Deal": "deal"}
SAVEPOINT = "crm_telephony_call"


class ReplayError(frappe.ValidationError):
	http_status_code = 409


class StaleEventError(SignatureError):
	pass


class UnknownCallError(frappe.DoesNotExistError):
	http_status_code = 404


class CallRequestError(frappe.ValidationError):
	pass


@dataclass
class CallEvent:
	"""One thing the PBX says about one call, whatever the format it said it in."""

	kind: str
	call_id: str
	at: datetime
	phone: str | None = None
	direction: str | None = None  # "Inbound" or "Outbound"
	extension: str | None = None
	started_at: datetime | None = None
	duration: int | None = None
	answered: bool | None = None
	recording_url: str | None = None
	# the recording stays on the PBX and is fetched through the CRM when played (Zadarma)
	recording_on_pbx: bool = False


# --- the settings ----------------------------------------------------------------------------------------


def check_enabled(values: frappe._dict | None = None) -> frappe._dict:
	values = values or settings()
	if not values.telephony_enabled:
		frappe.throw(_("Telephony is switched off in Simple CRM Settings"), ChannelDisabledError)
	return values


# --- the CRM's own event format --------------------------------------------------------------------------


def receive_event() -> dict:
	"""The endpoint of the CRM's own format: a JSON object signed with HMAC-SHA256 of the raw body."""
	payload = _raw_body_for_log()
	with inbound(CHANNEL, payload) as entry:
		values = check_enabled()
		key = secret("telephony_secret")
		if not key:
			frappe.throw(
				_("Telephony has no signing secret in Simple CRM Settings: events cannot be checked"),
				ChannelDisabledError,
			)
		body = request_body(EVENT_BODY_LIMIT)
		check_signature(key, body, frappe.get_request_header(SIGNATURE_HEADER))
		data = parse_json(body)
		entry.event_id = data.get("call_id") if isinstance(data.get("call_id"), str) else None
		event = parse_event(data)
		check_fresh(data["timestamp"], cint(values.telephony_replay_window))
		return record_event(entry, event, message_key(body), values)


def _raw_body_for_log() -> bytes | None:
	request = getattr(frappe.local, "request", None)
	return request.get_data(cache=True) if request is not None else None


def check_signature(key: str, body: bytes, given: str | None) -> None:
	"""The header holds the hex HMAC-SHA256 of the raw body (optionally as "sha256=<hex>")."""
	given = (given or "").strip()
	if given.lower().startswith("sha256="):
		given = given[len("sha256=") :]
	if not given:
		frappe.throw(
			_("The event is not signed: the {0} header is missing").format(SIGNATURE_HEADER), SignatureError
		)
	if not same_secret(hmac_sha256(key, body), given.lower()):
		frappe.throw(_("The signature of the event does not match its content"), SignatureError)


def parse_json(body: bytes) -> dict:
	try:
		data = json.loads(body or b"")
	except ValueError:
		frappe.throw(_("The request body is not valid JSON"), InvalidPayloadError, title=_("Invalid Request"))
	if not isinstance(data, dict):
		frappe.throw(
			_("The request body must be a JSON object"), InvalidPayloadError, title=_("Invalid Request")
		)
	return data


def parse_event(data: dict) -> CallEvent:
	"""A call event of the CRM's own format, every field checked (a clear 400 for the first bad one)."""
	kind = _text(data, "event", required=True)
	if kind not in KINDS:
		_invalid(_("{0} must be one of {1}, got {2}").format("event", ", ".join(KINDS), _shown(kind)))
	call_id = _call_id(_text(data, "call_id", required=True))
	timestamp = _integer(data, "timestamp", required=True)
	at = from_unix(timestamp)
	direction = _text(data, "direction")
	if direction is not None and direction.lower() not in ("inbound", "outbound"):
		_invalid(
			_("{0} must be one of {1}, got {2}").format("direction", "inbound, outbound", _shown(direction))
		)
	event = CallEvent(
		kind=kind,
		call_id=call_id,
		at=at,
		direction=direction.capitalize() if direction else None,
		extension=_extension(data),
	)
	if kind != "recording":
		event.phone = _text(data, "phone", required=True, limit=phones.MAX_INPUT_LENGTH)
	started = _integer(data, "started_at")
	if started is not None:
		# a call starts before it is reported, and lasts two days at most
		if not timestamp - MAX_DURATION <= started <= timestamp + 60:
			_invalid(
				_("{0} must be at most two days before {1}, got {2}").format(
					"started_at", "timestamp", started
				)
			)
		event.started_at = from_unix(started)
	if kind == "end":
		event.duration = _integer(data, "duration", required=True, low=0, high=MAX_DURATION)
		status = _text(data, "status")
		if status is not None:
			event.answered = answered_status(status)
	if kind == "recording":
		event.recording_url = _recording_url(_text(data, "recording_url", required=True, limit=2000))
	return event


def answered_status(status: str) -> bool:
	value = status.strip().lower()
	if value in ANSWERED_STATUSES:
		return True
	if value in MISSED_STATUSES:
		return False
	_invalid(
		_("{0} must be one of {1}, got {2}").format(
			"status", "answered, missed, " + ", ".join(sorted(MISSED_STATUSES - {"missed"})), _shown(status)
		)
	)


def check_fresh(timestamp: int, window: int) -> None:
	"""Events are signed with their time: one far from the server's clock is refused (a replay or a PBX
	whose clock is wrong)."""
	window = window if window > 0 else 300
	if abs(time.time() - timestamp) > window:
		frappe.throw(
			_(
				"The event's timestamp {0} is more than {1} seconds away from the server's time: it is refused as stale"
			).format(timestamp, window),
			StaleEventError,
		)


def message_key(body: bytes) -> str:
	return "telephony-message:" + hashlib.sha256(body).hexdigest()


def from_unix(timestamp: int) -> datetime:
	"""A Unix time as the site's local time (how the app stores datetimes)."""
	try:
		moment = datetime.fromtimestamp(timestamp, tz=ZoneInfo(get_system_timezone()))
	except (OverflowError, OSError, ValueError):
		_invalid(_("{0} is not a time: {1}").format("timestamp", _shown(timestamp)))
	return moment.replace(tzinfo=None)


def _invalid(message: str):
	frappe.throw(message, InvalidPayloadError, title=_("Invalid Request"))


def _shown(value) -> str:
	text = json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, str) else value
	return escape_html(text if len(text) <= 40 else text[:40] + "…")


def _text(data: dict, field: str, required: bool = False, limit: int = 140) -> str | None:
	value = data.get(field)
	if value is None or value == "":
		if required:
			_invalid(_("{0} is missing").format(field))
		return None
	if not isinstance(value, str):
		_invalid(_("{0} must be a text, got {1}").format(field, _shown(value)))
	value = value.strip()
	if not value and required:
		_invalid(_("{0} is missing").format(field))
	if len(value) > limit:
		_invalid(_("{0} is longer than {1} characters").format(field, limit))
	return value or None


def _integer(
	data: dict, field: str, required: bool = False, low: int | None = None, high: int | None = None
) -> int | None:
	value = data.get(field)
	if value is None:
		if required:
			_invalid(_("{0} is missing").format(field))
		return None
	if isinstance(value, bool) or not isinstance(value, int):
		_invalid(_("{0} must be a whole number, got {1}").format(field, _shown(value)))
	if (low is not None and value < low) or (high is not None and value > high):
		_invalid(_("{0} must be between {1} and {2}, got {3}").format(field, low, high, value))
	return value


def _call_id(value: str) -> str:
	if not CALL_ID.match(value):
		_invalid(
			_(
				"{0} must be up to 100 letters, digits and the signs . _ : @ + - (starting with a letter or a digit), got {1}"
			).format("call_id", _shown(value))
		)
	return value


def _extension(data: dict) -> str | None:
	value = data.get("extension")
	if value is None or value == "":
		return None
	if isinstance(value, int) and not isinstance(value, bool):
		value = str(value)
	if not isinstance(value, str) or not EXTENSION.match(value.strip()):
		_invalid(
			_("{0} must be a PBX extension (up to 20 letters and digits), got {1}").format(
				"extension", _shown(value)
			)
		)
	return value.strip()


def _recording_url(value: str) -> str:
	from urllib.parse import urlparse

	url = urlparse(value)
	if url.scheme not in ("http", "https") or not url.netloc:
		_invalid(_("{0} must be an http or https address, got {1}").format("recording_url", _shown(value)))
	if len(value) > RECORDING_URL_LENGTH:
		_invalid(_("{0} is longer than {1} characters").format("recording_url", RECORDING_URL_LENGTH))
	return value


# --- recording an event ------------------------------------------------------------------------------------


def record_event(entry, event: CallEvent, key: str, values: frappe._dict) -> dict:
	"""Record a checked event inside `inbound()`; the answer of the endpoint."""
	entry.event_id = event.call_id
	if not claim(key, JOB):
		frappe.throw(
			_("This message about call {0} has been received before").format(event.call_id), ReplayError
		)
	with as_system():
		call, status, summary = apply_event(event, values)
	entry.status = status
	entry.summary = summary
	if call:
		entry.reference_doctype, entry.reference_name = "CRM Call", call
	return {"call": call, "status": status}


def kind_key(call_id: str, kind: str) -> str:
	return f"telephony:{call_id}:{kind}"


def lead_key(call_id: str) -> str:
	return f"telephony-lead:{call_id}"


def apply_event(event: CallEvent, values: frappe._dict) -> tuple[str, str, str]:
	"""Merge one event into the call with its PBX id (creating it first); returns (call, log status,
	summary)."""
	name = frappe.db.get_value("CRM Call", {"call_id": event.call_id})
	if not name:
		if event.kind == "recording":
			frappe.throw(
				_("No call with PBX call ID {0} is recorded, so its recording cannot be added").format(
					event.call_id
				),
				UnknownCallError,
			)
		frappe.db.savepoint(SAVEPOINT)
		try:
			return create_call(event, values)
		except frappe.UniqueValidationError:
			# a request running alongside has just recorded this call: merge into the call it made
			frappe.db.rollback(save_point=SAVEPOINT)
			frappe.clear_last_message()
			name = frappe.db.sql(
				"select name from `tabCRM Call` where call_id = %s for update", event.call_id, pluck=True
			)
			if not name:
				raise
			name = name[0]
	return update_call(name, event, values)


def create_call(event: CallEvent, values: frappe._dict) -> tuple[str, str, str]:
	if not event.phone:
		frappe.throw(
			_("The number of the other party of call {0} is missing").format(event.call_id),
			InvalidPayloadError,
		)
	e164 = normalize_phone(event.phone, _("Phone Number"))
	direction = event.direction or "Inbound"
	manager = manager_for_extension(event.extension)
	# an outgoing call the manager started with the Call button is about the record they pressed it on
	links = clicked_record(e164) if direction == "Outbound" else {}
	known = bool(links)
	if not links:
		links, known = match_caller(e164)
	done = []
	if not known and not links and direction == "Inbound" and values.telephony_create_leads:
		links = {"lead": make_lead(event.phone, e164, manager)}
		claim(lead_key(event.call_id), JOB, "CRM Lead", links["lead"])
		done.append(f"lead {links['lead']} created")
	call = frappe.get_doc(
		{
			"doctype": "CRM Call",
			"call_id": event.call_id,
			"phone": event.phone,
			"direction": direction,
			"call_status": "Missed",  # until someone answers
			"duration": 0,
			"started_at": started_at(event),
			"manager": manager,
			**links,
		}
	)
	claim(kind_key(event.call_id, event.kind), JOB)
	done += merge(call, event)
	if not call.manager:
		call.manager = responsible_for(call)
	call.flags.ignore_permissions = True
	call.insert()
	done.insert(0, f"{event.kind}: call {call.name} recorded")
	done += after_merge(call, event, values)
	return call.name, "Processed", "; ".join(done)


def update_call(name: str, event: CallEvent, values: frappe._dict) -> tuple[str, str, str]:
	call = frappe.get_doc("CRM Call", name, for_update=True)
	if not claim(kind_key(event.call_id, event.kind), JOB):
		return name, "Duplicate", f"{event.kind}: call {name} had it already"
	if event.kind == "start":
		if event.direction and event.direction != call.direction:
			call.direction = event.direction
		if event.started_at and get_datetime(event.started_at) < get_datetime(call.started_at):
			call.started_at = event.started_at
	done = merge(call, event)
	if not call.manager:
		call.manager = responsible_for(call)
	call.flags.ignore_permissions = True
	call.save()
	done.insert(0, f"{event.kind}: call {name} updated")
	done += after_merge(call, event, values)
	return name, "Processed", "; ".join(done)


def started_at(event: CallEvent) -> datetime:
	if event.started_at:
		return event.started_at
	if event.kind == "end" and event.duration:
		return add_to_date(event.at, seconds=-event.duration)
	return event.at


def merge(call, event: CallEvent) -> list[str]:
	"""What an event says about a call, merged into it (the call's row is locked or new)."""
	done = []
	ended = has_mark(kind_key(event.call_id, "end"))
	if event.kind in ("answer", "end") and event.extension:
		manager = manager_for_extension(event.extension)
		if manager and manager != call.manager:
			call.manager = manager
			done.append(f"manager {manager}")
	if event.kind == "answer" and not ended:
		call.call_status = "Answered"
	elif event.kind == "end":
		answered = event.answered
		if answered is None:
			answered = has_mark(kind_key(event.call_id, "answer")) or bool(event.duration)
		call.call_status = "Answered" if answered else "Missed"
		call.duration = event.duration or 0
		done.append(call.call_status.lower())
	elif event.kind == "recording":
		# a recording arrives for a call already recorded (see apply_event), so the call has its name
		call.recording_url = recording_link(call.name) if event.recording_on_pbx else event.recording_url
		done.append("recording stored")
	return done


def after_merge(call, event: CallEvent, values: frappe._dict) -> list[str]:
	"""Once a call is saved: a missed inbound call gives its manager a call-back task."""
	if event.kind != "end" or call.direction != "Inbound" or call.call_status != "Missed":
		return []
	if not values.telephony_missed_call_tasks:
		return []
	if call.lead and values.callback_task_enabled and has_mark(lead_key(call.call_id)):
		return ["the new lead gets its call-back from the new-lead automation"]
	task = make_missed_call_task(call, values)
	return [f"call-back task {task}"] if task else ["nobody to call back"]


def has_mark(key: str) -> bool:
	"""Whether an action was marked done, reading the latest committed rows (a request that waited for the
	call's lock must see what the request before it marked)."""
	return bool(
		frappe.db.sql("select name from `tabCRM Automation Mark` where name = %s lock in share mode", key)
	)


def recording_link(call: str) -> str:
	"""Where the Desk plays a recording kept on the PBX: the CRM fetches a fresh link when asked."""
	from urllib.parse import quote

	return f"/api/method/simple_crm.api.telephony.recording?call={quote(call)}"


# --- who is calling, who answered ---------------------------------------------------------------------------


def match_caller(e164: str) -> tuple[dict, bool]:
	"""The records to link a call from/to `e164` to, and whether the number is known at all.

	The normalised number first; when nobody has it, the last 10 digits (the same subscriber written with
	another country code). A number several records share links nothing, as `simple_crm.calls.find_caller`
	decides."""
	rows = drop_converted_leads(lookup({("Phone", e164)}))
	if not rows:
		rows = by_last_digits(e164)
	if not rows:
		return {}, False
	values = {row.value for row in rows}
	if len(values) != 1:
		return {}, True
	caller = find_caller(values.pop()) or {}
	caller = {field: value for field, value in caller.items() if value}
	if caller.get("client"):
		deal = single_open_deal(caller["client"])
		if deal:
			caller["deal"] = deal
	return caller, True


def by_last_digits(e164: str) -> list[dict]:
	"""Phone index rows ending in the number's last 10 digits (a range of the (kind, value) index)."""
	digits = phones.digits_only(e164)
	if len(digits) < 10:
		return []
	table = frappe.qb.DocType("CRM Contact Point")
	rows = (
		frappe.qb.from_(table)
		.select(table.kind, table.value, table.reference_doctype, table.reference_name)
		.where((table.kind == "Phone") & table.value.like(f"%{digits[-10:]}"))
		.limit(50)
		.run(as_dict=True)
	)
	return drop_converted_leads(rows)


def single_open_deal(client: str) -> str | None:
	deals = frappe.get_all(
		"CRM Deal", filters={"client": client, "stage_type": "Open"}, pluck="name", limit=2
	)
	return deals[0] if len(deals) == 1 else None


def manager_for_extension(extension: str | None) -> str | None:
	"""The enabled user with this PBX extension (User's crm_phone_extension)."""
	if not extension:
		return None
	return frappe.db.get_value("User", {"crm_phone_extension": extension, "enabled": 1}, "name")


def responsible_for(call) -> str | None:
	"""The manager of a call nobody's extension took: whoever is responsible for what it is linked to."""
	for fieldname, doctype, responsible in (
		("deal", "CRM Deal", "responsible"),
		("client", "CRM Client", "responsible"),
		("lead", "CRM Lead", "responsible"),
		("contact", "Contact", "crm_responsible"),
	):
		name = call.get(fieldname)
		if name:
			user = frappe.db.get_value(doctype, name, responsible)
			if user:
				return user
	return None


def clicked_record(e164: str) -> dict:
	"""The record a manager pressed "Call" on for this number a few minutes ago (click-to-call)."""
	since = add_to_date(now_datetime(), minutes=-CLICK_TO_CALL_MINUTES)
	rows = frappe.get_all(
		LOG,
		filters={
			"channel": CHANNEL,
			"direction": "Outbound",
			"event_id": f"callback:{e164}",
			"status": "Sent",
			"received_on": (">=", since),
		},
		fields=["reference_doctype", "reference_name"],
		order_by="received_on desc",
		limit=1,
	)
	if not rows or rows[0].reference_doctype not in CALL_LINK_FIELD:
		return {}
	return links_for(rows[0].reference_doctype, rows[0].reference_name)


def links_for(doctype: str, name: str) -> dict:
	"""The CRM Call fields linking a call to a record (a deal brings its client along)."""
	links = {CALL_LINK_FIELD[doctype]: name}
	if doctype == "CRM Deal":
		client = frappe.db.get_value("CRM Deal", name, "client")
		if client:
			links["client"] = client
	elif doctype == "Contact":
		client = client_of_contact(name)
		if client:
			links["client"] = client
	return links


def make_lead(phone: str, e164: str, manager: str | None) -> str:
	"""A new lead for a number nobody has (the new-lead automation distributes it after the commit)."""
	try:
		shown = phones.parse_phone(e164, default_phone_region()).international
	except phones.PhoneError:
		shown = e164
	source = "Phone Call" if frappe.db.exists("CRM Lead Source", "Phone Call") else None
	lead = frappe.get_doc(
		{
			"doctype": "CRM Lead",
			"lead_name": _("Caller {0}").format(shown),
			"phone": phone,
			"channel": "Phone",
			"source": source,
			"responsible": manager,
		}
	)
	lead.flags.ignore_permissions = True
	lead.insert()
	return lead.name


def make_missed_call_task(call, values: frappe._dict) -> str | None:
	from simple_crm.automation.new_leads import head_for_unassigned

	assignee = call.manager or head_for_unassigned(None)
	if not assignee:
		return None
	reference = next(
		(
			(doctype, call.get(fieldname))
			for fieldname, doctype in (("lead", "CRM Lead"), ("client", "CRM Client"), ("contact", "Contact"))
			if call.get(fieldname)
		),
		("CRM Call", call.name),
	)
	title = describe_records([reference])[reference].title if reference[0] != "CRM Call" else call.phone
	called = get_datetime(call.started_at)
	due = add_to_date(max(called, now_datetime()), minutes=cint(values.callback_minutes) or 15)
	with in_language(assignee):
		subject = _("Call back: missed call from {0}").format(title)
		description = _("{0} called at {1} and nobody answered. Call back by {2}.").format(
			call.phone, format_datetime(called), format_datetime(due)
		)
		task = frappe.get_doc(
			{
				"doctype": "CRM Task",
				"subject": subject[:140],
				"task_type": "Call",
				"priority": "High",
				"status": "Open",
				"assigned_to": assignee,
				"due_on": due,
				"reference_doctype": reference[0],
				"reference_name": reference[1],
				"description": escape_html(description),
			}
		)
		task.insert(ignore_permissions=True)
		notify(
			assignee,
			escape_html(subject),
			"{}<br><a href='{}'>{}</a>".format(
				escape_html(description), desk_link("CRM Call", call.name), _("Open the call")
			),
			"CRM Task",
			task.name,
		)
	return task.name


# --- the Desk's Call button ----------------------------------------------------------------------------------


def check_callable(doctype: str, name: str) -> None:
	"""Calls are about leads, clients, contacts and deals the user can see."""
	if doctype not in CALL_LINK_FIELD:
		frappe.throw(
			_("Calls can be made about {0} only, not about {1}").format(
				", ".join(_(dt) for dt in CALL_LINK_FIELD), escape_html(_(doctype))
			),
			CallRequestError,
		)
	if not frappe.db.exists(doctype, name):
		frappe.throw(_("{0} {1} not found").format(_(doctype), escape_html(name)), frappe.DoesNotExistError)
	frappe.has_permission(doctype, "read", name, throw=True)


def record_phones(doctype: str, name: str) -> list[dict]:
	"""The numbers a record can be called at, each once: {phone, e164, label}."""
	found: list[tuple[str | None, str | None]] = []
	if doctype == "CRM Lead":
		row = frappe.db.get_value(doctype, name, ["phone", "mobile_no"], as_dict=True)
		found += [(row.phone, _("Phone")), (row.mobile_no, _("Mobile"))]
	elif doctype == "CRM Client":
		found.append((frappe.db.get_value(doctype, name, "phone"), _("Phone")))
		found += contact_phones(linked_contacts("CRM Client", name))
	elif doctype == "Contact":
		found += contact_phones([name])
	elif doctype == "CRM Deal":
		contacts = frappe.get_all(
			"CRM Deal Contact", filters={"parent": name, "parenttype": "CRM Deal"}, pluck="contact"
		)
		found += contact_phones([c for c in contacts if c])
		client = frappe.db.get_value(doctype, name, "client")
		if client:
			found.append((frappe.db.get_value("CRM Client", client, "phone"), _("Client")))
			found += contact_phones(linked_contacts("CRM Client", client))
	out, seen = [], set()
	for phone, label in found:
		if not phone:
			continue
		try:
			e164 = phones.normalize_phone(phone, default_phone_region())
		except phones.PhoneError:
			continue
		if e164 not in seen:
			seen.add(e164)
			out.append({"phone": phone, "e164": e164, "label": label})
	return out[:20]


def linked_contacts(doctype: str, name: str) -> list[str]:
	return frappe.get_all(
		"Dynamic Link",
		filters={"parenttype": "Contact", "link_doctype": doctype, "link_name": name},
		pluck="parent",
		limit=20,
	)


def contact_phones(contacts: list[str]) -> list[tuple[str, str]]:
	if not contacts:
		return []
	rows = frappe.get_all(
		"Contact Phone",
		filters={"parenttype": "Contact", "parent": ("in", contacts)},
		fields=["phone", "parent"],
		order_by="is_primary_mobile_no desc, is_primary_phone desc, idx asc",
		limit=50,
	)
	names = dict(
		frappe.get_all(
			"Contact", filters={"name": ("in", contacts)}, fields=["name", "full_name"], as_list=True
		)
	)
	return [(row.phone, names.get(row.parent) or row.parent) for row in rows]


def click_to_call_ready(user: str | None = None) -> bool:
	"""Whether the Call button can ring `user`'s extension through the PBX."""
	from simple_crm.integrations import zadarma

	values = settings()
	user = user or frappe.session.user
	return bool(
		values.telephony_enabled
		and values.zadarma_enabled
		and values.zadarma_click_to_call
		and zadarma.api_configured()
		and frappe.db.get_value("User", user, "crm_phone_extension")
	)


def call_options(doctype: str, name: str) -> dict:
	check_callable(doctype, name)
	return {"phones": record_phones(doctype, name), "click_to_call": click_to_call_ready()}


def start_call(doctype: str, name: str, phone: str | None = None) -> dict:
	"""Ring the user's extension, then the record's number, through the PBX (in the background)."""
	from simple_crm.integrations import zadarma

	check_callable(doctype, name)
	if not click_to_call_ready():
		frappe.throw(
			_(
				"Calls cannot be started from the CRM: switch on click-to-call in Simple CRM Settings and set your PBX extension"
			),
			CallRequestError,
		)
	numbers = record_phones(doctype, name)
	if phone:
		e164 = normalize_phone(phone, _("Phone Number"))
		chosen = next((n for n in numbers if n["e164"] == e164), None)
		if not chosen:
			frappe.throw(
				_("{0} is not a number of {1} {2}").format(escape_html(phone), _(doctype), escape_html(name)),
				CallRequestError,
			)
	elif numbers:
		chosen = numbers[0]
	else:
		frappe.throw(
			_("{0} {1} has no phone number to call").format(_(doctype), escape_html(name)), CallRequestError
		)
	extension = frappe.db.get_value("User", frappe.session.user, "crm_phone_extension")
	log = write_log(
		CHANNEL,
		"Outbound",
		"Queued",
		payload={"from": extension, "to": chosen["e164"], "user": frappe.session.user},
		event_id=f"callback:{chosen['e164']}",
		summary=f"click-to-call by {frappe.session.user}",
		reference_doctype=doctype,
		reference_name=name,
	)
	frappe.enqueue(
		"simple_crm.integrations.zadarma.request_callback",
		queue="short",
		enqueue_after_commit=True,
		job_id=zadarma.callback_job_id(log.name),
		log=log.name,
	)
	return {"log": log.name, "phone": chosen["phone"]}


def log_call(
	doctype: str,
	name: str,
	phone: str,
	direction: str = "Outbound",
	call_status: str = "Answered",
	duration: int = 0,
	topic: str | None = None,
	result: str | None = None,
	comment: str | None = None,
) -> str:
	"""A call the manager made or took outside the PBX's reach, logged by hand about a record."""
	check_callable(doctype, name)
	frappe.has_permission("CRM Call", "create", throw=True)
	call = frappe.get_doc(
		{
			"doctype": "CRM Call",
			"phone": phone,
			"direction": direction,
			"call_status": call_status,
			"duration": duration,
			"started_at": add_to_date(now_datetime(), seconds=-max(cint(duration), 0)),
			"topic": topic,
			"result": result,
			"comment": comment,
			**links_for(doctype, name),
		}
	)
	call.insert()
	return call.name
