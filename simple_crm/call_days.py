"""Calls per manager and day (CRM Call Day), kept as calls are saved and deleted.

A year of a busy site holds one and a half million calls; the manager activity report of a user who sees
every call (a director) sums these rows instead, some 50 managers x 365 days, and gets the same counts: each
call adds itself to the row of its manager and the day it started when it is saved, moves from one row to
another when its manager, start, direction, status or length changes, and takes itself out when deleted,
in the same transaction as the call itself. A call without a manager or a start counts nowhere, as in the
report.

Calls written around their controller (the dataset generator's bulk inserts) are counted afresh with
`rebuild`.
"""

import frappe
from frappe.utils import cint, getdate

CALL = "CRM Call"
TABLE = "`tabCRM Call Day`"
# the rows are numbered by Frappe's sequence of the doctype (autoname "autoincrement")
SEQUENCE = "crm_call_day_id_seq"
INBOUND = "Inbound"
ANSWERED = "Answered"
COUNTED_FIELDS = ("manager", "started_at", "direction", "call_status", "duration")


def on_update(doc, method=None) -> None:
	"""CRM Call's on_update: a new call is added, a changed one moved."""
	if doc.flags.in_insert:
		add(doc, 1)
		return
	before = doc.get_doc_before_save()
	if before is not None and all(before.get(f) == doc.get(f) for f in COUNTED_FIELDS):
		return
	if before is not None:
		add(before, -1)
	add(doc, 1)


def on_trash(doc, method=None) -> None:
	add(doc, -1)


def add(call, sign: int) -> None:
	"""Adds (`sign` 1) or takes out (-1) one call in its manager's row of its day."""
	if not call.get("manager") or not call.get("started_at"):
		return
	values = {
		"manager": call.manager,
		"day": getdate(call.started_at),
		"calls": sign,
		"inbound": sign if call.get("direction") == INBOUND else 0,
		"answered": sign if call.get("call_status") == ANSWERED else 0,
		"talk_time": sign * cint(call.get("duration")),
		"now": frappe.utils.now(),
		"user": frappe.session.user,
	}
	frappe.db.sql(
		f"""insert into {TABLE} (`name`, `manager`, `day`, `calls`, `calls_inbound`, `calls_answered`,
			`talk_time`, `creation`, `modified`, `owner`, `modified_by`)
		values (nextval(`{SEQUENCE}`), %(manager)s, %(day)s, %(calls)s, %(inbound)s, %(answered)s, %(talk_time)s,
			%(now)s, %(now)s, %(user)s, %(user)s)
		on duplicate key update `calls` = `calls` + values(`calls`),
			`calls_inbound` = `calls_inbound` + values(`calls_inbound`),
			`calls_answered` = `calls_answered` + values(`calls_answered`),
			`talk_time` = `talk_time` + values(`talk_time`),
			`modified` = values(`modified`), `modified_by` = values(`modified_by`)""",
		values,
	)


def rebuild() -> None:
	"""Every row counted anew from the calls (after calls were written around their controller)."""
	frappe.db.sql(f"delete from {TABLE}")
	frappe.db.sql(
		f"""insert into {TABLE} (`name`, `manager`, `day`, `calls`, `calls_inbound`, `calls_answered`,
			`talk_time`, `creation`, `modified`, `owner`, `modified_by`)
		select nextval(`{SEQUENCE}`), `manager`, date(`started_at`), count(*), sum(`direction` = %(inbound)s),
			sum(`call_status` = %(answered)s), ifnull(sum(`duration`), 0), now(6), now(6), 'Administrator',
			'Administrator'
		from `tabCRM Call`
		where `manager` is not null and `manager` != '' and `started_at` is not null
		group by `manager`, date(`started_at`)""",
		{"inbound": INBOUND, "answered": ANSWERED},
	)
