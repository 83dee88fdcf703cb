# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

"""Everything about one client (or one counterparty) on one page.

Filters: a client, or a counterparty (then the client is the counterparty's, and the deals and orders are
those of that counterparty). The summary cards give the client's turnover and debt as accounting reported
them, its open deals, won revenue, orders and payments, calls of the last 90 days, open and overdue
tasks, open complaints and the day of its last activity. The table has one section per kind of record,
newest first, each opened by a row with the count and the total:

- Deals (stage, amount, manager), Orders (amount, paid, debt = amount - paid), Counterparties (ИНН,
  debt and turnover from accounting), Contacts, Calls (direction and result, talk time), Tasks (on the
  client, its deals and contacts; open ones first), Complaints (status, days to resolve).

A section lists at most MAX_ROWS records (its opening row counts them all and links to the full list).
The chart shows the orders and the payments of the last 12 months per month.

The client must be one the user may see (else it is refused as if it did not exist), and every section
keeps its own row-level condition: a sales manager who sees the client through one deal sees that deal
and not the colleague's deals of the same client.
"""

import datetime

import frappe
from frappe import _
from frappe.utils import add_months, flt, getdate, now_datetime, today

from simple_crm.constants import CLOSED_COMPLAINT_STATUSES, OPEN_TASK_STATUSES
from simple_crm.pipelines import OPEN, WON
from simple_crm.report_filters import ReportFilterError, SQLConditions, currency, list_link, visible

MAX_ROWS = 50
RECENT_CALL_DAYS = 90
CHART_MONTHS = 12


def execute(filters: dict | None = None):
	filters = frappe._dict(filters or {})
	subject = Subject.from_filters(filters)
	money = currency()
	sections = [
		deals(subject),
		orders(subject),
		counterparties(subject),
		contacts(subject),
		calls(subject),
		tasks(subject),
		complaints(subject),
	]
	columns = get_columns()
	data = []
	for section in sections:
		data.extend(section.rows(money))
	# every row has every column: Frappe's export reads a Duration column's value from each row by its key
	for row in data:
		for column in columns:
			row.setdefault(column["fieldname"], None)
	return columns, data, None, get_chart(subject), get_summary(subject, sections, money)


class Subject:
	"""The client (and counterparty) the page is about, checked against what the user may see."""

	def __init__(self, client: str | None, counterparty: str | None):
		self.client, self.counterparty = client, counterparty

	@classmethod
	def from_filters(cls, filters: dict) -> "Subject":
		client = visible_record(filters, "client", "CRM Client", _("Client"))
		counterparty = visible_record(filters, "counterparty", "CRM Counterparty", _("Counterparty"))
		if not client and not counterparty:
			frappe.throw(
				_("Set the filter {0} or {1}").format(_("Client"), _("Counterparty")),
				ReportFilterError,
				title=_("Invalid Filter"),
			)
		if counterparty:
			owner = frappe.db.get_value("CRM Counterparty", counterparty, "client")
			if client and owner != client:
				frappe.throw(
					_("Counterparty {0} is not a counterparty of client {1}").format(
						frappe.bold(counterparty), frappe.bold(client)
					),
					ReportFilterError,
					title=_("Invalid Filter"),
				)
			client = owner
		return cls(client, counterparty)

	def owned(self, doctype: str, counterparty_field: str | None = None) -> SQLConditions | None:
		"""The records of the client (of the counterparty, for the doctypes that name one) the user may
		see; None when there is nothing to look for (a counterparty without a client, for client-only
		records)."""
		where = SQLConditions()
		table = f"`tab{doctype}`"
		if self.counterparty and counterparty_field:
			where.add(f"{table}.`{counterparty_field}` = %(counterparty)s", counterparty=self.counterparty)
		elif self.client:
			where.add(f"{table}.`client` = %(client)s", client=self.client)
		else:
			return None
		where.add(visible(doctype, one_record=True))
		return where

	def list_filters(self, counterparty_field: str | None = None) -> dict:
		if self.counterparty and counterparty_field:
			return {counterparty_field: self.counterparty}
		return {"client": self.client}


def visible_record(filters: dict, fieldname: str, doctype: str, label: str) -> str | None:
	"""The filter's record, refused with the same words whether it does not exist or is not the user's."""
	value = filters.get(fieldname)
	if not value:
		return None
	if (
		not isinstance(value, str)
		or not frappe.db.exists(doctype, value)
		or not frappe.has_permission(doctype, "read", doc=value)
	):
		frappe.throw(
			_("{0}: {1} not found").format(label, frappe.bold(str(value)[:140])),
			ReportFilterError,
			title=_("Invalid Filter"),
		)
	return value


class Section:
	"""One kind of record: its rows (at most MAX_ROWS), how many there are and their total."""

	def __init__(self, key: str, label: str, doctype: str, link_filters: dict | None):
		self.key, self.label, self.doctype = key, label, doctype
		self.link_filters = link_filters
		self.items: list[dict] = []
		self.count = 0
		self.totals: dict[str, float] = {}
		self.summary: dict = {}

	def rows(self, money: str | None) -> list[dict]:
		head = {
			"section": self.key,
			"description": f"{self.label}: {self.count}",
			"indent": 0,
			"is_section": 1,
			"currency": money,
			"list_link": list_link(self.doctype, self.link_filters) if self.link_filters else None,
			**{field: flt(value, 2) for field, value in self.totals.items()},
		}
		return [
			head,
			*(
				{
					"section": self.key,
					"reference_doctype": self.doctype,
					"indent": 1,
					"currency": money,
					**item,
				}
				for item in self.items
			),
		]


def select(doctype: str, where: SQLConditions | None, fields: str, order_by: str, **values) -> list[dict]:
	if where is None:
		return []
	return frappe.db.sql(
		f"select {fields} from `tab{doctype}` where {where.sql()} order by {order_by} limit {MAX_ROWS}",
		{**where.values, **values},
		as_dict=True,
	)


def aggregate(doctype: str, where: SQLConditions | None, expressions: str, **values) -> frappe._dict:
	if where is None:
		return frappe._dict()
	return frappe.db.sql(
		f"select count(*) as count, {expressions} from `tab{doctype}` where {where.sql()}",
		{**where.values, **values},
		as_dict=True,
	)[0]


def deals(subject: Subject) -> Section:
	doctype = "CRM Deal"
	where = subject.owned(doctype, "counterparty")
	section = Section("deals", _("Deals"), doctype, subject.list_filters("counterparty"))
	totals = aggregate(
		doctype,
		where,
		f"""sum(case when `stage_type` = '{OPEN}' then 1 else 0 end) as open_deals,
		sum(case when `stage_type` = '{OPEN}' then `amount` else 0 end) as open_amount,
		sum(case when `stage_type` = '{WON}' then `amount` else 0 end) as won_amount,
		max(`last_activity_on`) as last_activity_on""",
	)
	section.count = totals.get("count") or 0
	section.totals = {"amount": flt(totals.get("open_amount"))}
	section.summary = totals
	for deal in select(
		doctype,
		where,
		"`name`, `deal_name`, `stage`, `stage_type`, `amount`, `responsible`, `creation`",
		"`stage_type` = 'Open' desc, `creation` desc",
	):
		section.items.append(
			{
				"date": getdate(deal.creation),
				"reference_name": deal.name,
				"description": deal.deal_name,
				"status": _(deal.stage),
				"amount": deal.amount,
				"manager": deal.responsible,
			}
		)
	return section


def orders(subject: Subject) -> Section:
	doctype = "CRM Order"
	where = subject.owned(doctype, "counterparty")
	section = Section("orders", _("Orders"), doctype, subject.list_filters("counterparty"))
	totals = aggregate(doctype, where, "sum(`amount`) as amount, sum(`paid_amount`) as paid")
	section.count = totals.get("count") or 0
	section.totals = {
		"amount": flt(totals.get("amount")),
		"paid": flt(totals.get("paid")),
		"debt": flt(totals.get("amount")) - flt(totals.get("paid")),
	}
	for order in select(
		doctype,
		where,
		"`name`, `order_number`, `order_date`, `status`, `amount`, `paid_amount`, `deal`",
		"`order_date` desc, `creation` desc",
	):
		section.items.append(
			{
				"date": order.order_date,
				"reference_name": order.name,
				"description": " · ".join(
					part
					for part in (order.order_number, order.deal and _("Deal {0}").format(order.deal))
					if part
				),
				"status": order.status,
				"amount": order.amount,
				"paid": order.paid_amount,
				"debt": flt(order.amount) - flt(order.paid_amount),
			}
		)
	return section


def counterparties(subject: Subject) -> Section:
	doctype = "CRM Counterparty"
	where = SQLConditions()
	if subject.counterparty:
		where.add("`tabCRM Counterparty`.`name` = %(counterparty)s", counterparty=subject.counterparty)
	else:
		where.add("`tabCRM Counterparty`.`client` = %(client)s", client=subject.client)
	where.add(visible(doctype, one_record=True))
	section = Section(
		"counterparties",
		_("Counterparties"),
		doctype,
		{"name": subject.counterparty} if subject.counterparty else {"client": subject.client},
	)
	totals = aggregate(doctype, where, "sum(`debt`) as debt, sum(`turnover`) as turnover")
	section.count = totals.get("count") or 0
	section.totals = {"debt": flt(totals.get("debt")), "amount": flt(totals.get("turnover"))}
	for row in select(
		doctype, where, "`name`, `full_name`, `inn`, `kpp`, `debt`, `turnover`, `creation`", "`full_name` asc"
	):
		section.items.append(
			{
				"date": getdate(row.creation),
				"reference_name": row.name,
				"description": " · ".join(
					part
					for part in (
						row.full_name,
						row.inn and _("INN {0}").format(row.inn),
						row.kpp and _("KPP {0}").format(row.kpp),
					)
					if part
				),
				"amount": row.turnover,
				"debt": row.debt,
			}
		)
	return section


def contacts(subject: Subject) -> Section:
	doctype = "Contact"
	section = Section("contacts", _("Contacts"), doctype, None)
	if not subject.client:
		return section
	where = SQLConditions()
	where.add(
		"""`tabContact`.`name` in (select `parent` from `tabDynamic Link`
			where `parenttype` = 'Contact' and `link_doctype` = 'CRM Client' and `link_name` = %(client)s)""",
		client=subject.client,
	)
	where.add(visible(doctype, one_record=True))
	section.count = aggregate(doctype, where, "1 as one").get("count") or 0
	for row in select(
		doctype,
		where,
		"`name`, `full_name`, `designation`, `phone`, `mobile_no`, `email_id`, `creation`",
		"`is_primary_contact` desc, `full_name` asc",
	):
		section.items.append(
			{
				"date": getdate(row.creation),
				"reference_name": row.name,
				"description": " · ".join(
					part
					for part in (row.full_name, row.designation, row.mobile_no or row.phone, row.email_id)
					if part
				),
			}
		)
	return section


def calls(subject: Subject) -> Section:
	doctype = "CRM Call"
	where = subject.owned(doctype)
	section = Section("calls", _("Calls"), doctype, {"client": subject.client} if subject.client else None)
	totals = aggregate(
		doctype,
		where,
		"""sum(case when `started_at` >= %(since)s then 1 else 0 end) as recent,
		max(`started_at`) as last_call""",
		since=now_datetime() - datetime.timedelta(days=RECENT_CALL_DAYS),
	)
	section.count = totals.get("count") or 0
	section.summary = totals
	for call in select(
		doctype,
		where,
		"`name`, `started_at`, `direction`, `call_status`, `duration`, `manager`, `phone`, `topic`, `result`",
		"`started_at` desc",
	):
		section.items.append(
			{
				"date": getdate(call.started_at) if call.started_at else None,
				"reference_name": call.name,
				"description": " · ".join(
					part for part in (_(call.direction), call.phone, call.topic, call.result) if part
				),
				"status": _(call.call_status),
				"duration": call.duration,
				"manager": call.manager,
			}
		)
	return section


def tasks(subject: Subject) -> Section:
	"""Tasks on the client itself and on its deals and contacts."""
	doctype = "CRM Task"
	section = Section("tasks", _("Tasks"), doctype, None)
	if not subject.client:
		return section
	where = SQLConditions()
	# one select per kind of record the task is about, each on the (reference_doctype, reference_name)
	# index, their union looked up as a semi-join (an OR of the three would read every task)
	where.add(
		"""`tabCRM Task`.`name` in (select `about`.`name` from (
			select `name` from `tabCRM Task`
			where `reference_doctype` = 'CRM Client' and `reference_name` = %(client)s
			union select `name` from `tabCRM Task`
			where `reference_doctype` = 'CRM Deal' and `reference_name` in
				(select `name` from `tabCRM Deal` where `client` = %(client)s)
			union select `name` from `tabCRM Task`
			where `reference_doctype` = 'Contact' and `reference_name` in
				(select `parent` from `tabDynamic Link` where `parenttype` = 'Contact'
					and `link_doctype` = 'CRM Client' and `link_name` = %(client)s)) `about`)""",
		client=subject.client,
	)
	where.add(visible(doctype, one_record=True))
	totals = aggregate(
		doctype,
		where,
		"""sum(case when `status` in %(open_statuses)s then 1 else 0 end) as open_tasks,
		sum(case when `status` in %(open_statuses)s and `due_on` < %(now)s then 1 else 0 end) as overdue,
		max(`completed_on`) as last_done""",
		open_statuses=OPEN_TASK_STATUSES,
		now=now_datetime(),
	)
	section.count = totals.get("count") or 0
	section.summary = totals
	for task in select(
		doctype,
		where,
		"""`name`, `subject`, `status`, `due_on`, `assigned_to`, `reference_doctype`, `reference_name`""",
		"`status` in %(open_statuses)s desc, `due_on` desc",
		open_statuses=OPEN_TASK_STATUSES,
	):
		section.items.append(
			{
				"date": getdate(task.due_on) if task.due_on else None,
				"reference_name": task.name,
				"description": task.subject,
				"status": _(task.status),
				"manager": task.assigned_to,
			}
		)
	return section


def complaints(subject: Subject) -> Section:
	doctype = "CRM Complaint"
	where = subject.owned(doctype)
	section = Section(
		"complaints", _("Complaints"), doctype, {"client": subject.client} if subject.client else None
	)
	totals = aggregate(
		doctype,
		where,
		"sum(case when `status` not in %(closed)s then 1 else 0 end) as open_complaints",
		closed=CLOSED_COMPLAINT_STATUSES,
	)
	section.count = totals.get("count") or 0
	section.summary = totals
	for complaint in select(
		doctype,
		where,
		"`name`, `subject`, `status`, `received_on`, `responsible`, `days_to_resolve`",
		"`received_on` desc",
	):
		section.items.append(
			{
				"date": getdate(complaint.received_on) if complaint.received_on else None,
				"reference_name": complaint.name,
				"description": complaint.subject,
				"status": _(complaint.status),
				"days": complaint.days_to_resolve,
				"manager": complaint.responsible,
			}
		)
	return section


def get_columns() -> list[dict]:
	money = {"fieldtype": "Currency", "options": "currency", "width": 140}
	return [
		{"fieldname": "date", "label": _("Date"), "fieldtype": "Date", "width": 110},
		# Data, not a Link to DocType: Frappe filters a report's Link columns by the user's read permission on
		# the linked doctype, and sales people do not read DocType
		{"fieldname": "reference_doctype", "label": _("Record Type"), "fieldtype": "Data", "hidden": 1},
		{
			"fieldname": "reference_name",
			"label": _("Record"),
			"fieldtype": "Dynamic Link",
			"options": "reference_doctype",
			"width": 160,
		},
		{"fieldname": "description", "label": _("Description"), "fieldtype": "Data", "width": 320},
		{"fieldname": "status", "label": _("Status"), "fieldtype": "Data", "width": 130},
		{"fieldname": "amount", "label": _("Amount"), **money},
		{"fieldname": "paid", "label": _("Paid"), **money},
		{"fieldname": "debt", "label": _("Debt"), **money},
		{"fieldname": "duration", "label": _("Talk Time"), "fieldtype": "Duration", "width": 110},
		{
			"fieldname": "days",
			"label": _("Days to Resolve"),
			"fieldtype": "Float",
			"precision": 1,
			"width": 120,
		},
		{"fieldname": "manager", "label": _("Manager"), "fieldtype": "Link", "options": "User", "width": 180},
	]


def get_chart(subject: Subject) -> dict | None:
	"""Orders and payments per month over the last 12 months (by order date)."""
	where = subject.owned("CRM Order", "counterparty")
	if where is None:
		return None
	first_month = getdate(add_months(today(), -(CHART_MONTHS - 1))).replace(day=1)
	where.add("`tabCRM Order`.`order_date` >= %(first_month)s", first_month=first_month)
	rows = frappe.db.sql(
		f"""select date_format(`order_date`, '%%Y-%%m') as month, sum(`amount`) as amount,
			sum(`paid_amount`) as paid
		from `tabCRM Order` where {where.sql()} group by month""",
		where.values,
		as_dict=True,
	)
	if not rows:
		return None
	by_month = {row.month: row for row in rows}
	months = [add_months(first_month, k).strftime("%Y-%m") for k in range(CHART_MONTHS)]
	return {
		"data": {
			"labels": months,
			"datasets": [
				{
					"name": _("Orders"),
					"values": [flt(by_month[m].amount, 2) if m in by_month else 0 for m in months],
				},
				{
					"name": _("Paid"),
					"values": [flt(by_month[m].paid, 2) if m in by_month else 0 for m in months],
				},
			],
		},
		"type": "bar",
		"colors": ["#5e64ff", "#28a745"],
	}


def get_summary(subject: Subject, sections: list[Section], money: str | None) -> list[dict]:
	by_key = {section.key: section for section in sections}
	accounting = (
		frappe.db.get_value("CRM Client", subject.client, ["turnover", "debt"], as_dict=True)
		if subject.client
		else frappe.db.get_value("CRM Counterparty", subject.counterparty, ["turnover", "debt"], as_dict=True)
	) or frappe._dict()
	deal_totals = by_key["deals"].summary
	call_totals = by_key["calls"].summary
	task_totals = by_key["tasks"].summary
	complaint_totals = by_key["complaints"].summary
	orders = by_key["orders"].totals
	moments = (
		deal_totals.get("last_activity_on"),
		call_totals.get("last_call"),
		task_totals.get("last_done"),
	)
	last_activity = max((moment for moment in moments if moment), default=None)

	def card(value, label, datatype="Int", indicator="Blue", **extra):
		return {"value": value, "label": label, "datatype": datatype, "indicator": indicator, **extra}

	return [
		card(flt(accounting.turnover, 2), _("Turnover"), "Currency", "Green", currency=money),
		card(
			flt(accounting.debt, 2),
			_("Debt"),
			"Currency",
			"Red" if flt(accounting.debt) > 0 else "Green",
			currency=money,
		),
		card(int(deal_totals.get("open_deals") or 0), _("Open Deals")),
		card(flt(deal_totals.get("open_amount"), 2), _("Open Deals Amount"), "Currency", currency=money),
		card(flt(deal_totals.get("won_amount"), 2), _("Won Amount"), "Currency", "Green", currency=money),
		card(flt(orders.get("amount"), 2), _("Orders Amount"), "Currency", currency=money),
		card(flt(orders.get("paid"), 2), _("Paid"), "Currency", "Green", currency=money),
		card(int(call_totals.get("recent") or 0), _("Calls in {0} Days").format(RECENT_CALL_DAYS)),
		card(int(task_totals.get("open_tasks") or 0), _("Open Tasks")),
		card(
			int(task_totals.get("overdue") or 0),
			_("Overdue Tasks"),
			indicator="Red" if task_totals.get("overdue") else "Green",
		),
		card(int(complaint_totals.get("open_complaints") or 0), _("Open Complaints"), indicator="Orange"),
		card(last_activity, _("Last Activity"), "Datetime"),
	]
