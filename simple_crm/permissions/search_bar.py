"""The Desk's search bar: people and companies found the way sales people look for them.

Frappe's search bar reads its own index (`__global_search`) with a natural-language full-text match on the
text exactly as stored: "89161234567" does not find a client saved as "+7 (916) 123-45-67", half a name finds
nothing, and contact persons are not in it at all. A manager types a phone in whatever form the caller gave
it, an e-mail, an INN or the beginning of a name. For the records people look for (leads, clients, contact
persons, counterparties, deals) this module answers from the CRM's own indexes, the ones link search uses
(`simple_crm.permissions.search.indexed_candidates`: the duplicate index for phones, e-mails and INNs, each
doctype's FULLTEXT index of its names, the record's id), under the row-level condition in the same query,
so a record the user may not see is never read, not even its title. The rest of the search bar (other
doctypes, other fields) stays Frappe's, filtered by `keep_visible`.
"""

import frappe
from frappe import _

from simple_crm.permissions.records import record_visible
from simple_crm.permissions.search import indexed_candidates

# the records the search bar looks up in the CRM's indexes, in the order their results are shown
RECORD_DOCTYPES = ("CRM Lead", "CRM Client", "Contact", "CRM Counterparty", "CRM Deal")
# what a result shows under its title (the fields people recognise a record by)
SHOWN_FIELDS = {
	"CRM Lead": ("company_name", "phone", "mobile_no", "email", "status"),
	"CRM Client": ("phone", "email", "responsible"),
	"Contact": ("company_name", "phone", "mobile_no", "email_id"),
	"CRM Counterparty": ("inn", "full_name", "client"),
	"CRM Deal": ("client", "stage", "amount"),
}
TITLE_FIELD = {
	"CRM Lead": "lead_name",
	"CRM Client": "client_name",
	"Contact": "full_name",
	"CRM Counterparty": "short_name",
	"CRM Deal": "deal_name",
}
PER_DOCTYPE = 20


def searched_doctypes(doctype: str = "") -> list[str]:
	"""The record doctypes to look in: those in Global Search Settings (an administrator may take one out)
	that the user may read, or just `doctype` when the search is narrowed to one."""
	from frappe.desk.doctype.global_search_settings.global_search_settings import (
		get_doctypes_for_global_search,
	)

	allowed = set(get_doctypes_for_global_search())
	wanted = [doctype] if doctype else RECORD_DOCTYPES
	return [
		dt for dt in wanted if dt in RECORD_DOCTYPES and dt in allowed and frappe.has_permission(dt, "read")
	]


def record_results(text: str, doctype: str = "") -> list[dict]:
	"""The leads, clients, contacts, counterparties and deals matching `text` that the user may see, as rows
	of Frappe's search bar (doctype, name, title, content), with the fields they were recognised by."""
	text = (text or "").strip()
	if not text:
		return []
	results = []
	for dt in searched_doctypes(doctype):
		names = indexed_candidates(dt, text)
		if names:
			results += describe(dt, names[:PER_DOCTYPE])
	return results


def describe(doctype: str, names: list[str]) -> list[dict]:
	"""Search bar rows of `names` in their order; read through `frappe.get_list` (the row-level rules once
	more, for anything that reached here)."""
	meta = frappe.get_meta(doctype)
	title_field = TITLE_FIELD[doctype]
	shown = [f for f in SHOWN_FIELDS[doctype] if meta.get_field(f)]
	rows = frappe.get_list(
		doctype, filters={"name": ("in", names)}, fields=["name", title_field, *shown], limit=len(names)
	)
	by_name = {row.name: row for row in rows}
	out = []
	for rank, name in enumerate(names):
		row = by_name.get(name)
		if not row:
			continue
		parts = [f"{_(meta.get_label(f))} : {shown_value(meta, f, row.get(f))}" for f in shown if row.get(f)]
		out.append(
			frappe._dict(
				doctype=doctype,
				name=name,
				title=row.get(title_field) or name,
				content=" ||| ".join(parts),
				rank=len(names) - rank,
			)
		)
	return out


def shown_value(meta, fieldname: str, value) -> str:
	"""A value as the user reads it: a status or stage in their language, a manager by name, an amount."""
	df = meta.get_field(fieldname)
	if df.fieldtype == "Select" or fieldname == "stage":
		return _(value)
	if df.fieldtype == "Link" and df.options == "User":
		return frappe.utils.get_fullname(value)
	if df.fieldtype == "Link" and df.options == "CRM Client":
		# a co-managed deal's client may be a colleague's: its name only for those who see it
		if record_visible("CRM Client", value):
			return frappe.db.get_value("CRM Client", value, "client_name") or value
		return value
	if df.fieldtype == "Currency":
		return frappe.format(value, df)
	return str(value)
