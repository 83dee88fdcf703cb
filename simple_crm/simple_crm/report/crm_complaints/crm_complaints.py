# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

"""Complaints by category, client or manager: how many came in, how many are still open, resolved or
rejected, and how long they took to close.

- The rows count the complaints received in the period (Received On, both dates included), one row per
  category, client or responsible manager ("Group By"), each complaint by its status now.
- Time to resolve is a closed complaint's Days to Resolve: from Received On to the moment it was resolved
  or rejected, in days with two decimals (36 hours are 1.5). A rejected claim is answered too, so both count;
  a row's median and average are over its closed complaints and stay empty while none is closed.
- Only the complaints the user may see are read: the row-level condition of CRM Complaint
  (simple_crm.permissions.rules), the same the lists use. The manager, team, category and status filters
  narrow that further and never widen it (simple_crm.report_filters).
- Everything is aggregated in SQL: counts with GROUP BY, medians with MariaDB's MEDIAN() window function per
  group (it skips the open complaints, whose days are NULL there).
"""

from dataclasses import dataclass

import frappe
from frappe import _
from frappe.utils import cint, flt

from simple_crm import report_filters as rf
from simple_crm.constants import CLOSED_COMPLAINT_STATUSES, COMPLAINT_REJECTED, COMPLAINT_RESOLVED
from simple_crm.permissions.rules import visible_names

DOCTYPE = "CRM Complaint"
TABLE = f"`tab{DOCTYPE}`"


@dataclass(frozen=True)
class Grouping:
	fieldname: str  # the column of CRM Complaint the rows are grouped by
	options: str  # the doctype it links to


GROUPINGS = {
	"Category": Grouping("category", "CRM Complaint Category"),
	"Client": Grouping("client", "CRM Client"),
	"Manager": Grouping("responsible", "User"),
}
DEFAULT_GROUPING = "Category"
DECIMALS = 2
# the context of the counts' words ("Open": complaints still open, not a status)
COUNT = "CRM Complaints"


def execute(filters: dict | None = None):
	if not frappe.has_permission(DOCTYPE, "read"):
		frappe.throw(_("You cannot read complaints"), frappe.PermissionError)
	filters = validate_filters(frappe._dict(filters or {}))
	grouping = filters.grouping
	# the complaints the user sees, looked up once for the two or three sums below (a head of sales' are those
	# of the team's 40,000 clients, each tested through the team's 100,000 deals: 1.3 s a sum)
	with visible_names(DOCTYPE) as seen:
		where = conditions(filters, seen)
		rows = aggregate(where, grouping.fieldname)
		totals = aggregate(where, None)
		by_category = rows if grouping.fieldname == "category" else aggregate(where, "category")
	links = Links(filters)
	return (
		get_columns(grouping),
		[as_row(grouping, row, links) for row in rows],
		None,
		get_chart(by_category),
		get_summary(totals[0] if totals else None),
	)


# --- filters ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
	period: rf.Period
	grouping: Grouping
	users: list[str] | None  # the responsible managers kept by the manager and team filters (None: all)
	category: str | None
	status: str | None


def validate_filters(filters: dict) -> Filters:
	"""The filters checked (simple_crm.report_filters); anything unknown is refused with a message."""
	status = filters.get("status") or None
	if status:
		rf.choice(filters, "status", _("Status"), tuple(complaint_statuses()), "")
	return Filters(
		period=rf.get_period(filters),
		grouping=GROUPINGS[rf.choice(filters, "group_by", _("Group By"), tuple(GROUPINGS), DEFAULT_GROUPING)],
		users=rf.responsible_users(filters),
		category=rf.link_value(filters, "category", "CRM Complaint Category", _("Category")),
		status=status,
	)


def complaint_statuses() -> list[str]:
	options = frappe.get_meta(DOCTYPE).get_field("status").options or ""
	return [option for option in options.split("\n") if option]


def conditions(filters: Filters, seen: str | None = None) -> rf.SQLConditions:
	"""The period (by Received On), the filters and the row-level condition, over TABLE: a name in `seen`, the
	temporary table of the complaints the user sees (rules.visible_names), else the condition itself."""
	where = rf.SQLConditions()
	where.add(
		f"{TABLE}.`received_on` >= %(from_moment)s and {TABLE}.`received_on` < %(after_end)s",
		from_moment=filters.period.first_moment,
		after_end=filters.period.after_end,
	)
	where.add_in(f"{TABLE}.`responsible`", "responsible_users", filters.users)
	if filters.category:
		where.add(f"{TABLE}.`category` = %(category)s", category=filters.category)
	if filters.status:
		where.add(f"{TABLE}.`status` = %(status)s", status=filters.status)
	if seen:
		where.add(f"{TABLE}.`name` in (select `name` from `{seen}`)")
	else:
		where.add(rf.visible(DOCTYPE))
	return where


# --- reading ---------------------------------------------------------------------------------------------


def aggregate(where: rf.SQLConditions, fieldname: str | None) -> list[frappe._dict]:
	"""One row per value of `fieldname` (one row in all when None): received, open, resolved and rejected
	counts, and the median and average days to resolve of the closed ones."""
	group = f"{TABLE}.`{fieldname}`" if fieldname else "''"
	partition = f"partition by {group}" if fieldname else ""
	closed_days = f"case when {TABLE}.`status` in %(closed)s then {TABLE}.`days_to_resolve` end"
	return frappe.db.sql(
		f"""
		select `grp`, count(*) as `received`,
			sum(`closed` = 0) as `open`,
			sum(`status` = %(resolved)s) as `resolved`,
			sum(`status` = %(rejected)s) as `rejected`,
			avg(`days`) as `average_days`,
			max(`median_days`) as `median_days`
		from (
			select {group} as `grp`, {TABLE}.`status` as `status`,
				{TABLE}.`status` in %(closed)s as `closed`,
				{closed_days} as `days`,
				median({closed_days}) over ({partition}) as `median_days`
			from {TABLE}
			where {where.sql()}
		) as `complaints`
		group by `grp`
		order by `received` desc, `grp` asc
		""",
		{
			**where.values,
			"closed": tuple(CLOSED_COMPLAINT_STATUSES),
			"resolved": COMPLAINT_RESOLVED,
			"rejected": COMPLAINT_REJECTED,
		},
		as_dict=True,
	)


def days(value) -> float | None:
	return None if value is None else flt(value, DECIMALS)


def as_row(grouping: Grouping, row: frappe._dict, links: "Links") -> dict:
	value = row.grp or None
	return {
		grouping.fieldname: value,
		"received": cint(row.received),
		"open": cint(row.open),
		"resolved": cint(row.resolved),
		"rejected": cint(row.rejected),
		"median_days": days(row.median_days),
		"average_days": days(row.average_days),
		**{f"{count}_link": links.to(grouping.fieldname, value, count) for count in COUNTS},
	}


# the counts of a row and the statuses each counts (None: every status; "open": those not closed)
COUNTS = {
	"received": None,
	"open": "open",
	"resolved": (COMPLAINT_RESOLVED,),
	"rejected": (COMPLAINT_REJECTED,),
}


class Links:
	"""The Desk list of the complaints behind a count (the list applies the user's row-level condition as
	the report does)."""

	def __init__(self, filters: Filters):
		self.base = {"received_on": filters.period.between()}
		if filters.users is not None:
			self.base["responsible"] = ["in", filters.users]
		if filters.category:
			self.base["category"] = filters.category
		self.status = filters.status
		self.open = [s for s in complaint_statuses() if s not in CLOSED_COMPLAINT_STATUSES]

	def to(self, fieldname: str, value: str | None, count: str) -> str:
		query = {**self.base, fieldname: value or ["is", "not set"]}
		statuses = self.open if COUNTS[count] == "open" else COUNTS[count]
		if self.status:
			query["status"] = self.status
		elif statuses:
			query["status"] = ["in", list(statuses)]
		return rf.list_link(DOCTYPE, query)


# --- what the user sees ----------------------------------------------------------------------------------


def get_columns(grouping: Grouping) -> list[dict]:
	return [
		{
			"fieldname": grouping.fieldname,
			"label": {
				"category": _("Category"),
				"client": _("Client"),
				"responsible": _("Responsible Manager"),
			}[grouping.fieldname],
			"fieldtype": "Link",
			"options": grouping.options,
			"width": 220,
		},
		{"fieldname": "received", "label": _("Received", context=COUNT), "fieldtype": "Int", "width": 100},
		{"fieldname": "open", "label": _("Open", context=COUNT), "fieldtype": "Int", "width": 90},
		{"fieldname": "resolved", "label": _("Resolved", context=COUNT), "fieldtype": "Int", "width": 100},
		{"fieldname": "rejected", "label": _("Rejected", context=COUNT), "fieldtype": "Int", "width": 100},
		{
			"fieldname": "median_days",
			"label": _("Median Days to Resolve"),
			"fieldtype": "Float",
			"precision": DECIMALS,
			"width": 170,
		},
		{
			"fieldname": "average_days",
			"label": _("Average Days to Resolve"),
			"fieldtype": "Float",
			"precision": DECIMALS,
			"width": 170,
		},
	]


def get_chart(by_category: list[frappe._dict]) -> dict | None:
	"""Complaints per category, stacked by where they are now."""
	if not by_category:
		return None
	rows = sorted(by_category, key=lambda row: (-cint(row.received), row.grp or ""))
	return {
		"data": {
			"labels": [_(row.grp) if row.grp else _("Not Set") for row in rows],
			"datasets": [
				{"name": _("Open", context=COUNT), "values": [cint(row.open) for row in rows]},
				{"name": _("Resolved", context=COUNT), "values": [cint(row.resolved) for row in rows]},
				{"name": _("Rejected", context=COUNT), "values": [cint(row.rejected) for row in rows]},
			],
		},
		"type": "bar",
		"barOptions": {"stacked": 1},
		"colors": ["#ECAD4B", "#48BB74", "#E24C4C"],
	}


def get_summary(totals: frappe._dict | None) -> list[dict]:
	totals = totals or frappe._dict()
	median, average = days(totals.get("median_days")), days(totals.get("average_days"))
	return [
		{"value": cint(totals.get("received")), "label": _("Received", context=COUNT), "datatype": "Int"},
		{
			"value": cint(totals.get("open")),
			"label": _("Open", context=COUNT),
			"datatype": "Int",
			"indicator": "Orange",
		},
		{
			"value": cint(totals.get("resolved")),
			"label": _("Resolved", context=COUNT),
			"datatype": "Int",
			"indicator": "Green",
		},
		{
			"value": cint(totals.get("rejected")),
			"label": _("Rejected", context=COUNT),
			"datatype": "Int",
			"indicator": "Red",
		},
		{
			"value": median if median is not None else "—",
			"label": _("Median Days to Resolve"),
			"datatype": "Float" if median is not None else "Data",
		},
		{
			"value": average if average is not None else "—",
			"label": _("Average Days to Resolve"),
			"datatype": "Float" if average is not None else "Data",
		},
	]
