"""The accounting exchange: the accounting system (1C, ERPNext) and the CRM keep each other informed.

Accounting sends what the CRM needs of its facts, in batches of JSON items, each upserted by accounting's
own ID (`simple_crm.api.exchange`, as a user with the CRM Integration role):

- `counterparties`: legal entities with their requisites, linked to the CRM's clients (`counterparties`);
- `orders`: orders linked to a deal and a counterparty (`orders`);
- `payments`: the paid amount of orders and the debt and turnover of counterparties (`payments`).

Each batch is idempotent (the same batch again changes nothing: no value, no Last Updated, no history),
takes its items in any order where it can (an order may come before its counterparty), reports each item
(created, updated, unchanged, or the reason it was not taken) without losing the others, and writes its
records with a few multi-row statements, as the controllers would have stored them (`rows`). Clients' and
counterparties' turnover and debt follow from what was sent (`figures`).

The CRM tells accounting about its side:

- the change journal (`journal`): clients and counterparties created or changed since a cursor;
- a signed webhook when a lead becomes a client (`webhook`), sent in the background and retried.

`batch` holds what every call shares: the role, the switch in Simple CRM Settings, the batch's shape, the
lock that keeps two batches from interleaving, the Integration Log.
"""

from simple_crm.integrations.exchange import batch, counterparties, journal, orders, payments


def upsert_counterparties(items) -> dict:
	return batch.run("counterparties", items, counterparties.upsert)


def upsert_orders(items) -> dict:
	return batch.run("orders", items, orders.upsert)


def upsert_payments(items) -> dict:
	return batch.run("payments", items, payments.upsert)


def changes(cursor: str | None = None, limit: int | None = None) -> dict:
	return journal.changes(cursor, limit)
