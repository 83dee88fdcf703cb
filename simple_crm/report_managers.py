"""The managers a per-manager report is about, and those it lists with zeros.

A per-manager report tells a user about the people in their scope: a sales manager about themself, a head
of sales about their teams, a director about everyone (`scope`). It counts their records among those the
user may see (each query keeps its row-level condition too): a deal a sales manager co-manages is no row
of the colleague responsible for it in that manager's report.

A head of sales wants to see the manager who did nothing this month as a row of zeros, not as a missing
row. The roster is who the user may report on:

- a director (and every role that sees every record): the heads and members of every active team, or of
  the team the `team` filter names;
- a head of sales: themself and the members of the active teams they lead (`team_users`);
- a sales manager: themself.

The `manager` and `team` filters (simple_crm.report_filters.responsible_users) only narrow the roster, so
a sales manager who names a colleague gets no row for them. Disabled users are left out of the roster (a
manager who left still gets a row for the activity they had in the period: the reports add the users
their queries find).
"""

import frappe

from simple_crm.permissions.roles import sees_everything, team_users


def scope(narrowed_to: list[str] | None = None) -> list[str] | None:
	"""The managers whose records the current user's per-manager report counts: None (everyone's) for a
	user who sees every record, else themself and, for a head of sales, the members of their teams; within
	`narrowed_to` (the manager and team filters) when it is set."""
	user = frappe.session.user
	if sees_everything(user):
		return narrowed_to
	users = set(team_users(user))
	if narrowed_to is not None:
		users &= set(narrowed_to)
	return sorted(users)


def roster(narrowed_to: list[str] | None = None, team: str | None = None) -> list[str]:
	"""The enabled users the current user may report on, within `narrowed_to` when it is set."""
	user = frappe.session.user
	if sees_everything(user):
		users = set(_team_people(team))
	else:
		users = set(team_users(user))
	if narrowed_to is not None:
		users &= set(narrowed_to)
	users.discard("Administrator")
	users.discard("Guest")
	if not users:
		return []
	return sorted(frappe.get_all("User", filters={"name": ("in", list(users)), "enabled": 1}, pluck="name"))


def _team_people(team: str | None) -> list[str]:
	"""Heads and members of `team`, or of every active team."""
	team_table = frappe.qb.DocType("CRM Sales Team")
	member = frappe.qb.DocType("CRM Sales Team Member")
	teams = frappe.qb.from_(team_table).select(team_table.name, team_table.head)
	teams = teams.where(team_table.name == team) if team else teams.where(team_table.disabled == 0)
	rows = teams.run(as_dict=True)
	if not rows:
		return []
	names = [row.name for row in rows]
	members = (
		frappe.qb.from_(member)
		.select(member.user)
		.where((member.parenttype == "CRM Sales Team") & member.parent.isin(names))
		.run(pluck=True)
	)
	return [u for u in (*(row.head for row in rows), *members) if u]


def full_names(users) -> dict[str, str]:
	"""user -> full name (the user id when the user has none), one query."""
	users = [u for u in set(users) if u]
	if not users:
		return {}
	rows = frappe.get_all("User", filters={"name": ("in", users)}, fields=["name", "full_name"])
	names = {row.name: row.full_name or row.name for row in rows}
	return {u: names.get(u, u) for u in users}


def keys_of(doctype: str, column: str, managers: list[str] | None) -> list[str]:
	"""The users a per-user read names in its query: the managers in scope, else every user `column` holds.

	Read per named user, an index that starts with the user column and the period's column gives each user's
	range of the period in turn, counted as it is read, with no temporary table to sort. The column's values
	come from its own index by skipping from one value to the next (milliseconds)."""
	if managers is not None:
		return managers
	return frappe.db.sql_list(f"select distinct `{column}` from `tab{doctype}` where `{column}` is not null")
