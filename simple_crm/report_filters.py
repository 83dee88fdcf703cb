"""What the CRM's script reports share: their filters, validated, and the rows a user may see.

Filters only narrow. Every query of a report puts the row-level condition of each doctype it reads
(`simple_crm.permissions.rules.condition_for`, the same condition the lists use) and the conditions of the
filters together with AND: a manager filter keeps that manager's records among those the user may see, a
team filter the records of the team's head and members among them. A sales manager who names a colleague
gets nothing of the colleague's (beyond what they may see anyway, e.g. deals they co-manage).

A filter value that names nothing (an unknown manager, team or pipeline, a date that is not a date, a
period that ends before it starts) is refused with a translated `ReportFilterError`.
"""

import datetime
import json
from urllib.parse import urlencode

import frappe
from frappe import _
from frappe.utils import flt

from simple_crm.permissions.rules import condition_for, row_condition_for

__all__ = [
	"Period",
	"ReportFilterError",
	"SQLConditions",
	"choice",
	"currency",
	"get_period",
	"link_value",
	"list_link",
	"require_permission",
	"responsible_users",
	"share",
	"visible",
]


class ReportFilterError(frappe.ValidationError):
	pass


class Period:
	"""The days `start` to `end`, both included."""

	def __init__(self, start: datetime.date, end: datetime.date):
		self.start, self.end = start, end

	@property
	def after_end(self) -> datetime.datetime:
		"""Midnight after the last day: a Datetime column is in the period when start <= value < this."""
		return datetime.datetime.combine(self.end + datetime.timedelta(days=1), datetime.time())

	@property
	def first_moment(self) -> datetime.datetime:
		return datetime.datetime.combine(self.start, datetime.time())

	def between(self) -> list:
		"""The period as a list view's filter value (dates as text)."""
		return ["Between", [str(self.start), str(self.end)]]


def get_period(filters: dict) -> Period:
	"""The period of `from_date` and `to_date` (both required, as YYYY-MM-DD)."""
	start = _date(filters, "from_date", _("From Date"))
	end = _date(filters, "to_date", _("To Date"))
	if start > end:
		frappe.throw(
			_("The period cannot end ({0}) before it starts ({1})").format(end, start),
			ReportFilterError,
			title=_("Invalid Filter"),
		)
	return Period(start, end)


def _date(filters: dict, fieldname: str, label: str) -> datetime.date:
	value = filters.get(fieldname)
	if isinstance(value, datetime.datetime):
		return value.date()
	if isinstance(value, datetime.date):
		return value
	if not value:
		frappe.throw(_("Set the filter {0}").format(label), ReportFilterError, title=_("Invalid Filter"))
	try:
		return datetime.date.fromisoformat(str(value).strip())
	except ValueError:
		frappe.throw(
			_("{0} must be a date like 2026-01-31, got {1}").format(label, frappe.bold(str(value)[:40])),
			ReportFilterError,
			title=_("Invalid Filter"),
		)


def choice(filters: dict, fieldname: str, label: str, options: tuple[str, ...], default: str) -> str:
	"""A Select filter's value: one of `options`, `default` when not set."""
	value = filters.get(fieldname) or default
	if value not in options:
		frappe.throw(
			_("{0} must be one of {1}, got {2}").format(
				label, ", ".join(_(o) for o in options if o), frappe.bold(str(value)[:40])
			),
			ReportFilterError,
			title=_("Invalid Filter"),
		)
	return value


def link_value(filters: dict, fieldname: str, doctype: str, label: str) -> str | None:
	"""A Link filter's value, which must name an existing `doctype` record (None when not set)."""
	value = filters.get(fieldname)
	if not value:
		return None
	if not isinstance(value, str) or not frappe.db.exists(doctype, value):
		frappe.throw(
			_("{0}: {1} not found").format(label, frappe.bold(str(value)[:140])),
			ReportFilterError,
			title=_("Invalid Filter"),
		)
	return value


def responsible_users(filters: dict) -> list[str] | None:
	"""The responsible managers the `manager` and `team` filters keep (None: not narrowed; [] when the
	manager is not in the team). A team is its head and its members."""
	manager = link_value(filters, "manager", "User", _("Manager"))
	team = link_value(filters, "team", "CRM Sales Team", _("Team"))
	users = None
	if team:
		head = frappe.db.get_value("CRM Sales Team", team, "head")
		members = frappe.get_all(
			"CRM Sales Team Member",
			filters={"parenttype": "CRM Sales Team", "parent": team},
			pluck="user",
		)
		users = sorted({u for u in (head, *members) if u})
	if manager:
		users = [manager] if users is None else [u for u in users if u == manager]
	return users


def require_permission(doctype: str) -> None:
	"""A report reading `doctype` beside its own doctype needs the user's report permission on it too."""
	if not frappe.has_permission(doctype, "report"):
		frappe.throw(
			_("You don't have permission to get a report on: {0}").format(_(doctype)), frappe.PermissionError
		)


def currency() -> str | None:
	"""The currency of the reports' amounts: the CRM's default one (amounts are summed as they are)."""
	return frappe.db.get_single_value("Simple CRM Settings", "default_currency")


def visible(doctype: str, one_record: bool = False) -> str:
	"""The row-level condition of `doctype` for the current user ("" when they see every record);
	`one_record`: for the rows of one record (a client's deals), tested on those rows alone."""
	if one_record:
		return row_condition_for(doctype, frappe.session.user)
	return condition_for(doctype, frappe.session.user)


class SQLConditions:
	"""SQL conditions joined by AND, with their named parameters (never values formatted into SQL)."""

	def __init__(self):
		self.parts: list[str] = []
		self.values: dict = {}

	def add(self, sql: str, **values) -> "SQLConditions":
		if sql:
			self.parts.append(f"({sql})")
		self.values.update(values)
		return self

	def add_in(self, column: str, key: str, values: list[str] | None) -> "SQLConditions":
		"""`column in (values)`; nothing when `values` is None, a condition never true when it is empty."""
		if values is None:
			return self
		if not values:
			return self.add("1 = 0")
		return self.add(f"{column} in %({key})s", **{key: tuple(values)})

	def sql(self) -> str:
		return " and ".join(self.parts) or "1 = 1"


def share(part: float, whole: float, precision: int = 2) -> float | None:
	"""`part` as a percentage of `whole`; None when there is no whole to share."""
	if not flt(whole):
		return None
	return flt(flt(part) * 100 / flt(whole), precision)


def list_link(doctype: str, filters: dict) -> str:
	"""The Desk address of `doctype`'s list with `filters` ({field: value or [operator, value]}), which the
	list reads as its filters; the list applies the user's row-level condition itself."""
	query = {
		field: json.dumps(value, default=str) if isinstance(value, list | tuple) else value
		for field, value in filters.items()
		if value is not None
	}
	slug = doctype.lower().replace(" ", "-")
	return f"/app/{slug}?{urlencode(query)}"
