"""Counterparties from accounting, upserted by their external ID.

An item is matched, in this order, to:

1. the counterparty with its `external_id` (CRM Counterparty.external_id is unique);
2. else, once per batch, a counterparty entered in the CRM without an external ID and with the same INN and
   KPP (both empty counts as the same KPP), when exactly one has them: it takes the external ID ("adopted"),
   so a counterparty a manager entered before accounting knew it does not get a twin;
3. else a new counterparty.

Fields left out of an item keep their stored values; the controller's checks apply (INN, KPP and OGRN with
their check digits and the counterparty type, the phone normalised, the e-mail checked). `client` (the
CRM client's name, as the change journal and the converted-lead webhook give it) or `client_external_id`
(CRM Client.external_id) link the counterparty to its client. `debt` and `turnover` come together: they
are accounting's figures from then on (see `figures`).

Orders that arrived before their counterparty (`counterparty_external_id` kept on the order) are linked to
it once it is here, when they belong to its client (or to no client yet).
"""

import frappe
from frappe import _
from frappe.utils import now_datetime

from simple_crm.integrations.exchange import figures, orders
from simple_crm.integrations.exchange.batch import Results, first_occurrence, item_key, parsed_items
from simple_crm.integrations.exchange.items import (
	LONG_TEXT_LIMIT,
	ItemError,
	amount,
	check_keys,
	choice,
	external_id,
	flag,
	item_errors,
	text,
)
from simple_crm.integrations.exchange.rows import (
	Writer,
	check_before_validate,
	check_before_write,
	differs,
	new_document,
	stored_document,
)
from simple_crm.utils import identifiers

DOCTYPE = "CRM Counterparty"
TEXT_FIELDS = (
	"full_name",
	"short_name",
	"legal_form",
	"inn",
	"kpp",
	"ogrn",
	"director",
	"director_position",
	"signatory_basis",
	"phone",
	"email",
	"currency",
)
LONG_TEXT_FIELDS = ("legal_address", "postal_address")
FIGURES = ("debt", "turnover")
FIELDS = (
	"external_id",
	*TEXT_FIELDS,
	*LONG_TEXT_FIELDS,
	"counterparty_type",
	"vat_status",
	"is_client_itself",
	"client",
	"client_external_id",
	*FIGURES,
)
# what a change of is kept in the record's history; accounting's figures are not (see `figures`)
RECORD_FIELDS = (
	*TEXT_FIELDS,
	*LONG_TEXT_FIELDS,
	"counterparty_type",
	"vat_status",
	"is_client_itself",
	"client",
	"external_id",
	"phone_normalized",
)


def parse(item: dict) -> dict:
	"""The fields an item sets, checked (references are resolved later, for the whole batch)."""
	check_keys(item, FIELDS)
	values = {"external_id": external_id(item)}
	for field in TEXT_FIELDS:
		if field in item:
			values[field] = text(item, field)
	for field in LONG_TEXT_FIELDS:
		if field in item:
			values[field] = text(item, field, limit=LONG_TEXT_LIMIT)
	meta = frappe.get_meta(DOCTYPE)
	for field in ("counterparty_type", "vat_status"):
		if field in item:
			values[field] = choice(item, field, tuple(meta.get_options(field).split("\n")))
	if "is_client_itself" in item:
		values["is_client_itself"] = flag(item, "is_client_itself")
	for field in ("client", "client_external_id"):
		if field in item:
			values[field] = text(item, field)
	given = [field for field in FIGURES if field in item]
	if given and len(given) != len(FIGURES):
		raise ItemError(_("debt and turnover come together: send both or neither"))
	for field in given:
		values[field] = amount(item, field)
	return values


def upsert(items: list[dict], results: Results) -> None:
	now = now_datetime()
	todo = parsed_items(items, parse, results)
	if not todo:
		return
	references = References(todo.values())
	stored = locked_rows([values["external_id"] for values in todo.values()])
	adoptable = adoption_candidates([v for v in todo.values() if v["external_id"] not in stored])

	writer = Writer(DOCTYPE, now)
	new_docs, changed, figures_only = [], [], []
	outcome: dict[int, tuple] = {}
	touched_clients: set[str] = set()
	for index, values in todo.items():
		key = values["external_id"]
		try:
			row = stored.get(key)
			adopted = False
			if row is None:
				row = adopt(values, adoptable)
				adopted = row is not None
			doc = build(values, row, references)
			with item_errors():
				check_before_validate(doc)
				doc.validate_inn()
				doc.validate_kpp()
				doc.validate_ogrn()
				doc.normalize_contact_details()
				check_before_write(doc)
		except ItemError as e:
			results.error(index, e.message, key)
			continue
		set_figures(doc, values, row, now)
		if row is None:
			new_docs.append(doc)
			outcome[index] = ("created", doc, [])
			continue
		old = stored_document(DOCTYPE, row)
		touched_clients.update(c for c in (old.client, doc.client) if c)
		warnings = (
			[_("matched by INN and KPP to {0}, entered in the CRM").format(old.name)] if adopted else []
		)
		if differs(old, doc, RECORD_FIELDS):
			changed.append((old, doc))
			outcome[index] = ("updated", doc, warnings)
		elif differs(old, doc, (*FIGURES, "accounting_synced_on")):
			figures_only.append((old, doc))
			outcome[index] = ("updated", doc, warnings)
		else:
			outcome[index] = ("unchanged", doc, warnings)

	writer.insert(new_docs)
	writer.update(changed)
	writer.update(figures_only, history=False)
	writer.notify_lists()
	for index, (status, doc, warnings) in outcome.items():
		results.done(index, status, doc.name, doc.external_id, warnings)
		if doc.client:
			touched_clients.add(doc.client)

	linked = orders.link_waiting_orders([doc for _status, doc, _w in outcome.values()], now, results, outcome)
	figures.refresh(
		counterparties=[doc.name for _status, doc, _w in outcome.values()],
		clients=touched_clients | linked,
		now=now,
	)


class References:
	"""The clients the batch's items name, read once."""

	def __init__(self, batch):
		batch = list(batch)
		names = {v["client"] for v in batch if v.get("client")}
		self.clients = (
			set(frappe.get_all("CRM Client", filters={"name": ("in", list(names))}, pluck="name"))
			if names
			else set()
		)
		ids = {v["client_external_id"] for v in batch if v.get("client_external_id")}
		self.by_external_id: dict[str, list[str]] = {}
		if ids:
			for row in frappe.get_all(
				"CRM Client", filters={"external_id": ("in", list(ids))}, fields=["name", "external_id"]
			):
				self.by_external_id.setdefault(row.external_id, []).append(row.name)
		currencies = {v["currency"] for v in batch if v.get("currency")}
		self.currencies = (
			set(frappe.get_all("Currency", filters={"name": ("in", list(currencies))}, pluck="name"))
			if currencies
			else set()
		)

	def client(self, values: dict) -> str | None:
		"""The client an item names (a KeyError-free None when it names none)."""
		name = values.get("client")
		if name and name not in self.clients:
			raise ItemError(_("client {0} does not exist").format(name))
		by_id = values.get("client_external_id")
		if by_id:
			found = self.by_external_id.get(by_id, [])
			if not found:
				raise ItemError(_("No client has the external ID {0}").format(by_id))
			if len(found) > 1:
				raise ItemError(
					_("Clients {0} all have the external ID {1}: name the client instead").format(
						", ".join(sorted(found)), by_id
					)
				)
			if name and name != found[0]:
				raise ItemError(
					_("client {0} and client_external_id {1} name different clients").format(name, by_id)
				)
			return found[0]
		return name


def locked_rows(keys: list[str]) -> dict[str, dict]:
	"""The stored counterparties of these external IDs, locked until the batch commits (a locking read also
	sees what a batch that finished a moment ago wrote)."""
	if not keys:
		return {}
	rows = frappe.db.sql(
		f"select * from `tab{DOCTYPE}` where `external_id` in %(keys)s for update",
		{"keys": keys},
		as_dict=True,
	)
	return {row.external_id: row for row in rows}


def adoption_candidates(batch: list[dict]) -> dict[str, list[dict]]:
	"""Counterparties without an external ID whose INN one of the new items has, by INN (through the
	duplicate index of INNs), locked."""
	inns = sorted({inn for v in batch if (inn := requisite(identifiers.validate_inn, v.get("inn")))})
	if not inns:
		return {}
	names = frappe.db.sql(
		"""select reference_name from `tabCRM Contact Point`
		where kind = 'INN' and value in %(inns)s and reference_doctype = %(doctype)s""",
		{"inns": inns, "doctype": DOCTYPE},
		pluck=True,
	)
	if not names:
		return {}
	rows = frappe.db.sql(
		f"""select * from `tab{DOCTYPE}`
		where name in %(names)s and ifnull(external_id, '') = '' for update""",
		{"names": names},
		as_dict=True,
	)
	found: dict[str, list[dict]] = {}
	for row in rows:
		found.setdefault(row.inn, []).append(row)
	return found


def adopt(values: dict, candidates: dict[str, list[dict]]) -> dict | None:
	"""The one counterparty without an external ID with the item's INN and KPP, taken out of the candidates
	(a counterparty is adopted once)."""
	inn = requisite(identifiers.validate_inn, values.get("inn"))
	if not inn:
		return None
	kpp = requisite(identifiers.validate_kpp, values.get("kpp"))
	same = [row for row in candidates.get(inn, []) if (row.kpp or None) == kpp]
	if len(same) != 1:
		return None
	candidates[inn].remove(same[0])
	return same[0]


def requisite(validator, value: str | None) -> str | None:
	"""An INN or KPP as the controller stores it (separators removed); None when empty or not valid (the
	controller's check reports it)."""
	if not value:
		return None
	try:
		return validator(value)
	except identifiers.IdentifierError:
		return None


def build(values: dict, row: dict | None, references: References):
	"""The counterparty as it will be stored: the stored one (or a new one) with the item's fields."""
	fields = {k: v for k, v in values.items() if k not in ("client", "client_external_id", *FIGURES)}
	if "client" in values or "client_external_id" in values:
		fields["client"] = references.client(values)
	currency = fields.get("currency")
	if currency and currency not in references.currencies:
		raise ItemError(_("currency {0} does not exist").format(currency))
	if row is None:
		if not fields.get("full_name"):
			raise ItemError(_("full_name is missing: a new counterparty needs its full legal name"))
		return new_document(DOCTYPE, fields)
	doc = stored_document(DOCTYPE, row)
	doc.update(fields)
	return doc


def set_figures(doc, values: dict, row: dict | None, now) -> None:
	"""Accounting's debt and turnover, dated when they change (or are sent the first time)."""
	if "debt" not in values:
		return
	same = (
		row is not None
		and row.accounting_synced_on
		and round(float(row.debt), 6) == round(values["debt"], 6)
		and round(float(row.turnover), 6) == round(values["turnover"], 6)
	)
	if same:
		return
	doc.debt = values["debt"]
	doc.turnover = values["turnover"]
	doc.accounting_synced_on = now
