"""Reading the items of a batch: each field checked, a clear translated message for the first bad one.

An item is a JSON object. A field left out of an item leaves the stored value as it is (a new record takes
the default); a field sent as null clears it. `ItemError` reports one item and lets the batch go on; so does
any Frappe validation error raised while an item is checked (the controllers' own checks of INN, KPP, phones,
dates and lengths), which `item_errors` turns into the item's message without adding it to the response's
messages.
"""

import datetime
import math
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation

import frappe
from frappe import _
from frappe.utils import escape_html, strip_html

# Data columns are varchar(140); identifiers and references are no longer
TEXT_LIMIT = 140
# Small Text columns (addresses) take far more; an address is never this long
LONG_TEXT_LIMIT = 2000
# Currency columns are decimal(21,9): below 10^12
AMOUNT_LIMIT = 10**12
SHOWN = 40


class ItemError(Exception):
	"""One item cannot be taken: it is reported with this message and skipped."""

	def __init__(self, message: str):
		super().__init__(message)
		self.message = message


@contextmanager
def item_errors():
	"""Turn a Frappe validation error raised for one item into an ItemError, keeping the messages Frappe
	queued for the response (`frappe.throw` queues one per error) to those of the batch itself."""
	queued = len(frappe.local.message_log)
	try:
		yield
	except frappe.ValidationError as e:
		del frappe.local.message_log[queued:]
		raise ItemError(strip_html(str(e)) or type(e).__name__) from None


def shown(value) -> str:
	text = value if isinstance(value, str) else frappe.as_json(value, indent=None)
	return escape_html(text if len(text) <= SHOWN else text[:SHOWN] + "…")


def check_keys(item: dict, allowed: tuple[str, ...]) -> None:
	unknown = sorted(set(item) - set(allowed))
	if unknown:
		raise ItemError(
			_("Unknown fields {0}: an item may have {1}").format(
				", ".join(shown(k) for k in unknown), ", ".join(allowed)
			)
		)


def external_id(item: dict, key: str = "external_id", required: bool = True) -> str | None:
	"""An accounting system's ID: text without surrounding spaces, at most 140 characters."""
	return text(item, key, required=required)


def text(item: dict, key: str, required: bool = False, limit: int = TEXT_LIMIT) -> str | None:
	value = item.get(key)
	if isinstance(value, int | float) and not isinstance(value, bool):
		value = str(value)  # an ID or a number sent as a JSON number
	if value is not None and not isinstance(value, str):
		raise ItemError(_("{0} must be a text, got {1}").format(key, shown(value)))
	value = (value or "").strip()
	if not value:
		if required:
			raise ItemError(_("{0} is missing").format(key))
		return None
	if len(value) > limit:
		raise ItemError(_("{0} is longer than {1} characters").format(key, limit))
	return value


def amount(item: dict, key: str) -> float:
	"""A sum of money: a JSON number or a text of digits ("1500.50"), from 0 to below 10^12."""
	value = item.get(key)
	if value is None:
		return 0.0
	if isinstance(value, bool) or not isinstance(value, int | float | str):
		raise ItemError(_("{0} must be a number, got {1}").format(key, shown(value)))
	try:
		number = (
			Decimal(value.strip().replace(" ", "").replace(",", ".")) if isinstance(value, str) else value
		)
		number = float(number)
	except (InvalidOperation, ValueError):
		raise ItemError(_("{0} must be a number, got {1}").format(key, shown(value))) from None
	if not math.isfinite(number) or not 0 <= number < AMOUNT_LIMIT:
		raise ItemError(
			_("{0} must be a number from 0 to below {1}, got {2}").format(key, AMOUNT_LIMIT, shown(value))
		)
	return number


def date(item: dict, key: str) -> str | None:
	"""A date as YYYY-MM-DD (a time after it, as 1C writes dates, is dropped)."""
	value = item.get(key)
	if value is None or value == "":
		return None
	if isinstance(value, str):
		try:
			return datetime.date.fromisoformat(value.strip()[:10]).isoformat()
		except ValueError:
			pass
	raise ItemError(_("{0} must be a date as YYYY-MM-DD, got {1}").format(key, shown(value)))


def choice(item: dict, key: str, options: tuple[str, ...]) -> str | None:
	value = text(item, key)
	if value is not None and value not in options:
		raise ItemError(_("{0} must be one of {1}, got {2}").format(key, ", ".join(options), shown(value)))
	return value


def flag(item: dict, key: str) -> int:
	value = item.get(key)
	if value in (None, 0, 1, False, True):
		return int(bool(value))
	raise ItemError(_("{0} must be true or false, got {1}").format(key, shown(value)))
