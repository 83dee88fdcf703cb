"""A converted lead, told to accounting: a signed POST to the webhook URL of the settings, retried until taken.

When a lead becomes a client (its status turns Converted, by the Convert action or the workflow), the save
that converts it queues one notification, once per lead, as a CRM Integration Log row (channel Accounting,
Outbound, Queued) holding the exact JSON to send:

    {"event": "lead_converted", "event_id": "lead_converted:LEAD-00042", "occurred_at": "2026-12-03T10:15:00",
     "lead": {...}, "client": {...}, "contact": {...}, "deal": "DEAL-00017", "counterparties": [...]}

A job enqueued when the conversion commits sends it: `POST <Converted Lead Webhook URL>` with the headers
`Content-Type: application/json`, `X-CRM-Event: lead_converted`, `X-CRM-Delivery: <log row>` and
`X-CRM-Signature: sha256=<hex HMAC-SHA256 of the body, keyed with the Webhook Signing Secret>`. A 2xx answer
marks the row Sent. A refusal (any other status), a network error or a timeout leaves it Queued with the
error and the time of the next attempt ("First Retry After", doubled per attempt, at most a day); `send_due`
(every minute) sends what is due, and after "Attempts per Notification" the row is Failed. A row is sent
only while it is locked and still Queued, so a retry and a late first job never both send it; a timeout
after accounting took the message may still bring it twice, which `event_id` lets accounting notice.
"""

import json

import frappe
import requests
from frappe.utils import add_to_date, cint, now_datetime

from simple_crm.automation.common import JobRun, settings
from simple_crm.constants import LEAD_CONVERTED
from simple_crm.integrations.common import LOG, due_rows, hmac_sha256, secret, write_log

CHANNEL = "Accounting"
EVENT = "lead_converted"
QUEUED, SENT, FAILED = "Queued", "Sent", "Failed"
SEND_JOB = "accounting_webhook"
RETRY_JOB = "accounting_webhook_retries"
# a first send whose job was lost is picked up by the scheduled retry after this long
FIRST_SEND_GRACE_MINUTES = 2
LONGEST_WAIT_MINUTES = 24 * 60
SIGNATURE_HEADER = "X-CRM-Signature"


def on_lead_update(doc, method=None) -> None:
	"""doc_events of CRM Lead, on_update: the save that makes a lead Converted queues the notification."""
	if doc.status != LEAD_CONVERTED or not doc.client:
		return
	before = doc.get_doc_before_save()
	if before is None or before.status == LEAD_CONVERTED:
		return
	values = settings()
	if not values.accounting_enabled or not (values.accounting_webhook_url or "").strip():
		return
	queue(doc)


def event_id(lead: str) -> str:
	return f"{EVENT}:{lead}"


def queue(lead) -> str | None:
	"""One notification per lead: a second conversion of the same lead (reopened and converted again) is
	not announced twice."""
	key = event_id(lead.name)
	if frappe.db.exists(LOG, {"channel": CHANNEL, "direction": "Outbound", "event_id": key}):
		return None
	log = write_log(
		CHANNEL,
		"Outbound",
		QUEUED,
		payload=json.dumps(payload(lead), ensure_ascii=False, default=str),
		event_id=key,
		summary=f"lead {lead.name} converted into client {lead.client}",
		reference_doctype="CRM Client",
		reference_name=lead.client,
		attempts=0,
		next_attempt_on=add_to_date(now_datetime(), minutes=FIRST_SEND_GRACE_MINUTES),
	)
	frappe.enqueue(
		"simple_crm.integrations.exchange.webhook.send_first",
		queue="short",
		enqueue_after_commit=True,
		job_id=f"crm_accounting_webhook:{log.name}",
		deduplicate=True,
		log=log.name,
	)
	return log.name


def payload(lead) -> dict:
	"""What accounting needs to open the counterparty of a new client."""
	client = frappe.db.get_value(
		"CRM Client",
		lead.client,
		[
			"name",
			"client_name",
			"client_type",
			"phone",
			"phone_normalized",
			"email",
			"website",
			"responsible",
			"external_id",
			"source_lead",
			"currency",
		],
		as_dict=True,
	)
	contact = None
	if lead.contact:
		contact = frappe.db.get_value(
			"Contact",
			lead.contact,
			["name", "first_name", "last_name", "full_name", "designation", "phone", "mobile_no", "email_id"],
			as_dict=True,
		)
	counterparties = frappe.get_all(
		"CRM Counterparty",
		filters={"client": lead.client},
		fields=["name", "full_name", "short_name", "counterparty_type", "inn", "kpp", "ogrn", "external_id"],
		order_by="creation asc",
	)
	return {
		"event": EVENT,
		"event_id": event_id(lead.name),
		"occurred_at": now_datetime().isoformat(timespec="seconds"),
		"lead": {
			"name": lead.name,
			"lead_name": lead.lead_name,
			"company_name": lead.company_name,
			"source": lead.source,
			"channel": lead.channel,
		},
		"client": {**client, "new": client.source_lead == lead.name},
		"contact": contact,
		"deal": lead.deal,
		"counterparties": counterparties,
	}


# --- sending ------------------------------------------------------------------------------------------------


def send_first(log: str) -> str:
	"""The job queued with the notification: its first attempt, unless something sent it already."""
	run = JobRun(SEND_JOB)
	with run.item(log):
		run.count(attempt(log, first=True))
	return run.finish()


def send_due() -> str:
	"""Every minute: the notifications whose next attempt is due (retries, and first sends whose job was
	lost), oldest first, at most the automation batch size per run."""
	run = JobRun(RETRY_JOB)
	values = settings()
	if values.accounting_enabled and (values.accounting_webhook_url or "").strip():
		names = due_rows([CHANNEL], "Outbound", QUEUED, run.limit + 1)
		for name in run.take(names):
			with run.item(name):
				run.count(attempt(name))
	return run.finish()


def attempt(name: str, first: bool = False) -> str:
	"""Send one notification while its row is locked and still Queued (and due, or never tried for the
	first job); record the answer. Returns what became of it."""
	rows = frappe.db.sql(
		f"""select name, payload, attempts, next_attempt_on from `tab{LOG}`
		where name = %s and channel = %s and direction = 'Outbound' and status = %s for update""",
		(name, CHANNEL, QUEUED),
		as_dict=True,
	)
	if not rows:
		return "sent before"
	row = rows[0]
	if first and cint(row.attempts):
		return "tried before"
	if not first and row.next_attempt_on and row.next_attempt_on > now_datetime():
		return "not due"
	values = settings()
	url = (values.accounting_webhook_url or "").strip()
	if not values.accounting_enabled or not url:
		return "switched off"
	body = (row.payload or "").encode()
	headers = {
		"Content-Type": "application/json",
		"X-CRM-Event": EVENT,
		"X-CRM-Delivery": row.name,
	}
	key = secret("accounting_webhook_secret")
	if key:
		headers[SIGNATURE_HEADER] = "sha256=" + hmac_sha256(key, body)
	attempts = cint(row.attempts) + 1
	try:
		response = requests.post(
			url, data=body, headers=headers, timeout=max(cint(values.accounting_webhook_timeout), 1)
		)
		error = (
			None
			if 200 <= response.status_code < 300
			else f"HTTP {response.status_code}: {response.text[:500]}"
		)
	except requests.RequestException as e:
		error = f"{type(e).__name__}: {e}"
	if error is None:
		update(name, status=SENT, attempts=attempts, error=None, next_attempt_on=None)
		return "sent"
	if attempts >= max(cint(values.accounting_webhook_attempts), 1):
		update(name, status=FAILED, attempts=attempts, error=error, next_attempt_on=None)
		return "failed"
	wait = retry_wait_minutes(attempts, max(cint(values.accounting_webhook_retry_minutes), 1))
	update(
		name,
		status=QUEUED,
		attempts=attempts,
		error=error,
		next_attempt_on=add_to_date(now_datetime(), minutes=wait),
	)
	return "to retry"


def retry_wait_minutes(attempts: int, first_wait: int) -> int:
	"""The wait before attempt `attempts + 1`: `first_wait` doubled per attempt made, at most a day."""
	return min(first_wait * 2 ** max(0, attempts - 1), LONGEST_WAIT_MINUTES)


def update(name: str, **values) -> None:
	if values.get("error"):
		values["error"] = values["error"][:2000]
	frappe.db.set_value(LOG, name, values, update_modified=True)
