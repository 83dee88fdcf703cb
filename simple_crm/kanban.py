"""A kanban board of deals for every pipeline: its stages as columns, its deals as cards.

A sales team that runs several pipelines (retail, wholesale, tenders) works each on a board of its own: one
board mixing them shows stages of other pipelines and deals that cannot move there. Each `CRM Pipeline` has
one `Kanban Board` of `CRM Deal` by `stage`, linked by the board's `crm_pipeline` field (a custom field, so
Frappe's rename of a pipeline follows it):

- made with the pipeline, and on install and migrate for pipelines that have none (the board the app seeded
  before, "Deals by Stage", becomes the default pipeline's);
- its columns are the pipeline's stages in their order (a new stage gets a column coloured by its type, a
  removed stage loses its column, a column archived by hand stays archived) and its filter is the pipeline,
  put back whenever someone saves the board without it;
- deleted with its pipeline.

Frappe's other boards of deals (made by users in the Desk) keep every stage of every pipeline
(simple_crm.pipelines.sync_kanban_columns).

Frappe's kanban loads every card of a board at once. A manager's pipeline holds thousands of deals, most of them
closed: the Desk would draw them all, for seconds. A board of deals asks `board_cards` instead, which gives each
column its first cards (Simple CRM Settings > Cards per Kanban Column) in the board's order, and each column's
number of deals and their amounts per currency, counted through the same row-level rules; the board shows those
totals and, under a column with more deals than cards, a link to the rest in the list (crm_deal_list.js).
"""

import json

import frappe
from frappe import _
from frappe.desk.reportview import compress, execute, validate_args
from frappe.utils import cint

from simple_crm.permissions.rules import whole_set

DEAL = "CRM Deal"
STAGE_FIELD = "stage"
PIPELINE_FIELD = "crm_pipeline"
# the board seeded before boards were made per pipeline; it becomes the default pipeline's
LEGACY_BOARD = "Deals by Stage"
# the colour of a new column by the type of its stage
INDICATORS = {"Open": "Blue", "Won": "Green", "Lost": "Red"}


class PipelineBoardError(frappe.ValidationError):
	pass


def pipeline_filter(pipeline: str) -> list:
	return [DEAL, "pipeline", "=", pipeline, False]


def board_of(pipeline: str) -> str | None:
	return frappe.db.get_value("Kanban Board", {PIPELINE_FIELD: pipeline, "reference_doctype": DEAL})


def sync_pipeline_boards() -> None:
	"""Every pipeline has its board, in step with its stages; boards of pipelines that are gone are deleted."""
	if not frappe.get_meta("Kanban Board").has_field(PIPELINE_FIELD):
		return  # before the custom field is synced (the first steps of an install)
	pipelines = frappe.get_all(
		"CRM Pipeline", fields=["name", "is_default"], order_by="is_default desc, name"
	)
	for pipeline in pipelines:
		sync_board(pipeline.name, is_default=pipeline.is_default)
	names = {pipeline.name for pipeline in pipelines}
	for board in frappe.get_all(
		"Kanban Board", filters={PIPELINE_FIELD: ("is", "set")}, fields=["name", PIPELINE_FIELD]
	):
		if board.get(PIPELINE_FIELD) not in names:
			frappe.delete_doc("Kanban Board", board.name, ignore_permissions=True, force=True)


def sync_board(pipeline: str, is_default: bool = False) -> str:
	"""The board of `pipeline`, made or brought in step with its stages; returns its name."""
	from simple_crm.pipelines import get_stages

	name = board_of(pipeline) or (_legacy_board() if is_default else None)
	board = frappe.get_doc("Kanban Board", name) if name else _new_board(pipeline, is_default)
	stages = get_stages(pipeline)
	existing = {column.column_name: column for column in board.columns}
	columns = [
		{
			"column_name": stage.stage_name,
			"status": existing[stage.stage_name].status if stage.stage_name in existing else "Active",
			"indicator": existing[stage.stage_name].indicator
			if stage.stage_name in existing
			else INDICATORS.get(stage.stage_type, "Gray"),
			"order": "[]",
		}
		for stage in stages
	]
	before = (_columns_of(board), board.get(PIPELINE_FIELD), board.filters)
	board.set("columns", columns)
	board.set(PIPELINE_FIELD, pipeline)
	keep_pipeline_filter(board)
	if board.is_new():
		board.insert(ignore_permissions=True)
	elif before != (_columns_of(board), board.get(PIPELINE_FIELD), board.filters):
		board.save(ignore_permissions=True)
	return board.name


def _columns_of(board) -> list[tuple]:
	return [(c.column_name, c.status, c.indicator) for c in board.columns]


def _legacy_board() -> str | None:
	"""The app's former board of all deals, unless it already belongs to a pipeline."""
	row = frappe.db.get_value(
		"Kanban Board", LEGACY_BOARD, ["reference_doctype", "field_name", PIPELINE_FIELD], as_dict=True
	)
	if (
		row
		and row.reference_doctype == DEAL
		and row.field_name == STAGE_FIELD
		and not row.get(PIPELINE_FIELD)
	):
		return LEGACY_BOARD
	return None


def _new_board(pipeline: str, is_default: bool = False):
	"""A new board, named after its pipeline; the default pipeline's is "Deals by Stage" (the workspace's
	shortcut opens it) unless another board has that name."""
	name = LEGACY_BOARD if is_default and not frappe.db.exists("Kanban Board", LEGACY_BOARD) else None
	return frappe.get_doc(
		{
			"doctype": "Kanban Board",
			"kanban_board_name": name or _free_board_name(pipeline),
			"reference_doctype": DEAL,
			"field_name": STAGE_FIELD,
			"private": 0,
			"show_labels": 0,
		}
	)


def _free_board_name(pipeline: str) -> str:
	"""The pipeline's name, or the first of `name 2`, `name 3`... that no other board has."""
	name, number = pipeline, 1
	while frappe.db.exists("Kanban Board", name):
		number += 1
		name = f"{pipeline} {number}"
	return name


def delete_board(pipeline: str) -> None:
	"""A deleted pipeline takes its board with it (the board links to it, which would keep it)."""
	name = board_of(pipeline)
	if not name:
		return
	frappe.flags.crm_pipeline_board_delete = True
	try:
		frappe.delete_doc("Kanban Board", name, ignore_permissions=True, force=True)
	finally:
		frappe.flags.crm_pipeline_board_delete = False


def keep_pipeline_board(board, method=None) -> None:
	"""Kanban Board on_trash: a pipeline's board is the whole team's (Frappe lets anyone who may change a shared
	board delete it, from its menu); it goes with its pipeline only."""
	pipeline = board.get(PIPELINE_FIELD)
	if not pipeline or frappe.flags.get("crm_pipeline_board_delete"):
		return
	if frappe.db.exists("CRM Pipeline", pipeline):
		frappe.throw(
			_("The kanban board of pipeline {0} is deleted with the pipeline only").format(
				frappe.bold(pipeline)
			),
			PipelineBoardError,
			title=_("Not Permitted"),
		)


def keep_pipeline_filter(board, method=None) -> None:
	"""Kanban Board validate: a pipeline's board always shows that pipeline's deals only. Frappe lets anyone who
	may change the board save its filters ("Save filters"); other filters are kept, the pipeline's is put back.
	"""
	pipeline = board.get(PIPELINE_FIELD)
	if not pipeline:
		return
	try:
		filters = json.loads(board.filters or "[]")
	except ValueError:
		filters = []
	if not isinstance(filters, list):
		filters = []
	kept = [f for f in filters if not (isinstance(f, list) and len(f) > 1 and f[1] == "pipeline")]
	board.filters = json.dumps([pipeline_filter(pipeline), *kept])
	board.reference_doctype = DEAL
	board.field_name = STAGE_FIELD


@frappe.whitelist()
@frappe.read_only()
def board_cards(
	doctype: str,
	fields=None,
	filters=None,
	or_filters=None,
	order_by: str | None = None,
	group_by: str | None = None,
	with_comment_count=None,
	start=None,
	page_length=None,
	view: str | None = None,
) -> dict:
	"""The cards of a deals kanban, as `frappe.desk.reportview.get` gives them (its arguments, checked as it
	checks them, and its answer), at most `cards_per_column()` per stage (`start` and `page_length` are the
	board's own and not read), with `crm_columns`: per stage, the number of deals the filters and the user's
	rules give and their amounts per currency."""
	if doctype != DEAL:
		frappe.throw(_("The kanban cards are given for deals only"), frappe.ValidationError)
	args = validate_args(
		frappe._dict(
			doctype=doctype,
			fields=fields,
			filters=filters,
			or_filters=or_filters,
			order_by=order_by,
			group_by=group_by,
			with_comment_count=with_comment_count,
		)
	)
	per_column = cards_per_column()
	cards = []
	# the totals count the user's whole set of deals: the row-level condition in the form a list's count takes
	# (a manager's 10,000 deals of 500,000 looked up first); the cards are a page of each stage, in the form a
	# list's page takes
	with whole_set():
		columns = column_totals(args)
	for stage in columns:
		cards.extend(
			execute(
				**{
					**args,
					"filters": _with_stage(args.filters, stage),
					"start": 0,
					"page_length": per_column,
				}
			)
		)
	answer = compress(cards, args=args) or {"keys": [], "values": [], "user_info": {}}
	answer["crm_columns"] = columns
	return answer


def cards_per_column() -> int:
	from simple_crm.simple_crm.doctype.simple_crm_settings.simple_crm_settings import DEFAULT_KANBAN_CARDS

	return cint(frappe.db.get_single_value("Simple CRM Settings", "kanban_cards_per_column")) or (
		DEFAULT_KANBAN_CARDS
	)


def column_totals(args) -> dict[str, dict]:
	"""{stage: {"count": deals, "amounts": {currency: total}}} for the deals the board's filters and the user's
	rules give."""
	table = f"`tab{DEAL}`"
	rows = execute(
		DEAL,
		fields=[
			f"{table}.`{STAGE_FIELD}` as stage",
			f"{table}.`currency` as currency",
			"count(*) as deals",
			f"sum({table}.`amount`) as amount",
		],
		filters=args.filters,
		or_filters=args.or_filters,
		group_by=f"{table}.`{STAGE_FIELD}`, {table}.`currency`",
		order_by=None,
		limit_page_length=0,
	)
	columns = {}
	for row in rows:
		if not row.stage:
			continue
		column = columns.setdefault(row.stage, {"count": 0, "amounts": {}})
		column["count"] += row.deals
		if row.amount:
			currency = row.currency or ""
			column["amounts"][currency] = column["amounts"].get(currency, 0) + row.amount
	return columns


def _with_stage(filters, stage: str):
	if isinstance(filters, dict):
		return {**filters, STAGE_FIELD: stage}
	return [*(filters or []), [DEAL, STAGE_FIELD, "=", stage]]
