# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

"""What changed in the 24 hours up to a moment (now by default): one row per event.

The events are those of the daily digest (simple_crm.automation.digest), read by the digest's own
functions for the current user, so the report and the e-mail never disagree on what happened:

- New Lead: a lead received in the period (`digest.new_lead_filters`), at `received_on`;
- Deal Won / Deal Lost: a deal whose last move in the period went into a won or lost stage
  (`digest.closed_deals` over the period's stage moves, read from the deals' Version history by
  `digest.stage_moves`), at that move, with the deal's amount;
- Stage Move: every other move of a deal between stages (`digest.open_stage_moves`);
- Overdue Task: a task still to do that fell due in the period (`digest.overdue_task_filters`, the tasks
  due before the end of the period, or before now when that is earlier, narrowed to those due since its
  start). The digest lists every task overdue at the time of sending, however old; a report of changes
  lists the ones that became overdue in the 24 hours, and gives the digest's figure, every task overdue,
  in its summary.

Each list is read with the user's permissions and row-level rules (frappe.get_list as the user, as the
digest reads for its recipient). The `manager` and `team` filters keep the events of those managers (the
lead's or deal's responsible manager, the task's assignee) among those the user may see.
"""

import datetime

import frappe
from frappe import _
from frappe.utils import flt, get_datetime, now_datetime

from simple_crm import pipelines
from simple_crm.automation import digest
from simple_crm.report_filters import (
	ReportFilterError,
	choice,
	currency,
	link_value,
	require_permission,
	responsible_users,
)
from simple_crm.report_managers import full_names

NEW_LEAD = "New Lead"
DEAL_WON = "Deal Won"
DEAL_LOST = "Deal Lost"
STAGE_MOVE = "Stage Move"
OVERDUE_TASK = "Overdue Task"
EVENT_TYPES = (NEW_LEAD, DEAL_WON, DEAL_LOST, STAGE_MOVE, OVERDUE_TASK)
DEAL_EVENTS = (DEAL_WON, DEAL_LOST, STAGE_MOVE)
HOURS = 24


def execute(filters: dict | None = None):
	filters = frappe._dict(filters or {})
	period = get_period(filters)
	wanted = event_types(filters)
	link_value(filters, "team", "CRM Sales Team", _("Team"))
	managers = responsible_users(filters)
	for doctype in ("CRM Lead", "CRM Task"):
		require_permission(doctype)
	events = get_events(period, wanted, managers)
	overdue_now = count_overdue(period, managers) if OVERDUE_TASK in wanted else None
	return (
		get_columns(),
		events,
		None,
		get_chart(events, wanted),
		get_summary(events, wanted, overdue_now),
	)


# --- filters ----------------------------------------------------------------------------------------------


def get_period(filters: dict) -> digest.Period:
	"""The 24 hours up to `period_end` (now when not set), as the digest's period."""
	now = now_datetime()
	value = filters.get("period_end")
	if not value:
		end = now
	else:
		try:
			end = get_datetime(value)
		except Exception:
			end = None
		if not isinstance(end, datetime.datetime):
			frappe.throw(
				_("{0} must be a date and time like 2026-01-31 09:00, got {1}").format(
					_("Period End"), frappe.bold(str(value)[:40])
				),
				ReportFilterError,
				title=_("Invalid Filter"),
			)
	return digest.Period(start=end - datetime.timedelta(hours=HOURS), end=end, now=min(end, now))


def event_types(filters: dict) -> tuple[str, ...]:
	if not filters.get("event_type"):
		return EVENT_TYPES
	return (choice(filters, "event_type", _("Event Type"), EVENT_TYPES, NEW_LEAD),)


# --- events -----------------------------------------------------------------------------------------------


def get_events(period: digest.Period, wanted: tuple[str, ...], managers: list[str] | None) -> list[dict]:
	if managers is not None and not managers:
		return []
	events: list[dict] = []
	if NEW_LEAD in wanted:
		events += new_leads(period, managers)
	if any(kind in wanted for kind in DEAL_EVENTS):
		events += deal_events(period, wanted, managers)
	if OVERDUE_TASK in wanted:
		events += overdue_tasks(period, managers)
	names = full_names(event["manager"] for event in events)
	money = currency()
	for event in events:
		kind, doctype = event["event_type"], event["reference_doctype"]
		event["event"] = _(kind)
		event["record_type"] = _(doctype)
		event["manager_name"] = names.get(event["manager"], "") if event["manager"] else ""
		event.setdefault("amount", None)
		event["currency"] = event.get("currency") or money
	events.sort(key=lambda e: (e["time"], e["reference_name"]), reverse=True)  # newest first
	return events


def narrowed(filters: list, field: str, managers: list[str] | None) -> list:
	return [*filters, [field, "in", managers]] if managers is not None else filters


def new_leads(period: digest.Period, managers) -> list[dict]:
	rows = frappe.get_list(
		"CRM Lead",
		filters=narrowed(digest.new_lead_filters(period), "responsible", managers),
		fields=["name", "lead_name", "company_name", "responsible", "received_on", "source"],
		limit_page_length=0,
	)
	return [
		{
			"event_type": NEW_LEAD,
			"time": row.received_on,
			"reference_doctype": "CRM Lead",
			"reference_name": row.name,
			"title": " — ".join(part for part in (row.lead_name, row.company_name) if part) or row.name,
			"manager": row.responsible,
			"details": _(row.source) if row.source else "",
		}
		for row in rows
	]


def deal_events(period: digest.Period, wanted: tuple[str, ...], managers) -> list[dict]:
	reading = digest.Digest(user=frappe.session.user, period=period, moves=digest.stage_moves(period))
	pairs: list[tuple[str, digest.Move, frappe._dict]] = []
	if DEAL_WON in wanted:
		pairs += [(DEAL_WON, move, deal) for move, deal in digest.closed_deals(reading, pipelines.WON)]
	if DEAL_LOST in wanted:
		pairs += [(DEAL_LOST, move, deal) for move, deal in digest.closed_deals(reading, pipelines.LOST)]
	if STAGE_MOVE in wanted:
		pairs += [(STAGE_MOVE, move, deal) for move, deal in digest.open_stage_moves(reading)]
	events = []
	for kind, move, deal in pairs:
		if managers is not None and deal.responsible not in managers:
			continue
		details = f"{_(move.from_stage or '')} → {_(move.to_stage or '')}"
		if kind == DEAL_LOST and deal.lost_reason:
			details += f", {_(deal.lost_reason)}"
		events.append(
			{
				"event_type": kind,
				"time": move.at,
				"reference_doctype": "CRM Deal",
				"reference_name": deal.name,
				"title": deal.deal_name or deal.name,
				"manager": deal.responsible,
				"amount": None if kind == STAGE_MOVE else flt(deal.amount),
				"currency": deal.currency,
				"details": details,
			}
		)
	return events


def overdue_task_filters(period: digest.Period) -> list:
	"""The digest's overdue tasks that fell due in the period."""
	return [*digest.overdue_task_filters(period), ["due_on", ">=", period.start]]


def overdue_tasks(period: digest.Period, managers) -> list[dict]:
	rows = frappe.get_list(
		"CRM Task",
		filters=narrowed(overdue_task_filters(period), "assigned_to", managers),
		fields=["name", "subject", "assigned_to", "due_on", "reference_doctype", "reference_name"],
		limit_page_length=0,
	)
	return [
		{
			"event_type": OVERDUE_TASK,
			"time": row.due_on,
			"reference_doctype": "CRM Task",
			"reference_name": row.name,
			"title": row.subject or row.name,
			"manager": row.assigned_to,
			"details": f"{_(row.reference_doctype)} {row.reference_name}" if row.reference_name else "",
		}
		for row in rows
	]


def count_overdue(period: digest.Period, managers) -> int:
	"""Every task overdue at the end of the period (or now), as the digest counts them."""
	if managers is not None and not managers:
		return 0
	filters = narrowed(digest.overdue_task_filters(period), "assigned_to", managers)
	return digest.count("CRM Task", filters, frappe.session.user)


# --- columns, chart, summary -------------------------------------------------------------------------------


def get_columns() -> list[dict]:
	return [
		{"fieldname": "time", "label": _("Time"), "fieldtype": "Datetime", "width": 160},
		{"fieldname": "event", "label": _("Event"), "fieldtype": "Data", "width": 130},
		# the doctype of the record link, as a plain value (a Link to DocType would need read access to DocType)
		{
			"fieldname": "reference_doctype",
			"label": _("Record Type"),
			"fieldtype": "Data",
			"hidden": 1,
			"width": 110,
		},
		{"fieldname": "record_type", "label": _("Record Type"), "fieldtype": "Data", "width": 110},
		{
			"fieldname": "reference_name",
			"label": _("Record"),
			"fieldtype": "Dynamic Link",
			"options": "reference_doctype",
			"width": 170,
		},
		{"fieldname": "title", "label": _("Title"), "fieldtype": "Data", "width": 220},
		{"fieldname": "manager", "label": _("Manager"), "fieldtype": "Link", "options": "User", "width": 180},
		{"fieldname": "manager_name", "label": _("Manager Name"), "fieldtype": "Data", "width": 160},
		{
			"fieldname": "amount",
			"label": _("Amount"),
			"fieldtype": "Currency",
			"options": "currency",
			"width": 130,
		},
		{"fieldname": "details", "label": _("Details"), "fieldtype": "Data", "width": 220},
	]


def counts(events: list[dict]) -> dict[str, int]:
	found = dict.fromkeys(EVENT_TYPES, 0)
	for event in events:
		found[event["event_type"]] += 1
	return found


def get_chart(events: list[dict], wanted: tuple[str, ...]) -> dict:
	"""Events per type."""
	found = counts(events)
	return {
		"data": {
			"labels": [_(kind) for kind in wanted],
			"datasets": [{"name": _("Events"), "values": [found[kind] for kind in wanted]}],
		},
		"type": "bar",
		"colors": ["#5e64ff"],
	}


def get_summary(events: list[dict], wanted: tuple[str, ...], overdue_now: int | None) -> list[dict]:
	found = counts(events)
	indicators = {
		NEW_LEAD: "Blue",
		DEAL_WON: "Green",
		DEAL_LOST: "Red",
		STAGE_MOVE: "Blue",
		OVERDUE_TASK: "Red",
	}
	summary = [
		{"value": found[kind], "label": _(kind), "datatype": "Int", "indicator": indicators[kind]}
		for kind in wanted
	]
	for kind, label in ((DEAL_WON, _("Amount Won")), (DEAL_LOST, _("Amount Lost"))):
		if kind in wanted:
			summary.append(
				{
					"value": sum(flt(e["amount"]) for e in events if e["event_type"] == kind),
					"label": label,
					"datatype": "Currency",
					"currency": currency(),
				}
			)
	if overdue_now is not None:
		summary.append(
			{
				"value": overdue_now,
				"label": _("All Overdue Tasks"),
				"datatype": "Int",
				"indicator": "Red" if overdue_now else "Green",
			}
		)
	return summary
