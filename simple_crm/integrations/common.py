"""What every channel shares: reading a public request safely, checking a signature, and the log.

Every message a channel receives or sends leaves one `CRM Integration Log` row: what came in (shortened,
secrets masked), from where, what became of it (Processed, Duplicate, Rejected, Failed; Queued, Sent,
Delivered for outgoing messages) and the record it made or touched.

A public endpoint runs its work inside `inbound()`:

    with inbound("Telephony", payload, event_id=call_id) as entry:
        ...                                   # validate (raise a translated frappe error), then write
        entry.reference_doctype, entry.reference_name = "CRM Call", call.name
        entry.summary = "call answered"

Work accepted now and done later by a job sets the row's status (Received), its extra fields (`entry.row_values`)
and `entry.logged`, called with the row's name once it is written (to queue the job).

A refusal (any Frappe error with a 4xx status: validation, permission, signature, size) rolls back
everything the request wrote, logs the message as Rejected in a transaction of its own and is raised
again, so the caller gets the 4xx with the message and nothing is half-written. Any other exception is
logged as Failed the same way and becomes Frappe's 500.
"""

import hashlib
import hmac
import json
from contextlib import contextmanager

import frappe
from frappe import _
from frappe.utils import cint, now_datetime, strip_html

LOG = "CRM Integration Log"
SETTINGS = "Simple CRM Settings"
# what is kept of a payload in the log
PAYLOAD_LIMIT = 64 * 1024
# a public endpoint reads at most this much of a request body
BODY_LIMIT = 1024 * 1024
# keys whose values never reach the log
SECRET_KEYS = ("token", "secret", "signature", "password", "sign", "api_key", "apikey", "key")


class PayloadTooLargeError(frappe.ValidationError):
	http_status_code = 413


class InvalidPayloadError(frappe.ValidationError):
	http_status_code = 400


class SignatureError(frappe.AuthenticationError):
	http_status_code = 401


class ChannelDisabledError(frappe.PermissionError):
	http_status_code = 403


def remote_address() -> str | None:
	request = getattr(frappe.local, "request", None)
	return getattr(frappe.local, "request_ip", None) or (request.remote_addr if request else None)


def request_body(limit: int = BODY_LIMIT) -> bytes:
	"""The raw body of the current request, refused (413) beyond `limit` bytes without reading it all."""
	request = getattr(frappe.local, "request", None)
	if request is None:
		return b""
	length = request.content_length
	if length is not None and length > limit:
		frappe.throw(
			_("The request is too large: {0} bytes, at most {1} allowed").format(length, limit),
			PayloadTooLargeError,
			title=_("Request Too Large"),
		)
	body = request.get_data(cache=True)
	if len(body) > limit:
		frappe.throw(
			_("The request is too large: {0} bytes, at most {1} allowed").format(len(body), limit),
			PayloadTooLargeError,
			title=_("Request Too Large"),
		)
	return body


def json_body(limit: int = BODY_LIMIT) -> dict:
	"""The request body as a JSON object; a clear 400 for anything else."""
	body = request_body(limit)
	try:
		data = json.loads(body or b"{}")
	except ValueError:
		frappe.throw(_("The request body is not valid JSON"), InvalidPayloadError, title=_("Invalid Request"))
	if not isinstance(data, dict):
		frappe.throw(
			_("The request body must be a JSON object"), InvalidPayloadError, title=_("Invalid Request")
		)
	return data


def setting(fieldname: str):
	return frappe.db.get_single_value(SETTINGS, fieldname)


def secret(fieldname: str) -> str | None:
	"""A Password field of Simple CRM Settings, decrypted (None when not set)."""
	from frappe.utils.password import get_decrypted_password

	return get_decrypted_password(SETTINGS, SETTINGS, fieldname, raise_exception=False) or None


def last_message() -> str:
	"""The last message Frappe showed in this request or job (what a user would have been told), as text."""
	log = getattr(frappe.local, "message_log", None) or []
	if not log:
		return ""
	entry = log[-1]
	if isinstance(entry, str):
		try:
			entry = frappe.parse_json(entry)
		except Exception:
			return strip_html(entry)
	message = entry.get("message") if isinstance(entry, dict) else entry
	return strip_html(str(message or ""))


def hmac_sha256(key: str, message: bytes) -> str:
	return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def same_secret(expected: str | None, given: str | None) -> bool:
	"""Constant-time comparison; False when either side is missing."""
	if not expected or not given:
		return False
	return hmac.compare_digest(str(expected).encode(), str(given).encode())


def masked(value):
	"""A copy of a payload with the values of secret-looking keys replaced."""
	if isinstance(value, dict):
		return {
			k: "***" if any(s in str(k).lower() for s in SECRET_KEYS) else masked(v) for k, v in value.items()
		}
	if isinstance(value, list):
		return [masked(v) for v in value]
	return value


def payload_text(payload) -> str | None:
	if payload is None:
		return None
	if isinstance(payload, bytes):
		text = payload.decode("utf-8", "replace")
	elif isinstance(payload, str):
		text = payload
	else:
		text = json.dumps(masked(payload), ensure_ascii=False, default=str, indent=1)
	# a lone surrogate (valid in JSON, not in UTF-8) would fail the log's insert
	return text[:PAYLOAD_LIMIT].encode("utf-8", "replace").decode("utf-8")


def write_log(
	channel: str,
	direction: str,
	status: str,
	payload=None,
	event_id: str | None = None,
	summary: str | None = None,
	error: str | None = None,
	reference_doctype: str | None = None,
	reference_name: str | None = None,
	**values,
):
	"""One CRM Integration Log row (as the system: public endpoints run as Guest).

	Written as a plain row (named, stamped, inserted) without a document's save: the log has no controller
	and nothing to validate that this function does not make sure of (its texts are cut to the fields'
	lengths, its selects are this module's values), and every request of a public endpoint writes one."""
	doc = frappe.get_doc(
		{
			"doctype": LOG,
			"channel": channel,
			"direction": direction,
			"status": status,
			"event_id": (event_id or "")[:140] or None,
			"received_on": now_datetime(),
			"remote_address": ((remote_address() or "")[:140] or None) if direction == "Inbound" else None,
			"summary": (summary or "")[:1000] or None,
			"error": (error or "")[:2000] or None,
			"reference_doctype": reference_doctype,
			"reference_name": reference_name,
			"payload": payload_text(payload),
			**values,
		}
	)
	doc.set_new_name()
	doc.set_user_and_timestamp()
	doc.db_insert()
	return doc


def due_rows(channels: list[str], direction: str, status: str, limit: int) -> list[str]:
	"""Log rows of `channels` and `direction` in `status` whose next attempt is due, oldest due first, at most
	`limit` (the retry and catch-up jobs; served by the log's channel_status_due_index)."""
	log = frappe.qb.DocType(LOG)
	return (
		frappe.qb.from_(log)
		.select(log.name)
		.where(
			log.channel.isin(channels)
			& (log.direction == direction)
			& (log.status == status)
			& (log.next_attempt_on <= now_datetime())
		)
		.orderby(log.next_attempt_on)
		.orderby(log.name)
		.limit(limit)
		.run(pluck=True)
	)


@contextmanager
def inbound(channel: str, payload=None, event_id: str | None = None):
	"""Run an endpoint's work; log what came in and what became of it (see the module's docstring)."""
	entry = frappe._dict(
		status="Processed",
		summary=None,
		reference_doctype=None,
		reference_name=None,
		event_id=event_id,
		# more fields of the log row, and what to call with the row once it is written (both for accepted work)
		row_values={},
		logged=None,
	)
	try:
		yield entry
	except Exception as e:
		frappe.db.rollback()
		code = cint(getattr(e, "http_status_code", 0))
		status = "Rejected" if 400 <= code < 500 else "Failed"
		message = frappe.utils.strip_html(str(e)) or type(e).__name__
		write_log(
			channel,
			"Inbound",
			status,
			payload=payload,
			event_id=entry.event_id,
			summary=entry.summary,
			error=message,
		)
		frappe.db.commit()
		raise
	log = write_log(
		channel,
		"Inbound",
		entry.status,
		payload=payload,
		event_id=entry.event_id,
		summary=entry.summary,
		reference_doctype=entry.reference_doctype,
		reference_name=entry.reference_name,
		**entry.row_values,
	)
	if entry.logged:
		entry.logged(log.name)
