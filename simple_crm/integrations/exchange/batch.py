"""What every call of the exchange shares: who may call, the switch, the batch's shape, the lock, the log.

- Only a user with the CRM Integration role (Frappe's Administrator has every role) calls the exchange;
  anyone else gets 403 and nothing happens. The role is checked explicitly: Frappe's `only_for` lets the
  Administrator and tests through without looking.
- The exchange is switched on in Simple CRM Settings > Channels > Accounting Exchange (403 while off).
- A batch is a JSON list of at most "Most Items per Request" objects. Anything else is refused as a whole
  (400) and nothing is written. Within a good batch, an item that cannot be taken is reported with its
  reason and skipped, and the others are written.
- Writing batches one at a time: a batch holds a MariaDB named lock (`GET_LOCK`) while it reads and writes,
  so two batches about the same records (a retry sent while the first is still running) never interleave;
  the records themselves are read with locking reads (`for update`), which see what a batch that has just
  finished wrote, and the unique index on each doctype's external ID is what makes a twin impossible.
- Every call leaves one CRM Integration Log row (channel Accounting): the items it got (shortened), what
  became of them, or why it was refused.
"""

from contextlib import contextmanager

import frappe
from frappe import _
from frappe.utils import cint

from simple_crm.automation.common import settings
from simple_crm.integrations.common import ChannelDisabledError, InvalidPayloadError, inbound
from simple_crm.integrations.exchange.items import ItemError
from simple_crm.permissions.roles import INTEGRATION

CHANNEL = "Accounting"
# the most items a batch may have whatever the settings say
HARD_LIMIT = 10_000
# how long a batch waits for the one before it
LOCK_SECONDS = 60


class ExchangeBusyError(frappe.ValidationError):
	http_status_code = 503


def check_caller() -> None:
	if INTEGRATION not in frappe.get_roles():
		frappe.throw(
			_("Only the accounting system's user (role {0}) may use the accounting exchange").format(
				_(INTEGRATION)
			),
			frappe.PermissionError,
		)


def config() -> frappe._dict:
	values = settings()
	if not values.accounting_enabled:
		frappe.throw(
			_("The accounting exchange is switched off in Simple CRM Settings"), ChannelDisabledError
		)
	return values


def batch_limit(values: frappe._dict) -> int:
	return min(max(cint(values.accounting_batch_limit) or 1000, 1), HARD_LIMIT)


def check_items(items, limit: int) -> list[dict]:
	"""The batch as a whole: a list of objects, not empty, not too long."""
	if isinstance(items, str):
		try:
			items = frappe.parse_json(items)
		except ValueError:
			items = None
	if not isinstance(items, list):
		frappe.throw(_("items must be a list of objects"), InvalidPayloadError, title=_("Invalid Request"))
	if not items:
		frappe.throw(
			_("items is empty: send at least one item"), InvalidPayloadError, title=_("Invalid Request")
		)
	if len(items) > limit:
		frappe.throw(
			_("{0} items in one request, at most {1} allowed: send them in several requests").format(
				len(items), limit
			),
			InvalidPayloadError,
			title=_("Invalid Request"),
		)
	for number, item in enumerate(items, start=1):
		if not isinstance(item, dict):
			frappe.throw(
				_("Item {0} is not an object of fields and values").format(number),
				InvalidPayloadError,
				title=_("Invalid Request"),
			)
	return items


def lock_name() -> str:
	"""A named lock is the server's, not the database's: the site's database name keeps sites apart."""
	return f"crm_exchange:{frappe.conf.db_name}"[:64]


@contextmanager
def exchange_lock():
	got = frappe.db.sql("select get_lock(%s, %s)", (lock_name(), LOCK_SECONDS))[0][0]
	if got != 1:
		frappe.throw(
			_("Another exchange request has been running for over {0} seconds: try again later").format(
				LOCK_SECONDS
			),
			ExchangeBusyError,
		)
	try:
		yield
	finally:
		frappe.db.sql("select release_lock(%s)", lock_name())


class Results:
	"""What became of each item of a batch, in the batch's order."""

	def __init__(self, items: list[dict]):
		self.items = items
		self.rows: list[dict | None] = [None] * len(items)

	def error(self, index: int, message: str, key: str | None = None) -> None:
		self.rows[index] = {"index": index, "external_id": key, "status": "error", "error": message}

	def done(self, index: int, status: str, name: str | None, key: str | None, warnings=None) -> None:
		row = {"index": index, "external_id": key, "status": status, "name": name}
		if warnings:
			row["warnings"] = warnings
		self.rows[index] = row

	def warn(self, index: int, message: str) -> None:
		self.rows[index].setdefault("warnings", []).append(message)

	def counts(self) -> dict:
		counts = {"created": 0, "updated": 0, "unchanged": 0, "errors": 0}
		for row in self.rows:
			status = row["status"] if row else "error"
			counts["errors" if status == "error" else status] += 1
		return counts

	def answer(self) -> dict:
		return {**self.counts(), "items": self.rows}

	def summary(self, what: str) -> str:
		counts = self.counts()
		return "{}: {}".format(what, ", ".join(f"{n} {status}" for status, n in counts.items() if n))


def first_occurrence(results: Results, keys: list, labels: list[str | None] | None = None) -> dict:
	"""Each key's first item; a later item with the same key is reported (one record, one item a batch).
	`labels` name the items in the report when the keys are not the external IDs themselves."""
	seen: dict = {}
	for index, key in enumerate(keys):
		if key is None or results.rows[index] is not None:
			continue
		if key in seen:
			label = labels[index] if labels else key
			results.error(
				index,
				_("{0} is also item {1} of this request: send one item per record").format(
					label, seen[key] + 1
				),
				label,
			)
		else:
			seen[key] = index
	return seen


def run(what: str, items, work) -> dict:
	"""The frame of a batch endpoint: caller, switch, shape, lock, log; `work(items, results)` does the
	rest."""
	payload = {"method": what, "items": items}
	with inbound(CHANNEL, payload) as entry:
		check_caller()
		values = config()
		items = check_items(items, batch_limit(values))
		results = Results(items)
		with exchange_lock():
			work(items, results)
		entry.summary = results.summary(what)
		return results.answer()


def item_key(item: dict, field: str = "external_id") -> str | None:
	"""The item's external ID as the report names it (before it has been checked)."""
	value = item.get(field)
	return value.strip()[:140] if isinstance(value, str) and value.strip() else None


def parsed_items(items: list[dict], parse, results: Results) -> dict[int, dict]:
	"""index -> checked values of the items to write: each item checked by `parse` (an ItemError is that
	item's reported error), and of several items for one external ID the first one only."""
	keys = [item_key(item) for item in items]
	parsed: dict[int, dict] = {}
	for index, item in enumerate(items):
		try:
			parsed[index] = parse(item)
		except ItemError as e:
			results.error(index, e.message, keys[index])
	first = first_occurrence(
		results, [parsed[i]["external_id"] if i in parsed else None for i in range(len(items))]
	)
	return {index: parsed[index] for index in sorted(first.values())}


__all__ = ["ItemError", "Results", "first_occurrence", "item_key", "parsed_items", "run"]
