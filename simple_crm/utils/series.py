"""Blocks of numbers of a naming series (Frappe's `tabSeries`), for writers that number many records at once.

Frappe's `getseries` takes one number per document and holds the series' row locked until the transaction
ends; the accounting exchange and the spreadsheet import take a block in one update instead.
"""

import frappe
from frappe.utils import cint


def reserve(prefix: str, count: int) -> int:
	"""Take the next `count` numbers of the series `prefix` ("LEAD-2026-"); returns the first of them."""
	current = frappe.db.sql("select `current` from `tabSeries` where `name` = %s for update", prefix)
	start = cint(current[0][0]) if current else 0
	if current:
		frappe.db.sql("update `tabSeries` set `current` = %s where `name` = %s", (start + count, prefix))
	else:
		frappe.db.sql("insert into `tabSeries` (`name`, `current`) values (%s, %s)", (prefix, count))
	return start + 1


def give_back(prefix: str, first_unused: int, block_end: int) -> None:
	"""Hand the unused tail of a block (`first_unused`..`block_end`) back to the series, unless another number
	was taken after the block."""
	frappe.db.sql(
		"update `tabSeries` set `current` = %s where `name` = %s and `current` = %s",
		(first_unused - 1, prefix, block_end),
	)
