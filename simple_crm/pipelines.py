"""Sales pipelines and their stages, as CRM Pipeline, CRM Deal and the install step share them.

`CRM Deal.stage` is a Select field so that the Desk kanban (which groups by Select fields) can show
deals by stage. Its options are the union of the stage names of all pipelines, kept in a Property
Setter by `sync_deal_stage_options` whenever a pipeline changes, so a stage an administrator adds in
the Desk becomes a kanban column without a code change. Which stages a deal may take is decided by
its own pipeline (see `CRMDeal.validate_stage`).
"""

import frappe
from frappe.custom.doctype.property_setter.property_setter import make_property_setter
from frappe.query_builder import Order

DEAL = "CRM Deal"
STAGE_FIELD = "stage"
OPEN, WON, LOST = "Open", "Won", "Lost"


def default_pipeline() -> str | None:
	"""The pipeline new deals go to when none is given."""
	return frappe.db.get_single_value("Simple CRM Settings", "default_pipeline") or frappe.db.get_value(
		"CRM Pipeline", {"is_default": 1}
	)


STAGE_FIELDS = ("stage_name", "stage_type", "probability")
# the rules an administrator sets per stage (simple_crm.stage_rules)
RULE_FIELDS = ("allowed_roles", "required_fields")


def get_stages(pipeline: str, with_rules: bool = False) -> list[frappe._dict]:
	"""Stages of `pipeline` in their order: stage_name, stage_type, probability (and the stage's rules)."""
	return frappe.get_all(
		"CRM Pipeline Stage",
		filters={"parenttype": "CRM Pipeline", "parentfield": "stages", "parent": pipeline},
		fields=[*STAGE_FIELDS, *(RULE_FIELDS if with_rules else ())],
		order_by="idx asc",
	)


def get_stage(pipeline: str, stage_name: str, with_rules: bool = False) -> frappe._dict | None:
	for stage in get_stages(pipeline, with_rules):
		if stage.stage_name == stage_name:
			return stage
	return None


def first_open_stage(pipeline: str) -> frappe._dict | None:
	"""Where a new deal starts: the first stage of type Open (normally the first stage)."""
	for stage in get_stages(pipeline):
		if stage.stage_type == OPEN:
			return stage
	return None


def count_deals(pipeline: str, stages: list[str] | None = None) -> int:
	filters = {"pipeline": pipeline}
	if stages is not None:
		if not stages:
			return 0
		filters["stage"] = ("in", stages)
	return frappe.db.count(DEAL, filters)


def all_stage_names() -> list[str]:
	"""Stage names of every pipeline, default pipeline first, each name once, in stage order."""
	pipeline = frappe.qb.DocType("CRM Pipeline")
	stage = frappe.qb.DocType("CRM Pipeline Stage")
	rows = (
		frappe.qb.from_(stage)
		.join(pipeline)
		.on(stage.parent == pipeline.name)
		.select(stage.stage_name)
		.where((stage.parenttype == "CRM Pipeline") & (stage.parentfield == "stages"))
		.orderby(pipeline.is_default, order=Order.desc)
		.orderby(pipeline.creation)
		.orderby(pipeline.name)
		.orderby(stage.idx)
		.run(pluck=True)
	)
	return list(dict.fromkeys(name for name in rows if name))


def stage_options_setter() -> str | None:
	return frappe.db.get_value(
		"Property Setter",
		{"doc_type": DEAL, "field_name": STAGE_FIELD, "property": "options"},
		"value",
	)


def sync_deal_stage_options() -> list[str]:
	"""Make CRM Deal.stage offer every stage of every pipeline (and the deal kanban show them)."""
	names = all_stage_names()
	# a leading blank option: Frappe would otherwise preset every new deal to the first stage of
	# the list, whatever its pipeline; the deal sets its own pipeline's first stage
	options = "\n".join(["", *names])
	if stage_options_setter() != options:
		make_property_setter(DEAL, STAGE_FIELD, "options", options, "Text", validate_fields_for_doctype=False)
		# the property setter is undone by a rollback, the cached meta is not
		frappe.db.after_rollback.add(_clear_deal_meta)
	sync_kanban_columns(names)
	return names


def _clear_deal_meta():
	frappe.clear_cache(doctype=DEAL)


def sync_kanban_columns(stage_names: list[str]) -> None:
	"""Each pipeline's board follows its stages (simple_crm.kanban); other kanban boards of deals by stage get
	a column for every new stage of any pipeline, and columns of removed stages are archived. A column an
	administrator archived by hand stays archived."""
	from simple_crm import kanban

	kanban.sync_pipeline_boards()
	filters = {"reference_doctype": DEAL, "field_name": STAGE_FIELD}
	if frappe.get_meta("Kanban Board").has_field(kanban.PIPELINE_FIELD):
		filters[kanban.PIPELINE_FIELD] = ("is", "not set")
	boards = frappe.get_all("Kanban Board", filters=filters, pluck="name")
	wanted = set(stage_names)
	for name in boards:
		board = frappe.get_doc("Kanban Board", name)
		changed = False
		existing = {col.column_name: col for col in board.columns}
		for stage_name in stage_names:
			if stage_name not in existing:
				board.append("columns", {"column_name": stage_name, "status": "Active", "order": "[]"})
				changed = True
		for column in board.columns:
			if column.column_name not in wanted and column.status != "Archived":
				column.status = "Archived"
				changed = True
		if changed:
			board.save(ignore_permissions=True)
