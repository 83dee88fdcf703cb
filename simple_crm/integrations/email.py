"""E-mail: the CRM's inbox and the company's outgoing account.

Incoming. Frappe's Email Account pulls the mail (IMAP or POP3, every few minutes, in the job
`pull_from_email_account`) and files every new message as a Communication: it skips a message whose
Message-ID it has filed before, and files a reply to a message the site sent (In-Reply-To) on the record that
message was about. For the account chosen as the CRM Inbox (Simple CRM Settings > Channels > E-mail),
`before_communication_insert` then decides, in the same transaction, where the message belongs:

1. a reply in a thread stays on the record Frappe found (a deal the manager wrote from); a reply that names
   such a message only in References is put there too;
2. otherwise the sender's address, normalised as the duplicate control keeps it (simple_crm.duplicates),
   finds the person's open lead, else their contact, else their client (also through a counterparty or a
   converted lead): the message is that record's, and shows on the timelines of the other matches too;
3. a sender nobody has becomes a new lead (channel Email, the source of the settings), which the new-lead
   automation distributes and gives its call-back task like any lead.

Never a lead from automatic mail (auto-replies, bounces, mailing lists: the headers Auto-Submitted,
Precedence, List-Id, X-Autoreply, a delivery report, a null Return-Path, and senders such as MAILER-DAEMON or
no-reply), from the company itself (an address of a user of the site or of an e-mail account, or a domain
listed in the settings), from a conversation the site is part of, or from mail dated more than
OLD_MAIL_DAYS before it was fetched (the mailbox's history, read when the account is first connected).
Each message is filed once (the mark `email:<hash of its Message-ID>`, or of its sender, date, subject and
text when it has none, is written with what the message made): a second copy lands where the first did. A
message without a usable sender is kept in the inbox, linked to nothing. Whatever the CRM does runs in a
savepoint: should it fail, the message is still filed by Frappe, unlinked, and the log says why.

Every message of the inbox is one `CRM Integration Log` row (channel E-mail): Processed, Duplicate, Rejected
(no sender address) or Failed, with the record it went to. The responsible manager of a known record is
notified of a message from the person.

Frappe gives a Communication's hooks nothing of the message's headers, fails on a message without a From
header (a TypeError that drops every message of that pull), keeps only the Latin letters of a sender's name
and only the first part of a subject written in several ("Re: Заказ" becomes "Re:"). `install`
(before_request / before_job) wraps three of Frappe's functions once per process: the message being filed
is kept in `frappe.local` while Frappe files it, a message without a sender is filed without one, and a
subject is decoded whole; the sender's name is then read from the From header itself.

Outgoing. An e-mail written in the Desk about a CRM record (the e-mail dialog of a lead, client, contact,
deal...) goes out through the company's default outgoing Email Account, from its address and under the
writer's name ("Anna Petrova <sales@company.ru>"; a mail server refuses a From of another domain), unless the
writer's own address has an outgoing account of its own. Frappe threads the client's answer (In-Reply-To)
back onto the record.
"""

import datetime
import hashlib
import re
from email.header import decode_header, make_header
from email.utils import parseaddr

import frappe
from frappe import _
from frappe.utils import add_to_date, cint, escape_html, get_datetime, get_fullname, now_datetime, strip_html

from simple_crm import duplicates
from simple_crm.automation.common import MARK, as_system, claim, desk_link, in_language, notify, settings
from simple_crm.constants import OPEN_LEAD_STATUSES, ROW_LEVEL_DOCTYPES
from simple_crm.integrations.common import last_message, write_log
from simple_crm.integrations.web_to_lead import clean_text
from simple_crm.validation import normalize_email

CHANNEL = "E-mail"
JOB = "email"
LEAD_CHANNEL = "Email"
DEFAULT_SOURCE = "E-mail"
# the records a message can land on
RECORD_DOCTYPES = ("CRM Lead", "Contact", "CRM Client", "CRM Counterparty", "CRM Deal")
# how much of a message a new lead keeps as its interest (the whole message is its Communication)
INTEREST_LIMIT = 2000
# timeline links of one message at most (an address shared by many records is not worth more)
LINK_LIMIT = 20
# mail dated further back than this when it is fetched makes no lead
OLD_MAIL_DAYS = 7
SAVEPOINT = "crm_email"
# frappe.local attribute holding the message Frappe is filing (see install)
MAIL_LOCAL = "crm_inbound_mail"

# senders of automatic mail, by the part of the address before @
AUTOMATIC_SENDERS = re.compile(
	r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|noreply-.*|bounces?(\+.*)?|.*-bounces?)$", re.I
)
# subjects of auto-replies and delivery reports, for mail whose headers are not at hand
AUTOMATIC_SUBJECTS = re.compile(
	r"^\s*(automatic reply|auto-?reply|auto:|out of (the )?office|autoreply|undeliver(ed|able)|"
	r"delivery status notification|mail delivery (failed|failure|system)|returned mail|"
	r"автоматический ответ|автоответ|недоставленное сообщение|не удалось доставить)",
	re.I,
)
PRECEDENCE_AUTOMATIC = ("bulk", "junk", "list", "auto_reply")
AUTO_REPLY_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder")
MESSAGE_ID = re.compile(r"<([^<>\s]+)>")


class InvalidInboxError(frappe.ValidationError):
	pass


# --- Frappe's receiving, once per process -------------------------------------------------------------


def install(*args, **kwargs) -> None:
	"""`before_request` / `before_job` hook: keep the message being filed at hand for the Communication's hooks,
	and file a message without a sender instead of failing the whole pull (see the module's docstring)."""
	from frappe.email.receive import Email, InboundMail

	if getattr(InboundMail._build_communication_doc, "_crm", False):
		return
	frappe_build = InboundMail._build_communication_doc
	frappe_set_from = Email.set_from
	frappe_set_subject = Email.set_subject

	def _build_communication_doc(self):
		previous = getattr(frappe.local, MAIL_LOCAL, None)
		setattr(frappe.local, MAIL_LOCAL, self)
		try:
			return frappe_build(self)
		finally:
			setattr(frappe.local, MAIL_LOCAL, previous)

	def set_from(self):
		try:
			frappe_set_from(self)
		except (TypeError, AttributeError, ValueError):
			# no From (or nothing readable in it): Frappe's parsing fails on None
			self.from_email = None
			self.from_real_name = None

	def set_subject(self):
		frappe_set_subject(self)
		# Frappe keeps the first part of a subject written in several (plain text and encoded words), so
		# that "Re: Заказ" would be "Re:"
		subject = whole_subject(self.mail.get("Subject"))
		if subject:
			self.subject = subject

	_build_communication_doc._crm = True
	InboundMail._build_communication_doc = _build_communication_doc
	Email.set_from = set_from
	Email.set_subject = set_subject


def whole_subject(raw) -> str | None:
	"""A Subject header decoded whole, on one line, at most 140 characters (as Frappe keeps subjects)."""
	if not raw:
		return None
	try:
		text = str(make_header(decode_header(str(raw))))
	except Exception:
		return None
	return " ".join(clean_text(text, multiline=False).split())[:140] or None


def current_mail(doc):
	"""The message Frappe is filing as `doc`, when it is at hand (its headers), else None."""
	mail = getattr(frappe.local, MAIL_LOCAL, None)
	if mail is None or getattr(mail.email_account, "name", None) != doc.email_account:
		return None
	if (mail.message_id or None) != (doc.message_id or None):
		return None
	return mail


def display_name(mail) -> str | None:
	"""The sender's name as the From header gives it (Frappe keeps only Latin letters of a name, so that
	"Иван Петров <ivan@client.ru>" would be known as ivan@client.ru)."""
	raw = header(mail, "X-Original-From") or header(mail, "From")
	if not raw:
		return None
	try:
		# the name's encoded words are decoded once the address is split off (decoded first, a name holding
		# "<" or "," would be read as an address)
		text = str(make_header(decode_header(parseaddr(raw)[0])))
	except Exception:
		return None
	name = clean_text(text, multiline=False).replace("<", " ").replace(">", " ")
	return " ".join(name.split())[:140] or None


def header(mail, name: str) -> str:
	if mail is None:
		return ""
	try:
		return str(mail.mail.get(name) or "").strip()
	except Exception:
		return ""


# --- settings -------------------------------------------------------------------------------------------


def inbox() -> str | None:
	"""The Email Account whose mail the CRM files (None: the channel is off)."""
	return settings().email_inbox or None


def validate_inbox(doc) -> None:
	"""Simple CRM Settings.validate: the CRM Inbox is an Email Account that receives mail."""
	name = doc.get("email_inbox")
	if not name:
		return
	if not cint(frappe.db.get_value("Email Account", name, "enable_incoming")):
		frappe.throw(
			_(
				"The CRM Inbox {0} does not receive mail: tick Enable Incoming on the Email Account first"
			).format(frappe.bold(name)),
			InvalidInboxError,
			title=_("E-mail Settings"),
		)
	for line in (doc.get("email_own_domains") or "").splitlines():
		domain = line.strip().lstrip("@").lower()
		if domain and not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", domain):
			frappe.throw(
				_("Company Mail Domains: '{0}' is not a domain name, such as company.ru").format(
					line.strip()
				),
				InvalidInboxError,
				title=_("E-mail Settings"),
			)


def on_settings_update(doc) -> None:
	"""Simple CRM Settings.on_update: Frappe would make a contact of every unknown address of the inbox's mail
	(its senders, and the inbox itself as a recipient); the CRM makes a lead of an unknown sender instead, and
	a contact when the lead is converted."""
	name = doc.get("email_inbox")
	if name and cint(frappe.db.get_value("Email Account", name, "create_contact")):
		frappe.db.set_value("Email Account", name, "create_contact", 0)
		frappe.msgprint(
			_(
				"Create Contacts from Incoming Emails is now off for {0}: the CRM makes a lead of an unknown sender"
			).format(frappe.bold(name)),
			title=_("E-mail Settings"),
			indicator="blue",
		)


def own_domains(config) -> set[str]:
	return {
		line.strip().lstrip("@").lower()
		for line in (config.email_own_domains or "").splitlines()
		if line.strip()
	}


# --- incoming -------------------------------------------------------------------------------------------


def before_communication_insert(doc, method=None) -> None:
	"""doc_events Communication.before_insert: file a message of the CRM Inbox, or send an e-mail written
	about a CRM record through the company's account."""
	if doc.communication_medium != "Email" or (doc.communication_type or "Communication") != "Communication":
		return
	if doc.sent_or_received == "Received":
		if doc.flags.in_receive and doc.email_account:
			file_received(doc)
	elif not doc.flags.in_receive:
		use_company_account(doc)


def after_communication_insert(doc, method=None) -> None:
	"""doc_events Communication.after_insert: the log row of a message of the inbox, and its notification."""
	outcome = doc.flags.get("crm_mail")
	if not outcome:
		return
	record = outcome.record or (None, None)
	outcome.payload["communication"] = doc.name
	write_log(
		CHANNEL,
		"Inbound",
		outcome.status,
		payload=outcome.payload,
		event_id=outcome.event_id,
		summary=outcome.summary,
		error=outcome.error,
		reference_doctype=record[0],
		reference_name=record[1],
	)
	if outcome.notify:
		tell_responsible(outcome.notify, outcome.record, doc)


def file_received(doc) -> None:
	"""Decide where a message of the inbox belongs (see the module's docstring); the outcome is kept on the
	document for its log row."""
	config = settings()
	if not config.email_inbox or doc.email_account != config.email_inbox:
		return
	mail = current_mail(doc)
	outcome = frappe._dict(
		status="Processed",
		summary=None,
		error=None,
		record=None,
		notify=None,
		event_id=(doc.message_id or "")[:140] or None,
		payload=message_payload(doc, mail),
	)
	doc.flags.crm_mail = outcome
	filed_by_frappe = (doc.reference_doctype, doc.reference_name, doc.in_reply_to, list(doc.timeline_links))
	frappe.db.savepoint(SAVEPOINT)
	try:
		with as_system():
			file_message(doc, mail, config, outcome)
	except Exception as e:
		frappe.db.rollback(save_point=SAVEPOINT)
		# what a user would have been told (Frappe's message), else the error itself
		told = last_message()
		frappe.clear_last_message()
		doc.reference_doctype, doc.reference_name, doc.in_reply_to, links = filed_by_frappe
		doc.set("timeline_links", links)
		outcome.update(
			status="Failed",
			record=None,
			notify=None,
			summary="kept in the inbox, linked to nothing",
			error=told or strip_html(str(e)) or type(e).__name__,
		)
		frappe.log_error(title="simple_crm: e-mail not filed", reference_doctype="Communication")


def file_message(doc, mail, config, outcome) -> None:
	name = display_name(mail)
	if name:
		doc.sender_full_name = name
	address = sender_address(doc.sender)
	if not address:
		outcome.status = "Rejected"
		outcome.error = _(
			"The message has no valid sender address: it is kept in the inbox, linked to nothing"
		)
		outcome.summary = "no sender address"
		return
	key = message_key(doc, mail, address)
	if not claim(key, JOB):
		first = frappe.db.get_value(MARK, key, ["reference_doctype", "reference_name"])
		outcome.status = "Duplicate"
		outcome.summary = "filed before"
		if first and first[0] and first[1] and frappe.db.exists(first[0], first[1]):
			outcome.record = tuple(first)
			link(doc, outcome.record, [])
			outcome.summary = f"filed before, on {first[0]} {first[1]}"
		return

	thread = thread_record(doc, mail)
	matches = match_sender(address)
	automatic = automatic_kind(doc, mail, address)
	staff = is_company_address(address, config)
	record, made = thread or matches.primary, False
	if not record:
		reason = no_lead_reason(doc, config, automatic, staff)
		if reason:
			outcome.summary = reason
		else:
			record, made = ("CRM Lead", create_lead(doc, address, config)), True
	if record:
		link(doc, record, matches.links)
		frappe.db.set_value(
			MARK, key, {"reference_doctype": record[0], "reference_name": record[1]}, update_modified=False
		)
		outcome.record = record
		how = "new lead" if made else ("reply in the thread of" if thread else "from the person of")
		outcome.summary = f"{how} {record[0]} {record[1]}"
		if automatic:
			outcome.summary += f" ({automatic})"
		if not made and not automatic and not staff:
			outcome.notify = responsible_of(record)


def no_lead_reason(doc, config, automatic: str | None, staff: bool) -> str | None:
	"""Why a message from a sender nobody has makes no lead (None: it makes one)."""
	if automatic:
		return f"ignored: {automatic}"
	if staff:
		return "ignored: from the company's own address"
	if doc.reference_doctype or doc.in_reply_to:
		return "ignored: a reply in a conversation of the site"
	if not cint(config.email_create_leads):
		return "unknown sender: new leads from e-mail are switched off"
	sent = get_datetime(doc.communication_date) if doc.communication_date else None
	if sent and sent < add_to_date(now_datetime(), days=-OLD_MAIL_DAYS):
		return f"ignored: sent more than {OLD_MAIL_DAYS} days before it was fetched"
	return None


def sender_address(sender: str | None) -> str | None:
	"""The sender's address as the duplicate control keeps e-mails, or None when there is none."""
	address = parseaddr(sender or "")[1]
	if not address:
		return None
	try:
		return normalize_email(address, "E-mail")
	except frappe.ValidationError:
		frappe.clear_last_message()
		return None


def message_key(doc, mail, address: str) -> str:
	"""The mark of one message: its Message-ID, or what it says when it has none."""
	if doc.message_id:
		basis = f"id:{doc.message_id}"
	else:
		date = header(mail, "Date") or str(doc.communication_date or "")
		basis = "\n".join(("text", address, date, doc.subject or "", doc.text_content or doc.content or ""))
	return "email:" + hashlib.sha256(basis.encode("utf-8", "replace")).hexdigest()


def message_payload(doc, mail) -> dict:
	"""What the log keeps of a message: its envelope, not its text (that is the Communication)."""
	payload = {
		"message_id": doc.message_id,
		"from": doc.sender,
		"from_name": doc.sender_full_name,
		"to": doc.recipients,
		"cc": doc.cc,
		"subject": doc.subject,
		"date": str(doc.communication_date or ""),
		"size": len(doc.text_content or doc.content or ""),
	}
	for name in ("In-Reply-To", "References", "Auto-Submitted", "Precedence", "Return-Path"):
		value = header(mail, name)
		if value:
			payload[name.lower()] = value[:1000]
	return payload


# --- where a message belongs ----------------------------------------------------------------------------


def thread_record(doc, mail) -> tuple[str, str] | None:
	"""The CRM record of the conversation the message answers: the one Frappe found (In-Reply-To), else the
	latest record named by a message of References that the site sent or filed."""
	if doc.reference_doctype in RECORD_DOCTYPES and doc.reference_name:
		return (doc.reference_doctype, doc.reference_name)
	if doc.reference_doctype:
		return None
	ids = MESSAGE_ID.findall(header(mail, "References"))[-20:]
	if not ids:
		return None
	rows = frappe.get_all(
		"Communication",
		filters={"message_id": ("in", ids), "reference_doctype": ("in", RECORD_DOCTYPES)},
		fields=["name", "reference_doctype", "reference_name"],
		order_by="creation desc",
		limit=5,
	)
	for row in rows:
		if row.reference_name and frappe.db.exists(row.reference_doctype, row.reference_name):
			doc.in_reply_to = doc.in_reply_to or row.name
			return (row.reference_doctype, row.reference_name)
	return None


def match_sender(address: str) -> frappe._dict:
	"""The records of the person writing from `address`: `primary`, the record the message is filed on
	(their latest open lead, else contact, else client, else counterparty), and `links`, all of them (with
	the clients of the contacts and counterparties and what converted leads became)."""
	leads, contacts, clients, counterparties = [], [], [], []
	for row in duplicates.lookup({("Email", address)}):
		{
			"CRM Lead": leads,
			"Contact": contacts,
			"CRM Client": clients,
			"CRM Counterparty": counterparties,
		}[row.reference_doctype].append(row.reference_name)
	open_leads = []
	if leads:
		rows = frappe.get_all(
			"CRM Lead",
			filters={"name": ("in", leads)},
			fields=["name", "status", "client", "contact", "received_on", "creation"],
		)
		rows.sort(key=lambda r: (r.received_on or r.creation, r.name), reverse=True)
		open_leads = [r.name for r in rows if r.status in OPEN_LEAD_STATUSES]
		contacts += [r.contact for r in rows if r.contact and r.status not in OPEN_LEAD_STATUSES]
		clients += [r.client for r in rows if r.client and r.status not in OPEN_LEAD_STATUSES]
	contacts = frappe.get_all(
		"Contact", filters={"name": ("in", contacts or [""])}, order_by="modified desc", pluck="name"
	)
	if contacts:
		for row in frappe.get_all(
			"Dynamic Link",
			filters={
				"parenttype": "Contact",
				"parent": ("in", contacts),
				"link_doctype": ("in", ["CRM Client", "CRM Counterparty"]),
			},
			fields=["link_doctype", "link_name"],
			order_by="idx",
		):
			(clients if row.link_doctype == "CRM Client" else counterparties).append(row.link_name)
	if counterparties:
		clients += frappe.get_all(
			"CRM Counterparty",
			filters={"name": ("in", counterparties), "client": ("is", "set")},
			pluck="client",
		)
	clients = frappe.get_all(
		"CRM Client", filters={"name": ("in", clients or [""])}, order_by="creation desc", pluck="name"
	)
	ranked = [
		*(("CRM Lead", name) for name in open_leads),
		*(("Contact", name) for name in contacts),
		*(("CRM Client", name) for name in clients),
		*(("CRM Counterparty", name) for name in dict.fromkeys(counterparties)),
	]
	others = [("CRM Lead", name) for name in leads if name not in open_leads]
	links = list(dict.fromkeys([*ranked, *others]))[:LINK_LIMIT]
	return frappe._dict(primary=ranked[0] if ranked else None, links=links)


def link(doc, record: tuple[str, str], others: list[tuple[str, str]]) -> None:
	"""File the message on `record` (unless Frappe filed it on a record already) and on the others' timelines."""
	if not doc.reference_doctype:
		doc.reference_doctype, doc.reference_name = record
	present = {(row.link_doctype, row.link_name) for row in doc.get("timeline_links") or []}
	present.add((doc.reference_doctype, doc.reference_name))
	for doctype, name in [record, *others]:
		if (doctype, name) not in present:
			doc.add_link(doctype, name)
			present.add((doctype, name))


def automatic_kind(doc, mail, address: str) -> str | None:
	""" "auto-reply", "bounce" or "mailing list" for mail no person wrote, else None."""
	content_type = header(mail, "Content-Type").lower()
	if "multipart/report" in content_type or header(mail, "Return-Path") == "<>":
		return "bounce"
	if AUTOMATIC_SENDERS.match(address.split("@", 1)[0]):
		return (
			"bounce" if address.split("@", 1)[0].lower() in ("mailer-daemon", "postmaster") else "auto-reply"
		)
	auto_submitted = header(mail, "Auto-Submitted").lower()
	if (auto_submitted and auto_submitted != "no") or any(header(mail, name) for name in AUTO_REPLY_HEADERS):
		return "auto-reply"
	if header(mail, "Precedence").lower() in PRECEDENCE_AUTOMATIC:
		return "mailing list" if header(mail, "Precedence").lower() in ("bulk", "list") else "auto-reply"
	if header(mail, "List-Id") or header(mail, "List-Unsubscribe"):
		return "mailing list"
	if AUTOMATIC_SUBJECTS.match(doc.subject or ""):
		return "auto-reply"
	return None


def is_company_address(address: str, config) -> bool:
	"""Mail of the company itself: a user of the site, one of its e-mail accounts, or a listed domain."""
	if address.rsplit("@", 1)[-1] in own_domains(config):
		return True
	if frappe.db.exists("Email Account", {"email_id": address}):
		return True
	return bool(frappe.db.exists("User", {"email": address, "user_type": "System User", "enabled": 1}))


def person_name(display_name: str | None, address: str) -> str:
	"""A lead's name from the sender's display name (no markup, one line), else the address's local part."""
	name = " ".join(
		clean_text(display_name or "", multiline=False).replace("<", " ").replace(">", " ").split()
	)
	if not name or "@" in name:
		name = address.split("@", 1)[0].replace(".", " ").replace("_", " ").strip() or address
	return name[:140]


def interest_text(doc) -> str:
	"""The subject and the start of the message, as plain text."""
	body = doc.text_content or strip_html(doc.content or "")
	subject = clean_text(doc.subject or "", multiline=False)
	text = clean_text(body[: INTEREST_LIMIT * 4], multiline=True)
	joined = f"{subject}\n\n{text}" if subject and text else subject or text
	if len(joined) > INTEREST_LIMIT:
		joined = joined[: INTEREST_LIMIT - 1].rstrip() + "…"
	return joined


def received_time(doc) -> datetime.datetime:
	sent = get_datetime(doc.communication_date) if doc.communication_date else None
	now = now_datetime()
	return sent if sent and sent <= now else now


def create_lead(doc, address: str, config) -> str:
	source = config.email_lead_source or DEFAULT_SOURCE
	if not frappe.db.get_value("CRM Lead Source", {"name": source, "disabled": 0}):
		source = None  # a source switched off or removed costs the message nothing
	lead = frappe.get_doc(
		{
			"doctype": "CRM Lead",
			"lead_name": person_name(doc.sender_full_name, address),
			"email": address,
			"interest": interest_text(doc) or None,
			"status": "New",
			"received_on": received_time(doc),
			"source": source,
			"channel": LEAD_CHANNEL,
		}
	)
	# the channel looked the person up itself: what is left (a disqualified lead) neither blocks the message
	# nor is told to its sender
	lead.flags.ignore_duplicates = True
	lead.insert(ignore_permissions=True)
	return lead.name


def responsible_of(record: tuple[str, str]) -> str | None:
	doctype, name = record
	if doctype == "CRM Counterparty":
		client = frappe.db.get_value(doctype, name, "client")
		return frappe.db.get_value("CRM Client", client, "responsible") if client else None
	field = {**duplicates.RESPONSIBLE_FIELD, "CRM Deal": "responsible"}.get(doctype)
	return frappe.db.get_value(doctype, name, field) if field else None


def tell_responsible(user: str, record: tuple[str, str], doc) -> None:
	who = escape_html(doc.sender_full_name or doc.sender or "")
	with in_language(user):
		notify(
			user,
			_("E-mail from {0}: {1}").format(who, escape_html((doc.subject or "")[:100])),
			"{}<br><a href='{}'>{}</a>".format(
				escape_html(interest_text(doc)[:500]).replace("\n", "<br>"),
				desk_link(*record),
				_("Open the record"),
			),
			*record,
		)


# --- outgoing -------------------------------------------------------------------------------------------


def is_crm_record(doctype: str | None, name: str | None) -> bool:
	"""A record of the CRM: one of its doctypes, or a contact of its leads, clients or counterparties."""
	if not doctype or not name or doctype not in ROW_LEVEL_DOCTYPES:
		return False
	if doctype != "Contact":
		return True
	return bool(
		frappe.db.exists(
			"Dynamic Link",
			{"parenttype": "Contact", "parent": name, "link_doctype": ("in", duplicates.CRM_LINK_DOCTYPES)},
		)
	)


def use_company_account(doc) -> None:
	"""An e-mail a user writes about a CRM record goes out through the default outgoing account, from its
	address under the writer's name, unless the writer's address has an outgoing account of its own. The writer
	stays its owner (the activity report counts it for them)."""
	if doc.email_account or not is_crm_record(doc.reference_doctype, doc.reference_name):
		return
	writer = frappe.session.user
	address = parseaddr(doc.sender or "")[1]
	# only what a user writes as themselves (the e-mail dialog); a record of mail sent elsewhere stays as it is
	if not address or address.lower() != (frappe.db.get_value("User", writer, "email") or "").lower():
		return
	if frappe.db.exists("Email Account", {"email_id": address, "enable_outgoing": 1}):
		return
	account = frappe.db.get_value(
		"Email Account", {"default_outgoing": 1, "enable_outgoing": 1}, ["name", "email_id"], as_dict=True
	)
	if not account or not account.email_id:
		return  # Frappe tells the writer that there is no outgoing account
	doc.email_account = account.name
	doc.sender = account.email_id
	# under the writer's own name: the company's address lends no other name (nobody writes as the director)
	doc.sender_full_name = get_fullname(writer)
