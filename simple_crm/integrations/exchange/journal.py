"""The change journal: clients and counterparties created or changed since a cursor, for accounting to pull.

`GET /api/method/simple_crm.api.exchange.changes?cursor=...&limit=...` returns a page of records in a stable
order, by (Last Updated, doctype, name), and a cursor to ask for the next page with. The cursor is opaque to
the caller (it encodes the last record's Last Updated, doctype and name): two records saved in the same
microsecond are both handed out, one after the other, however the pages fall. Without a cursor the journal
starts from the beginning.

A record is handed out once it has been unchanged for "Hold Back Changes for (Seconds)": Last Updated is
taken when a save starts, and a long save (a batch, a hand-over) commits later than a short one that started
after it; a reader past the short one's time would pass over the long one for good. A record changed again
comes again (its Last Updated moved past the cursor), also when the change was accounting's own (a
counterparty it sent, a client's figures): `modified_by` names the user who changed it. Deleted records are
not in the journal.
"""

import base64
import json
from datetime import datetime

import frappe
from frappe import _
from frappe.utils import add_to_date, cint, get_datetime, now_datetime

from simple_crm.integrations.common import InvalidPayloadError
from simple_crm.integrations.exchange.batch import check_caller, config

DOCTYPES = ("CRM Client", "CRM Counterparty")
HARD_LIMIT = 5000
FIELDS = {
	"CRM Client": (
		"client_name",
		"client_type",
		"holding",
		"segment",
		"responsible",
		"source_lead",
		"phone",
		"phone_normalized",
		"email",
		"website",
		"external_id",
		"turnover",
		"debt",
		"currency",
		"accounting_synced_on",
	),
	"CRM Counterparty": (
		"full_name",
		"short_name",
		"counterparty_type",
		"legal_form",
		"client",
		"is_client_itself",
		"vat_status",
		"external_id",
		"inn",
		"kpp",
		"ogrn",
		"director",
		"director_position",
		"signatory_basis",
		"legal_address",
		"postal_address",
		"phone",
		"phone_normalized",
		"email",
		"debt",
		"turnover",
		"currency",
		"accounting_synced_on",
	),
}
BANK_FIELDS = ("bank_name", "bik", "settlement_account", "corr_account", "is_default")


def encode(modified: datetime, doctype: str, name: str) -> str:
	raw = json.dumps([get_datetime(modified).isoformat(sep=" "), doctype, name], ensure_ascii=False)
	return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str | None) -> tuple[datetime, str, str] | None:
	if not cursor:
		return None
	try:
		padded = cursor.strip() + "=" * (-len(cursor.strip()) % 4)
		modified, doctype, name = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
		if doctype not in DOCTYPES or not isinstance(name, str):
			raise ValueError
		return datetime.fromisoformat(modified), doctype, name
	except (ValueError, TypeError, UnicodeDecodeError):
		frappe.throw(
			_("cursor is not one this journal gave: start without a cursor or send the last one you got"),
			InvalidPayloadError,
			title=_("Invalid Request"),
		)


def page_of(after: tuple | None, until: datetime, limit: int) -> list[dict]:
	"""The next `limit` (modified, doctype, name) after `after`, up to `until`, across both doctypes: each
	doctype's part reads its `modified` index in order, the parts are merged."""
	parts, params = [], {"until": until, "limit": limit}
	for position, doctype in enumerate(DOCTYPES):
		condition = "`modified` <= %(until)s"
		if after:
			params.update(m=after[0], n=after[2])
			if doctype > after[1]:
				condition += " and `modified` >= %(m)s"
			elif doctype == after[1]:
				condition += " and (`modified` > %(m)s or (`modified` = %(m)s and `name` > %(n)s))"
			else:
				condition += " and `modified` > %(m)s"
		params[f"dt{position}"] = doctype
		parts.append(
			f"(select %(dt{position})s as doctype, `name`, `modified` from `tab{doctype}` "
			f"where {condition} order by `modified`, `name` limit %(limit)s)"
		)
	return frappe.db.sql(
		f"select * from ({' union all '.join(parts)}) t order by `modified`, `doctype`, `name` limit %(limit)s",
		params,
		as_dict=True,
	)


def changes(cursor: str | None = None, limit: int | None = None) -> dict:
	check_caller()
	values = config()
	most = min(max(cint(values.accounting_changes_page) or 500, 1), HARD_LIMIT)
	if limit is not None and cint(limit) < 1:
		frappe.throw(_("limit must be at least 1"), InvalidPayloadError, title=_("Invalid Request"))
	size = min(cint(limit) or most, most)
	after = decode(cursor)
	until = add_to_date(now_datetime(), seconds=-max(cint(values.accounting_changes_delay), 0))
	rows = page_of(after, until, size + 1)
	more = len(rows) > size
	rows = rows[:size]
	details = records(rows)
	out = [
		{
			"doctype": row.doctype,
			"name": row.name,
			"modified": str(row.modified),
			**details[(row.doctype, row.name)],
		}
		for row in rows
		if (row.doctype, row.name) in details
	]
	last = rows[-1] if rows else None
	return {
		"changes": out,
		"cursor": encode(last.modified, last.doctype, last.name) if last else (cursor or None),
		"more": more,
	}


def records(rows: list[dict]) -> dict[tuple[str, str], dict]:
	"""The fields of each record of the page, one query per doctype (and one for bank accounts)."""
	out = {}
	for doctype in DOCTYPES:
		names = [row.name for row in rows if row.doctype == doctype]
		if not names:
			continue
		fields = ["name", "creation", "modified_by", *FIELDS[doctype]]
		found = frappe.get_all(doctype, filters={"name": ("in", names)}, fields=fields)
		clients = {}
		banks: dict[str, list] = {}
		if doctype == "CRM Counterparty":
			linked = {r.client for r in found if r.client}
			if linked:
				clients = dict(
					frappe.get_all(
						"CRM Client",
						filters={"name": ("in", list(linked))},
						fields=["name", "external_id"],
						as_list=True,
					)
				)
			for bank in frappe.get_all(
				"CRM Counterparty Bank Account",
				filters={"parenttype": doctype, "parent": ("in", names)},
				fields=["parent", *BANK_FIELDS],
				order_by="idx asc",
			):
				banks.setdefault(bank.pop("parent"), []).append(bank)
		for row in found:
			data = {field: _plain(row.get(field)) for field in FIELDS[doctype]}
			if doctype == "CRM Counterparty":
				data["client_external_id"] = clients.get(row.client)
				data["bank_accounts"] = banks.get(row.name, [])
			out[(doctype, row.name)] = {
				"creation": str(row.creation),
				"modified_by": row.modified_by,
				"data": data,
			}
	return out


def _plain(value):
	if hasattr(value, "as_tuple"):  # Decimal
		return float(value)
	if isinstance(value, datetime):
		return str(value)
	return value
