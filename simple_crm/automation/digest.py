"""The daily digest: what changed in the last 24 hours, by e-mail to every head of sales and director.

`send_daily_digests` runs every hour (hooks.py) and starts the day's digests at `daily_digest_hour`
(Simple CRM Settings > Automation, the system's time zone). The period is the 24 hours up to that hour,
the same for every recipient and for every run of the day. Each enabled user with the CRM Head of Sales
or CRM Director role gets one e-mail (through the Email Queue) in their own language with:

- the leads received in the period,
- the deals won and the deals lost in the period, with their amounts and totals,
- the other stage moves of deals in the period (from the deals' version history: Frappe's Version rows of
  CRM Deal that change `stage`, which is where every move, by the form, the kanban, REST or a workflow
  action, is recorded),
- the tasks overdue now,
- the complaints registered in the period,

each record linked to its form in the Desk. Every list is read with `frappe.get_list(..., user=recipient)`,
which applies the recipient's role permissions and the row-level rules (simple_crm.permissions.rules): a
head of sales reads their team's records, a director everything. At most `ITEMS_PER_SECTION` records are
listed per section, with the count of the rest and a link to the list.

A recipient with nothing in any section gets no e-mail that day (counted as "nothing to report"): an empty
e-mail every morning teaches people to skip the digest. Each recipient is claimed once per day
(`digest:<date>:<user>`), in the transaction that queues their e-mail, so a second run sends nothing twice.
The day itself is claimed when its first run starts: a run that crashed half-way, or left recipients for
the next run (batch size), is finished by the next hourly runs of the same day, and a day whose digest hour
passed without a run (scheduler stopped, switch turned on later) is skipped rather than sent late.

Adding a section: write a function `(digest) -> Section` reading its records with
`frappe.get_list(..., user=digest.user)` and add it to `SECTIONS` (as `new_complaints` does).
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property

import frappe
from frappe import _
from frappe.utils import cint, flt, fmt_money, format_datetime, formatdate, get_url_to_list, now_datetime

from simple_crm import pipelines
from simple_crm.automation.common import (
	SYSTEM_USER,
	JobRun,
	claim,
	claimed,
	claimed_keys,
	desk_link,
	in_language,
	outgoing_email_ready,
	settings,
	users_with_role,
)
from simple_crm.constants import OPEN_TASK_STATUSES
from simple_crm.permissions.roles import HEAD_OF_SALES

JOB = "digest"
DIRECTOR = "CRM Director"
RECIPIENT_ROLES = (HEAD_OF_SALES, DIRECTOR)
TEMPLATE = "simple_crm/templates/emails/daily_digest.html"
ITEMS_PER_SECTION = 50
# stage moves read per day at most (the Version rows of the period); a day with more lists the first ones
MAX_MOVES = 20_000
# how a Version of a deal that changes the stage starts its change (Frappe writes compact JSON)
STAGE_CHANGED = '%["stage",%'


@dataclass(frozen=True)
class Period:
	start: datetime
	end: datetime
	now: datetime

	@property
	def day(self) -> str:
		return self.end.date().isoformat()


@dataclass
class Item:
	label: str
	url: str
	detail: str = ""


@dataclass
class Section:
	key: str
	title: str
	count: int
	items: list[Item] = field(default_factory=list)
	total: str = ""
	more_url: str = ""


@dataclass(frozen=True)
class Move:
	deal: str
	at: datetime
	from_stage: str
	to_stage: str
	to_type: str | None  # the stage type the move went to, when the version records it


@dataclass
class Digest:
	"""What the sections of one recipient's digest read: the recipient, the period and the period's stage
	moves (read once for everyone)."""

	user: str
	period: Period
	moves: list[Move]

	@cached_property
	def deals(self) -> dict[str, frappe._dict]:
		"""The moved deals the recipient may see (their permissions and row-level rules), by name."""
		names = sorted({move.deal for move in self.moves})
		if not names:
			return {}
		rows = frappe.get_list(
			"CRM Deal",
			filters=[["name", "in", names]],
			fields=["name", "deal_name", "pipeline", "amount", "currency", "responsible", "lost_reason"],
			limit_page_length=0,
			user=self.user,
		)
		return {row.name: row for row in rows}

	@cached_property
	def typed_moves(self) -> list[tuple[Move, frappe._dict, str]]:
		"""The moves of the deals the recipient may see, each with the type of the stage it went to: as the
		version recorded it, else as the deal's pipeline has it (every pipeline's stages read in one query)."""
		untyped = {self.deals[m.deal].pipeline for m in self.moves if not m.to_type and m.deal in self.deals}
		stage_types = pipeline_stage_types(untyped)
		typed = []
		for move in self.moves:
			deal = self.deals.get(move.deal)
			if deal:
				to_type = move.to_type or stage_types.get((deal.pipeline, move.to_stage)) or pipelines.OPEN
				typed.append((move, deal, to_type))
		return typed


# --- the job ---------------------------------------------------------------------------------------------


def send_daily_digests() -> str:
	"""Scheduler (hourly): the day's digests, started at the digest hour, finished by later runs that day.
	Returns the run's summary line ("nothing to do" in the other hours)."""
	run = JobRun(JOB)
	config = settings()
	now = now_datetime()
	hour = cint(config.daily_digest_hour)
	if not config.daily_digest_enabled or not 0 <= hour <= 23 or now.hour < hour:
		return run.finish()
	end = now.replace(hour=hour, minute=0, second=0, microsecond=0)
	period = Period(start=end - timedelta(hours=24), end=end, now=now)
	day_key = f"{JOB}:{period.day}"
	if now.hour == hour:
		claim(day_key, JOB)
		frappe.db.commit()
	elif not claimed(day_key):
		return run.finish()  # the digest hour passed without a run: today's digest is skipped, not sent late
	if not outgoing_email_ready():
		# an e-mail digest needs an outgoing account: nothing is claimed, so setting one up today still
		# sends today's digests at the next run
		run.count("no outgoing e-mail account, digests waiting")
		return run.finish()
	waiting = pending_recipients(period)
	moves = stage_moves(period) if waiting else []
	for user in run.take(waiting):
		with run.item(user):
			send_digest(user, period, moves, run)
	return run.finish()


def recipients() -> list[str]:
	"""Enabled heads of sales and directors (system users), the system user aside."""
	users = set()
	for role in RECIPIENT_ROLES:
		users.update(users_with_role(role))
	users.discard(SYSTEM_USER)
	return sorted(users)


def recipient_key(period: Period, user: str) -> str:
	return f"{JOB}:{period.day}:{user}"


def pending_recipients(period: Period) -> list[str]:
	users = recipients()
	done = claimed_keys([recipient_key(period, user) for user in users])
	return [user for user in users if recipient_key(period, user) not in done]


def send_digest(user: str, period: Period, moves: list[Move], run: JobRun) -> None:
	if not claim(recipient_key(period, user), JOB, user=user):
		run.count("already sent")
		return
	with in_language(user):
		sections = build_sections(user, period, moves)
		if not any(section.count for section in sections):
			run.count("nothing to report")
			return
		frappe.sendmail(
			recipients=[frappe.db.get_value("User", user, "email") or user],
			subject=_("CRM digest for {0}").format(formatdate(period.end.date())),
			message=render(user, period, sections),
			delayed=True,
			add_unsubscribe_link=False,
		)
	run.count("sent")


def build_sections(user: str, period: Period, moves: list[Move]) -> list[Section]:
	"""The digest of `user`: every section, empty ones included, in their order."""
	digest = Digest(user=user, period=period, moves=moves)
	return [build(digest) for build in SECTIONS]


def render(user: str, period: Period, sections: list[Section]) -> str:
	return frappe.render_template(
		TEMPLATE,
		{
			"recipient_name": frappe.utils.get_fullname(user),
			"period_start": format_datetime(period.start),
			"period_end": format_datetime(period.end),
			"sections": [section for section in sections if section.count],
		},
	)


# --- sections --------------------------------------------------------------------------------------------


def new_leads(digest: Digest) -> Section:
	filters = new_lead_filters(digest.period)
	rows = frappe.get_list(
		"CRM Lead",
		filters=filters,
		fields=["name", "lead_name", "company_name", "responsible", "source"],
		order_by="received_on asc",
		limit_page_length=ITEMS_PER_SECTION,
		user=digest.user,
	)
	return Section(
		key="new_leads",
		title=_("New leads"),
		count=count("CRM Lead", filters, digest.user) if len(rows) == ITEMS_PER_SECTION else len(rows),
		items=[
			Item(
				label=" — ".join(part for part in (row.lead_name, row.company_name) if part) or row.name,
				url=desk_link("CRM Lead", row.name),
				detail=", ".join(
					part
					for part in (
						person(row.responsible) if row.responsible else _("nobody responsible yet"),
						_(row.source) if row.source else "",
					)
					if part
				),
			)
			for row in rows
		],
		more_url=get_url_to_list("CRM Lead"),
	)


def won_deals(digest: Digest) -> Section:
	return outcome_section(digest, pipelines.WON, "won_deals", _("Deals won"))


def lost_deals(digest: Digest) -> Section:
	return outcome_section(digest, pipelines.LOST, "lost_deals", _("Deals lost"))


def outcome_section(digest: Digest, stage_type: str, key: str, title: str) -> Section:
	totals: dict[str, float] = {}
	items = []
	for _move, deal in closed_deals(digest, stage_type):
		totals[deal.currency or ""] = totals.get(deal.currency or "", 0) + flt(deal.amount)
		details = [money(deal.amount, deal.currency), person(deal.responsible) if deal.responsible else ""]
		if stage_type == pipelines.LOST and deal.lost_reason:
			details.append(_(deal.lost_reason))
		items.append(
			Item(
				label=deal_label(deal),
				url=desk_link("CRM Deal", deal.name),
				detail=", ".join(part for part in details if part),
			)
		)
	return Section(
		key=key,
		title=title,
		count=len(items),
		items=items[:ITEMS_PER_SECTION],
		total=", ".join(money(amount, currency) for currency, amount in sorted(totals.items())),
		more_url=get_url_to_list("CRM Deal"),
	)


def other_stage_moves(digest: Digest) -> Section:
	items = []
	for move, deal in open_stage_moves(digest):
		items.append(
			Item(
				label=deal_label(deal),
				url=desk_link("CRM Deal", deal.name),
				detail=f"{_(move.from_stage or '')} → {_(move.to_stage or '')}",
			)
		)
	return Section(
		key="stage_moves",
		title=_("Stage moves"),
		count=len(items),
		items=items[:ITEMS_PER_SECTION],
		more_url=get_url_to_list("CRM Deal"),
	)


def overdue_tasks(digest: Digest) -> Section:
	filters = overdue_task_filters(digest.period)
	rows = frappe.get_list(
		"CRM Task",
		filters=filters,
		fields=["name", "subject", "assigned_to", "due_on"],
		order_by="due_on asc",
		limit_page_length=ITEMS_PER_SECTION,
		user=digest.user,
	)
	return Section(
		key="overdue_tasks",
		title=_("Overdue tasks"),
		count=count("CRM Task", filters, digest.user) if len(rows) == ITEMS_PER_SECTION else len(rows),
		items=[
			Item(
				label=row.subject or row.name,
				url=desk_link("CRM Task", row.name),
				detail=", ".join(
					part
					for part in (
						_("due {0}").format(format_datetime(row.due_on)),
						person(row.assigned_to) if row.assigned_to else "",
					)
					if part
				),
			)
			for row in rows
		],
		more_url=get_url_to_list("CRM Task"),
	)


def new_complaint_filters(period: Period) -> list:
	"""The new complaints: registered in the period (created: one received days ago but entered today is
	new today)."""
	return [["creation", ">=", period.start], ["creation", "<", period.end]]


def new_complaints(digest: Digest) -> Section:
	"""The new complaints of the recipient's scope."""
	filters = new_complaint_filters(digest.period)
	rows = frappe.get_list(
		"CRM Complaint",
		filters=filters,
		fields=["name", "subject", "category", "status", "responsible"],
		order_by="creation asc",
		limit_page_length=ITEMS_PER_SECTION,
		user=digest.user,
	)
	return Section(
		key="new_complaints",
		title=_("New complaints"),
		count=count("CRM Complaint", filters, digest.user) if len(rows) == ITEMS_PER_SECTION else len(rows),
		items=[
			Item(
				label=f"{row.subject} ({row.name})" if row.subject else row.name,
				url=desk_link("CRM Complaint", row.name),
				detail=", ".join(
					part
					for part in (
						_(row.category) if row.category else "",
						_(row.status),
						person(row.responsible) if row.responsible else _("nobody responsible yet"),
					)
					if part
				),
			)
			for row in rows
		],
		more_url=get_url_to_list("CRM Complaint"),
	)


# The digest's sections in their order. A new one is a function like `new_leads`, reading with
# frappe.get_list(..., user=digest.user) so it stays in the recipient's scope.
SECTIONS: list[Callable[[Digest], Section]] = [
	new_leads,
	won_deals,
	lost_deals,
	other_stage_moves,
	new_complaints,
	overdue_tasks,
]


# --- reading ---------------------------------------------------------------------------------------------
# The records of each section, also read by the "CRM Changes in 24 Hours" report: one definition of each.


def new_lead_filters(period: Period) -> list:
	"""The new leads: received in the period."""
	return [["received_on", ">=", period.start], ["received_on", "<", period.end]]


def overdue_task_filters(period: Period) -> list:
	"""The overdue tasks: still to do and due before now."""
	return [["status", "in", list(OPEN_TASK_STATUSES)], ["due_on", "<", period.now]]


def closed_deals(digest: Digest, stage_type: str) -> list[tuple[Move, frappe._dict]]:
	"""The deals the recipient may see that moved into a stage of `stage_type` in the period, each once
	with its last such move, in the order of those moves."""
	closed = {}
	for move, deal, to_type in digest.typed_moves:
		if to_type == stage_type:
			closed[move.deal] = (move, deal)
	return sorted(closed.values(), key=lambda pair: pair[0].at)


def open_stage_moves(digest: Digest) -> list[tuple[Move, frappe._dict]]:
	"""The period's moves into open stages of the deals the recipient may see, oldest first."""
	return [
		(move, deal)
		for move, deal, to_type in digest.typed_moves
		if to_type not in (pipelines.WON, pipelines.LOST)
	]


def stage_moves(period: Period) -> list[Move]:
	"""Every stage move of a deal in the period, oldest first, read once per run for all recipients.

	Version rows are written once and never changed, so `modified` (which Frappe indexes) is their
	creation time: the period's rows are one range of that index."""
	rows = frappe.get_all(
		"Version",
		filters=[
			["ref_doctype", "=", "CRM Deal"],
			["modified", ">=", period.start],
			["modified", "<", period.end],
			["data", "like", STAGE_CHANGED],
		],
		fields=["docname", "data", "creation"],
		order_by="modified asc",
		limit_page_length=MAX_MOVES,
	)
	moves = []
	for row in rows:
		try:
			changed = {change[0]: change for change in json.loads(row.data).get("changed") or []}
		except (ValueError, TypeError, IndexError):
			continue
		stage = changed.get("stage")
		if not stage or len(stage) < 3:
			continue
		stage_type = changed.get("stage_type")
		moves.append(
			Move(
				deal=row.docname,
				at=row.creation,
				from_stage=stage[1],
				to_stage=stage[2],
				to_type=stage_type[2] if stage_type and len(stage_type) > 2 else None,
			)
		)
	return moves


def pipeline_stage_types(pipeline_names) -> dict[tuple[str, str], str]:
	"""(pipeline, stage name) -> stage type for the stages of `pipeline_names`, one query."""
	names = sorted(name for name in pipeline_names if name)
	if not names:
		return {}
	rows = frappe.get_all(
		"CRM Pipeline Stage",
		filters={"parenttype": "CRM Pipeline", "parentfield": "stages", "parent": ("in", names)},
		fields=["parent", "stage_name", "stage_type"],
	)
	return {(row.parent, row.stage_name): row.stage_type for row in rows}


def count(doctype: str, filters: list, user: str) -> int:
	rows = frappe.get_list(doctype, filters=filters, fields=["count(*) as total"], user=user)
	return cint(rows[0].total) if rows else 0


def person(user: str) -> str:
	return frappe.utils.get_fullname(user) if user else ""


def money(amount, currency: str | None) -> str:
	return fmt_money(flt(amount), currency=currency or None)


def deal_label(deal: frappe._dict) -> str:
	return f"{deal.deal_name} ({deal.name})" if deal.deal_name else deal.name
