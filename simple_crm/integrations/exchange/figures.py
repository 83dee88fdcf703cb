"""Turnover and debt of counterparties and clients, from what accounting sent.

- A counterparty's debt and turnover are accounting's figures once it has sent them (its "Debt and Turnover
  As Of" is set). Until then they are what its orders say: turnover the sum of their amounts, debt the sum
  of what is left to pay on each (amount - paid amount, never below 0).
- A client's turnover and debt are the sums over its counterparties, plus its orders that name no
  counterparty (computed the same way).

`refresh` recomputes them in SQL for the counterparties and clients a change touched (one aggregate query per
doctype, one UPDATE for the values that differ), after an exchange batch and after a person changes an order
or a counterparty in the Desk. Only values that differ are written, and then Last Updated moves as for any
change (a form opened before the change is told the record changed, instead of sending the old figures back,
which the controllers refuse from anyone who may not write them) and "Synced With Accounting On" of a client;
no history row is written (the figures change with every batch of accounting's; the history is of edits).
"""

import frappe
from frappe.utils import flt, now_datetime

PRECISION = 2
CHUNK = 1000


def _chunks(names):
	names = sorted(n for n in names if n)
	for start in range(0, len(names), CHUNK):
		yield names[start : start + CHUNK]


def refresh(counterparties=(), clients=(), now=None) -> dict:
	"""Recompute the figures of these counterparties, then of their clients and of these clients. Returns the
	numbers of counterparties and clients whose figures changed."""
	now = now or now_datetime()
	clients = set(clients)
	changed_counterparties = 0
	for names in _chunks(set(counterparties)):
		rows = frappe.db.sql(
			"""select cp.name, cp.client, cp.turnover, cp.debt, cp.accounting_synced_on,
				coalesce(sum(o.amount), 0) as order_turnover,
				coalesce(sum(greatest(o.amount - o.paid_amount, 0)), 0) as order_debt
			from `tabCRM Counterparty` cp
			left join `tabCRM Order` o on o.counterparty = cp.name
			where cp.name in %(names)s
			group by cp.name""",
			{"names": names},
			as_dict=True,
		)
		values = {}
		for row in rows:
			if row.client:
				clients.add(row.client)
			if row.accounting_synced_on:
				continue
			figures = (flt(row.order_turnover, PRECISION), flt(row.order_debt, PRECISION))
			if figures != (flt(row.turnover, PRECISION), flt(row.debt, PRECISION)):
				values[row.name] = figures
		_set_figures("CRM Counterparty", values, now)
		changed_counterparties += len(values)
	changed_clients = 0
	for names in _chunks(clients):
		rows = frappe.db.sql(
			"""select c.name, c.turnover, c.debt,
				coalesce((select sum(cp.turnover) from `tabCRM Counterparty` cp where cp.client = c.name), 0)
				+ coalesce((select sum(o.amount) from `tabCRM Order` o
					where o.client = c.name and ifnull(o.counterparty, '') = ''), 0) as new_turnover,
				coalesce((select sum(cp.debt) from `tabCRM Counterparty` cp where cp.client = c.name), 0)
				+ coalesce((select sum(greatest(o.amount - o.paid_amount, 0)) from `tabCRM Order` o
					where o.client = c.name and ifnull(o.counterparty, '') = ''), 0) as new_debt
			from `tabCRM Client` c
			where c.name in %(names)s""",
			{"names": names},
			as_dict=True,
		)
		values = {
			row.name: (flt(row.new_turnover, PRECISION), flt(row.new_debt, PRECISION))
			for row in rows
			if (flt(row.new_turnover, PRECISION), flt(row.new_debt, PRECISION))
			!= (flt(row.turnover, PRECISION), flt(row.debt, PRECISION))
		}
		_set_figures("CRM Client", values, now, synced_on=now)
		changed_clients += len(values)
	return {"counterparties": changed_counterparties, "clients": changed_clients}


def _set_figures(doctype: str, values: dict[str, tuple[float, float]], now, synced_on=None) -> None:
	"""One UPDATE setting (turnover, debt) per name, and Last Updated."""
	if not values:
		return
	names = list(values)
	turnover = " ".join("when %s then %s" for _name in names)
	debt = turnover
	params = [x for name in names for x in (name, values[name][0])]
	params += [x for name in names for x in (name, values[name][1])]
	params += [now, frappe.session.user]
	extra = ""
	if synced_on:
		extra = ", `accounting_synced_on` = %s"
		params.append(synced_on)
	params.append(names)
	frappe.db.sql(
		f"""update `tab{doctype}` set
			`turnover` = case `name` {turnover} end,
			`debt` = case `name` {debt} end,
			`modified` = %s, `modified_by` = %s{extra}
		where `name` in %s""",
		params,
	)
