"""Records a hostile user must never read or change, marked so that a leak is found in any response.

`build_world()` creates, as Administrator and committed, one record of every row-level doctype for
sales1 and sales2 (team A) and for sales3 (team B), with their child rows and the Frappe rows that
describe them (ToDo, Comment, Version, File, Communication, Workflow Action, Tag Link, Activity Log,
Document Follow, Notification Log, Discussion Topic and Reply, a like and a share, and an Auto Repeat of the
task). Every text a record carries contains its owner's
marker (an ASCII token no other record, fixture or message contains), and its money fields carry amounts
no other record has, so `leaks()` finds any of it in a response body however it is encoded.

`snapshot()` reads back everything a write could change: the records and their child rows (all columns),
and the rows of other doctypes that point at them; two equal snapshots mean nothing was written.
"""

import base64
import json
import re
import uuid
from dataclasses import dataclass, field

import frappe
from frappe.utils import add_days, now_datetime, nowdate

from simple_crm.tests import factories
from simple_crm.tests.sales_org import RECORD_DOCTYPES, email
from simple_crm.utils import identifiers

# written out here on purpose, not imported from simple_crm.constants: a doctype dropped from the app's
# list by mistake is still attacked
ROW_LEVEL = (
	"CRM Lead",
	"CRM Deal",
	"CRM Client",
	"CRM Counterparty",
	"CRM Order",
	"CRM Task",
	"CRM Call",
	"Contact",
	"CRM Complaint",
)
# child table -> (parent doctype, parentfield)
CHILD_TABLES = {
	"CRM Deal Item": ("CRM Deal", "items"),
	"CRM Deal Manager": ("CRM Deal", "co_managers"),
	"CRM Deal Contact": ("CRM Deal", "contacts"),
	"CRM Deal Competitor": ("CRM Deal", "competitors"),
	"CRM Important Date": ("CRM Client", "important_dates"),
	"CRM Counterparty Bank Account": ("CRM Counterparty", "bank_accounts"),
	"CRM Task Checklist Item": ("CRM Task", "checklist"),
	"Contact Email": ("Contact", "email_ids"),
	"Contact Phone": ("Contact", "phone_nos"),
	"Dynamic Link": ("Contact", "links"),
}
# Frappe doctypes whose rows describe a CRM record: doctype -> (reference doctype column, name column)
DESCRIBING = {
	"ToDo": ("reference_type", "reference_name"),
	"Comment": ("reference_doctype", "reference_name"),
	"Version": ("ref_doctype", "docname"),
	"File": ("attached_to_doctype", "attached_to_name"),
	"Communication": ("reference_doctype", "reference_name"),
	"Workflow Action": ("reference_doctype", "reference_name"),
	"Tag Link": ("document_type", "document_name"),
	"Activity Log": ("reference_doctype", "reference_name"),
	"Document Follow": ("ref_doctype", "ref_docname"),
	"Notification Log": ("document_type", "document_name"),
	"DocShare": ("share_doctype", "share_name"),
	"Auto Repeat": ("reference_doctype", "reference_document"),
	"Email Unsubscribe": ("reference_doctype", "reference_name"),
	"Energy Point Log": ("reference_doctype", "reference_name"),
	"Discussion Topic": ("reference_doctype", "reference_docname"),
	"Deleted Document": ("deleted_doctype", "deleted_name"),
}
# CRM records pointing at other CRM records (a write could hang one of these on a foreign record)
POINTING = {
	"CRM Task": (("reference_doctype", "reference_name"),),
	"CRM Call": (
		("CRM Lead", "lead"),
		("CRM Client", "client"),
		("Contact", "contact"),
		("CRM Deal", "deal"),
	),
	"CRM Order": (("CRM Deal", "deal"), ("CRM Client", "client"), ("CRM Counterparty", "counterparty")),
	"CRM Deal": (("CRM Client", "client"), ("CRM Counterparty", "counterparty"), ("CRM Lead", "source_lead")),
	"CRM Counterparty": (("CRM Client", "client"),),
	"CRM Lead": (("CRM Client", "client"), ("Contact", "contact"), ("CRM Deal", "deal")),
	"CRM Deal Contact": (("Contact", "contact"),),
	"CRM Complaint": (
		("CRM Client", "client"),
		("Contact", "contact"),
		("CRM Deal", "deal"),
		("CRM Order", "crm_order"),
	),
}
OWNERS = ("sales1", "sales2", "sales3")
# amounts no other record has, one set per owner (a leak of a number shows in any of its renderings)
AMOUNTS = {
	"sales1": (987651.31, 876541.71, 765431.61, 654321.51),
	"sales2": (987652.32, 876542.72, 765432.62, 654322.52),
	"sales3": (987653.33, 876543.73, 765433.63, 654323.53),
}


@dataclass
class OwnerRecords:
	"""One owner's records: doctype -> name, the marker in all their texts and the values to look for."""

	owner: str
	marker: str
	names: dict[str, str] = field(default_factory=dict)
	# rows of other doctypes describing the records: (doctype of the row, doctype of the record) -> name
	related: dict[tuple[str, str], str] = field(default_factory=dict)
	# further distinctive values (phones, e-mails, ИНН, amounts) that are not names
	values: set[str] = field(default_factory=set)
	tag: str = ""

	def record_names(self) -> set[str]:
		return set(self.names.values())

	def secrets(self) -> set[str]:
		"""Every string whose presence in a response would be a leak (unless the caller sent it)."""
		found = {self.marker, self.tag, *self.values, *self.names.values()}
		found.update(self.related.values())
		return {s for s in found if s}


def _token(key: str) -> str:
	return f"zq{key.replace('sales', 's')}x{uuid.uuid4().hex[:12]}"


def _amount_forms(value: float) -> set[str]:
	whole, cents = f"{value:.2f}".split(".")
	grouped = f"{int(whole):,}"
	return {
		f"{value:.2f}",
		f"{whole},{cents}",
		f"{grouped}.{cents}",
		grouped.replace(",", " ") + f",{cents}",
		grouped.replace(",", "\u00a0") + f",{cents}",
		grouped.replace(",", ".") + f",{cents}",
	}


def make_owner_records(key: str, describe: bool = True) -> OwnerRecords:
	"""The records of one sales manager (created as Administrator, not committed), with the rows describing
	them unless `describe` is false."""
	owner = email(key)
	mark = _token(key)
	rec = OwnerRecords(owner=owner, marker=mark)
	deal_amount, turnover, debt, order_amount = AMOUNTS[key]
	rng = factories._rng

	client = factories.make_client(
		responsible=owner,
		client_name=f"Client {mark}",
		description=f"<p>Notes {mark}</p>",
		email=f"{mark}.client@example.com",
		important_dates=[{"date_type": "Birthday", "date": "1980-05-17", "description": f"Date {mark}"}],
	)
	frappe.db.set_value("CRM Client", client.name, {"turnover": turnover, "debt": debt})
	# a contact's name is made of its names: the marker goes elsewhere, or every request naming the contact
	# would carry (and so excuse) the marker
	contact = factories.make_contact(
		client.name,
		designation=f"Buyer {mark}",
		company_name=f"Company {mark}",
		email=f"{mark}.contact@example.com",
	)
	inn = identifiers.make_inn(rng, "organisation")
	bik = identifiers.make_bik(rng)
	counterparty = factories.make_counterparty(
		client.name,
		inn=inn,
		full_name=f"Full name {mark}",
		short_name=f"Short {mark}",
		director=f"Director {mark}",
		bank_accounts=[
			{
				"bank_name": f"Bank {mark}",
				"bik": bik,
				"settlement_account": identifiers.make_settlement_account(rng, bik),
			}
		],
	)
	deal = factories.make_deal(
		client.name,
		responsible=owner,
		deal_name=f"Deal {mark}",
		counterparty=counterparty.name,
		amount=deal_amount,
		lost_comment=f"Comment {mark}",
		items=[{"item_name": f"Item {mark}", "qty": 1, "rate": deal_amount, "description": f"Desc {mark}"}],
		contacts=[{"contact": contact.name, "role": f"Role {mark}"}],
		competitors=[{"competitor_name": f"Rival {mark}", "offer": f"Offer {mark}", "price": 123}],
	)
	lead = factories.make_lead(
		responsible=owner,
		lead_name=f"Lead {mark}",
		company_name=f"Company {mark}",
		interest=f"Interest {mark}",
		email=f"{mark}.lead@example.com",
	)
	task = factories.make_task(
		assigned_to=owner,
		author=owner,
		subject=f"Task {mark}",
		description=f"<p>Task notes {mark}</p>",
		reference_doctype="CRM Deal",
		reference_name=deal.name,
		checklist=[{"step": f"Step {mark}"}],
	)
	call = factories.make_call(
		manager=owner, client=client.name, deal=deal.name, topic=f"Topic {mark}", comment=f"Call {mark}"
	)
	order = factories.make_order(
		client=client.name,
		deal=deal.name,
		external_id=f"ext-{mark}",
		order_number=f"No {mark}",
		amount=order_amount,
	)
	complaint = factories.make_complaint(
		client.name,
		contact=contact.name,
		deal=deal.name,
		crm_order=order.name,
		responsible=owner,
		subject=f"Complaint {mark}",
		description=f"<p>Claim {mark}</p>",
		resolution=f"Answer {mark}",
	)
	rec.names = {
		"CRM Client": client.name,
		"CRM Deal": deal.name,
		"CRM Lead": lead.name,
		"CRM Counterparty": counterparty.name,
		"Contact": contact.name,
		"CRM Task": task.name,
		"CRM Call": call.name,
		"CRM Order": order.name,
		"CRM Complaint": complaint.name,
	}
	for amount in AMOUNTS[key]:
		rec.values |= _amount_forms(amount)
	for doctype, name in rec.names.items():
		for fieldname in (
			"phone",
			"phone_normalized",
			"mobile_no",
			"mobile_no_normalized",
			"email_id",
			"inn",
		):
			if frappe.get_meta(doctype).has_field(fieldname):
				value = frappe.db.get_value(doctype, name, fieldname)
				if value and len(value) > 6:
					rec.values.add(value)
	rec.values.add(contact.full_name)
	for phone in frappe.get_all("Contact Phone", {"parent": contact.name}, pluck="phone"):
		rec.values.add(phone)
	rec.tag = f"tag{mark}"
	if describe:
		describe_records(rec)
	return rec


def describe_records(rec: OwnerRecords) -> None:
	"""The Frappe rows that describe each record, each carrying the owner's marker."""
	mark = rec.marker
	related: dict[tuple[str, str], str] = {}

	def keep(doc):
		related[(doc.doctype, doctype)] = doc.name
		return doc

	if not frappe.db.exists("Tag", rec.tag):
		frappe.get_doc({"doctype": "Tag", "name": rec.tag}).insert(ignore_permissions=True)
	for doctype, name in rec.names.items():
		doc = frappe.get_doc(doctype, name)
		keep(
			frappe.get_doc(
				{
					"doctype": "ToDo",
					"allocated_to": rec.owner,
					"reference_type": doctype,
					"reference_name": name,
					"description": f"Todo {mark}",
					"assigned_by": "Administrator",
				}
			).insert(ignore_permissions=True)
		)
		keep(doc.add_comment("Comment", f"Comment {mark}", comment_email=rec.owner))
		keep(
			frappe.get_doc(
				{
					"doctype": "File",
					"file_name": f"file-{mark}.txt",
					"attached_to_doctype": doctype,
					"attached_to_name": name,
					"is_private": 1,
					"content": f"File {mark}".encode(),
				}
			).insert(ignore_permissions=True)
		)
		keep(
			frappe.get_doc(
				{
					"doctype": "Communication",
					"communication_type": "Communication",
					"communication_medium": "Email",
					"sent_or_received": "Received",
					"subject": f"Mail {mark}",
					"content": f"Mail body {mark}",
					"sender": f"{mark}.sender@example.com",
					"reference_doctype": doctype,
					"reference_name": name,
				}
			).insert(ignore_permissions=True)
		)
		keep(
			frappe.get_doc(
				{
					"doctype": "Workflow Action",
					"status": "Open",
					"reference_doctype": doctype,
					"reference_name": name,
					"workflow_state": f"State {mark}"[:140],
					"user": rec.owner,
				}
			).insert(ignore_permissions=True)
		)
		keep(
			frappe.get_doc(
				{
					"doctype": "Tag Link",
					"document_type": doctype,
					"document_name": name,
					"tag": rec.tag,
					"title": f"Tagged {mark}",
				}
			).insert(ignore_permissions=True)
		)
		frappe.db.set_value(doctype, name, "_user_tags", f",{rec.tag}", update_modified=False)
		frappe.db.set_value(doctype, name, "_liked_by", json.dumps([rec.owner]), update_modified=False)
		keep(
			frappe.get_doc(
				{
					"doctype": "Activity Log",
					"subject": f"Activity {mark}",
					"reference_doctype": doctype,
					"reference_name": name,
					"status": "Success",
					"user": rec.owner,
				}
			).insert(ignore_permissions=True)
		)
		keep(
			frappe.get_doc(
				{"doctype": "Document Follow", "ref_doctype": doctype, "ref_docname": name, "user": rec.owner}
			).insert(ignore_permissions=True)
		)
		keep(
			frappe.get_doc(
				{
					"doctype": "Notification Log",
					"for_user": rec.owner,
					"type": "Alert",
					"subject": f"Notice {mark}",
					"email_content": f"Notice body {mark}",
					"document_type": doctype,
					"document_name": name,
				}
			).insert(ignore_permissions=True)
		)
		keep(
			frappe.get_doc(
				{
					"doctype": "DocShare",
					"share_doctype": doctype,
					"share_name": name,
					"user": rec.owner,
					"read": 1,
				}
			).insert(ignore_permissions=True)
		)
		topic = keep(
			frappe.get_doc(
				{
					"doctype": "Discussion Topic",
					"title": f"Topic {mark}",
					"reference_doctype": doctype,
					"reference_docname": name,
				}
			).insert(ignore_permissions=True)
		)
		keep(
			frappe.get_doc(
				{"doctype": "Discussion Reply", "topic": topic.name, "reply": f"Reply {mark}"}
			).insert(ignore_permissions=True)
		)
		# the tag itself: its text is the owner's (it is on their records only)
		related[("Tag", doctype)] = rec.tag
	# a Version with the marker in its data: a save of the records that track changes
	for doctype in ("CRM Deal", "CRM Lead", "CRM Client", "CRM Task", "CRM Complaint"):
		doc = frappe.get_doc(doctype, rec.names[doctype])
		field_name = {
			"CRM Deal": "lost_comment",
			"CRM Lead": "lost_comment",
			"CRM Client": "website",
			"CRM Complaint": "resolution",
		}.get(doctype, "result")
		doc.set(field_name, f"Changed {mark}")
		doc.save(ignore_permissions=True)
		version = frappe.db.get_value("Version", {"ref_doctype": doctype, "docname": doc.name}, "name")
		if version:
			related[("Version", doctype)] = version
	# the task repeats (Frappe's Auto Repeat), its e-mail subject carrying the marker
	repeat = frappe.get_doc(
		{
			"doctype": "Auto Repeat",
			"reference_doctype": "CRM Task",
			"reference_document": rec.names["CRM Task"],
			"frequency": "Monthly",
			"start_date": add_days(nowdate(), 30),
			"subject": f"Repeat {mark}",
		}
	).insert(ignore_permissions=True)
	related[("Auto Repeat", "CRM Task")] = repeat.name
	rec.related = related


def build_world() -> dict[str, OwnerRecords]:
	frappe.set_user("Administrator")
	world = {key: make_owner_records(key) for key in OWNERS}
	frappe.db.commit()
	return world


def destroy_world(world: dict[str, OwnerRecords]) -> None:
	frappe.db.rollback()
	frappe.set_user("Administrator")
	for rec in world.values():
		for doctype in ("CRM Complaint", *RECORD_DOCTYPES):  # what links to others goes first
			name = rec.names.get(doctype)
			if name:
				delete_described(doctype, name)
				if frappe.db.exists(doctype, name):
					frappe.delete_doc(doctype, name, force=True, ignore_permissions=True)
		frappe.db.delete("Tag Link", {"tag": rec.tag})
		frappe.db.delete("Tag", {"name": rec.tag})
	frappe.db.commit()


def delete_described(doctype: str, name: str) -> None:
	topics = frappe.get_all(
		"Discussion Topic", {"reference_doctype": doctype, "reference_docname": name}, pluck="name"
	)
	if topics:
		frappe.db.delete("Discussion Reply", {"topic": ("in", topics)})
	for related, (dt_column, name_column) in DESCRIBING.items():
		if related == "Deleted Document":
			continue
		frappe.db.delete(related, {dt_column: doctype, name_column: name})


# --- what a response may not contain -----------------------------------------------------------------


def leaks(text: str, secrets: set[str], sent: str) -> list[str]:
	"""The secrets found in a response body `text` (raw and JSON-decoded) that the request did not carry
	itself (`sent`: the request's path and body as text). A name the attacker sent may come back in an
	error message; a title, a value or another record's name may not."""
	haystacks = [text]
	decoded = _decoded(text)
	if decoded != text:
		haystacks.append(decoded)
	found = []
	for secret in secrets:
		if secret in sent:
			continue
		if any(secret in h for h in haystacks):
			found.append(secret)
	return sorted(found)


def _decoded(text: str) -> str:
	"""The response with JSON string escapes undone (also inside `_server_messages`, JSON in JSON) and
	base64 payloads (file contents) decoded."""
	out = [text]
	try:
		data = json.loads(text)
	except ValueError:
		return text
	stack = [data]
	while stack:
		item = stack.pop()
		if isinstance(item, dict):
			stack.extend(item.values())
			stack.extend(str(k) for k in item.keys())
		elif isinstance(item, list):
			stack.extend(item)
		elif isinstance(item, str):
			out.append(item)
			if item[:1] in "[{":
				try:
					stack.append(json.loads(item))
				except ValueError:
					pass
			if len(item) > 16 and re.fullmatch(r"[A-Za-z0-9+/=\s]+", item):
				try:
					out.append(base64.b64decode(item).decode("utf-8", "ignore"))
				except ValueError:
					pass
	return "\n".join(out)


# --- what a write may not change --------------------------------------------------------------------


def snapshot(records: OwnerRecords) -> dict:
	"""Everything about `records` a write could change, read fresh from the database."""
	frappe.db.rollback()
	state: dict = {}
	names = records.names
	for doctype, name in names.items():
		row = frappe.db.sql(f"select * from `tab{doctype}` where name=%s", name, as_dict=True)
		state[(doctype, name)] = _plain(row)
	for child, (parent_doctype, _parentfield) in CHILD_TABLES.items():
		parent = names[parent_doctype]
		rows = frappe.db.sql(
			f"select * from `tab{child}` where parenttype=%s and parent=%s order by name",
			(parent_doctype, parent),
			as_dict=True,
		)
		state[(child, parent)] = _plain(rows)
	dynamic = frappe.db.sql(
		"select parent, parenttype, link_doctype, link_name from `tabDynamic Link` where link_name in %s "
		"order by parent, link_name",
		(tuple(names.values()),),
		as_dict=True,
	)
	state["Dynamic Link to"] = _plain(dynamic)
	for related, (dt_column, name_column) in DESCRIBING.items():
		rows = frappe.db.sql(
			f"select name, modified, `{dt_column}`, `{name_column}` from `tab{related}` "
			f"where `{name_column}` in %s order by name",
			(tuple(names.values()),),
			as_dict=True,
		)
		state[related] = _plain([r for r in rows if r[dt_column] in names])
	for doctype, links in POINTING.items():
		for dt_or_column, column in links:
			if dt_or_column.startswith("reference"):
				rows = frappe.db.sql(
					f"select name, `{dt_or_column}`, `{column}` from `tab{doctype}` where `{column}` in %s",
					(tuple(names.values()),),
					as_dict=True,
				)
			else:
				target = names.get(dt_or_column)
				rows = frappe.db.sql(
					f"select name from `tab{doctype}` where `{column}` = %s order by name",
					target,
					as_dict=True,
				)
			state[(doctype, column, "->")] = _plain(rows)
	return state


def _plain(rows) -> str:
	return json.dumps(rows, sort_keys=True, default=str)


def diff(before: dict, after: dict) -> list[str]:
	"""What changed between two snapshots, as short readable lines."""
	changed = []
	for key in before.keys() | after.keys():
		if before.get(key) != after.get(key):
			changed.append(f"{key}: {str(before.get(key))[:300]} -> {str(after.get(key))[:300]}")
	return sorted(changed)


def today_range() -> tuple[str, str]:
	return add_days(nowdate(), -400), add_days(nowdate(), 400)


def now() -> str:
	return str(now_datetime())
