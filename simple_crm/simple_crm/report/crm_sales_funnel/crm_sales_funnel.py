# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

"""The sales funnel of one pipeline: how far the deals created in the period got.

The deals are those of the pipeline created in the period (a cohort), among those the user may see and
the manager and team filters keep. Their stage history (CRM Deal Stage History, see
simple_crm.stage_history) says which stages each one entered. One row per open stage of the pipeline, in
the pipeline's order, then Won and Lost:

- **Deals reached**: the deals that entered the stage or a later open stage, and every won deal (a won
  deal has passed every open stage, even one it skipped). A deal that skipped a stage is counted in it, so
  the column never grows down the funnel;
- **Amount**: their amounts today;
- **Conversion from the previous row, %**: deals reached / deals reached of the row above (the first
  stage against all the deals of the cohort; Won against the last open stage; none for Lost);
- **Share of all deals, %**: deals reached / the deals of the cohort;
- **Median days in stage**: the median length of the stays in the stage that ended (the deal moved on),
  to 0.1 day; a stay that goes on has no length yet;
- **In stage now**: the cohort's deals standing in the stage today (opens the list of them).

Won and Lost count the cohort's deals that are won or lost today, with their amounts. A pipeline whose
stages were reordered counts by today's order.

Everything is counted in SQL from two indexes: the deals per furthest open stage reached (which each deal
keeps, `furthest_stage_order`: the stage's position in the pipeline when the deal entered it) and outcome,
and the finished stays in the pipeline's stages of the period's new deals (each stay keeps its deal's
creation) per stage and tenth of a day. A user who does not see every deal, or a manager or team filter,
narrows the stays through their own record of the deal's responsible manager today
(simple_crm.stage_history.stays_query). No deal is loaded one by one.
"""

import frappe
from frappe import _
from frappe.utils import flt

from simple_crm import pipelines
from simple_crm.pipelines import LOST, OPEN, WON
from simple_crm.report_filters import (
	Period,
	ReportFilterError,
	SQLConditions,
	currency,
	get_period,
	link_value,
	list_link,
	responsible_users,
	share,
	visible,
)
from simple_crm.stage_history import stays_query
from simple_crm.utils.percentiles import percentiles

MEDIAN = 0.5


def execute(filters: dict | None = None):
	run = FunnelRun(filters)
	days = run.cohort.stay_days(run.open_stages)
	money = currency()
	data = []
	for row in run.reached_rows():
		stage, stage_type = row["stage"], row["stage_type"]
		if stage_type == OPEN:
			link = run.cohort.deals_link(stage=stage)
			in_stage_now = run.now.get(stage, 0)
		else:
			link = run.cohort.deals_link(stage_type=stage_type)
			in_stage_now = row["deals"]
		data.append(
			{
				**row,
				"median_days": median(days.get(stage)) if stage_type == OPEN else None,
				"in_stage_now": in_stage_now,
				"in_stage_now_link": link,
				"currency": money,
			}
		)
	return get_columns(), data, None, get_chart(data), get_summary(run.funnel, money)


def chart(filters: dict | None = None) -> dict | None:
	"""The report's chart alone (deals reached per stage, then won), for the workspace: counted as the report
	counts them, without the stays' median days the chart does not show."""
	return get_chart(FunnelRun(filters).reached_rows())


class FunnelRun:
	"""One run's filters, the pipeline's stages and the cohort's deals per furthest stage and outcome."""

	def __init__(self, filters: dict | None):
		filters = frappe._dict(filters or {})
		period = get_period(filters)
		self.pipeline = get_pipeline(filters)
		users = responsible_users(filters)
		self.stages = pipelines.get_stages(self.pipeline)
		self.open_stages = [s.stage_name for s in self.stages if s.stage_type == OPEN]
		self.cohort = Cohort(period, self.pipeline, users)
		self.funnel = Funnel(self.open_stages)
		# the cohort's deals standing in each stage today
		self.now: dict[str, int] = {}
		for row in self.cohort.cohort_counts():
			self.funnel.add(row.furthest, row.outcome, row.deals, flt(row.amount))
			self.now[row.stage] = self.now.get(row.stage, 0) + row.deals

	def reached_rows(self) -> list[dict]:
		"""Per open stage in order, then Won and Lost: deals reached, their amount, conversion and share."""
		funnel, rows = self.funnel, []
		previous = funnel.total
		for position, stage in enumerate(self.open_stages, start=1):
			reached, amount = funnel.reached[position], funnel.reached_amount[position]
			rows.append(
				{
					"stage": stage,
					"stage_label": _(stage),
					"stage_type": OPEN,
					"deals": reached,
					"amount": flt(amount, 2),
					"conversion": share(reached, previous),
					"share": share(reached, funnel.total),
				}
			)
			previous = reached
		for stage_type, conversion_base in ((WON, previous), (LOST, None)):
			outcome = next((s.stage_name for s in self.stages if s.stage_type == stage_type), stage_type)
			count, amount = funnel.outcomes[stage_type]
			rows.append(
				{
					"stage": outcome,
					"stage_label": _(outcome),
					"stage_type": stage_type,
					"deals": count,
					"amount": flt(amount, 2),
					"conversion": share(count, conversion_base) if conversion_base is not None else None,
					"share": share(count, funnel.total),
				}
			)
		return rows


def get_pipeline(filters: dict) -> str:
	pipeline = link_value(filters, "pipeline", "CRM Pipeline", _("Pipeline")) or pipelines.default_pipeline()
	if not pipeline:
		frappe.throw(
			_("Set the filter {0}").format(_("Pipeline")), ReportFilterError, title=_("Invalid Filter")
		)
	return pipeline


class Funnel:
	"""Deals reached per open stage (by position, from 1) and the cohort's won and lost deals."""

	def __init__(self, open_stages: list[str]):
		self.size = len(open_stages)
		self.total = 0
		self.reached = [0] * (self.size + 1)
		self.reached_amount = [0.0] * (self.size + 1)
		self.outcomes = {WON: [0, 0.0], LOST: [0, 0.0]}

	def add(self, furthest: int | None, outcome: str, deals: int, amount: float) -> None:
		self.total += deals
		last = self.size if outcome == WON else int(furthest or 0)
		for position in range(1, last + 1):
			self.reached[position] += deals
			self.reached_amount[position] += amount
		if outcome in self.outcomes:
			self.outcomes[outcome][0] += deals
			self.outcomes[outcome][1] += amount


class Cohort:
	"""The deals of the pipeline created in the period that the user may see and the filters keep."""

	def __init__(self, period: Period, pipeline: str, users: list[str] | None):
		self.period, self.pipeline, self.users = period, pipeline, users
		self.where = SQLConditions()
		self.where.add("`tabCRM Deal`.`pipeline` = %(pipeline)s", pipeline=pipeline)
		self.where.add(
			"`tabCRM Deal`.`creation` >= %(start)s and `tabCRM Deal`.`creation` < %(after_end)s",
			start=period.first_moment,
			after_end=period.after_end,
		)
		self.where.add_in("`tabCRM Deal`.`responsible`", "users", users)
		self.where.add(visible("CRM Deal"))

	def cohort_counts(self) -> list[dict]:
		"""Deals and their amount per furthest open stage reached (position), outcome (stage type) and the
		stage they stand in now: one pass over the cohort."""
		return frappe.db.sql(
			f"""select `tabCRM Deal`.`furthest_stage_order` as furthest, `tabCRM Deal`.`stage_type` as outcome,
				`tabCRM Deal`.`stage` as stage, count(*) as deals, sum(`tabCRM Deal`.`amount`) as amount
			from `tabCRM Deal`
			where {self.where.sql()}
			group by furthest, outcome, stage""",
			self.where.values,
			as_dict=True,
		)

	def stay_days(self, open_stages: list[str]) -> dict[str, list[tuple[float, int]]]:
		"""Finished stays in each open stage: [(days to 0.1, how many)]."""
		if not open_stages:
			return {}
		stays = SQLConditions()
		stays.add("`history`.`pipeline` = %(pipeline)s", pipeline=self.pipeline)
		stays.add(
			"`history`.`deal_creation` >= %(start)s and `history`.`deal_creation` < %(after_end)s",
			start=self.period.first_moment,
			after_end=self.period.after_end,
		)
		stays.add("`history`.`stage` in %(open_stages)s", open_stages=tuple(open_stages))
		stays.add("`history`.`left_on` is not null")
		rows = stays_query(
			"`history`.`stage`, round(`history`.`days_in_stage`, 1) as days, count(*) as stays",
			"`history`.`stage`, days",
			stays,
			self.users,
			("stage", "days_in_stage"),
			responsible_index="funnel_responsible_index",
		)
		days: dict[str, list] = {}
		for row in rows:
			days.setdefault(row.stage, []).append((flt(row.days), row.stays))
		return days

	def deals_link(self, **filters) -> str:
		users = self.users
		return list_link(
			"CRM Deal",
			{
				"pipeline": self.pipeline,
				"creation": self.period.between(),
				"responsible": None if users is None else users[0] if len(users) == 1 else ["in", users],
				**filters,
			},
		)


def median(days: list[tuple[float, int]] | None) -> float | None:
	if not days:
		return None
	(value,) = percentiles(days, (MEDIAN,))
	return None if value is None else flt(value, 1)


def get_columns() -> list[dict]:
	return [
		{"fieldname": "stage_label", "label": _("Stage"), "fieldtype": "Data", "width": 200},
		{"fieldname": "deals", "label": _("Deals Reached"), "fieldtype": "Int", "width": 130},
		{
			"fieldname": "amount",
			"label": _("Amount"),
			"fieldtype": "Currency",
			"options": "currency",
			"width": 150,
		},
		{
			"fieldname": "conversion",
			"label": _("Conversion from Previous, %"),
			"fieldtype": "Percent",
			"width": 190,
		},
		{"fieldname": "share", "label": _("Share of All Deals, %"), "fieldtype": "Percent", "width": 170},
		{
			"fieldname": "median_days",
			"label": _("Median Days in Stage"),
			"fieldtype": "Float",
			"precision": 1,
			"width": 170,
		},
		{"fieldname": "in_stage_now", "label": _("In Stage Now"), "fieldtype": "Int", "width": 120},
	]


def get_chart(data: list[dict]) -> dict | None:
	"""Deals reached per stage, then won: the funnel's shape."""
	rows = [row for row in data if row["stage_type"] != LOST]
	if not any(row["deals"] for row in rows):
		return None
	return {
		"data": {
			"labels": [row["stage_label"] for row in rows],
			"datasets": [{"name": _("Deals Reached"), "values": [row["deals"] for row in rows]}],
		},
		"type": "bar",
		"colors": ["#5e64ff"],
	}


def get_summary(funnel: Funnel, money: str | None) -> list[dict]:
	won, won_amount = funnel.outcomes[WON]
	lost, _lost_amount = funnel.outcomes[LOST]
	return [
		{"value": funnel.total, "label": _("Deals Created"), "datatype": "Int", "indicator": "Blue"},
		{"value": won, "label": _("Won"), "datatype": "Int", "indicator": "Green"},
		{"value": lost, "label": _("Lost"), "datatype": "Int", "indicator": "Red"},
		{
			"value": share(won, funnel.total),
			"label": _("Win Rate, %"),
			"datatype": "Percent",
			"indicator": "Green",
		},
		{
			"value": flt(won_amount, 2),
			"label": _("Won Amount"),
			"datatype": "Currency",
			"currency": money,
			"indicator": "Green",
		},
	]
