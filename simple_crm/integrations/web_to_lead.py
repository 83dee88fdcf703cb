"""Website inquiries (web-to-lead): what the app's public web form and the websites' endpoint receive.

Both doors lead here (simple_crm.api.web_to_lead):

- `submit`, a JSON endpoint for the company's websites: a guest POST carrying the site's form key
  (Simple CRM Settings > Channels; it is visible in the website's pages, so it tells the company's own
  sites from random callers, not people from robots);
- the Web Form "website-inquiry" (route /inquiry), whose submissions Frappe's web form endpoint hands
  over here instead of inserting a CRM Lead itself.

Both are rate-limited per IP address (Frappe's `rate_limit`, limits in the settings) and carry a
honeypot: a field `homepage` that people never see and robots fill in. An inquiry must name a person or a
company and give a phone or an e-mail; every value is text of a bounded length; the phone is normalised
(E.164) and the e-mail lower-cased and checked. A refusal is answered at once (4xx with the reason) and
leaves only its log row.

An accepted inquiry is recorded, not yet handled, in the request: its `CRM Integration Log` row (status
Received, with the inquiry as read) is committed before the answer, and a job (`process`) is queued for
when it has committed. A website's visitor waits for nothing else, and a burst of inquiries costs the
request one insert each; the sales side gets them from the job within a second. The job:

- looks the person's open lead, or else their client, up by the normalised phone and e-mail
  (simple_crm.duplicates: the same index the duplicate control uses, also through contacts and
  counterparties). A known person's inquiry becomes a comment on that record's timeline and a "repeat
  inquiry" task for its manager: no twin lead;
- makes anyone else a new CRM Lead (channel Website, the source from the settings, the UTM tags, received
  when the inquiry arrived), which the new-lead automation distributes and gives its call-back task. Its
  timeline gets the same comment (with the page and the referrer the inquiry came from);
- writes what became of the inquiry on its log row (Processed or Duplicate, and the record), in the same
  transaction as the records.

The caller gets the same answer either way, so nobody learns from it whether a phone or an e-mail is
known. Each inquiry is handled exactly once: the job claims its row (locked, still Received) in the
transaction that handles it, so a job run twice, or beside `catch_up`, does nothing the second time.
Inquiries of one person are handled one at a time (a database lock per phone and e-mail), so a double click
makes one lead and a repeat inquiry. Nothing accepted is lost: `catch_up` (every minute) handles the rows
whose job was lost (a worker down, Redis unreachable) and tries again those that failed for a passing
reason (a deadlock), a few times with a growing pause; an inquiry that cannot be handled ends Failed, with
the reason and the inquiry on its row and in the Error Log, and an administrator has it handled again once
the cause is fixed (`handle_again`, the log form's Handle Again).
"""

import dataclasses
import hashlib
import json
import re
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, field

import frappe
from frappe import _
from frappe.utils import add_to_date, cint, escape_html, get_link_to_form, now_datetime, strip_html
from redis import exceptions as redis_exceptions

from simple_crm import duplicates
from simple_crm.automation.common import JobRun, as_system, desk_link, in_language, notify, settings
from simple_crm.automation.new_leads import head_for_unassigned
from simple_crm.constants import OPEN_LEAD_STATUSES
from simple_crm.integrations.common import (
	LOG,
	ChannelDisabledError,
	InvalidPayloadError,
	SignatureError,
	due_rows,
	last_message,
	same_secret,
	secret,
)
from simple_crm.validation import normalize_email, normalize_phone

API_CHANNEL = "Website API"
WEB_FORM_CHANNEL = "Web Form"
WEB_FORM = "website-inquiry"
LEAD_CHANNEL = "Website"

# an inquiry is a few short texts: anything bigger is refused (413) before it is read
BODY_LIMIT = 64 * 1024
FORM_KEY_FIELD = "form_key"
HONEYPOT_FIELD = "homepage"
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")

# the fields of an inquiry: maximum length and whether line breaks are kept
FIELDS = {
	"name": (140, False),
	"company": (140, False),
	"phone": (50, False),
	"email": (140, False),
	"message": (5000, True),
	**{fieldname: (140, False) for fieldname in UTM_FIELDS},
	"page_url": (1000, False),
	"referrer": (1000, False),
}
# what the fields are called in messages
LABELS = {
	"name": "Name",
	"company": "Company",
	"phone": "Phone",
	"email": "E-mail",
	"message": "Message",
	"utm_source": "UTM Source",
	"utm_medium": "UTM Medium",
	"utm_campaign": "UTM Campaign",
	"utm_content": "UTM Content",
	"utm_term": "UTM Term",
	"page_url": "Page",
	"referrer": "Referrer",
}
# names and tags never hold markup (which Frappe would store escaped, longer than the field)
NO_MARKUP_FIELDS = ("name", "company", *UTM_FIELDS)
# the web form posts the lead's own fieldnames
WEB_FORM_FIELDS = {"lead_name": "name", "company_name": "company", "interest": "message"}

# how long an inquiry waits for another one of the same person to finish
LOCK_SECONDS = 10

RECEIVED = "Received"
JOB = "web_inquiries"
# an accepted inquiry's job runs within a second; catch_up takes the inquiries still waiting after this
CATCH_UP_MINUTES = 2
# tries of an inquiry that fails for a passing reason (the pause doubles: 2, 4 minutes), then it is Failed
ATTEMPTS = 3


class SpamSuspectedError(InvalidPayloadError):
	"""The honeypot field was filled in."""


class FormKeyError(SignatureError):
	"""The form key is missing or not the site's."""


@dataclass
class Inquiry:
	name: str = ""
	company: str = ""
	phone: str = ""
	phone_normalized: str = ""
	email: str = ""
	message: str = ""
	page_url: str = ""
	referrer: str = ""
	utm: dict = field(default_factory=dict)

	@property
	def who(self) -> str:
		if self.name and self.company:
			return f"{self.name} ({self.company})"
		return self.name or self.company

	def as_json(self) -> str:
		return json.dumps(dataclasses.asdict(self), ensure_ascii=False)

	@classmethod
	def from_json(cls, text: str) -> "Inquiry":
		values = json.loads(text)
		names = {f.name for f in dataclasses.fields(cls)}
		return cls(**{key: value for key, value in values.items() if key in names})

	def points(self) -> set[tuple[str, str]]:
		"""The (kind, normalised value) pairs the duplicate index knows people by."""
		points = set()
		if self.phone_normalized:
			points.add(("Phone", self.phone_normalized))
		if self.email:
			points.add(("Email", self.email))
		return points


# --- the doors ---------------------------------------------------------------------------------------


def rate_limits() -> tuple[int, int]:
	"""(inquiries, seconds) allowed per IP address."""
	values = settings()
	return max(1, cint(values.web_to_lead_rate_limit)), max(1, cint(values.web_to_lead_rate_seconds))


def accepting() -> bool:
	"""Whether the channel is switched on (Simple CRM Settings > Channels)."""
	return bool(cint(settings().web_to_lead_enabled))


def check_enabled() -> None:
	if not accepting():
		frappe.throw(
			_("Website inquiries are not accepted: the channel is switched off"),
			ChannelDisabledError,
			title=_("Not Accepted"),
		)


def check_form_key(data: dict) -> None:
	"""The key every website sends (submit only; the web form is the app's own page)."""
	expected = secret("web_to_lead_form_key")
	if not expected:
		frappe.throw(
			_("Website inquiries are not set up: the form key is not set in Simple CRM Settings"),
			ChannelDisabledError,
			title=_("Not Accepted"),
		)
	given = data.get(FORM_KEY_FIELD)
	if not isinstance(given, str) or not given.strip():
		frappe.throw(_("The form key is missing"), FormKeyError, title=_("Not Accepted"))
	if not same_secret(expected, given.strip()):
		frappe.throw(_("The form key is wrong"), FormKeyError, title=_("Not Accepted"))


def check_honeypot(data: dict) -> None:
	value = data.get(HONEYPOT_FIELD)
	if value not in (None, "") and not (isinstance(value, str) and not value.strip()):
		frappe.throw(
			_("The inquiry looks automated and was not accepted: the field {0} must stay empty").format(
				HONEYPOT_FIELD
			),
			SpamSuspectedError,
			title=_("Not Accepted"),
		)


def from_web_form(data: dict) -> dict:
	"""The web form's values (the lead's fieldnames) under the names of the endpoint's fields."""
	out = {}
	for key, value in data.items():
		key = WEB_FORM_FIELDS.get(key, key)
		if key in FIELDS or key == HONEYPOT_FIELD:
			out[key] = value
	return out


# --- reading an inquiry ------------------------------------------------------------------------------


def clean_text(value: str, multiline: bool) -> str:
	"""`value` without control characters and unpaired surrogates; a single line unless `multiline`."""
	value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
	kept = []
	for ch in value:
		category = unicodedata.category(ch)
		if ch in "\n\t" or category not in ("Cc", "Cs"):
			kept.append(ch)
		else:
			kept.append(" ")
	text = "".join(kept)
	if not multiline:
		return " ".join(text.split())
	lines = [" ".join(line.split()) for line in text.split("\n")]
	return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def read_inquiry(data: dict) -> Inquiry:
	"""Check and clean the fields of an inquiry; one translated message naming every problem."""
	problems = []
	values = {}
	for fieldname, (limit, multiline) in FIELDS.items():
		label = _(LABELS[fieldname])
		value = data.get(fieldname)
		if value is None:
			values[fieldname] = ""
			continue
		if not isinstance(value, str):
			problems.append(_("{0} must be text").format(label))
			continue
		value = clean_text(value, multiline)
		if len(value) > limit:
			problems.append(
				_("{0} is too long: {1} characters, at most {2} allowed").format(label, len(value), limit)
			)
			continue
		if fieldname in NO_MARKUP_FIELDS and ("<" in value or ">" in value):
			problems.append(_("{0} must not contain angle brackets").format(label))
			continue
		values[fieldname] = value

	inquiry = Inquiry(
		name=values.get("name", ""),
		company=values.get("company", ""),
		phone=values.get("phone", ""),
		email=values.get("email", ""),
		message=values.get("message", ""),
		page_url=values.get("page_url", ""),
		referrer=values.get("referrer", ""),
		utm={f: values[f] for f in UTM_FIELDS if values.get(f)},
	)
	if not inquiry.name and not inquiry.company and "name" in values and "company" in values:
		problems.append(_("Give a name or a company"))
	if not inquiry.phone and not inquiry.email and "phone" in values and "email" in values:
		problems.append(_("Give a phone or an e-mail"))
	if inquiry.phone:
		try:
			inquiry.phone_normalized = normalize_phone(inquiry.phone, LABELS["phone"])
		except frappe.ValidationError as e:
			frappe.clear_last_message()
			problems.append(str(e))
	if inquiry.email:
		try:
			inquiry.email = normalize_email(inquiry.email, LABELS["email"]) or ""
		except frappe.ValidationError as e:
			frappe.clear_last_message()
			problems.append(str(e))
	if problems:
		frappe.throw(
			_("The inquiry was not accepted: {0}").format("; ".join(problems)),
			InvalidPayloadError,
			title=_("Invalid Inquiry"),
		)
	return inquiry


# --- what becomes of it ------------------------------------------------------------------------------


def record(inquiry: Inquiry, entry) -> None:
	"""Accept the inquiry: its log row is written Received, with the inquiry as read, and its job is queued for
	when the request commits (see the module's docstring)."""
	entry.status = RECEIVED
	entry.summary = "accepted"
	entry.row_values = {
		"inquiry": inquiry.as_json(),
		"attempts": 0,
		"next_attempt_on": add_to_date(now_datetime(), minutes=CATCH_UP_MINUTES),
	}
	entry.logged = enqueue


def job_id(log: str) -> str:
	return f"simple_crm:inquiry:{log}"


def enqueue(log: str) -> None:
	try:
		frappe.enqueue(
			"simple_crm.integrations.web_to_lead.process",
			queue="short",
			enqueue_after_commit=True,
			job_id=job_id(log),
			log=log,
		)
	except redis_exceptions.ConnectionError:
		# accepted all the same: catch_up handles it within minutes
		frappe.log_error(title="simple_crm: website inquiry job not queued")


def process(log: str) -> str:
	"""Handle one accepted inquiry and commit; what became of it ("handled", "handled already", "failed",
	"retry"). Exactly once per inquiry however often it runs (see the module's docstring)."""
	row = frappe.db.get_value(LOG, log, ["status", "inquiry"], as_dict=True)
	if not row or row.status != RECEIVED:
		return "handled already"
	inquiry = Inquiry.from_json(row.inquiry)
	hold_person(inquiry)
	claimed = frappe.db.sql(
		"select status, attempts, received_on from `tabCRM Integration Log` where name = %s for update",
		log,
		as_dict=True,
	)
	if not claimed or claimed[0].status != RECEIVED:
		frappe.db.rollback()
		return "handled already"
	entry = frappe._dict(status="Processed", summary=None, reference_doctype=None, reference_name=None)
	try:
		receive(inquiry, entry, received_on=claimed[0].received_on)
	except Exception as e:
		frappe.db.rollback()
		# what a user would have been told (Frappe's message), else the error itself
		told = last_message()
		frappe.clear_last_message()
		return failed(log, cint(claimed[0].attempts) + 1, e, told)
	frappe.db.set_value(
		LOG,
		log,
		{
			"status": entry.status,
			"summary": entry.summary,
			"reference_doctype": entry.reference_doctype,
			"reference_name": entry.reference_name,
			"error": None,
			"next_attempt_on": None,
		},
	)
	frappe.db.commit()
	return "handled"


def failed(log: str, attempts: int, error: Exception, told: str | None = None) -> str:
	"""After a failed try (rolled back): tried again later for a passing reason, else Failed for good."""
	message = (told or strip_html(str(error)) or type(error).__name__)[:2000]
	passing = not isinstance(error, frappe.ValidationError) and attempts < ATTEMPTS
	values = {"attempts": attempts, "error": message}
	if passing:
		values["next_attempt_on"] = add_to_date(now_datetime(), minutes=2**attempts)
	else:
		values.update(status="Failed", next_attempt_on=None)
	# unless another run handled it meanwhile
	frappe.db.set_value(LOG, {"name": log, "status": RECEIVED}, values)
	frappe.log_error(title=f"simple_crm: website inquiry {log}", reference_doctype=LOG, reference_name=log)
	frappe.db.commit()
	return "retry" if passing else "failed"


# who may have a failed inquiry handled again: those who read the log
HANDLE_AGAIN_ROLES = ("System Manager", "CRM Administrator")


def handle_again(log: str) -> dict:
	"""Have a Failed inquiry handled again, once its cause is fixed (a field made mandatory for leads, say): the
	row is Received again with its attempts reset, and its job is queued. Administrators only."""
	frappe.only_for(HANDLE_AGAIN_ROLES)
	row = frappe.db.get_value(
		LOG, log, ["channel", "direction", "status", "inquiry"], as_dict=True, for_update=True
	)
	if not row:
		frappe.throw(
			_("{0} {1} not found").format(_(LOG), escape_html(str(log)[:140])),
			frappe.DoesNotExistError,
			title=_("Not Found"),
		)
	if row.channel not in (API_CHANNEL, WEB_FORM_CHANNEL) or row.direction != "Inbound" or not row.inquiry:
		frappe.throw(_("Only a website inquiry can be handled again"), title=_("Not a Website Inquiry"))
	if row.status != "Failed":
		frappe.throw(
			_("Only a failed inquiry can be handled again: this one is {0}").format(_(row.status)),
			title=_("Not Failed"),
		)
	frappe.db.set_value(
		LOG,
		log,
		{
			"status": RECEIVED,
			"attempts": 0,
			"next_attempt_on": add_to_date(now_datetime(), minutes=CATCH_UP_MINUTES),
			"summary": "to be handled again",
		},
	)
	enqueue(log)
	return {"status": RECEIVED}


def catch_up() -> str:
	"""The accepted inquiries whose job was lost, and those due to be tried again (every minute)."""
	run = JobRun(JOB)
	due = due_rows([API_CHANNEL, WEB_FORM_CHANNEL], "Inbound", RECEIVED, run.limit + 1)
	for name in run.take(due):
		with run.item(name):
			run.count(process(name))
	return run.finish()


def receive(inquiry: Inquiry, entry, received_on=None) -> None:
	"""Attach the inquiry to the person's open lead or client, or make a new lead; fills in `entry`. Runs as the
	system (the inquiry came from a guest), while the person's inquiries are held (`hold_person`)."""
	with as_system():
		known = find_known(inquiry.points())
		if known:
			doctype, name = known
			attach_repeat_inquiry(doctype, name, inquiry)
			entry.status = "Duplicate"
			entry.summary = f"repeat inquiry attached to {doctype} {name}"
		else:
			doctype, name = "CRM Lead", create_lead(inquiry, received_on)
			entry.summary = "new lead"
	entry.reference_doctype, entry.reference_name = doctype, name


def find_known(points: set[tuple[str, str]]) -> tuple[str, str] | None:
	"""The record a known person's inquiry goes to: their most recent open lead, else their client (the
	latest one), found through leads, clients, contacts and counterparties with the same phone or e-mail."""
	if not points:
		return None
	leads, clients, counterparties, contacts = set(), set(), set(), set()
	for row in duplicates.lookup(points):
		{
			"CRM Lead": leads,
			"CRM Client": clients,
			"CRM Counterparty": counterparties,
			"Contact": contacts,
		}[row.reference_doctype].add(row.reference_name)
	if contacts:
		for link in frappe.get_all(
			"Dynamic Link",
			filters={
				"parenttype": "Contact",
				"parent": ("in", list(contacts)),
				"link_doctype": ("in", ["CRM Lead", "CRM Client", "CRM Counterparty"]),
			},
			fields=["link_doctype", "link_name"],
		):
			{"CRM Lead": leads, "CRM Client": clients, "CRM Counterparty": counterparties}[
				link.link_doctype
			].add(link.link_name)
	if counterparties:
		clients.update(
			frappe.get_all(
				"CRM Counterparty",
				filters={"name": ("in", list(counterparties)), "client": ("is", "set")},
				pluck="client",
			)
		)
	if leads:
		rows = frappe.get_all(
			"CRM Lead",
			filters={"name": ("in", list(leads))},
			fields=["name", "status", "client", "received_on", "creation"],
		)
		open_leads = [r for r in rows if r.status in OPEN_LEAD_STATUSES]
		if open_leads:
			latest = max(open_leads, key=lambda r: (r.received_on or r.creation, r.name))
			return "CRM Lead", latest.name
		clients.update(r.client for r in rows if r.client)
	if clients:
		rows = frappe.get_all(
			"CRM Client",
			filters={"name": ("in", list(clients))},
			fields=["name"],
			order_by="creation desc, name desc",
			limit=1,
		)
		if rows:
			return "CRM Client", rows[0].name
	return None


def create_lead(inquiry: Inquiry, received_on=None) -> str:
	values = settings()
	source = values.web_to_lead_source
	if source and not frappe.db.get_value("CRM Lead Source", {"name": source, "disabled": 0}):
		source = None  # a source switched off or removed costs the inquiry nothing
	lead = frappe.get_doc(
		{
			"doctype": "CRM Lead",
			# the person's name is required: a company's inquiry is named after the company
			"lead_name": inquiry.name or inquiry.company,
			"company_name": inquiry.company or None,
			"phone": inquiry.phone or None,
			"email": inquiry.email or None,
			"interest": inquiry.message or None,
			"status": "New",
			"received_on": received_on or now_datetime(),
			"source": source,
			"channel": LEAD_CHANNEL,
			"campaign": inquiry.utm.get("utm_campaign"),
			**inquiry.utm,
		}
	)
	# the channel looked the person up itself (an open lead or a client was ruled out); a match left over (a
	# disqualified lead, a contact of nobody's) neither blocks the inquiry nor is told to the caller
	lead.flags.ignore_duplicates = True
	lead.insert(ignore_permissions=True)
	leftovers = duplicates.find_duplicates_of(lead)
	# nobody is responsible yet: the comment is in the site's language
	with site_language():
		add_comment("CRM Lead", lead.name, inquiry_html(inquiry, known=leftovers))
	return lead.name


def attach_repeat_inquiry(doctype: str, name: str, inquiry: Inquiry) -> None:
	"""A comment with the inquiry on the record's timeline and a task "repeat inquiry" for its manager."""
	record = frappe.db.get_value(doctype, name, ["name", "responsible", "owner"], as_dict=True)
	manager = record.responsible or head_for_unassigned(record.owner)
	with in_language(manager) if manager else site_language():
		text = inquiry_html(inquiry)
		add_comment(doctype, name, text)
		if not manager:
			return
		due = add_to_date(now_datetime(), minutes=cint(settings().callback_minutes) or 15)
		task = frappe.get_doc(
			{
				"doctype": "CRM Task",
				"subject": _("Repeat inquiry: {0}").format(inquiry.who)[:140],
				"task_type": "Call",
				"priority": "High",
				"status": "Open",
				"assigned_to": manager,
				"due_on": due,
				"reference_doctype": doctype,
				"reference_name": name,
				"description": text,
			}
		).insert(ignore_permissions=True)
		notify(
			manager,
			_("Repeat inquiry from {0}").format(escape_html(inquiry.who)),
			"{}<br><a href='{}'>{}</a>".format(
				text, desk_link(doctype, name), _("Open {0}").format(_(doctype))
			),
			"CRM Task",
			task.name,
		)


def add_comment(doctype: str, name: str, html: str) -> None:
	frappe.get_doc(
		{
			"doctype": "Comment",
			"comment_type": "Comment",
			"comment_email": frappe.session.user,
			"reference_doctype": doctype,
			"reference_name": name,
			"content": html,
		}
	).insert(ignore_permissions=True)


@contextmanager
def site_language():
	previous = getattr(frappe.local, "lang", None)
	frappe.local.lang = frappe.db.get_default("lang") or "en"
	try:
		yield
	finally:
		frappe.local.lang = previous


def inquiry_html(inquiry: Inquiry, known: list | None = None) -> str:
	"""The inquiry as a timeline comment: every value escaped (it is what a stranger typed)."""
	parts = [f"<p><b>{escape_html(_('Inquiry from the website'))}</b></p>"]
	if inquiry.message:
		parts.append("<p>{}</p>".format(escape_html(inquiry.message).replace("\n", "<br>")))
	details = [
		(_("Name"), inquiry.name),
		(_("Company"), inquiry.company),
		(_("Phone"), inquiry.phone),
		(_("E-mail"), inquiry.email),
		(_("Page"), inquiry.page_url),
		(_("Referrer"), inquiry.referrer),
		*((_(LABELS[key]), value) for key, value in inquiry.utm.items()),
	]
	lines = [f"{escape_html(label)}: {escape_html(value)}" for label, value in details if value]
	if lines:
		parts.append("<p>{}</p>".format("<br>".join(lines)))
	if known:
		links = ", ".join(
			f"{escape_html(_(m.doctype))} {get_link_to_form(m.doctype, m.name, escape_html(m.title))}"
			for m in known
		)
		parts.append("<p>{}</p>".format(_("The same phone or e-mail is also on: {0}").format(links)))
	return "".join(parts)


# --- one inquiry of a person at a time ---------------------------------------------------------------


def hold_person(inquiry: Inquiry) -> None:
	"""Wait until no other request handles an inquiry with the same phone or e-mail, and hold that until
	this one commits or rolls back; then read afresh (REPEATABLE READ would otherwise keep showing this
	transaction's first snapshot, taken before the other request committed its lead)."""
	names = sorted(lock_name(kind, value) for kind, value in inquiry.points())
	if not names:
		return
	held = [name for name in names if frappe.db.sql("select get_lock(%s, %s)", (name, LOCK_SECONDS))[0][0]]
	# nothing has been written yet in this request: ending its transaction only drops the old snapshot
	frappe.db.rollback()

	def release():
		for name in held:
			frappe.db.sql("select release_lock(%s)", name)

	frappe.db.after_commit.add(release)
	frappe.db.after_rollback.add(release)


def lock_name(kind: str, value: str) -> str:
	"""A lock name of at most 64 characters, per database (lock names are server-wide)."""
	digest = hashlib.sha1(f"{frappe.conf.db_name}:{kind}:{value}".encode()).hexdigest()
	return f"crm-inquiry:{digest}"
