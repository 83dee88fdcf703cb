"""Duplicate control across leads, clients, contacts and counterparties.

Every normalised phone, e-mail and INN of those records is kept in `CRM Contact Point`, indexed on
(kind, value). Looking a record's values up there is one indexed query whatever the doctype, so
"the same phone as a lead" and "the same INN as a counterparty" are found alike.

Controllers call `check_duplicates` in validate, `sync_contact_points` in on_update and after_rename
(a rename or merge moves the index rows of the old name onto the new one through Frappe's dynamic
link update; the resync leaves exactly the surviving record's values), `delete_contact_points` in
on_trash. Contact gets the same through doc_events.
"""

import frappe
from frappe import _
from frappe.utils import escape_html, get_link_to_form, now

from simple_crm.constants import LEAD_CONVERTED

CONTACT_POINT = "CRM Contact Point"
TRACKED_DOCTYPES = ("CRM Lead", "CRM Client", "CRM Counterparty", "Contact")
KINDS = ("Phone", "Email", "INN")

# where each doctype keeps its normalised values: kind -> fields of the document itself
_POINT_FIELDS = {
	"CRM Lead": {"Phone": ("phone_normalized", "mobile_no_normalized"), "Email": ("email",)},
	"CRM Client": {"Phone": ("phone_normalized",), "Email": ("email",)},
	"CRM Counterparty": {"Phone": ("phone_normalized",), "Email": ("email",), "INN": ("inn",)},
}

# the fields naming a record beside a match, the first one set wins
TITLE_FIELDS = {
	"CRM Lead": ("lead_name", "company_name"),
	"CRM Client": ("client_name",),
	"CRM Counterparty": ("short_name", "full_name"),
	"Contact": ("full_name", "first_name"),
}

# who is responsible for a record (a counterparty: the manager of its client)
RESPONSIBLE_FIELD = {"CRM Lead": "responsible", "CRM Client": "responsible", "Contact": "crm_responsible"}

LOOKUP_LIMIT = 200


class DuplicateRecordError(frappe.ValidationError):
	pass


# a Contact linked to none of these but to other records (an ERPNext Customer or Supplier) is not ours
CRM_LINK_DOCTYPES = ("CRM Client", "CRM Counterparty", "CRM Lead")


def is_tracked(doc) -> bool:
	"""Records whose values take part in duplicate control (and, for a Contact, the CRM's checks).

	Left alone: a Contact that belongs to a system or website user (Frappe creates one per user: a
	person of the company or a portal login), one linked only to other apps' records, and the test
	records of other apps (flags.ignore_crm_rules, set in before_test_insert).
	"""
	if doc.doctype not in TRACKED_DOCTYPES or doc.flags.ignore_crm_rules:
		return False
	if doc.doctype != "Contact":
		return True
	if doc.get("user"):
		return False
	links = doc.get("links") or []
	return not links or any(link.link_doctype in CRM_LINK_DOCTYPES for link in links)


def contact_points(doc) -> set[tuple[str, str]]:
	"""The (kind, normalised value) pairs a document carries."""
	points = set()
	if not is_tracked(doc):
		return points
	if doc.doctype == "Contact":
		for row in doc.get("phone_nos") or []:
			if row.get("crm_phone_normalized"):
				points.add(("Phone", row.crm_phone_normalized))
		for row in doc.get("email_ids") or []:
			if row.get("email_id"):
				points.add(("Email", row.email_id.strip().lower()))
		return points
	for kind, fields in _POINT_FIELDS[doc.doctype].items():
		for fieldname in fields:
			value = (doc.get(fieldname) or "").strip()
			if value:
				points.add((kind, value.lower() if kind == "Email" else value))
	return points


def stored_points(doctype: str, name: str) -> set[tuple[str, str]]:
	rows = frappe.get_all(
		CONTACT_POINT,
		filters={"reference_doctype": doctype, "reference_name": name},
		fields=["kind", "value"],
	)
	return {(r.kind, r.value) for r in rows}


def sync_contact_points(doc, method=None, *args, **kwargs) -> None:
	"""Make the index hold exactly the document's current values, once each.

	Runs in on_update and after_rename (hence the extra arguments): after a merge the index rows of
	the merged record carry the surviving name too and are dropped here unless it has those values.
	"""
	wanted = contact_points(doc)
	table = frappe.qb.DocType(CONTACT_POINT)
	# a record being inserted has no rows yet (those of a deleted record of the same name went with it)
	existing = (
		[]
		if doc.flags.in_insert
		else (
			frappe.qb.from_(table)
			.select(table.name, table.kind, table.value)
			.where((table.reference_doctype == doc.doctype) & (table.reference_name == doc.name))
			.run(as_dict=True)
		)
	)
	seen = set()
	stale = []
	for row in existing:
		key = (row.kind, row.value)
		if key in wanted and key not in seen:
			seen.add(key)
		else:
			stale.append(row.name)
	if stale:
		frappe.qb.from_(table).delete().where(table.name.isin(stale)).run()
	missing = wanted - seen
	if missing:
		ts = now()
		user = frappe.session.user
		# one multi-row insert, written out as lookup_statement is (every save of a tracked record runs it)
		frappe.db.sql(
			f"insert into `tab{CONTACT_POINT}` (`name`, `creation`, `modified`, `owner`, `modified_by`, "
			"`kind`, `value`, `reference_doctype`, `reference_name`) values "
			+ ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(missing)),
			[
				value
				for kind, point in sorted(missing)
				for value in (
					frappe.generate_hash(length=12),
					ts,
					ts,
					user,
					user,
					kind,
					point,
					doc.doctype,
					doc.name,
				)
			],
		)


def delete_contact_points(doc, method=None) -> None:
	table = frappe.qb.DocType(CONTACT_POINT)
	frappe.qb.from_(table).delete().where(
		(table.reference_doctype == doc.doctype) & (table.reference_name == doc.name)
	).run()


def lookup_statement(points) -> tuple[str, list]:
	"""The statement finding index rows with any of `points`, and its values; it reads kind_value_index (see
	tests). Written out: it runs in every save of a tracked record, where building it costs more than running it."""
	points = sorted(points)
	condition = " or ".join(["(`kind` = %s and `value` = %s)"] * len(points))
	statement = (
		"select `kind`, `value`, `reference_doctype`, `reference_name` "
		f"from `tab{CONTACT_POINT}` where {condition} limit {LOOKUP_LIMIT}"
	)
	return statement, [value for point in points for value in point]


def lookup(points, exclude: set[tuple[str, str]] | None = None) -> list[dict]:
	"""Index rows of records carrying any of `points`, except the records in `exclude`."""
	points = {(k, v) for k, v in points if v}
	if not points:
		return []
	exclude = exclude or set()
	rows = frappe.db.sql(*lookup_statement(points), as_dict=True)
	rows = [r for r in rows if (r.reference_doctype, r.reference_name) not in exclude]
	return sorted(rows, key=lambda r: (r.reference_doctype, r.reference_name, r.kind, r.value))


def related_records(doc) -> set[tuple[str, str]]:
	"""Records that legitimately share a phone/e-mail/INN with `doc`: itself, the lead it came from,
	its client, the client's contacts and counterparties."""
	related = {(doc.doctype, doc.name)}
	clients = set()
	if doc.doctype == "CRM Lead":
		if doc.get("client"):
			clients.add(doc.client)
		if doc.get("contact"):
			related.add(("Contact", doc.contact))
	elif doc.doctype == "CRM Client":
		if not doc.is_new():
			clients.add(doc.name)
		elif doc.get("source_lead"):
			related.add(("CRM Lead", doc.source_lead))
	elif doc.doctype == "CRM Counterparty":
		if doc.get("client"):
			clients.add(doc.client)
	elif doc.doctype == "Contact":
		for link in doc.get("links") or []:
			if link.link_doctype in TRACKED_DOCTYPES:
				related.add((link.link_doctype, link.link_name))
			if link.link_doctype == "CRM Client":
				clients.add(link.link_name)
			elif link.link_doctype == "CRM Counterparty":
				client = frappe.db.get_value("CRM Counterparty", link.link_name, "client")
				if client:
					clients.add(client)
	for client in clients:
		related.update(_client_family(client))
	return related


def _client_family(client: str) -> set[tuple[str, str]]:
	"""A client with its source lead, contacts and counterparties."""
	family = {("CRM Client", client)}
	source_lead = frappe.db.get_value("CRM Client", client, "source_lead")
	if source_lead:
		family.add(("CRM Lead", source_lead))
	family.update(("Contact", n) for n in _linked_contacts("CRM Client", client))
	family.update(
		("CRM Counterparty", n) for n in frappe.get_all("CRM Counterparty", {"client": client}, pluck="name")
	)
	return family


def _linked_contacts(doctype: str, name: str) -> list[str]:
	return frappe.get_all(
		"Dynamic Link",
		filters={"parenttype": "Contact", "link_doctype": doctype, "link_name": name},
		pluck="parent",
	)


def drop_converted_leads(matches: list[dict]) -> list[dict]:
	"""A converted lead is history: its data lives on in the client it became."""
	lead_names = [m.reference_name for m in matches if m.reference_doctype == "CRM Lead"]
	if not lead_names:
		return matches
	converted = set(
		frappe.get_all(
			"CRM Lead", filters={"name": ("in", lead_names), "status": LEAD_CONVERTED}, pluck="name"
		)
	)
	return [m for m in matches if not (m.reference_doctype == "CRM Lead" and m.reference_name in converted)]


def describe_records(records) -> dict[tuple[str, str], frappe._dict]:
	"""Title and responsible manager of each (doctype, name), one query per doctype."""
	out = {}
	per_doctype: dict[str, list[str]] = {}
	for doctype, name in records:
		per_doctype.setdefault(doctype, []).append(name)
		out[(doctype, name)] = frappe._dict(title=name, responsible=None)
	for doctype, names in per_doctype.items():
		title_fields = TITLE_FIELDS.get(doctype, ())
		fields = ["name", *title_fields]
		if doctype in RESPONSIBLE_FIELD:
			fields.append(RESPONSIBLE_FIELD[doctype])
		if doctype == "CRM Counterparty":
			fields.append("client")
		rows = frappe.get_all(doctype, filters={"name": ("in", names)}, fields=fields)
		client_responsible = {}
		if doctype == "CRM Counterparty":
			clients = {r.client for r in rows if r.client}
			if clients:
				client_responsible = dict(
					frappe.get_all(
						"CRM Client",
						filters={"name": ("in", list(clients))},
						fields=["name", "responsible"],
						as_list=True,
					)
				)
		for row in rows:
			entry = out[(doctype, row.name)]
			entry.title = next((row.get(f) for f in title_fields if row.get(f)), row.name)
			if doctype == "CRM Counterparty":
				entry.responsible = client_responsible.get(row.client)
			else:
				entry.responsible = row.get(RESPONSIBLE_FIELD.get(doctype, "")) or None
	return out


def describe(matches: list[dict]) -> list[dict]:
	"""Group index rows per record, with its title, responsible manager and the values matched."""
	by_record: dict[tuple[str, str], frappe._dict] = {}
	for m in matches:
		key = (m.reference_doctype, m.reference_name)
		entry = by_record.setdefault(key, frappe._dict(doctype=key[0], name=key[1], matched_on=[]))
		entry.matched_on.append({"kind": m.kind, "value": m.value})
	details = describe_records(by_record)
	for key, entry in by_record.items():
		entry.update(details[key])
	return list(by_record.values())


def find_duplicates_of(doc, extra_points=None) -> list[dict]:
	"""Other records sharing a phone, e-mail or INN with `doc`, with title and responsible manager."""
	points = contact_points(doc) | set(extra_points or ())
	return describe(drop_converted_leads(lookup(points, exclude=related_records(doc))))


def duplicate_policy() -> str:
	# every save of a tracked record asks: Frappe's cached copy of the settings (cleared on each change)
	return frappe.get_cached_doc("Simple CRM Settings").duplicate_policy or "Warn"


def check_duplicates(doc) -> list[dict]:
	"""Warn about or block (per Simple CRM Settings) values already used by another record.

	Only values the save adds are judged, so editing some other field of a record that already has
	a known twin does not warn or block the user again.
	"""
	if doc.flags.ignore_duplicates or not is_tracked(doc):
		return []
	new_points = contact_points(doc)
	if not doc.is_new():
		new_points -= stored_points(doc.doctype, doc.name)
	if not new_points:
		return []
	matches = describe(drop_converted_leads(lookup(new_points, exclude=related_records(doc))))
	if not matches:
		return []
	doc.flags.duplicates = matches
	# a spreadsheet import decides per import: skip, merge or import with a warning
	from simple_crm.integrations.spreadsheet_import import on_duplicates

	if on_duplicates(doc, matches):
		return matches
	listing = "<ul>{}</ul>".format("".join(_match_line(m) for m in matches))
	if duplicate_policy() == "Block":
		frappe.throw(
			_("The same phone, e-mail or INN is already used by:") + listing,
			DuplicateRecordError,
			title=_("Duplicate Found"),
		)
	frappe.msgprint(
		_("Possible duplicate: the same phone, e-mail or INN is already used by:") + listing,
		title=_("Possible Duplicate"),
		indicator="orange",
	)
	return matches


def _match_line(match) -> str:
	from simple_crm.security.read_paths import responsible_name, sees_record

	values = ", ".join("{} {}".format(_(p["kind"]), escape_html(p["value"])) for p in match.matched_on)
	if not sees_record(match.doctype, match.name):
		# as find_duplicates tells it: that it exists and who is responsible, nothing of its content
		line = _("{0}: a record you cannot see, responsible: {1}").format(
			_(match.doctype), escape_html(responsible_name(match.responsible))
		)
		return f"<li>{line} ({values})</li>"
	return f"<li>{_(match.doctype)}: {get_link_to_form(match.doctype, match.name, escape_html(match.title))} ({values})</li>"


def before_merge(doc, method=None, old: str | None = None, new: str | None = None, merge=False) -> None:
	"""before_rename: Frappe's merge reads `_assign` of both records as JSON, and an empty string (left by
	imports and by older versions of the assignment code) makes it fail with a 500. Empty means none."""
	if not frappe.utils.sbool(merge):
		return
	table = frappe.qb.DocType(doc.doctype)
	frappe.qb.update(table).set(table._assign, None).where(
		table.name.isin([name for name in (old, new) if name]) & (table._assign == "")
	).run()
