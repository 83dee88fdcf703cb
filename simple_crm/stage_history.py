"""The stage history of deals: one CRM Deal Stage History row per stay of a deal in a stage.

Frappe's Version rows tell what changed in a save, as JSON text; a funnel over a year of deals cannot read
them fast. So the deal writes its own history as it saves (`record_move`, from `CRMDeal.on_update`):

- a new deal opens a stay in its first stage;
- a move to another stage (or another pipeline) closes the open stay (`left_on`, `days_in_stage`,
  `next_stage`) and opens one in the new stage, with the deal's amount and responsible manager at that
  moment (the amount-per-stage report reads them).

A won or lost deal has an open stay in its won or lost stage; reopening it closes that stay as any move
does. Each stay carries its deal's creation, and the deal keeps the position of the furthest open stage it
has entered (`CRM Deal.furthest_stage_order`), so the sales funnel counts a period's new deals from one
index of each table without joining them. A position is the stage's place in its pipeline when the deal
entered it. Rows are written with the deal's own transaction, so a save that fails leaves no history behind,
and removed with the deal (`delete_for`).

Deals saved before the history existed get theirs from their Version rows (`rebuild_from_versions`, run
by a patch): the first stay starts at the deal's creation, each stage change of a version is a move.
"""

import json

import frappe
from frappe.utils import get_datetime, now_datetime, time_diff_in_seconds

from simple_crm import pipelines

HISTORY = "CRM Deal Stage History"
TABLE = f"tab{HISTORY}"
SECONDS_PER_DAY = 86400


def record_move(deal, moved_on=None) -> None:
	"""Close the deal's open stay and open one in its current stage (a new deal: open its first stay)."""
	moved_on = get_datetime(moved_on or now_datetime())
	close_open_stay(deal.name, moved_on, deal.stage)
	order = open_stay(deal, moved_on)
	if deal.stage_type == pipelines.OPEN and order > (deal.get("furthest_stage_order") or 0):
		# the column alone: no version, no modified, no second round of the deal's hooks
		deal.furthest_stage_order = order
		frappe.db.set_value("CRM Deal", deal.name, "furthest_stage_order", order, update_modified=False)


def follow_responsible(deal: str, responsible: str | None) -> None:
	"""Every stay of the deal names its responsible manager today (`deal_responsible`), so that a manager's or
	a team's stays are read from the history's own indexes: kept in step whenever the deal changes hands."""
	frappe.db.sql(
		"""update `tabCRM Deal Stage History` set `deal_responsible` = %(responsible)s
		where `deal` = %(deal)s and not (`deal_responsible` <=> %(responsible)s)""",
		{"deal": deal, "responsible": responsible},
	)


def fill_deal_responsible() -> None:
	"""Stays written before `deal_responsible` existed get their deal's responsible manager (rerunnable)."""
	frappe.db.sql(
		"""update `tabCRM Deal Stage History` `history`
		join `tabCRM Deal` `deal` on `deal`.`name` = `history`.`deal`
		set `history`.`deal_responsible` = `deal`.`responsible`
		where not (`history`.`deal_responsible` <=> `deal`.`responsible`)"""
	)


def close_open_stay(deal: str, left_on, next_stage: str | None) -> None:
	"""End the deal's stay that has not ended yet (at most one) at `left_on`."""
	for stay in frappe.get_all(
		HISTORY,
		filters={"deal": deal, "left_on": ("is", "not set")},
		fields=["name", "entered_on"],
	):
		frappe.db.set_value(
			HISTORY,
			stay.name,
			{
				"left_on": left_on,
				"next_stage": next_stage,
				"days_in_stage": days_between(stay.entered_on, left_on),
			},
			update_modified=False,
		)


def open_stay(deal, entered_on) -> int:
	"""The stay in the deal's current stage, from `entered_on`; returns the stage's position."""
	order = stage_order(deal.pipeline, deal.stage)
	row = frappe.new_doc(HISTORY)
	row.update(
		{
			"deal": deal.name,
			"pipeline": deal.pipeline,
			"stage": deal.stage,
			"stage_type": deal.stage_type,
			"stage_order": order,
			"entered_on": entered_on,
			"amount": deal.amount,
			"currency": deal.currency,
			"responsible": deal.responsible,
			"deal_responsible": deal.responsible,
			"moved_by": frappe.session.user,
			"deal_creation": deal.creation,
		}
	)
	row.db_insert()
	return order


# a deal's columns in the row-level condition of CRM Deal, and the stay's columns that hold the same values
DEAL_NAME = "`tabCRM Deal`.`name`"
DEAL_COLUMNS_OF_STAYS = {
	"`tabCRM Deal`.`responsible`": "`history`.`deal_responsible`",
	DEAL_NAME: "`history`.`deal`",
}


def stays_query(
	select: str,
	group_by: str,
	stays,
	users: list[str] | None,
	fields: tuple[str, ...],
	responsible_index: str | None = None,
) -> list:
	"""`select {select} ... group by {group_by}` over the stays that meet `stays` (SQLConditions on `history`)
	and belong to the deals the user may see and whose responsible manager today is one of `users` (None: any);
	`fields` are the stay's columns `select` and `group_by` read; `responsible_index`, the history's index that
	begins with the pipeline and the responsible manager and covers `stays` and `fields` (the branch of a team's
	managers reads it: MariaDB, left to itself, may read every stay of the pipeline by another index and look
	each up, 13 s instead of 1 s for a head of sales on the generated site).

	The stays are read from the history's own indexes, never deal by deal: each stay names its deal's
	responsible manager today (`deal_responsible`, kept in step by the deal), so the parts of the deal's
	row-level condition that test the responsible manager test the stay, and those that look the deal up in a
	sub-query (co-managed, assigned) look up the stay's deal. A team's stays are one range of the index per
	manager; the deals seen through a sub-query only (co-managed by the team, assigned to it) come in a
	branch of their own, driven by the sub-query, each stay counted once."""
	from simple_crm.permissions.rules import condition_for, condition_parts
	from simple_crm.report_filters import SQLConditions

	where = SQLConditions()
	where.parts, where.values = list(stays.parts), dict(stays.values)
	if users is not None:
		where.add_in("`history`.`deal_responsible`", "stay_users", users)
	parts = condition_parts("CRM Deal")
	if parts is not None:
		parts = [on_stays(part) for part in parts]
	if parts is not None and any(part is None for part in parts):
		# a condition this mapping does not know: the stays of the deals it keeps, looked up by deal
		where.add(
			f"`history`.`deal` in (select `tabCRM Deal`.`name` from `tabCRM Deal` where {condition_for('CRM Deal')})"
		)
		parts = None
	table = f"`{TABLE}` `history`"
	if parts is None:
		source = f"{table} where {where.sql()}"
	else:
		columns = ", ".join(f"`history`.`{field}`" for field in ("name", *fields))
		# a part that looks the deal up (`history`.`deal` in (select ...)), or one that tests the stay's columns
		lookups = [part for part in parts if part.startswith(f"{DEAL_COLUMNS_OF_STAYS[DEAL_NAME]} in (")]
		tests = [part for part in parts if part not in lookups]
		branches = []
		if tests:
			hint = f" force index (`{responsible_index}`)" if responsible_index else ""
			branches.append(
				f"select {columns} from {table}{hint} where {where.sql()} and ({' or '.join(tests)})"
			)
		not_tested = f" and coalesce(({' or '.join(tests)}), 0) = 0" if tests else ""
		others = " union ".join(
			f"select {columns} from {table} where {where.sql()}{not_tested} and {lookup}"
			for lookup in lookups
		)
		if others:
			branches.append(f"select * from ({others}) `seen_through_lookups`")
		source = f"({' union all '.join(branches) or f'select {columns} from {table} where 1 = 0'}) `history`"
	return frappe.db.sql(f"select {select} from {source} group by {group_by}", where.values, as_dict=True)


def on_stays(part: str) -> str | None:
	"""A part of the deal's row-level condition written on the stay's columns (None when it reads a column of
	the deal a stay does not keep)."""
	for deal_column, stay_column in DEAL_COLUMNS_OF_STAYS.items():
		part = part.replace(deal_column, stay_column)
	return None if "`tabCRM Deal`." in part else part


def stage_order(pipeline: str, stage: str) -> int:
	"""The stage's position in its pipeline, from 1 (0 for a stage the pipeline no longer has)."""
	for position, candidate in enumerate(pipelines.get_stages(pipeline), start=1):
		if candidate.stage_name == stage:
			return position
	return 0


def days_between(start, end) -> float:
	return round(max(time_diff_in_seconds(end, start), 0) / SECONDS_PER_DAY, 2)


def delete_for(deal: str) -> None:
	frappe.db.delete(HISTORY, {"deal": deal})


# --- deals saved before the history existed ------------------------------------------------------------


def fill_funnel_columns() -> None:
	"""Deals and stays written before the funnel's columns existed: each stay gets its deal's creation, each
	deal the furthest open stage position of its stays (two set-based statements, rerunnable)."""
	frappe.db.sql(
		"""update `tabCRM Deal Stage History` `history`
		join `tabCRM Deal` `deal` on `deal`.`name` = `history`.`deal`
		set `history`.`deal_creation` = `deal`.`creation`
		where `history`.`deal_creation` is null"""
	)
	frappe.db.sql(
		"""update `tabCRM Deal` `deal`
		join (
			select `deal`, max(`stage_order`) as `furthest` from `tabCRM Deal Stage History`
			where `stage_type` = 'Open' group by `deal`
		) `stays` on `stays`.`deal` = `deal`.`name`
		set `deal`.`furthest_stage_order` = `stays`.`furthest`
		where coalesce(`deal`.`furthest_stage_order`, 0) < `stays`.`furthest`"""
	)


def rebuild_from_versions(batch_size: int = 500) -> int:
	"""Give every deal without history the stays its Version rows tell; returns the number of deals."""
	done = 0
	stages_of: dict[str, list] = {}  # a pipeline's stages, read once for all its deals
	while True:
		deals = frappe.db.sql(
			"""select `name`, `pipeline`, `stage`, `stage_type`, `amount`, `currency`, `responsible`,
				`owner`, `creation`
			from `tabCRM Deal`
			where not exists (select 1 from `tabCRM Deal Stage History` h where h.`deal` = `tabCRM Deal`.`name`)
			order by `name` limit %s""",
			batch_size,
			as_dict=True,
		)
		if not deals:
			return done
		moves = stage_moves([deal.name for deal in deals])
		for deal in deals:
			if deal.pipeline not in stages_of:
				stages_of[deal.pipeline] = pipelines.get_stages(deal.pipeline)
			write_rebuilt_history(deal, moves.get(deal.name, []), stages_of[deal.pipeline])
		done += len(deals)
		frappe.db.commit()  # nosemgrep: a patch over every deal commits per batch


def stage_moves(deals: list[str]) -> dict[str, list[tuple]]:
	"""deal -> [(moment, old stage, new stage, user)] from the deals' Version rows, oldest first."""
	versions = frappe.get_all(
		"Version",
		filters={"ref_doctype": pipelines.DEAL, "docname": ("in", deals), "data": ("like", '%"stage"%')},
		fields=["docname", "creation", "data", "owner"],
		order_by="creation asc",
	)
	moves: dict[str, list[tuple]] = {}
	for version in versions:
		try:
			changed = json.loads(version.data or "{}").get("changed") or []
		except ValueError:
			continue
		for change in changed:
			if isinstance(change, list) and len(change) == 3 and change[0] == pipelines.STAGE_FIELD:
				moves.setdefault(version.docname, []).append(
					(version.creation, change[1], change[2], version.owner)
				)
	return moves


def write_rebuilt_history(deal: dict, moves: list[tuple], pipeline_stages: list) -> None:
	"""The stays of one deal: its first stage from the first move's old value (its stage when it never
	moved), then one stay per move. The amount and manager of the deal today stand for those at each move,
	which were never recorded."""
	stages = {s.stage_name: s for s in pipeline_stages}
	order = {name: position for position, name in enumerate(stages, start=1)}
	first_stage = moves[0][1] if moves else deal.stage
	stays = [(deal.creation, first_stage, deal.owner)] + [
		(moment, new, user) for moment, _old, new, user in moves
	]
	for k, (entered_on, stage, user) in enumerate(stays):
		left_on, next_stage = (stays[k + 1][0], stays[k + 1][1]) if k + 1 < len(stays) else (None, None)
		row = frappe.new_doc(HISTORY)
		row.update(
			{
				"deal": deal.name,
				"pipeline": deal.pipeline,
				"stage": stage,
				"stage_type": stages[stage].stage_type if stage in stages else None,
				"stage_order": order.get(stage, 0),
				"entered_on": entered_on,
				"left_on": left_on,
				"next_stage": next_stage,
				"days_in_stage": days_between(entered_on, left_on) if left_on else 0,
				"amount": deal.amount,
				"currency": deal.currency,
				"responsible": deal.responsible,
				"deal_responsible": deal.responsible,
				"moved_by": user,
				"deal_creation": deal.creation,
			}
		)
		row.db_insert()
	furthest = max(
		(
			order.get(stage, 0)
			for _moment, stage, _user in stays
			if stage in stages and stages[stage].stage_type == pipelines.OPEN
		),
		default=0,
	)
	frappe.db.set_value("CRM Deal", deal.name, "furthest_stage_order", furthest, update_modified=False)
