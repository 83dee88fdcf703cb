"""Telegram: the bot's webhook, replies from the Desk and setting the webhook (simple_crm.integrations.telegram)."""

import frappe
from frappe.rate_limiter import rate_limit

from simple_crm.integrations import telegram
from simple_crm.security.input import checked_arguments

# Telegram delivers a busy bot's updates over up to 40 connections from a few addresses
WEBHOOK_REQUESTS_PER_MINUTE = 1200


@frappe.whitelist(allow_guest=True, methods=["POST"])
@rate_limit(limit=WEBHOOK_REQUESTS_PER_MINUTE, seconds=60)
def webhook(**update) -> dict:
	"""Telegram's Update (the body is read and checked as it came, not from the arguments)."""
	return telegram.receive_update()


@frappe.whitelist(methods=["POST"])
@checked_arguments
def reply(doctype: str, name: str, text: str) -> dict:
	"""Send `text` to the Telegram chat of a lead or contact the user can see; returns the queued reply."""
	return telegram.queue_reply(doctype, name, text)


@frappe.whitelist(methods=["POST"])
def set_webhook() -> dict:
	"""Register this site's webhook with Telegram (administrators)."""
	return telegram.set_webhook()
