"""The accounting exchange's endpoints, for the accounting system's user (role CRM Integration).

The logic lives in simple_crm.integrations.exchange; the README ("Accounting exchange") gives the formats."""

import frappe

from simple_crm.integrations import exchange
from simple_crm.security.input import checked_arguments


@frappe.whitelist(methods=["POST"])
@checked_arguments
def counterparties(items: list | str | None = None) -> dict:
	"""Upsert counterparties by their external ID: `{"items": [{"external_id": ..., "full_name": ...}]}`."""
	return exchange.upsert_counterparties(items)


@frappe.whitelist(methods=["POST"])
@checked_arguments
def orders(items: list | str | None = None) -> dict:
	"""Upsert orders by their external ID: `{"items": [{"external_id": ..., "amount": ...}]}`."""
	return exchange.upsert_orders(items)


@frappe.whitelist(methods=["POST"])
@checked_arguments
def payments(items: list | str | None = None) -> dict:
	"""Paid amounts of orders and debts of counterparties, by their external IDs."""
	return exchange.upsert_payments(items)


@frappe.whitelist(methods=["GET"])
@checked_arguments
def changes(cursor: str | None = None, limit: int | None = None) -> dict:
	"""Clients and counterparties created or changed since `cursor`, a page at a time."""
	return exchange.changes(cursor, limit)
