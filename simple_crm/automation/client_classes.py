"""Every night, each client's activity level and ABC class, from what the CRM knows of the client.

Activity level (`update_activity_levels`): the client's last activity date is the latest of

- the date of its last order (CRM Order.order_date),
- the day its last won deal was won (CRM Deal.won_on of a deal in a Won stage),
- its last call in which the client was in touch: an answered call, or an inbound one even if missed (the
  client called); a call on one of its deals or contacts is the client's too (the call takes the client of
  its deal or contact when it is saved),
- the completion of its last done task about the client, one of its deals, contacts or counterparties,
- its last e-mail received from the client (about the client or one of its deals, or filed on the client's
  timeline, as Frappe files the mail of a contact's address),
- and, as a floor, the day the client was created: a new client is Active.

Open tasks, unanswered outbound calls and e-mails sent are no activity of the client. With N = Sleeping After
and M = Lost After (days): a client whose last activity is fewer than N days ago is Active, at least N but
fewer than M days ago Sleeping, at least M days ago Lost ("nothing for N days").

ABC class (`update_abc_classes`): each client's total over the last 12 months (the day after the same day a
year ago, through today) by the basis of the settings: Won Revenue sums the amounts of its deals won in that
window, Turnover the amounts of its orders dated in it (amounts are taken as they are, in one currency).
Clients are ranked by total, largest first, equal totals by client name. A client's share before it is what
the clients ranked above it make of the grand total: it is A while that share is below the A share, B while
it is below the A + B share, C otherwise; so the top client is always A. A client with no positive total is C.

Both are computed with SQL aggregates (GROUP BY client) over the clients in name order, a chunk at a time
(activity) or at once (ABC totals), and only the clients whose value changes are written: a direct UPDATE
per value and chunk, committed per chunk, instead of a document save per client, which at 200,000 clients
(controllers, hooks, search index for each) would take hours. `modified` is left as it is, so lists sorted
by Last Updated keep their order; the change is still on the client's history, as a Version row like the one
Frappe writes for a tracked field ("Administrator changed the value of Activity Level from Active to
Sleeping"), written in bulk with the UPDATE (not for a client's first classification, from no value).
A form opened before the run and saved after it writes its old value back; the next night puts it right.

A run that stops half-way has committed whole chunks; the next run recomputes everything and writes only
what still differs, so it ends where one clean run would have.
"""

from collections.abc import Iterable
from decimal import Decimal

import frappe
from frappe.utils import add_days, add_months, cint, getdate, now_datetime, nowdate

from simple_crm.automation.common import SYSTEM_USER, JobRun, settings

ACTIVITY_JOB = "activity_levels"
ABC_JOB = "abc_classes"

ACTIVE, SLEEPING, LOST = "Active", "Sleeping", "Lost"
CLASS_A, CLASS_B, CLASS_C = "A", "B", "C"
WON_REVENUE, TURNOVER = "Won Revenue", "Turnover"
ABC_MONTHS = 12

# clients per chunk of the activity job (one aggregate query each) and per UPDATE of either job
CHUNK_SIZE = 2000

# The last activity date of each client named from %(lo)s to %(hi)s (a chunk in name order), in one query.
# Every source is read from the chunk's clients (a primary-key range) through the index on its column that
# names the client (or the deal, contact, counterparty), so a chunk costs what its own clients have, however
# large the tables; the client's creation day stands in for a source without rows.
LAST_ACTIVITY_SQL = """
select c.name, c.activity_level, greatest(
	date(c.creation),
	coalesce(orders.last, date(c.creation)),
	coalesce(won.last, date(c.creation)),
	coalesce(calls.last, date(c.creation)),
	coalesce(tasks.last, date(c.creation)),
	coalesce(mails.last, date(c.creation))
) as last_activity
from `tabCRM Client` c
left join (
	select o.client, max(o.order_date) as last
	from `tabCRM Client` k join `tabCRM Order` o on o.client = k.name
	where k.name between %(lo)s and %(hi)s
	group by o.client
) orders on orders.client = c.name
left join (
	select d.client, max(d.won_on) as last
	from `tabCRM Client` k join `tabCRM Deal` d on d.client = k.name
	where k.name between %(lo)s and %(hi)s and d.stage_type = 'Won'
	group by d.client
) won on won.client = c.name
left join (
	select a.client, date(max(a.started_at)) as last
	from `tabCRM Client` k join `tabCRM Call` a on a.client = k.name
	where k.name between %(lo)s and %(hi)s and (a.call_status = 'Answered' or a.direction = 'Inbound')
	group by a.client
) calls on calls.client = c.name
left join (
	select client, date(max(done_on)) as last from (
		select k.name as client, coalesce(t.completed_on, t.modified) as done_on
		from `tabCRM Client` k
		join `tabCRM Task` t on t.reference_name = k.name and t.reference_doctype = 'CRM Client'
		where k.name between %(lo)s and %(hi)s and t.status = 'Done'
		union all
		select k.name, coalesce(t.completed_on, t.modified)
		from `tabCRM Client` k
		join `tabCRM Deal` d on d.client = k.name
		join `tabCRM Task` t on t.reference_name = d.name and t.reference_doctype = 'CRM Deal'
		where k.name between %(lo)s and %(hi)s and t.status = 'Done'
		union all
		select k.name, coalesce(t.completed_on, t.modified)
		from `tabCRM Client` k
		join `tabCRM Counterparty` p on p.client = k.name
		join `tabCRM Task` t on t.reference_name = p.name and t.reference_doctype = 'CRM Counterparty'
		where k.name between %(lo)s and %(hi)s and t.status = 'Done'
		union all
		select k.name, coalesce(t.completed_on, t.modified)
		from `tabCRM Client` k
		-- from the chunk's clients to their contacts (left alone, the optimiser reads every contact link)
		straight_join `tabDynamic Link` l
			on l.link_doctype = 'CRM Client' and l.link_name = k.name and l.parenttype = 'Contact'
		join `tabCRM Task` t on t.reference_name = l.parent and t.reference_doctype = 'Contact'
		where k.name between %(lo)s and %(hi)s and t.status = 'Done'
	) done group by client
) tasks on tasks.client = c.name
left join (
	select client, date(max(received_on)) as last from (
		select k.name as client, m.communication_date as received_on
		from `tabCRM Client` k
		join `tabCommunication` m on m.reference_doctype = 'CRM Client' and m.reference_name = k.name
		where k.name between %(lo)s and %(hi)s
			and m.communication_type = 'Communication' and m.sent_or_received = 'Received'
		union all
		select k.name, m.communication_date
		from `tabCRM Client` k
		join `tabCRM Deal` d on d.client = k.name
		join `tabCommunication` m on m.reference_doctype = 'CRM Deal' and m.reference_name = d.name
		where k.name between %(lo)s and %(hi)s
			and m.communication_type = 'Communication' and m.sent_or_received = 'Received'
		union all
		select k.name, m.communication_date
		from `tabCRM Client` k
		join `tabCommunication Link` cl
			on cl.link_doctype = 'CRM Client' and cl.link_name = k.name and cl.parenttype = 'Communication'
		join `tabCommunication` m on m.name = cl.parent
		where k.name between %(lo)s and %(hi)s
			and m.communication_type = 'Communication' and m.sent_or_received = 'Received'
	) received group by client
) mails on mails.client = c.name
where c.name between %(lo)s and %(hi)s
"""


# --- activity level ------------------------------------------------------------------------------------


def update_activity_levels(chunk_size: int = CHUNK_SIZE) -> str:
	"""The nightly job: Active, Sleeping or Lost for every client (see the module's docstring)."""
	run = JobRun(ACTIVITY_JOB)
	values = settings()
	if not values.activity_level_enabled:
		return run.finish()
	today = getdate(nowdate())
	sleeping_after = max(1, cint(values.sleeping_after_days))
	# the settings refuse Lost After <= Sleeping After; a value written around them still gives a valid order
	lost_after = max(sleeping_after, cint(values.lost_after_days))
	sleeping_from = add_days(today, -sleeping_after)  # a last activity on or before this day sleeps
	lost_from = add_days(today, -lost_after)  # ... on or before this day is lost
	after = ""
	while names := client_names_after(after, chunk_size):
		lo, hi = names[0], names[-1]
		with run.item(f"{lo}..{hi}"):
			changes: dict[str, list[tuple[str, str]]] = {}
			rows = frappe.db.sql(LAST_ACTIVITY_SQL, {"lo": lo, "hi": hi})
			for name, current, last_activity in rows:
				level = activity_level(getdate(last_activity), sleeping_from, lost_from)
				if level != (current or ""):
					changes.setdefault(level, []).append((name, current or ""))
			write("activity_level", changes)
			run.count("clients", len(rows))
			for level, changed in changes.items():
				run.count(f"now {level}", len(changed))
		after = hi
	return run.finish()


def activity_level(last_activity, sleeping_from, lost_from) -> str:
	if last_activity <= lost_from:
		return LOST
	if last_activity <= sleeping_from:
		return SLEEPING
	return ACTIVE


def client_names_after(after: str, limit: int) -> list[str]:
	"""The next `limit` client names after `after`, in name order (the primary key)."""
	client = frappe.qb.DocType("CRM Client")
	return (
		frappe.qb.from_(client)
		.select(client.name)
		.where(client.name > after)
		.orderby(client.name)
		.limit(max(1, cint(limit)))
		.run(pluck=True)
	)


# --- ABC class -----------------------------------------------------------------------------------------


def update_abc_classes(chunk_size: int = CHUNK_SIZE) -> str:
	"""The nightly job: A, B or C for every client (see the module's docstring)."""
	run = JobRun(ABC_JOB)
	values = settings()
	if not values.abc_class_enabled:
		return run.finish()
	today = getdate(nowdate())
	totals = abc_totals(values.abc_basis, add_months(today, -ABC_MONTHS), today)
	classes = abc_classes(totals, values.abc_a_share, values.abc_b_share)
	client = frappe.qb.DocType("CRM Client")
	changes: dict[str, list[tuple[str, str]]] = {}
	counted: dict[str, int] = {}
	for name, current in frappe.qb.from_(client).select(client.name, client.abc_class).run():
		new = classes.get(name, CLASS_C)
		counted[new] = counted.get(new, 0) + 1
		if new != (current or ""):
			changes.setdefault(new, []).append((name, current or ""))
	for new, changed in changes.items():
		for start in range(0, len(changed), max(1, cint(chunk_size))):
			part = changed[start : start + max(1, cint(chunk_size))]
			with run.item(f"{new}: {part[0][0]}..{part[-1][0]}"):
				write("abc_class", {new: part})
				run.count(f"now {new}", len(part))
	for new, n in counted.items():
		run.count(f"class {new}", n)
	return run.finish()


def abc_totals(basis: str, after, until) -> list[tuple[str, Decimal]]:
	"""Each client's total by `basis` over the days after `after` through `until`, as (client, total)."""
	if basis == TURNOVER:
		query = """select client, sum(amount) from `tabCRM Order`
			where client is not null and client != '' and order_date > %(after)s and order_date <= %(until)s
			group by client"""
	else:
		query = """select client, sum(amount) from `tabCRM Deal`
			where client is not null and client != '' and stage_type = 'Won'
				and won_on > %(after)s and won_on <= %(until)s
			group by client"""
	return frappe.db.sql(query, {"after": after, "until": until})


def abc_classes(totals: Iterable[tuple[str, object]], a_share, b_share) -> dict[str, str]:
	"""The class of each client with a positive total (the others are C).

	Ranked by total, largest first, ties by name; a client is A while the share of the grand total made by
	the clients before it is below `a_share` (percent), B while it is below `b_share`, else C. Exact
	(Decimal) arithmetic, so a share that is exactly the limit is not below it.
	"""
	ranked = sorted(
		((name, Decimal(str(total))) for name, total in totals if total and Decimal(str(total)) > 0),
		key=lambda row: (-row[1], row[0]),
	)
	grand = sum((total for _name, total in ranked), Decimal(0))
	a_limit = Decimal(str(a_share or 0)) * grand
	b_limit = Decimal(str(b_share or 0)) * grand
	classes = {}
	before = Decimal(0)
	for name, total in ranked:
		share = before * 100  # compared with limit * grand: no rounding of the share itself
		classes[name] = CLASS_A if share < a_limit else CLASS_B if share < b_limit else CLASS_C
		before += total
	return classes


# --- writing -------------------------------------------------------------------------------------------


def write(fieldname: str, changes: dict[str, list[tuple[str, str]]]) -> None:
	"""Set `fieldname` of the clients in `changes` ({new value: [(client, old value), ...]}) with one UPDATE
	per value, and put each change of a classified client on its history (a Version row, as Frappe writes
	for a tracked field)."""
	client = frappe.qb.DocType("CRM Client")
	now = now_datetime()
	versions = []
	for value, rows in changes.items():
		if not rows:
			continue
		frappe.qb.update(client).set(client[fieldname], value).where(
			client.name.isin([name for name, _old in rows])
		).run()
		versions.extend(
			(
				frappe.generate_hash(length=10),
				now,
				now,
				SYSTEM_USER,
				SYSTEM_USER,
				"CRM Client",
				name,
				version_data(fieldname, old, value),
			)
			for name, old in rows
			if old
		)
	if versions:
		frappe.db.bulk_insert(
			"Version",
			["name", "creation", "modified", "owner", "modified_by", "ref_doctype", "docname", "data"],
			versions,
		)


def version_data(fieldname: str, old: str, new: str) -> str:
	"""The JSON of a Version for one changed field, as Frappe's Version.set_diff writes it."""
	return frappe.as_json(
		{
			"added": [],
			"changed": [[fieldname, old, new]],
			"data_import": None,
			"removed": [],
			"row_changed": [],
			"updater_reference": None,
		},
		indent=None,
		separators=(",", ":"),
	)
