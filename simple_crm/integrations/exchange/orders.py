"""Orders from accounting, upserted by their external ID (CRM Order.external_id is unique).

An order names its counterparty by accounting's ID (`counterparty_external_id`) and, optionally, its deal:
by the deal's name in the CRM (`deal`, e.g. DEAL-00042) or by the deal's own external ID
(`deal_external_id`, CRM Deal.external_id). Its client is the deal's client, else the counterparty's; as the
order's controller demands, the counterparty must belong to that client.

Orders may come before their counterparty. Such an order is kept, with the counterparty's ID in
`counterparty_external_id` and no counterparty yet (its item says so in a warning), and is linked when the
counterparty arrives (`link_waiting_orders`, run by every counterparty batch; a later copy of the order
links it too). An order whose deal belongs to another client than its counterparty is kept the same way,
linked to the deal, until the two agree.

A deal named that does not exist, or an unknown deal ID, is an error of the item: deals are the CRM's,
accounting only points at them.
"""

import frappe
from frappe import _
from frappe.utils import now_datetime

from simple_crm.integrations.exchange import figures
from simple_crm.integrations.exchange.batch import Results, first_occurrence, item_key, parsed_items
from simple_crm.integrations.exchange.items import (
	ItemError,
	amount,
	check_keys,
	date,
	external_id,
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

DOCTYPE = "CRM Order"
FIELDS = (
	"external_id",
	"order_number",
	"order_date",
	"status",
	"amount",
	"paid_amount",
	"currency",
	"counterparty_external_id",
	"deal",
	"deal_external_id",
)
# what the exchange stores of an order: a change of any of these is a change of the order
STORED_FIELDS = (
	"order_number",
	"order_date",
	"status",
	"amount",
	"paid_amount",
	"currency",
	"counterparty_external_id",
	"counterparty",
	"deal",
	"client",
)


def parse(item: dict) -> dict:
	check_keys(item, FIELDS)
	values = {"external_id": external_id(item)}
	for field in (
		"order_number",
		"status",
		"currency",
		"counterparty_external_id",
		"deal",
		"deal_external_id",
	):
		if field in item:
			values[field] = text(item, field)
	if "order_date" in item:
		values["order_date"] = date(item, "order_date")
	for field in ("amount", "paid_amount"):
		if field in item:
			values[field] = amount(item, field)
	return values


def upsert(items: list[dict], results: Results) -> None:
	now = now_datetime()
	todo = parsed_items(items, parse, results)
	if not todo:
		return
	stored = locked_rows("external_id", [values["external_id"] for values in todo.values()])
	references = References(todo.values(), stored.values())
	writer = Writer(DOCTYPE, now)
	new_docs, changed, outcome = [], [], {}
	clients, counterparties = set(), set()
	for index, values in todo.items():
		key = values["external_id"]
		row = stored.get(key)
		warnings: list[str] = []
		try:
			doc = build(values, row, references, warnings)
			with item_errors():
				check_before_validate(doc)
				check_before_write(doc)
		except ItemError as e:
			results.error(index, e.message, key)
			continue
		if row is None:
			doc.synced_on = now
			new_docs.append(doc)
			outcome[index] = ("created", doc, warnings)
		else:
			old = stored_document(DOCTYPE, row)
			clients.add(old.client)
			counterparties.add(old.counterparty)
			if differs(old, doc, STORED_FIELDS):
				doc.synced_on = now
				changed.append((old, doc))
				outcome[index] = ("updated", doc, warnings)
			else:
				outcome[index] = ("unchanged", doc, warnings)
	writer.insert(new_docs)
	writer.update(changed)
	writer.notify_lists()
	for index, (status, doc, warnings) in outcome.items():
		results.done(index, status, doc.name, doc.external_id, warnings)
		clients.add(doc.client)
		counterparties.add(doc.counterparty)
	figures.refresh(counterparties=counterparties, clients=clients, now=now)


def locked_rows(field: str, keys: list[str]) -> dict[str, dict]:
	"""The stored orders with these values of `field`, locked until the batch commits (a locking read
	also sees what a batch that finished a moment ago wrote)."""
	if not keys:
		return {}
	rows = frappe.db.sql(
		f"select * from `tab{DOCTYPE}` where `{field}` in %(keys)s for update", {"keys": keys}, as_dict=True
	)
	return {row[field]: row for row in rows}


class References:
	"""The counterparties, deals and currencies a batch names, each read once."""

	def __init__(self, batch, stored=()):
		batch, stored = list(batch), list(stored)
		counterparty_ids = {v["counterparty_external_id"] for v in batch if v.get("counterparty_external_id")}
		counterparty_ids |= {r.counterparty_external_id for r in stored if r.counterparty_external_id}
		self.counterparties = {}
		if counterparty_ids:
			# a locking read: a counterparty written by the batch just before this one is seen
			for row in frappe.db.sql(
				"""select name, external_id, client from `tabCRM Counterparty`
				where external_id in %(ids)s lock in share mode""",
				{"ids": sorted(counterparty_ids)},
				as_dict=True,
			):
				self.counterparties[row.external_id] = row
		deal_names = {v["deal"] for v in batch if v.get("deal")} | {r.deal for r in stored if r.deal}
		deal_ids = {v["deal_external_id"] for v in batch if v.get("deal_external_id")}
		self.deals, self.deal_ids = {}, {}
		fields = ["name", "client", "currency", "external_id"]
		if deal_names:
			for row in frappe.get_all("CRM Deal", filters={"name": ("in", list(deal_names))}, fields=fields):
				self.deals[row.name] = row
		if deal_ids:
			for row in frappe.get_all(
				"CRM Deal", filters={"external_id": ("in", list(deal_ids))}, fields=fields
			):
				self.deals[row.name] = row
				self.deal_ids[row.external_id] = row.name
		currencies = {v["currency"] for v in batch if v.get("currency")}
		self.currencies = (
			set(frappe.get_all("Currency", filters={"name": ("in", list(currencies))}, pluck="name"))
			if currencies
			else set()
		)
		self.default_currency = frappe.db.get_single_value("Simple CRM Settings", "default_currency")

	def deal(self, values: dict) -> str | None:
		name, by_id = values.get("deal"), values.get("deal_external_id")
		if name and name not in self.deals:
			raise ItemError(_("deal {0} does not exist").format(name))
		if by_id:
			if by_id not in self.deal_ids:
				raise ItemError(_("No deal has the external ID {0}").format(by_id))
			if name and name != self.deal_ids[by_id]:
				raise ItemError(
					_("deal {0} and deal_external_id {1} name different deals").format(name, by_id)
				)
			return self.deal_ids[by_id]
		return name

	def deal_client(self, deal: str | None) -> str | None:
		return self.deals[deal].client if deal and deal in self.deals else None


def build(values: dict, row: dict | None, references: References, warnings: list[str]):
	"""The order as it will be stored (see the module's docstring for how it is linked)."""
	fields = {
		k: v
		for k, v in values.items()
		if k in ("external_id", "order_number", "order_date", "status", "amount", "paid_amount", "currency")
	}
	if "counterparty_external_id" in values:
		fields["counterparty_external_id"] = values["counterparty_external_id"]
	if "deal" in values or "deal_external_id" in values:
		fields["deal"] = references.deal(values)
	currency = fields.get("currency")
	if currency and currency not in references.currencies:
		raise ItemError(_("currency {0} does not exist").format(currency))
	if row is None:
		doc = new_document(DOCTYPE, fields)
	else:
		doc = stored_document(DOCTYPE, row)
		doc.update(fields)
	link(doc, references, warnings, given="counterparty_external_id" in values)
	# the controller's defaults (CRMOrder.set_defaults)
	if not doc.order_number:
		doc.order_number = doc.external_id
	if not doc.currency:
		doc.currency = (doc.deal and references.deals[doc.deal].currency) or references.default_currency
	return doc


def link(doc, references: References, warnings: list[str], given: bool) -> None:
	"""The order's counterparty and client, from its deal and accounting's counterparty ID."""
	deal_client = references.deal_client(doc.deal)
	counterparty_client = None
	if doc.counterparty_external_id:
		counterparty = references.counterparties.get(doc.counterparty_external_id)
		if counterparty is None:
			doc.counterparty = None
			warnings.append(
				_("counterparty {0} is not here yet: the order is linked to it when it arrives").format(
					doc.counterparty_external_id
				)
			)
		elif not agrees(deal_client, doc.client if not doc.deal else None, counterparty.client):
			doc.counterparty = None
			warnings.append(
				_(
					"counterparty {0} belongs to client {1}, the order to client {2}: the order is linked to the counterparty once they agree"
				).format(
					doc.counterparty_external_id,
					counterparty.client or _("(none)"),
					deal_client or doc.client or _("(none)"),
				)
			)
		else:
			doc.counterparty = counterparty.name
			counterparty_client = counterparty.client
	elif given:
		doc.counterparty = None
	elif doc.counterparty:
		# linked in the CRM by a person, without accounting's ID
		counterparty_client = frappe.db.get_value("CRM Counterparty", doc.counterparty, "client")
	if doc.deal or doc.counterparty:
		doc.client = deal_client or counterparty_client


def agrees(deal_client: str | None, order_client: str | None, counterparty_client: str | None) -> bool:
	"""Whether an order may name the counterparty, as the order's controller checks it: the counterparty
	belongs to the order's client, which is its deal's client when the deal has one."""
	if deal_client:
		return counterparty_client == deal_client
	return not order_client or order_client == counterparty_client


def link_waiting_orders(counterparties: list, now, results: Results, outcome: dict) -> set[str]:
	"""Orders kept with the external ID of one of these counterparties and no counterparty yet are linked
	to it when they belong to its client (or to none). Returns the clients whose figures this touches."""
	by_id = {doc.external_id: doc for doc in counterparties if doc.external_id}
	if not by_id:
		return set()
	rows = frappe.db.sql(
		f"""select * from `tab{DOCTYPE}`
		where counterparty_external_id in %(ids)s and ifnull(counterparty, '') = '' for update""",
		{"ids": sorted(by_id)},
		as_dict=True,
	)
	if not rows:
		return set()
	deals = {r.deal for r in rows if r.deal}
	deal_clients = (
		dict(
			frappe.get_all(
				"CRM Deal", filters={"name": ("in", list(deals))}, fields=["name", "client"], as_list=True
			)
		)
		if deals
		else {}
	)
	pairs, clients, linked = [], set(), {}
	for row in rows:
		counterparty = by_id[row.counterparty_external_id]
		deal_client = deal_clients.get(row.deal) if row.deal else None
		if not agrees(deal_client, None if row.deal else row.client, counterparty.client):
			continue
		old, new = stored_document(DOCTYPE, row), stored_document(DOCTYPE, row)
		new.counterparty = counterparty.name
		new.client = deal_client or counterparty.client
		new.synced_on = now
		pairs.append((old, new))
		clients.update(c for c in (old.client, new.client) if c)
		linked[counterparty.external_id] = linked.get(counterparty.external_id, 0) + 1
	writer = Writer(DOCTYPE, now)
	writer.update(pairs)
	writer.notify_lists()
	for index, (_status, doc, _warnings) in outcome.items():
		if linked.get(doc.external_id):
			results.rows[index]["linked_orders"] = linked[doc.external_id]
	return clients
