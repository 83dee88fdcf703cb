"""Payments and debts from accounting: what has been paid on an order, what a counterparty owes.

There is no payment record in the CRM: accounting keeps the payments, the CRM keeps what it needs of them
(the 360 view of a client shows each order with its amount and paid amount, and the debt). An item is one
of:

- `{"order_external_id": ..., "paid_amount": ...}`: the total paid so far on that order (a change of the
  order: it moves its Last Updated and is kept in its history);
- `{"counterparty_external_id": ..., "debt": ..., "turnover": ...}`: accounting's balance of that
  counterparty (its figures from then on, see `figures`).

Both are totals, not increments, so sending the same item again changes nothing. The order or counterparty
must be known already (an error of the item otherwise: send the order or counterparty first, or with its
paid amount or figures in its own item).
"""

import frappe
from frappe import _
from frappe.utils import now_datetime

from simple_crm.integrations.exchange import figures
from simple_crm.integrations.exchange.batch import Results, first_occurrence
from simple_crm.integrations.exchange.counterparties import locked_rows as locked_counterparties
from simple_crm.integrations.exchange.items import ItemError, amount, check_keys, external_id
from simple_crm.integrations.exchange.orders import locked_rows as locked_orders
from simple_crm.integrations.exchange.rows import Writer, differs, stored_document

ORDER_FIELDS = ("order_external_id", "paid_amount")
COUNTERPARTY_FIELDS = ("counterparty_external_id", "debt", "turnover")


def parse(item: dict) -> tuple[str, str, dict]:
	"""(doctype, external ID, values) of an item."""
	if "order_external_id" in item:
		check_keys(item, ORDER_FIELDS)
		if "paid_amount" not in item:
			raise ItemError(_("paid_amount is missing"))
		return (
			"CRM Order",
			external_id(item, "order_external_id"),
			{"paid_amount": amount(item, "paid_amount")},
		)
	if "counterparty_external_id" in item:
		check_keys(item, COUNTERPARTY_FIELDS)
		for field in ("debt", "turnover"):
			if field not in item:
				raise ItemError(_("{0} is missing").format(field))
		return (
			"CRM Counterparty",
			external_id(item, "counterparty_external_id"),
			{"debt": amount(item, "debt"), "turnover": amount(item, "turnover")},
		)
	raise ItemError(
		_(
			"An item names an order (order_external_id, paid_amount) or a counterparty (counterparty_external_id, debt, turnover)"
		)
	)


def upsert(items: list[dict], results: Results) -> None:
	now = now_datetime()
	parsed: dict[int, tuple] = {}
	for index, item in enumerate(items):
		try:
			parsed[index] = parse(item)
		except ItemError as e:
			key = item.get("order_external_id") or item.get("counterparty_external_id")
			results.error(index, e.message, key if isinstance(key, str) else None)
	first = first_occurrence(
		results,
		[parsed[i][:2] if i in parsed else None for i in range(len(items))],
		[parsed[i][1] if i in parsed else None for i in range(len(items))],
	)
	todo = {index: parsed[index] for index in sorted(first.values())}
	orders = locked_orders(
		"external_id", [key for doctype, key, _v in todo.values() if doctype == "CRM Order"]
	)
	counterparties = locked_counterparties(
		[key for doctype, key, _v in todo.values() if doctype == "CRM Counterparty"]
	)
	order_pairs, figure_pairs = [], []
	touched_counterparties, touched_clients = set(), set()
	for index, (doctype, key, values) in todo.items():
		row = (orders if doctype == "CRM Order" else counterparties).get(key)
		if row is None:
			what = _("order") if doctype == "CRM Order" else _("counterparty")
			results.error(index, _("No {0} has the external ID {1}: send it first").format(what, key), key)
			continue
		old, new = stored_document(doctype, row), stored_document(doctype, row)
		new.update(values)
		touched_clients.add(row.client)
		if doctype == "CRM Order":
			touched_counterparties.add(row.counterparty)
			if differs(old, new, ("paid_amount",)):
				new.synced_on = now
				order_pairs.append((old, new))
				results.done(index, "updated", row.name, key)
			else:
				results.done(index, "unchanged", row.name, key)
		else:
			touched_counterparties.add(row.name)
			if not row.accounting_synced_on or differs(old, new, ("debt", "turnover")):
				new.accounting_synced_on = now
				figure_pairs.append((old, new))
				results.done(index, "updated", row.name, key)
			else:
				results.done(index, "unchanged", row.name, key)
	writer = Writer("CRM Order", now)
	writer.update(order_pairs)
	writer.notify_lists()
	Writer("CRM Counterparty", now).update(figure_pairs, history=False)
	figures.refresh(counterparties=touched_counterparties, clients=touched_clients, now=now)
