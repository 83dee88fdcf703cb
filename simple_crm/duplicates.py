"""Duplicate control across leads, clients, contacts and counterparties.

Every normalised phone, e-mail and INN of those records is kept in `CRM Contact Point`, indexed on
(kind, value). Looking a record's values up there is one indexed query whatever the doctype, so
"the same phone as a lead" and "the same INN as a counterparty" are found alike.
"""

import frappe
from frappe import _
from frappe.query_builder import Criterion
from frappe.utils import get_link_to_form, now

CONTACT_POINT = "CRM Contact Point"
TRACKED_DOCTYPES = ("CRM Lead", "CRM Client", "CRM Counterparty", "Contact")

# where each doctype keeps its normalised values: kind -> fields of the document itself
_POINT_FIELDS = {
	"CRM Lead": {"Phone": ("phone_normalized", "mobile_no_normalized"), "Email": ("email",)},
	"CRM Client": {"Phone": ("phone_normalized",), "Email": ("email",)},
	"CRM Counterparty": {"Phone": ("phone_normalized",), "Email": ("email",), "INN": ("inn",)},
}

# who is responsible for a record, per doctype (shown beside a match)
RESPONSIBLE_FIELD = {"CRM Lead": "responsible", "CRM Client": "responsible", "Contact": "owner"}


class DuplicateRecordError(frappe.ValidationError):
	pass


def contact_points(doc) -> set[tuple[str, str]]:
	"""The (kind, normalised value) pairs a document carries."""
	points = set()
	if doc.doctype == "Contact":
		for row in doc.get("phone_nos") or []:
			if row.get("crm_phone_normalized"):
				points.add(("Phone", row.crm_phone_normalized))
		for row in doc.get("email_ids") or []:
			if row.get("email_id"):
				points.add(("Email", row.email_id.strip().lower()))
		return points
	for kind, fields in _POINT_FIELDS.get(doc.doctype, {}).items():
		for fieldname in fields:
			value = doc.get(fieldname)
			if value:
				points.add((kind, value))
	return points


def stored_points(doctype: str, name: str) -> set[tuple[str, str]]:
	rows = frappe.get_all(
		CONTACT_POINT,
		filters={"reference_doctype": doctype, "reference_name": name},
		fields=["kind", "value"],
	)
	return {(r.kind, r.value) for r in rows}


def sync_contact_points(doc, method=None) -> None:
	"""Make the index hold exactly the document's current values (on_update)."""
	wanted = contact_points(doc)
	table = frappe.qb.DocType(CONTACT_POINT)
	existing = frappe.get_all(
		CONTACT_POINT,
		filters={"reference_doctype": doc.doctype, "reference_name": doc.name},
		fields=["name", "kind", "value"],
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
		frappe.db.bulk_insert(
			CONTACT_POINT,
			fields=["name", "creation", "modified", "owner", "modified_by", "kind", "value", "reference_doctype", "reference_name"],
			values=[
				(frappe.generate_hash(length=12), ts, ts, user, user, kind, value, doc.doctype, doc.name)
				for kind, value in sorted(missing)
			],
		)


def delete_contact_points(doc, method=None) -> None:
	table = frappe.qb.DocType(CONTACT_POINT)
	frappe.qb.from_(table).delete().where(
		(table.reference_doctype == doc.doctype) & (table.reference_name == doc.name)
	).run()


def lookup(points, exclude: set[tuple[str, str]] | None = None) -> list[dict]:
	"""Records carrying any of `points`: one indexed query on (kind, value)."""
	points = {(k, v) for k, v in points if v}
	if not points:
		return []
	table = frappe.qb.DocType(CONTACT_POINT)
	condition = Criterion.any([(table.kind == kind) & (table.value == value) for kind, value in sorted(points)])
	rows = (
		frappe.qb.from_(table)
		.select(table.kind, table.value, table.reference_doctype, table.reference_name)
		.where(condition)
		.orderby(table.reference_doctype)
		.orderby(table.reference_name)
		.limit(200)
		.run(as_dict=True)
	)
	exclude = exclude or set()
	return [r for r in rows if (r.reference_doctype, r.reference_name) not in exclude]


def related_records(doc) -> set[tuple[str, str]]:
	"""Records that legitimately share a phone/e-mail/INN with `doc` (itself, its lead, its client...)."""
	related = {(doc.doctype, doc.name)}
	if doc.doctype == "CRM Lead":
		for doctype, field in (("CRM Client", "client"), ("Contact", "contact")):
			if doc.get(field):
				related.add((doctype, doc.get(field)))
	elif doc.doctype == "CRM Client":
		if doc.get("source_lead"):
			related.add(("CRM Lead", doc.source_lead))
		if not doc.is_new():
			related.update(("Contact", n) for n in _linked_contacts("CRM Client", doc.name))
			related.update(
				("CRM Counterparty", n) for n in frappe.get_all("CRM Counterparty", {"client": doc.name}, pluck="name")
			)
	elif doc.doctype == "CRM Counterparty":
		if doc.get("client"):
			related.add(("CRM Client", doc.client))
			related.update(("Contact", n) for n in _linked_contacts("CRM Client", doc.client))
			related.update(
				("CRM Counterparty", n) for n in frappe.get_all("CRM Counterparty", {"client": doc.client}, pluck="name")
			)
	elif doc.doctype == "Contact":
		for link in doc.get("links") or []:
			if link.link_doctype in TRACKED_DOCTYPES:
				related.add((link.link_doctype, link.link_name))
			if link.link_doctype == "CRM Client":
				related.update(
					("CRM Counterparty", n)
					for n in frappe.get_all("CRM Counterparty", {"client": link.link_name}, pluck="name")
				)
	# a converted lead is history: its data lives on in the client it became
	return related


def _linked_contacts(doctype: str, name: str) -> list[str]:
	return frappe.get_all(
		"Dynamic Link",
		filters={"parenttype": "Contact", "link_doctype": doctype, "link_name": name},
		pluck="parent",
	)


def find_duplicates_of(doc) -> list[dict]:
	"""Other records sharing a phone, e-mail or INN with `doc`, with title and responsible manager."""
	matches = lookup(contact_points(doc), exclude=related_records(doc))
	return describe(_drop_converted_leads(matches))


def _drop_converted_leads(matches: list[dict]) -> list[dict]:
	lead_names = [m.reference_name for m in matches if m.reference_doctype == "CRM Lead"]
	if not lead_names:
		return matches
	converted = set(
		frappe.get_all("CRM Lead", filters={"name": ("in", lead_names), "status": "Converted"}, pluck="name")
	)
	return [m for m in matches if not (m.reference_doctype == "CRM Lead" and m.reference_name in converted)]


def describe(matches: list[dict]) -> list[dict]:
	"""Group matches per record and add its title and responsible manager (one query per doctype)."""
	by_record: dict[tuple[str, str], dict] = {}
	for m in matches:
		key = (m.reference_doctype, m.reference_name)
		entry = by_record.setdefault(
			key, frappe._dict(doctype=key[0], name=key[1], title=key[1], responsible=None, matched_on=[])
		)
		entry.matched_on.append({"kind": m.kind, "value": m.value})
	per_doctype: dict[str, list[str]] = {}
	for doctype, name in by_record:
		per_doctype.setdefault(doctype, []).append(name)
	for doctype, names in per_doctype.items():
		meta = frappe.get_meta(doctype)
		title_field = meta.get_title_field()
		fields = ["name", f"{title_field} as title"]
		responsible_field = RESPONSIBLE_FIELD.get(doctype)
		if responsible_field:
			fields.append(f"{responsible_field} as responsible")
		for row in frappe.get_all(doctype, filters={"name": ("in", names)}, fields=fields):
			entry = by_record[(doctype, row.name)]
			entry.title = row.title or row.name
			entry.responsible = row.get("responsible")
	return list(by_record.values())


def duplicate_policy() -> str:
	return frappe.db.get_single_value("Simple CRM Settings", "duplicate_policy", cache=True) or "Warn"


def check_duplicates(doc) -> list[dict]:
	"""Warn about or block (per Simple CRM Settings) values already used by another record.

	Only values the save adds are judged, so editing some other field of a record that already has
	a known twin does not block the user again.
	"""
	if doc.flags.ignore_duplicates:
		return []
	new_points = contact_points(doc)
	if not doc.is_new():
		new_points -= stored_points(doc.doctype, doc.name)
	if not new_points:
		return []
	matches = describe(_drop_converted_leads(lookup(new_points, exclude=related_records(doc))))
	if not matches:
		return []
	lines = "".join(
		"<li>{}: {} ({})</li>".format(
			_(m.doctype),
			get_link_to_form(m.doctype, m.name, m.title),
			", ".join(f"{_(p['kind'])} {p['value']}" for p in m.matched_on),
		)
		for m in matches
	)
	if duplicate_policy() == "Block":
		frappe.throw(
			_("The same phone, e-mail or INN is already used by:") + f"<ul>{lines}</ul>",
			DuplicateRecordError,
			title=_("Duplicate Found"),
		)
	frappe.msgprint(
		_("Possible duplicate: the same phone, e-mail or INN is already used by:") + f"<ul>{lines}</ul>",
		title=_("Possible Duplicate"),
		indicator="orange",
		alert=False,
	)
	doc.flags.duplicates = matches
	return matches
