# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

"""Clients by activity level and ABC class, and the list of sleeping clients.

Both come from what the nightly jobs of simple_crm.automation.client_classes write on the client.

- Matrix: a row per activity level (Active, Sleeping, Lost, not computed yet), a column per ABC class (A, B,
  C, not classified), each cell the number of clients (or the sum of the measure chosen: their turnover or
  won revenue), with a row and a column of totals. Turnover and won revenue are those of the ABC window (the
  last 12 months through today, as the ABC job counts them: orders dated in it, deals won in it), summed
  over the orders and deals the user may see.
- Sleeping clients: the sleeping clients with the date of their last activity, read with the activity job's
  own query (LAST_ACTIVITY_SQL) for just these clients, longest asleep first. At most MAX_LISTED clients
  are listed (the first by manager and name); the summary says how many there are.

Every client counted or listed is one the user may see (the row-level condition of CRM Client) and the
filters keep; the filters only narrow. The matrix's three sums join the clients the user sees, looked up once
per run into a temporary table (simple_crm.permissions.rules.visible_names), instead of testing the condition
in each sum.
"""

from contextlib import contextmanager

import frappe
from frappe import _
from frappe.utils import add_months, date_diff, flt, getdate, nowdate

from simple_crm.automation.client_classes import (
	ABC_MONTHS,
	ACTIVE,
	CLASS_A,
	CLASS_B,
	CLASS_C,
	LAST_ACTIVITY_SQL,
	LOST,
	SLEEPING,
)
from simple_crm.permissions.rules import visible_names, whole_set
from simple_crm.report_filters import (
	SQLConditions,
	choice,
	currency,
	link_value,
	list_link,
	require_permission,
	responsible_users,
	visible,
)

CLIENT = "CRM Client"
MATRIX, SLEEPING_CLIENTS = "Matrix", "Sleeping Clients"
CLIENTS, TURNOVER, WON_REVENUE = "Clients", "Turnover", "Won Revenue"
# the filter values that stand for a value not set yet
NOT_COMPUTED, NOT_CLASSIFIED = "Not Computed", "Not Classified"
LEVELS = (ACTIVE, SLEEPING, LOST, "")
CLASSES = (CLASS_A, CLASS_B, CLASS_C, "")
CLASS_FIELDS = {CLASS_A: "class_a", CLASS_B: "class_b", CLASS_C: "class_c", "": "not_classified"}
MEASURE_FIELDS = {CLIENTS: "clients", TURNOVER: "turnover", WON_REVENUE: "won_revenue"}
# clients the sleeping list shows at most, and how many clients one last-activity query reads
MAX_LISTED = 2000
CHUNK = 500
# memory for the in-memory tables of one run's sub-queries (see in_memory_semi_joins)
SEMI_JOIN_MEMORY = 256 * 1024 * 1024

# Each of the three sums groups rows by the client's level and class, so nothing is grouped per client: the
# orders and deals of the window are joined to their client by its primary key.
CELL = """ifnull(`tabCRM Client`.`activity_level`, '') as activity_level,
	ifnull(`tabCRM Client`.`abc_class`, '') as abc_class"""

# `clients`: the client table, or the user's visible clients joined to it (see matrix)
CLIENTS_SQL = f"""
select {CELL}, count(*) as total
from {{clients}}
where {{conditions}}
group by 1, 2
"""

TURNOVER_SQL = f"""
select {CELL}, sum(`tabCRM Order`.`amount`) as total
from {{clients}}
join `tabCRM Order` on `tabCRM Order`.`client` = `tabCRM Client`.`name`
where `tabCRM Order`.`order_date` > %(after)s and `tabCRM Order`.`order_date` <= %(until)s
	and {{conditions}} and {{visible}}
group by 1, 2
"""

WON_REVENUE_SQL = f"""
select {CELL}, sum(`tabCRM Deal`.`amount`) as total
from {{clients}}
join `tabCRM Deal` on `tabCRM Deal`.`client` = `tabCRM Client`.`name`
where `tabCRM Deal`.`stage_type` = 'Won' and `tabCRM Deal`.`won_on` > %(after)s
	and `tabCRM Deal`.`won_on` <= %(until)s and {{conditions}} and {{visible}}
group by 1, 2
"""

# the activity job's query, for a list of clients instead of a range of names
_CHUNK_RANGE = "between %(lo)s and %(hi)s"
LAST_ACTIVITY_OF_CLIENTS_SQL = LAST_ACTIVITY_SQL.replace(_CHUNK_RANGE, "in %(names)s")


def execute(filters: dict | None = None):
	filters = frappe._dict(filters or {})
	view = choice(filters, "view", _("View"), (MATRIX, SLEEPING_CLIENTS), MATRIX)
	measure = choice(filters, "measure", _("Measure"), tuple(MEASURE_FIELDS), CLIENTS)
	users = responsible_users(filters)
	# every sum reads the whole set of the user's clients, orders and deals (never a page of them): the set form
	# of the row-level conditions serves a user who sees up to MANY_RECORDS (a manager's 5,000 clients of
	# 200,000: 0.45 s instead of 2.3 s for the three sums), as it serves a list's count
	with whole_set():
		return run(filters, view, measure, users)


def run(filters, view: str, measure: str, users: list[str] | None):
	with in_memory_semi_joins():
		if view == SLEEPING_CLIENTS:
			return sleeping_clients(client_conditions(filters, users))
		# The three sums read the same clients: those the user sees are looked up once, into a table the sums
		# join (a head of sales's 40,000 clients, found through the team's 100,000 deals, in 0.5 s once
		# instead of in each sum)
		with visible_names(CLIENT) as seen:
			if seen:
				clients = f"`{seen}` `seen` join `tabCRM Client` on `tabCRM Client`.`name` = `seen`.`name`"
				conditions = client_conditions(filters, users, visible_only=False)
			else:
				clients = "`tabCRM Client`"
				conditions = client_conditions(filters, users)
			return matrix(conditions, measure, list_filters(filters, users), clients)


@contextmanager
def in_memory_semi_joins(size: int = SEMI_JOIN_MEMORY):
	"""Room in memory for the sub-queries of the row-level conditions.

	For a head of sales the condition of CRM Client keeps the clients the team has deals with: MariaDB
	materialises those names (a client per deal of the team, tens of thousands) and looks every client up
	in them. Past `tmp_table_size` that table goes to disk and the lookups take seconds; this connection
	gets room for it while the report runs."""
	previous = frappe.db.sql("select @@session.tmp_table_size, @@session.max_heap_table_size")[0]
	frappe.db.sql(
		"set session tmp_table_size = greatest(@@session.tmp_table_size, %(size)s), "
		"max_heap_table_size = greatest(@@session.max_heap_table_size, %(size)s)",
		{"size": size},
	)
	try:
		yield
	finally:
		frappe.db.sql(
			"set session tmp_table_size = %(tmp)s, max_heap_table_size = %(heap)s",
			{"tmp": previous[0], "heap": previous[1]},
		)


def client_conditions(filters, users: list[str] | None, visible_only: bool = True) -> SQLConditions:
	"""The filters' conditions on the client and (`visible_only`) the client's row-level condition."""
	conditions = SQLConditions()
	conditions.add_in("`tabCRM Client`.`responsible`", "managers", users)
	segment = link_value(filters, "segment", "CRM Client Segment", _("Segment"))
	if segment:
		conditions.add("`tabCRM Client`.`segment` = %(segment)s", segment=segment)
	if filters.get("activity_level"):
		level = choice(filters, "activity_level", _("Activity Level"), (*LEVELS[:-1], NOT_COMPUTED), "")
		conditions.add(
			"ifnull(`tabCRM Client`.`activity_level`, '') = %(activity_level)s",
			activity_level="" if level == NOT_COMPUTED else level,
		)
	if filters.get("abc_class"):
		abc_class = choice(filters, "abc_class", _("ABC Class"), (*CLASSES[:-1], NOT_CLASSIFIED), "")
		conditions.add(
			"ifnull(`tabCRM Client`.`abc_class`, '') = %(abc_class)s",
			abc_class="" if abc_class == NOT_CLASSIFIED else abc_class,
		)
	if visible_only:
		conditions.add(visible(CLIENT))
	return conditions


def list_filters(filters, users: list[str] | None) -> dict:
	"""The manager, team and segment filters as the client list's filters (for the drill-down links); the
	activity level and ABC class filters are those of the cell."""
	return {
		"responsible": None if users is None else ["in", users or [""]],
		"segment": filters.get("segment") or None,
	}


# --- matrix ---------------------------------------------------------------------------------------------


def matrix(
	conditions: SQLConditions, measure: str, links_base: dict, clients: str = "`tabCRM Client`"
) -> tuple:
	# the sums read the orders and deals of the clients
	require_permission("CRM Order")
	require_permission("CRM Deal")
	money = currency()
	today = getdate(nowdate())
	values = {**conditions.values, "after": add_months(today, -ABC_MONTHS), "until": today}
	cells: dict[tuple[str, str], dict] = {}
	for field, sql, doctype in (
		("clients", CLIENTS_SQL, None),
		("turnover", TURNOVER_SQL, "CRM Order"),
		("won_revenue", WON_REVENUE_SQL, "CRM Deal"),
	):
		query = sql.format(
			clients=clients,
			conditions=conditions.sql(),
			visible=(doctype and visible(doctype)) or "1 = 1",
		)
		for cell in frappe.db.sql(query, values, as_dict=True):
			cells.setdefault((cell.activity_level, cell.abc_class), {})[field] = cell.total
	field = MEASURE_FIELDS[measure]
	rows = []
	for level in LEVELS:
		row = {"activity_level": level, "label": level_label(level), "currency": money}
		for abc_class in CLASSES:
			row[CLASS_FIELDS[abc_class]] = amount(cells.get((level, abc_class)), field)
		for total in MEASURE_FIELDS.values():
			row[total] = sum(amount(cells.get((level, c)), total) for c in CLASSES)
		row["links"] = cell_links(links_base, level)
		rows.append(row)
	totals = {"activity_level": None, "label": _("Total"), "currency": money, "is_total": 1}
	for key in (*CLASS_FIELDS.values(), *MEASURE_FIELDS.values()):
		totals[key] = sum(row[key] for row in rows)
	totals["links"] = cell_links(links_base, None)
	return (
		matrix_columns(measure),
		[*rows, totals],
		None,
		matrix_chart(rows, measure),
		matrix_summary(totals, rows),
	)


def amount(cell: dict | None, field: str) -> float | int:
	value = (cell or {}).get(field) or 0
	return int(value) if field == "clients" else flt(value)


def matrix_columns(measure: str) -> list[dict]:
	kind = {"fieldtype": "Int"} if measure == CLIENTS else {"fieldtype": "Currency", "options": "currency"}
	width = 100 if measure == CLIENTS else 140
	return [
		{"fieldname": "label", "label": _("Activity Level"), "fieldtype": "Data", "width": 150},
		{"fieldname": "class_a", "label": _("Class {0}").format(CLASS_A), **kind, "width": width},
		{"fieldname": "class_b", "label": _("Class {0}").format(CLASS_B), **kind, "width": width},
		{"fieldname": "class_c", "label": _("Class {0}").format(CLASS_C), **kind, "width": width},
		{"fieldname": "not_classified", "label": _("Not Classified"), **kind, "width": width},
		{"fieldname": "clients", "label": _("Clients"), "fieldtype": "Int", "width": 100},
		{
			"fieldname": "turnover",
			"label": _("Turnover, 12 Months"),
			"fieldtype": "Currency",
			"options": "currency",
			"width": 160,
		},
		{
			"fieldname": "won_revenue",
			"label": _("Won Revenue, 12 Months"),
			"fieldtype": "Currency",
			"options": "currency",
			"width": 170,
		},
	]


def cell_links(base: dict, level: str | None) -> dict[str, str]:
	"""For each class column (and the row's total), the client list showing the clients counted there."""
	by_level = {} if level is None else {"activity_level": level or ["is", "not set"]}
	links = {}
	for abc_class, field in CLASS_FIELDS.items():
		links[field] = list_link(CLIENT, {**base, **by_level, "abc_class": abc_class or ["is", "not set"]})
	links["clients"] = list_link(CLIENT, {**base, **by_level})
	return links


def matrix_chart(rows: list[dict], measure: str) -> dict:
	"""The measure of each activity level, stacked by ABC class."""
	return {
		"data": {
			"labels": [row["label"] for row in rows],
			"datasets": [
				{
					"name": _("Class {0}").format(c) if c else _("Not Classified"),
					"values": [row[CLASS_FIELDS[c]] for row in rows],
				}
				for c in CLASSES
			],
		},
		"type": "bar",
		"barOptions": {"stacked": 1},
		"fieldtype": "Int" if measure == CLIENTS else "Currency",
		"colors": ["#28a745", "#5e64ff", "#ffa00a", "#b8c2cc"],
	}


def matrix_summary(totals: dict, rows: list[dict]) -> list[dict]:
	by_level = {row["activity_level"]: row["clients"] for row in rows}
	return [
		{"value": totals["clients"], "label": _("Clients"), "datatype": "Int"},
		{"value": by_level[ACTIVE], "label": level_label(ACTIVE), "datatype": "Int", "indicator": "Green"},
		{
			"value": by_level[SLEEPING],
			"label": level_label(SLEEPING),
			"datatype": "Int",
			"indicator": "Orange",
		},
		{"value": by_level[LOST], "label": level_label(LOST), "datatype": "Int", "indicator": "Red"},
		{"value": totals["turnover"], "label": _("Turnover, 12 Months"), "datatype": "Currency"},
		{"value": totals["won_revenue"], "label": _("Won Revenue, 12 Months"), "datatype": "Currency"},
	]


def level_label(level: str) -> str:
	return _(level, context=CLIENT) if level else _("Not Computed")


# --- sleeping clients -----------------------------------------------------------------------------------


def sleeping_clients(conditions: SQLConditions) -> tuple:
	conditions.add("`tabCRM Client`.`activity_level` = %(sleeping)s", sleeping=SLEEPING)
	where = conditions.sql()
	total = frappe.db.sql(f"select count(*) from `tabCRM Client` where {where}", conditions.values)[0][0]
	clients = frappe.db.sql(
		f"""select `tabCRM Client`.`name` as client, `tabCRM Client`.`client_name`,
			`tabCRM Client`.`responsible`, `tabCRM Client`.`segment`, `tabCRM Client`.`abc_class`,
			`tabUser`.`full_name` as manager_name
		from `tabCRM Client`
		left join `tabUser` on `tabUser`.`name` = `tabCRM Client`.`responsible`
		where {where}
		order by `tabCRM Client`.`responsible`, `tabCRM Client`.`client_name`, `tabCRM Client`.`name`
		limit %(limit)s""",
		{**conditions.values, "limit": MAX_LISTED},
		as_dict=True,
	)
	last = last_activity_dates([c.client for c in clients])
	today = getdate(nowdate())
	rows = []
	for c in clients:
		last_activity = last.get(c.client)
		rows.append(
			{
				"client": c.client,
				"client_name": c.client_name,
				"responsible": c.responsible,
				"manager_name": c.manager_name or c.responsible,
				"segment": c.segment,
				"abc_class": c.abc_class,
				"last_activity": last_activity,
				"days_since": date_diff(today, last_activity) if last_activity else None,
			}
		)
	rows.sort(key=lambda r: (r["last_activity"] or today, r["client_name"] or "", r["client"]))
	message = None
	if total > len(rows):
		message = _(
			"{0} sleeping clients: the first {1} are listed. Narrow the filters to see the rest."
		).format(total, len(rows))
	summary = [
		{"value": total, "label": _("Sleeping Clients"), "datatype": "Int", "indicator": "Orange"},
		{"value": len(rows), "label": _("Listed"), "datatype": "Int"},
	]
	return sleeping_columns(), rows, message, None, summary


def last_activity_dates(clients: list[str]) -> dict:
	"""The last activity date of each client, as the activity job computes it."""
	dates = {}
	for start in range(0, len(clients), CHUNK):
		names = tuple(clients[start : start + CHUNK])
		for name, _level, last_activity in frappe.db.sql(LAST_ACTIVITY_OF_CLIENTS_SQL, {"names": names}):
			dates[name] = getdate(last_activity)
	return dates


def sleeping_columns() -> list[dict]:
	return [
		{"fieldname": "client", "label": _("Client"), "fieldtype": "Link", "options": CLIENT, "width": 120},
		{"fieldname": "client_name", "label": _("Client Name"), "fieldtype": "Data", "width": 220},
		{
			"fieldname": "responsible",
			"label": _("Manager"),
			"fieldtype": "Link",
			"options": "User",
			"width": 200,
		},
		{"fieldname": "manager_name", "label": _("Manager Name"), "fieldtype": "Data", "width": 160},
		{
			"fieldname": "segment",
			"label": _("Segment"),
			"fieldtype": "Link",
			"options": "CRM Client Segment",
			"width": 130,
		},
		{"fieldname": "abc_class", "label": _("ABC Class"), "fieldtype": "Data", "width": 90},
		{"fieldname": "last_activity", "label": _("Last Activity"), "fieldtype": "Date", "width": 120},
		{"fieldname": "days_since", "label": _("Days Since Last Activity"), "fieldtype": "Int", "width": 170},
	]
