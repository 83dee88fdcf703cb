# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

"""A monthly sales target: planned revenue and won deals of one sales manager or one sales team.

One target per (manager or team, month, pipeline); a target without a pipeline covers all pipelines. The
month is a date kept as the month's first day, so a period is a plain range (`month between ...`) and an
import may give any day of the month.

Who sees and sets targets (the row-level rule of this doctype, used by its `permission_query_conditions`
and `has_permission` hooks and by the Plan vs Fact report):

- a director, a CRM administrator and a System Manager see and set every target;
- a head of sales sees their own targets, their team members' and their teams' own; they set the
  targets of their team members and of the teams they lead (not their own: a director sets those);
- a sales manager reads their own targets and their team's, and sets none.

Teams count while they are active, as everywhere in the CRM (simple_crm.permissions.roles.team_users).
"""

import hashlib

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import get_fullname, getdate

from simple_crm.permissions.roles import HEAD_OF_SALES, SALES_MANAGER, sees_everything, team_users

DOCTYPE = "CRM Sales Target"
# what changes a target (the rest only read it)
WRITE_PTYPES = frozenset({"write", "create", "delete", "submit", "cancel", "amend", "import", "share"})


class SalesTargetError(frappe.ValidationError):
	pass


class DuplicateTargetError(SalesTargetError):
	pass


class TargetScopeError(frappe.PermissionError):
	pass


class CRMSalesTarget(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		manager: DF.Link | None
		month: DF.Date
		pipeline: DF.Link | None
		planned_amount: DF.Currency
		planned_deals: DF.Int
		target_key: DF.Data | None
		team: DF.Link | None
		title: DF.Data | None
	# end: auto-generated types

	def validate(self):
		self.validate_manager_or_team()
		self.set_month()
		self.validate_manager()
		self.validate_scope()
		self.set_key()
		self.validate_unique()
		self.set_title()

	def validate_manager_or_team(self):
		if bool(self.manager) == bool(self.team):
			frappe.throw(
				_("A target is set either for a manager or for a sales team: fill in exactly one of them"),
				SalesTargetError,
			)

	def set_month(self):
		self.month = month_start(self.month)

	def validate_manager(self):
		if not self.manager or not self.has_value_changed("manager"):
			return
		if not {SALES_MANAGER, HEAD_OF_SALES}.intersection(frappe.get_roles(self.manager)):
			frappe.throw(
				_("{0} sells nothing: targets are set for users with the role {1} or {2}").format(
					frappe.bold(self.manager), frappe.bold(_(SALES_MANAGER)), frappe.bold(_(HEAD_OF_SALES))
				),
				SalesTargetError,
			)

	def validate_scope(self):
		"""A head of sales sets the targets of their team members and teams only, before and after the
		change; a sales manager sets none (their role has no write right either: this holds for code paths
		that check no rights)."""
		user = frappe.session.user
		if self.flags.ignore_permissions or sees_everything(user):
			return
		before = None if self.is_new() else self.get_doc_before_save()
		for doc in filter(None, (before, self)):
			if not may_set(doc.manager, doc.team, user):
				raise_scope_error(doc.manager or doc.team, user)

	def set_key(self):
		"""The target's identity as one unique column: the manager or the team, the month and the pipeline
		(a composite unique index would let any number of targets without a pipeline through, as NULLs
		never collide). Hashed to fit the column whatever the lengths of the names."""
		who = f"user:{self.manager}" if self.manager else f"team:{self.team}"
		identity = "\x1f".join((who, str(self.month), self.pipeline or ""))
		self.target_key = hashlib.sha1(identity.encode()).hexdigest()

	def validate_unique(self):
		other = frappe.db.get_value(DOCTYPE, {"target_key": self.target_key, "name": ("!=", self.name)})
		if not other:
			return
		who = frappe.bold(self.manager or self.team)
		month = frappe.bold(getdate(self.month).strftime("%Y-%m"))
		if self.pipeline:
			message = _("{0} already has a target for {1} in pipeline {2}: {3}").format(
				who, month, frappe.bold(self.pipeline), frappe.bold(other)
			)
		else:
			message = _("{0} already has a target for {1}: {2}").format(who, month, frappe.bold(other))
		frappe.throw(message, DuplicateTargetError)

	def set_title(self):
		who = get_fullname(self.manager) if self.manager else self.team
		parts = [who, getdate(self.month).strftime("%Y-%m"), self.pipeline]
		self.title = " · ".join(part for part in parts if part)


def month_start(value):
	"""The first day of the month of `value` (a date or a date string)."""
	return getdate(value).replace(day=1) if value else value


# --- who sees and sets targets ------------------------------------------------------------------------


def led_teams(user: str) -> list[str]:
	"""The active teams `user` leads."""
	return frappe.get_all(
		"CRM Sales Team", filters={"head": user, "disabled": 0}, pluck="name", order_by="name"
	)


def member_teams(user: str) -> list[str]:
	"""The active teams `user` is a member of."""
	team = frappe.qb.DocType("CRM Sales Team")
	member = frappe.qb.DocType("CRM Sales Team Member")
	return (
		frappe.qb.from_(member)
		.join(team)
		.on(member.parent == team.name)
		.select(team.name)
		.distinct()
		.where((member.user == user) & (member.parenttype == "CRM Sales Team") & (team.disabled == 0))
		.run(pluck=True)
	)


def visible_scope(user: str) -> tuple[list[str], list[str]] | None:
	"""(managers, teams) whose targets `user` may read; None: all of them."""
	if sees_everything(user):
		return None
	return team_users(user), sorted({*led_teams(user), *member_teams(user)})


def writable_scope(user: str) -> tuple[set[str], set[str]] | None:
	"""(managers, teams) whose targets `user` may set; None: all of them."""
	if sees_everything(user):
		return None
	if HEAD_OF_SALES not in frappe.get_roles(user):
		return set(), set()
	teams = set(led_teams(user))
	return set(team_users(user)) - {user}, teams


def may_set(manager: str | None, team: str | None, user: str) -> bool:
	scope = writable_scope(user)
	if scope is None:
		return True
	managers, teams = scope
	return (manager in managers) if manager else (team in teams)


def raise_scope_error(whom: str | None, user: str):
	if HEAD_OF_SALES in frappe.get_roles(user):
		message = _(
			"You set the targets of your team members and of the teams you lead only: {0} is not one of them"
		).format(frappe.bold(whom or ""))
	else:
		message = _("Sales targets are set by a head of sales, a director or a CRM administrator")
	frappe.throw(message, TargetScopeError, title=_("Not Permitted"))


def read_condition(user: str | None = None, table: str = f"`tab{DOCTYPE}`") -> str:
	"""SQL condition limiting targets to those `user` may read ("" when unrestricted)."""
	scope = visible_scope(user or frappe.session.user)
	if scope is None:
		return ""
	managers, teams = scope
	parts = [f"{table}.`manager` in ({', '.join(frappe.db.escape(m) for m in managers)})"]
	if teams:
		parts.append(f"{table}.`team` in ({', '.join(frappe.db.escape(t) for t in teams)})")
	return "({})".format(" or ".join(parts))


def query_conditions(user: str | None = None, doctype: str | None = None) -> str:
	"""`permission_query_conditions` of CRM Sales Target (see hooks.py)."""
	return read_condition(user)


def has_permission(doc, ptype: str | None = None, user: str | None = None) -> bool | None:
	"""The same rule for one target: reading needs the stored target to match `read_condition`; changing
	it needs the stored target and the values being saved to be within what the user sets. False refuses;
	None leaves the decision to the role permissions (a target naming nobody yet is left to `validate`)."""
	user = user or frappe.session.user
	if sees_everything(user):
		return None
	name = doc.get("name")
	stored = None
	if name and not doc.get("__islocal"):
		stored = frappe.db.get_value(DOCTYPE, name, ["manager", "team"], as_dict=True)
	if ptype in WRITE_PTYPES:
		targets = [t for t in (stored, doc) if t and (t.get("manager") or t.get("team"))]
		if not all(may_set(t.get("manager"), t.get("team"), user) for t in targets):
			return False
		return None
	if stored is None:
		return None
	table = f"`tab{DOCTYPE}`"
	visible = frappe.db.sql(
		f"select {table}.name from {table} where {table}.name = %s and {read_condition(user)}", name
	)
	return None if visible else False
