"""The row-level condition of every CRM doctype: one SQL condition per doctype, built here.

The condition is used three times: by `permission_query_conditions` (list views, Report Builder, reports,
REST lists, exports, kanban, number cards), by `has_permission` (opening, saving, deleting one record) and
by the link search, so a record is visible through every path or through none. These hooks can only
restrict what the role permissions (DocPerm) already allow.

- System Manager, CRM Administrator and CRM Director see everything.
- CRM Integration (the accounting system's user) sees every client, counterparty, order and deal: the
  records it exchanges (simple_crm.integrations.exchange); it has no role permission on anything else.
- A head of sales sees the records of their team (CRM Sales Team: head + members) and their own, plus
  leads nobody is responsible for yet (to distribute them).
- Everyone else (a sales manager) sees the records they are responsible for, co-manage (deals) or are
  assigned to, and what hangs off those (counterparties and orders of their clients, contacts linked to
  their clients).
- An assignment is an open ToDo row. It is read through an uncorrelated sub-query on ToDo's
  (allocated_to, reference_type, status) index, not from the record's `_assign` text: a closed or
  cancelled assignment ends the access it gave, and only someone who may hand the record out can make
  one (simple_crm.permissions.assignments).

Every part is a test an index answers: a `column in (...)` list over an indexed column or an uncorrelated
sub-query over indexed columns. A query over many rows asks whether the record's name is among the names
the parts select (`condition_for`: one semi-join MariaDB drives from the user's records, however many
records the table holds); a query of one known record tests the parts on that row (`row_condition_for`).
Adding a doctype means adding one function decorated with `@rule(doctype)`; `add_rule_indexes` adds the
indexes its parts read where the doctype does not declare them.
"""

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import frappe
from frappe.utils import cint

from simple_crm.constants import ASSIGNMENT_OPEN, ROW_LEVEL_DOCTYPES
from simple_crm.permissions.roles import (
	CRM_ROLES,
	HEAD_OF_SALES,
	INTEGRATION,
	INTEGRATION_DOCTYPES,
	sees_everything,
	team_users,
)


@dataclass(frozen=True)
class Scope:
	"""What a rule needs: the doctype, the user, their roles and the users whose records they see."""

	doctype: str
	user: str
	roles: frozenset
	users: str  # SQL list of the user and (for a head of sales) their team, escaped: ('a', 'b')

	@property
	def table(self) -> str:
		return f"`tab{self.doctype}`"

	def column(self, fieldname: str) -> str:
		return f"{self.table}.`{fieldname}`"


RULES: dict[str, Callable[[Scope], list[str] | None]] = {}


def rule(doctype: str):
	"""Register the condition parts of `doctype` (any part true = visible; None = not narrowed)."""

	def register(fn):
		RULES[doctype] = fn
		return fn

	return register


# --- sub-queries shared by several rules -----------------------------------------------------------------


def deal_sources(users: str) -> list[str]:
	"""Sub-queries each returning names of deals the users are responsible for or co-manage."""
	return [
		f"select `name` from `tabCRM Deal` where `responsible` in {users}",
		f"select `parent` from `tabCRM Deal Manager` where `parenttype` = 'CRM Deal' and `user` in {users}",
	]


def client_sources(users: str) -> list[str]:
	"""Sub-queries each returning names of clients the users are responsible for or have deals with."""
	return [
		f"select `name` from `tabCRM Client` where `responsible` in {users}",
		f"select `client` from `tabCRM Deal` where `responsible` in {users} and `client` is not null",
		(
			"select `tabCRM Deal`.`client` from `tabCRM Deal Manager` join `tabCRM Deal` "
			"on `tabCRM Deal`.`name` = `tabCRM Deal Manager`.`parent` "
			"where `tabCRM Deal Manager`.`parenttype` = 'CRM Deal' "
			f"and `tabCRM Deal Manager`.`user` in {users} and `tabCRM Deal`.`client` is not null"
		),
	]


def column_in(column: str, sources: list[str]) -> list[str]:
	return [f"{column} in ({source})" for source in sources]


def assigned(scope: Scope) -> str:
	"""The record has an open assignment (ToDo) to the user or, for a head of sales, to their team."""
	return (
		f"{scope.column('name')} in (select `reference_name` from `tabToDo` "
		f"where `allocated_to` in {scope.users} "
		f"and `reference_type` = {frappe.db.escape(scope.doctype)} "
		f"and `status` = {frappe.db.escape(ASSIGNMENT_OPEN)})"
	)


# --- the rules --------------------------------------------------------------------------------------------


@rule("CRM Lead")
def _lead(s: Scope):
	parts = [f"{s.column('responsible')} in {s.users}"]
	if HEAD_OF_SALES in s.roles:
		# to distribute them (a test the responsible index answers)
		parts.append(f"({s.column('responsible')} is null or {s.column('responsible')} = '')")
	return parts


@rule("CRM Deal")
def _deal(s: Scope):
	return [
		f"{s.column('responsible')} in {s.users}",
		*column_in(s.column("name"), deal_sources(s.users)[1:]),
	]


@rule("CRM Client")
def _client(s: Scope):
	return [
		f"{s.column('responsible')} in {s.users}",
		*column_in(s.column("name"), client_sources(s.users)[1:]),
	]


@rule("CRM Counterparty")
def _counterparty(s: Scope):
	return [f"{s.column('owner')} in {s.users}", *column_in(s.column("client"), client_sources(s.users))]


@rule("CRM Order")
def _order(s: Scope):
	return [
		*column_in(s.column("client"), client_sources(s.users)),
		*column_in(s.column("deal"), deal_sources(s.users)),
	]


@rule("CRM Task")
def _task(s: Scope):
	return [f"{s.column('assigned_to')} in {s.users}", f"{s.column('author')} in {s.users}"]


@rule("CRM Call")
def _call(s: Scope):
	return [f"{s.column('manager')} in {s.users}"]


@rule("CRM Complaint")
def _complaint(s: Scope):
	# the complaints they work, and every complaint of their clients (a head of sales: their team's)
	return [
		f"{s.column('responsible')} in {s.users}",
		*column_in(s.column("client"), client_sources(s.users)),
	]


@rule("Contact")
def _contact(s: Scope):
	if not CRM_ROLES.intersection(s.roles):
		return None  # Contact belongs to Frappe: only CRM users are narrowed
	linked_clients = " or ".join(column_in("`tabDynamic Link`.`link_name`", client_sources(s.users)))
	return [
		f"{s.column('crm_responsible')} in {s.users}",
		f"{s.column('owner')} in {s.users}",
		(
			f"{s.column('name')} in (select `tabDynamic Link`.`parent` from `tabDynamic Link` "
			"where `tabDynamic Link`.`parenttype` = 'Contact' "
			f"and `tabDynamic Link`.`link_doctype` = 'CRM Client' and ({linked_clients}))"
		),
	]


# --- conditions ------------------------------------------------------------------------------------------


def condition_parts(doctype: str, user: str | None = None) -> list[str] | None:
	"""The parts of `doctype`'s condition for `user` (any part true = visible); None when unrestricted."""
	user = user or frappe.session.user
	build = RULES.get(doctype)
	if not build or sees_everything(user):
		return None
	roles = frozenset(frappe.get_roles(user))
	if INTEGRATION in roles and doctype in INTEGRATION_DOCTYPES:
		return None
	users = team_users(user)
	scope = Scope(
		doctype=doctype,
		user=user,
		roles=roles,
		users="({})".format(", ".join(frappe.db.escape(u) for u in users)),
	)
	parts = build(scope)
	if parts is None:
		return None
	return [*parts, assigned(scope)]


# The two forms of a condition (see condition_for) and when each is taken. A list page (20 rows in the list's
# order), a report, a chart or a number card takes the set form while the user sees at most FEW_RECORDS of
# the doctype: above that, the sort index gives a page at once and a report's period and manager indexes
# narrow the rows before the parts are tested. A count of the list (the Desk's stops at 1,001) takes the set
# form up to MANY_RECORDS: counting the set beats reading the table for a thousand visible rows.
SET_FORM, ROW_FORM = "set", "row"
FEW_RECORDS = 2_000
MANY_RECORDS = 50_000
# how long a user's count of visible records is trusted (it only chooses between two equivalent forms)
VISIBLE_COUNT_TTL = 600
# the requests that count the list: the Desk's and REST counts, the sidebar's group counts, and what the
# workspace counts the same way: a dashboard chart's groups and a number card's figure and its change
WHOLE_SET_METHODS = frozenset(
	{
		"frappe.desk.reportview.get_count",
		"frappe.client.get_count",
		"frappe.desk.listview.get_group_by_count",
		"frappe.desk.doctype.dashboard_chart.dashboard_chart.get",
		"frappe.desk.doctype.number_card.number_card.get_result",
		"frappe.desk.doctype.number_card.number_card.get_percentage_difference",
	}
)


def condition_for(doctype: str, user: str | None = None, form: str | None = None) -> str:
	"""SQL condition limiting `doctype` to what `user` may see ("" when unrestricted), for queries over
	many rows (lists, counts, reports, searches). Two equivalent forms, chosen by how many records the
	user sees (`form` forces one):

	- the set form: the record's name is looked up in the names the user may see, the union of one
	  indexed select per part, as a derived table. MariaDB turns `name in (select ... from (union) t)` into
	  a semi-join, builds the set once from the parts' indexes and drives the query from it: a manager who
	  sees 40 of 500,000 deals gets their page and their count from those 40 rows;
	- the row form: the parts joined by OR, tested on each row the query reads (each sub-query
	  materialised once): a head of sales whose team works a fifth of the deals finds a page of 20 within
	  the first hundred rows of the sort index, where the set form would first copy and sort a hundred
	  thousand names."""
	parts = condition_parts(doctype, user)
	if parts is None:
		return ""
	if (form or _form_for(doctype, user or frappe.session.user, parts)) == ROW_FORM:
		return "({})".format(" or ".join(parts))
	table = f"`tab{doctype}`"
	selects = " union ".join(f"select {table}.`name` from {table} where {part}" for part in parts)
	return f"{table}.`name` in (select `visible`.`name` from ({selects}) `visible`)"


def row_condition_for(doctype: str, user: str | None = None) -> str:
	"""The same condition for a query of one known record (`name = %s`): the parts tested on that row."""
	return condition_for(doctype, user, form=ROW_FORM)


@contextmanager
def whole_set():
	"""Inside the block, conditions are built for a count of the list (see WHOLE_SET_METHODS)."""
	previous = frappe.local.flags.get("crm_whole_set")
	frappe.local.flags.crm_whole_set = True
	try:
		yield
	finally:
		frappe.local.flags.crm_whole_set = previous


def before_request() -> None:
	"""A request of WHOLE_SET_METHODS builds its conditions for counting the list."""
	frappe.local.flags.crm_whole_set = frappe.form_dict.get("cmd") in WHOLE_SET_METHODS


def _form_for(doctype: str, user: str, parts: list[str]) -> str:
	limit = MANY_RECORDS if frappe.local.flags.get("crm_whole_set") else FEW_RECORDS
	return SET_FORM if visible_count(doctype, user, parts) <= limit else ROW_FORM


def sees_few(doctype: str, user: str) -> bool:
	"""Whether `user` sees at most FEW_RECORDS records of `doctype` (False when they see them all): a query
	for them reads their records first (the set form of condition_for)."""
	parts = condition_parts(doctype, user)
	return parts is not None and visible_count(doctype, user, parts) <= FEW_RECORDS


def visible_count(doctype: str, user: str, parts: list[str]) -> int:
	"""How many records of `doctype` the user sees, counted part by part on each part's index and no further
	than MANY_RECORDS + 1; kept for the request and, in the cache, for VISIBLE_COUNT_TTL seconds: a stale
	count only makes a query slower, never shows or hides a record, as both forms select the same."""
	key = f"simple_crm:visible_count:{doctype}:{user}"
	known = frappe.local.cache.get(key)
	if known is None:
		known = frappe.cache.get_value(key, expires=True)
	if known is not None:
		frappe.local.cache[key] = known
		return cint(known)
	table = f"`tab{doctype}`"
	seen = 0
	for part in parts:
		seen += frappe.db.sql(
			f"select count(*) from (select {table}.`name` from {table} where {part} "
			f"limit {MANY_RECORDS + 1 - seen}) `part`"
		)[0][0]
		if seen > MANY_RECORDS:
			break
	frappe.cache.set_value(key, seen, expires_in_sec=VISIBLE_COUNT_TTL)
	frappe.local.cache[key] = seen
	return seen


@contextmanager
def visible_names(doctype: str, user: str | None = None):
	"""The names of the `doctype` records `user` sees, as a temporary table with `name` as its primary key, for
	the length of the block: a report that reads the same set in several queries (a head of sales's 40,000
	clients, each looked up through the team's 100,000 deals) builds it once instead of once per query. Yields
	None when the user sees every record, or when the connection may make no temporary table (a read-only
	transaction): the caller then tests `condition_for` as usual.

	The table is filled part by part, each part from its own index: a part that looks the name up in a
	sub-query gives the sub-query's names as they are (a name no record has joins nothing), the others select
	the names of the records they keep."""
	parts = condition_parts(doctype, user)
	if parts is None:
		yield None
		return
	table = f"crm_visible_{frappe.scrub(doctype)}"
	# A TEMPORARY table's CREATE and DROP commit nothing in MariaDB; Frappe's guard against implicit commits
	# reads every CREATE or DROP as one and would refuse them after the transaction's first write, hence the
	# leading comments.
	try:
		frappe.db.sql(f"/* report */ drop temporary table if exists `{table}`")
		frappe.db.sql(
			f"/* report */ create temporary table `{table}` (`name` varchar(140) not null primary key)"
		)
	except frappe.InReadOnlyMode:
		# Frappe's answer to MariaDB's "Cannot execute statement in a READ ONLY transaction"; it showed a message
		frappe.clear_last_message()
		yield None
		return
	try:
		source_table = f"`tab{doctype}`"
		for part in parts:
			names = _sub_query_of(part, f"{source_table}.`name`")
			if names is None:
				names = f"select {source_table}.`name` from {source_table} where {part}"
			frappe.db.sql(f"insert ignore into `{table}` {names}")
		yield table
	finally:
		frappe.db.sql(f"/* report */ drop temporary table if exists `{table}`")


def _sub_query_of(part: str, column: str) -> str | None:
	"""`select ...` when `part` is exactly `column in (select ...)`, else None."""
	head = f"{column} in ("
	if not part.startswith(head) or not part.endswith(")"):
		return None
	inner = part[len(head) : -1]
	depth = 0
	for character in inner:
		depth += {"(": 1, ")": -1}.get(character, 0)
		if depth < 0:
			return None  # the opening parenthesis closes before the end: `x in (...) or y in (...)`
	return inner if depth == 0 and inner.lstrip().lower().startswith("select ") else None


def child_condition(doctype: str, user: str | None = None) -> str:
	"""Rows of a child table are visible when their parent is.

	Frappe lists child rows (`frappe.get_list("CRM Deal Item", parent_doctype="CRM Deal")`, REST
	`/api/resource/CRM Deal Item?parent=CRM Deal`) checking only the parent's role permission, not the
	parent's row-level condition. A child doctype used by other parents too (Dynamic Link) is only narrowed
	for the rows of the row-level parents."""
	user = user or frappe.session.user
	table = f"`tab{doctype}`"
	parts = []
	for parent in parents_of(doctype):
		condition = condition_for(parent, user)
		if condition:
			parts.append(
				f"({table}.`parenttype` != {frappe.db.escape(parent)} or {table}.`parent` in "
				f"(select `tab{parent}`.`name` from `tab{parent}` where {condition}))"
			)
	return " and ".join(parts)


def parents_of(child_doctype: str) -> list[str]:
	return [
		parent
		for parent in ROW_LEVEL_DOCTYPES
		if any(df.options == child_doctype for df in frappe.get_meta(parent).get_table_fields())
	]


def query_conditions(user: str | None = None, doctype: str | None = None) -> str:
	"""`permission_query_conditions` of every row-level doctype and child table (see hooks.py)."""
	if not doctype:
		return ""
	if doctype in RULES:
		return condition_for(doctype, user)
	return child_condition(doctype, user)


def add_rule_indexes() -> None:
	"""Indexes of the columns the parts test that the doctypes do not declare: who created a counterparty
	or a contact (each part of `condition_for` is a select of its own and must seek, not scan)."""
	frappe.db.add_index("CRM Counterparty", ["owner"], "crm_owner_index")
	frappe.db.add_index("Contact", ["owner"], "crm_owner_index")
	frappe.db.add_index(
		"Dynamic Link", ["parenttype", "link_doctype", "link_name", "parent"], "crm_link_parent_index"
	)
