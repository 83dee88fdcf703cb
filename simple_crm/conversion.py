"""Lead conversion: a lead becomes a client, a contact person and, optionally, a deal, in one step
that keeps the lead's history and links everything back to it.

All of it happens in one transaction behind a savepoint: if any step fails (a deal that does not
validate, a permission missing), everything the conversion wrote is rolled back and the error is
raised again, so a caller that catches it (a bulk job) finds the lead exactly as it was. That includes
the Desk's search bar: Frappe queues a record for global search in Redis the moment it is saved, outside
the transaction, so the records written here are queued only once the transaction commits.

A client or contact found by the duplicate check is reused only if the converting user can see it;
otherwise `Simple CRM Settings.conversion_foreign_match` decides: refuse, naming the manager responsible
for it, or create a new client and contact and leave the colleague's alone (a head of sales merges
them later). Nothing is written into a record the user cannot see.
"""

from contextlib import contextmanager

import frappe
from frappe import _
from frappe.core.doctype.comment.comment import update_comment_in_doc
from frappe.model.document import Document
from frappe.utils import get_fullname, get_link_to_form, now_datetime, validate_phone_number
from frappe.utils.global_search import update_global_search

from simple_crm import pipelines
from simple_crm.calls import client_of_contact
from simple_crm.constants import LEAD_CONVERTED
from simple_crm.duplicates import describe_records, drop_converted_leads, lookup
from simple_crm.permissions import record_visible
from simple_crm.timeline import text
from simple_crm.utils import phones
from simple_crm.validation import default_phone_region

CLIENT_TYPES = ("Organisation", "Individual")
CONVERTED = LEAD_CONVERTED
SAVEPOINT = "simple_crm_convert_lead"

# Simple CRM Settings.conversion_foreign_match
REFUSE = "Refuse"
CREATE_NEW = "Create New"


class LeadConversionError(frappe.ValidationError):
	pass


class LeadAlreadyConvertedError(LeadConversionError):
	pass


class ForeignMatchError(LeadConversionError):
	"""The duplicate check found a client or contact the converting user cannot see."""


def convert_lead(
	lead: str | Document,
	client_type: str = "Organisation",
	create_deal: bool = True,
	deal_amount: float | None = None,
	existing_client: str | None = None,
	existing_contact: str | None = None,
) -> frappe._dict:
	"""Convert `lead`; returns the names of the lead, client, contact and deal (None if not created).

	An existing client or contact is reused when given, or when the duplicate index finds exactly
	one by the lead's phones and e-mail; otherwise they are created from the lead.
	"""
	lead = frappe.get_doc("CRM Lead", lead if isinstance(lead, str) else lead.name)
	check_convertible(lead, client_type)

	frappe.db.savepoint(SAVEPOINT)
	try:
		with global_search_deferred():
			result = _convert(lead, client_type, create_deal, deal_amount, existing_client, existing_contact)
	except Exception:
		frappe.db.rollback(save_point=SAVEPOINT)
		raise
	frappe.db.release_savepoint(SAVEPOINT)
	index_after_commit(result)
	return result


@contextmanager
def global_search_deferred():
	"""Frappe pushes every saved record onto the global search queue in Redis at once, and a scheduled job
	writes the queue into `__global_search`; a rolled-back savepoint cannot take the push back, and a failed
	conversion left a client nobody has in the search bar. Within the conversion nothing is pushed (the
	site's own `disable_global_search` switch, for this request only); `index_after_commit` pushes what
	it wrote once it is committed."""
	conf = frappe.local.conf
	had_switch, previous = "disable_global_search" in conf, conf.get("disable_global_search")
	conf.disable_global_search = True
	try:
		yield
	finally:
		if had_switch:
			conf.disable_global_search = previous
		else:
			conf.pop("disable_global_search", None)


def index_after_commit(result: frappe._dict) -> None:
	records = [
		(doctype, result[key])
		for doctype, key in (
			("CRM Lead", "lead"),
			("CRM Client", "client"),
			("Contact", "contact"),
			("CRM Deal", "deal"),
		)
		if result.get(key)
	]

	def index():
		for doctype, name in records:
			if frappe.db.exists(doctype, name):
				update_global_search(frappe.get_doc(doctype, name))

	frappe.db.after_commit.add(index)


def check_convertible(lead, client_type: str) -> None:
	if lead.status == CONVERTED or lead.client:
		frappe.throw(
			_("Lead {0} has already been converted into client {1}").format(
				frappe.bold(lead.name), frappe.bold(lead.client or "")
			),
			LeadAlreadyConvertedError,
			title=_("Already Converted"),
		)
	if lead.status == "Disqualified":
		frappe.throw(
			_("Lead {0} is disqualified: reopen it before converting it").format(frappe.bold(lead.name)),
			LeadConversionError,
		)
	if client_type not in CLIENT_TYPES:
		frappe.throw(
			_("Client type must be one of {0}, got {1}").format(
				", ".join(_(t) for t in CLIENT_TYPES), client_type
			),
			LeadConversionError,
		)


def _convert(lead, client_type, create_deal, deal_amount, existing_client, existing_contact) -> frappe._dict:
	client_name, contact_name = choose_existing(lead, existing_client, existing_contact)
	client = frappe.get_doc("CRM Client", client_name) if client_name else make_client(lead, client_type)
	if contact_name:
		contact = frappe.get_doc("Contact", contact_name)
		link_contact(contact, client, lead)
	else:
		contact = make_contact(lead, client)
	deal = make_deal(lead, client, contact, deal_amount) if create_deal else None

	carry_over_activities(lead, client, contact)
	mark_converted(lead, client, contact, deal)
	return frappe._dict(
		lead=lead.name, client=client.name, contact=contact.name, deal=deal.name if deal else None
	)


def lead_points(lead) -> set[tuple[str, str]]:
	points = {("Phone", lead.get("phone_normalized")), ("Phone", lead.get("mobile_no_normalized"))}
	points.add(("Email", (lead.get("email") or "").strip().lower()))
	return {(kind, value) for kind, value in points if value}


def find_existing(lead) -> tuple[str | None, str | None]:
	"""The one client and the one contact the duplicate index finds by the lead's phones and e-mail."""
	matches = drop_converted_leads(lookup(lead_points(lead), exclude={("CRM Lead", lead.name)}))
	clients = {m.reference_name for m in matches if m.reference_doctype == "CRM Client"}
	contacts = {m.reference_name for m in matches if m.reference_doctype == "Contact"}
	return (
		clients.pop() if len(clients) == 1 else None,
		contacts.pop() if len(contacts) == 1 else None,
	)


def choose_existing(
	lead, existing_client: str | None, existing_contact: str | None
) -> tuple[str | None, str | None]:
	"""The client and contact to reuse: those the caller chose (the endpoint has checked them), else those
	the duplicate index finds, if the converting user can see them (see `usable_match`)."""
	found_client, found_contact = find_existing(lead)
	client_name = existing_client or usable_match("CRM Client", found_client)
	contact_name = existing_contact or usable_match("Contact", found_contact)
	if not client_name and contact_name:
		client_name = usable_match("CRM Client", client_of_contact(contact_name))
	return client_name, contact_name


def foreign_match_policy() -> str:
	return frappe.db.get_single_value("Simple CRM Settings", "conversion_foreign_match") or REFUSE


def usable_match(doctype: str, name: str | None) -> str | None:
	"""`name` if the converting user can see it; for a record they cannot see, None (a new one is created)
	or a ForeignMatchError, as the settings say."""
	if not name or record_visible(doctype, name):
		return name
	if foreign_match_policy() == CREATE_NEW:
		return None
	kind = _("A client") if doctype == "CRM Client" else _("A contact person")
	responsible = describe_records([(doctype, name)])[(doctype, name)].responsible
	if responsible:
		message = _(
			"{0} with the lead's phone or e-mail already exists and {1} is responsible for it: "
			"ask them or your head of sales to convert this lead"
		).format(kind, frappe.bold(get_fullname(responsible)))
	else:
		message = _(
			"{0} with the lead's phone or e-mail already exists and is not one of the records you can see: "
			"ask your head of sales to convert this lead"
		).format(kind)
	frappe.throw(message, ForeignMatchError, title=_("Another Manager's Client"))


def make_client(lead, client_type: str):
	if client_type == "Organisation":
		client_name = (lead.company_name or "").strip()
		if not client_name:
			frappe.throw(
				_(
					"Lead {0} has no company name: fill it in or convert the lead into an individual client"
				).format(frappe.bold(lead.name)),
				LeadConversionError,
			)
	else:
		client_name = lead.lead_name.strip()
	client = frappe.get_doc(
		{
			"doctype": "CRM Client",
			"client_name": client_name,
			"client_type": client_type,
			"responsible": lead.responsible,
			"source_lead": lead.name,
			"website": lead.website,
		}
	)
	if client_type == "Individual":
		# the client is the person: their phone and e-mail are the client's
		client.phone = lead.mobile_no or lead.phone
		client.email = lead.email
	else:
		# the number the company called from is the one the client is called back at (the person's own
		# numbers and e-mail go to the contact)
		client.phone = lead.phone or lead.mobile_no
	return client.insert()


def split_name(full_name: str) -> tuple[str, str | None]:
	first, _sep, rest = (full_name or "").strip().partition(" ")
	return first, rest.strip() or None


def make_contact(lead, client):
	first_name, last_name = split_name(lead.lead_name)
	phones = []
	if lead.phone:
		phones.append({"phone": contact_phone(lead.phone), "is_primary_phone": 1})
	if lead.mobile_no:
		phones.append({"phone": contact_phone(lead.mobile_no), "is_primary_mobile_no": 1})
	contact = frappe.get_doc(
		{
			"doctype": "Contact",
			"first_name": first_name,
			"last_name": last_name,
			"company_name": client.client_name if client.client_type == "Organisation" else None,
			"crm_responsible": lead.responsible,
			"phone_nos": phones,
			"email_ids": [{"email_id": lead.email, "is_primary": 1}] if lead.email else [],
			"links": [
				{"link_doctype": "CRM Client", "link_name": client.name},
				{"link_doctype": "CRM Lead", "link_name": lead.name},
			],
		}
	)
	return contact.insert()


def contact_phone(raw: str) -> str:
	"""The lead's number as a contact person's phone. A lead keeps the number as typed ("8 (916) 555-12-34
	доб. 12"), but Frappe's phone field of a contact takes digits, spaces and a few signs only, up to 20
	characters: such a number is written in its international form, the extension after "#" (which the
	app reads back as the extension)."""
	if validate_phone_number(raw):
		return raw
	number = phones.parse_phone(raw, default_phone_region())
	extension = f"#{number.extension}" if number.extension else ""
	for form in (number.international + extension, number.e164 + extension):
		if validate_phone_number(form):
			return form
	return number.e164


def link_contact(contact, client, lead) -> None:
	"""An existing contact gets links to the client and to the lead it is now known through."""
	linked = {(link.link_doctype, link.link_name) for link in contact.links}
	missing = [pair for pair in (("CRM Client", client.name), ("CRM Lead", lead.name)) if pair not in linked]
	for link_doctype, link_name in missing:
		contact.append("links", {"link_doctype": link_doctype, "link_name": link_name})
	if missing:
		contact.save(ignore_permissions=True)


def make_deal(lead, client, contact, deal_amount: float | None):
	pipeline = pipelines.default_pipeline()
	first_stage = pipelines.first_open_stage(pipeline) if pipeline else None
	interest = (lead.interest or "").strip().splitlines()
	deal = frappe.get_doc(
		{
			"doctype": "CRM Deal",
			"deal_name": " — ".join([client.client_name, interest[0][:100]]) if interest else None,
			"pipeline": pipeline,
			"stage": first_stage.stage_name if first_stage else None,
			"client": client.name,
			"source_lead": lead.name,
			"responsible": lead.responsible,
			"amount": deal_amount,
			"contacts": [{"contact": contact.name, "is_primary": 1}],
		}
	)
	return deal.insert()


def carry_over_activities(lead, client, contact) -> None:
	"""The lead's history goes on with the client: comments are copied, e-mails linked, calls
	relinked, and the lead's tasks listed on the client (they stay on the lead they were about)."""
	copy_comments(lead, client)
	link_communications(lead, client)
	relink_calls(lead, client, contact)
	note_tasks_and_origin(lead, client)


def copy_comments(lead, client) -> None:
	"""The lead's comments, copied as they were (author, time) onto the client, without notifying
	anyone mentioned in them a second time."""
	comments = frappe.get_all(
		"Comment",
		filters={"reference_doctype": lead.doctype, "reference_name": lead.name, "comment_type": "Comment"},
		fields=["content", "comment_email", "comment_by", "owner", "creation", "modified", "modified_by"],
		order_by="creation asc",
	)
	for original in comments:
		copy = frappe.get_doc(
			{"doctype": "Comment", "comment_type": "Comment", "reference_doctype": client.doctype, **original}
		)
		copy.reference_name = client.name
		copy.reference_owner = client.owner
		copy.db_insert()
		update_comment_in_doc(copy)


def link_communications(lead, client) -> None:
	"""E-mails with the lead appear on the client's timeline too (a timeline link, no copy)."""
	names = set(
		frappe.get_all(
			"Communication",
			filters={"reference_doctype": lead.doctype, "reference_name": lead.name},
			pluck="name",
		)
	)
	names.update(
		frappe.get_all(
			"Communication Link",
			filters={"parenttype": "Communication", "link_doctype": lead.doctype, "link_name": lead.name},
			pluck="parent",
		)
	)
	for name in sorted(names):
		communication = frappe.get_doc("Communication", name)
		if any(
			link.link_doctype == client.doctype and link.link_name == client.name
			for link in communication.timeline_links
		):
			continue
		row = communication.append(
			"timeline_links", {"link_doctype": client.doctype, "link_name": client.name}
		)
		row.creation = row.modified = now_datetime()
		row.db_insert()


def relink_calls(lead, client, contact) -> None:
	"""Calls with the lead now also belong to the client and its contact person."""
	call = frappe.qb.DocType("CRM Call")
	for fieldname, value in (("client", client.name), ("contact", contact.name)):
		field = call[fieldname]
		(
			frappe.qb.update(call)
			.set(field, value)
			.where((call.lead == lead.name) & (field.isnull() | (field == "")))
			.run()
		)


def note_tasks_and_origin(lead, client) -> None:
	"""One note on the client's timeline: where it came from and the tasks the lead had."""
	tasks = frappe.get_all(
		"CRM Task",
		filters={"reference_doctype": lead.doctype, "reference_name": lead.name},
		fields=["name", "subject", "status"],
		order_by="creation asc",
	)
	note = _("Converted from lead {0}").format(
		get_link_to_form(lead.doctype, lead.name, text(lead.lead_name))
	)
	if tasks:
		items = "".join(
			"<li>{} ({})</li>".format(
				get_link_to_form("CRM Task", t.name, text(t.subject or t.name)), _(t.status)
			)
			for t in tasks
		)
		note += "<br>" + _("Tasks of the lead:") + f"<ul>{items}</ul>"
	client.add_comment("Info", note)


def mark_converted(lead, client, contact, deal) -> None:
	"""Link the lead to what it became, then set it Converted.

	Two saves: a Workflow on the lead may allow the Converted state only once the lead has a client
	(Frappe evaluates transition conditions on the lead as stored before the save).
	"""
	lead.client = client.name
	lead.contact = contact.name
	lead.deal = deal.name if deal else None
	lead.converted_on = now_datetime()
	lead.flags.from_conversion = True
	lead.save(ignore_permissions=True)
	lead.status = CONVERTED
	lead.flags.from_conversion = True
	lead.save(ignore_permissions=True)
