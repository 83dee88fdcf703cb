"""The Lead and Deal workflows, kept in step with the pipelines an administrator edits.

The app ships `CRM Lead Workflow` (state field `status`) and `CRM Deal Workflow` (state field
`stage`) in `setup/workflows.json`; `seed_workflows` creates them once, on install or on the first
migrate that finds them missing, and never touches them again. (They are deliberately not fixtures:
Frappe re-imports every fixture over the site's record on each migrate, which would throw away an
administrator's edits. A change the app must make to an existing site's workflow goes into a patch.)
Frappe's Workflow then governs every change of those fields, from the Desk form, the kanban, REST and
Data Import alike. An administrator edits them in the Desk:

- a state added to the Deal workflow becomes a stage of the default pipeline (so the Select options,
  the kanban columns and the reports have it);
- the pipelines keep the Deal workflow's states and the moves between them (`sync_deal_workflow`, on every
  save of a pipeline): each pipeline's moves carry the condition `doc.pipeline == "<pipeline>"`, go from every
  open stage to every other stage and back from a closed one (a head of sales reopens), and are allowed to the
  roles the target stage lets in (its rule on the Pipeline form, else sales managers and heads of sales).
  Transitions an administrator adds in the Workflow form with any other condition or action stay;
- a state added to the Lead workflow becomes an option of the lead's status (the same for complaints:
  `CRM Complaint Workflow`, state field `status`, shipped in the same file).

On top of Frappe's check of transitions, a deal keeps the "who may edit in this state" setting of the
workflow on the server (Frappe v15 only makes the form read-only): a sales manager cannot change a won
or lost deal over REST either.
"""

import json
import re

import frappe
from frappe import _
from frappe.custom.doctype.property_setter.property_setter import make_property_setter
from frappe.model.document import Document
from frappe.model.workflow import get_workflow, get_workflow_name

from simple_crm import pipelines, stage_rules

LEAD_WORKFLOW = "CRM Lead Workflow"
DEAL_WORKFLOW = "CRM Deal Workflow"
COMPLAINT_WORKFLOW = "CRM Complaint Workflow"
# doctypes whose status field offers every state of their workflow (the deal's stages follow pipelines)
STATUS_WORKFLOW_DOCTYPES = ("CRM Lead", "CRM Complaint")
TRANSITION_ROLES = ("CRM Sales Manager", "CRM Head of Sales")
# a won or lost deal is changed (and reopened) by a head of sales only, as in the shipped workflow
CLOSED_STAGE_EDITORS = ("CRM Head of Sales",)
# may correct a deal or a lead in any state, but moves none of them (no transitions)
STATE_EDITOR_ADMIN = "CRM Administrator"
# the actions of the moves the pipelines make, besides "Move to <stage>"
PIPELINE_ACTIONS = ("Win", "Lose", "Reopen")
ANY_STAGE_ON_CREATE_ROLES = frozenset({"System Manager", "CRM Administrator", "CRM Head of Sales"})


class InitialStageError(frappe.ValidationError):
	pass


class StateNotEditableError(frappe.PermissionError):
	"""The user's roles may not edit a document in its current workflow state (it may still move on)."""


def active_workflow(doctype: str) -> str | None:
	return frappe.db.get_value("Workflow", {"document_type": doctype, "is_active": 1}, "name")


# --- shipped workflows --------------------------------------------------------------------------


def shipped_workflows() -> list[dict]:
	with open(frappe.get_app_path("simple_crm", "setup", "workflows.json")) as f:
		return json.load(f)


def seed_workflows() -> list[str]:
	"""Create the shipped workflows that the site does not have; an existing one is left as it is."""
	created = []
	for data in shipped_workflows():
		if frappe.db.exists("Workflow", data["name"]):
			continue
		# on a fresh install this runs before the fixtures (roles, states, actions) are imported
		for role in {row["allow_edit"] for row in data["states"]} | {
			t["allowed"] for t in data["transitions"]
		}:
			ensure_role(role)
		for row in data["states"]:
			ensure_state(row["state"])
		for row in data["transitions"]:
			ensure_action(row["action"])
		frappe.get_doc(data).insert(ignore_permissions=True)
		created.append(data["name"])
	if DEAL_WORKFLOW in created:
		# the moves between stages are the pipelines' (their conditions and their stages' role rules)
		sync_deal_workflow()
	return created


# --- deals: what Frappe's workflow check does not cover -------------------------------------------


def validate_deal_workflow(deal) -> bool:
	"""Called by CRMDeal.validate_workflow; True when Frappe's transition check should still run."""
	if not get_workflow_name(deal.doctype):
		return True
	if deal.is_new():
		validate_new_deal_stage(deal)
		return False
	before = deal.get_doc_before_save()
	if before is None:
		return True
	check_state_editable(deal, before)
	if before.pipeline != deal.pipeline:
		# a deal moved to another pipeline starts at its first open stage (CRMDeal.set_stage): the
		# system chose that stage, it is not a move between stages the workflow governs
		first = pipelines.first_open_stage(deal.pipeline)
		return not (first and deal.stage == first.stage_name)
	return True


def check_state_editable(doc, before) -> None:
	"""While the state stays, only the roles the workflow lets edit in that state may change the document."""
	if frappe.session.user == "Administrator" or doc.flags.ignore_permissions:
		return
	workflow = get_workflow(doc.doctype)
	state = before.get(workflow.workflow_state_field)
	if not state or state != doc.get(workflow.workflow_state_field):
		return  # a transition: Frappe's check decides
	editors = {row.allow_edit for row in workflow.states if row.state == state}
	if not editors or editors.intersection(frappe.get_roles()):
		return
	frappe.throw(
		_("{0} {1} is at {2} and only {3} can change it there").format(
			_(doc.doctype),
			frappe.bold(doc.name),
			frappe.bold(_(state)),
			", ".join(sorted(_(role) for role in editors)),
		),
		StateNotEditableError,
		title=_("Not Editable at This Stage"),
	)


# --- new deals ----------------------------------------------------------------------------


def validate_new_deal_stage(deal) -> None:
	"""Frappe's workflow check wants every new document in the workflow's first state; a deal starts in
	the first open stage of its own pipeline instead. A head of sales, an administrator and Data Import
	may create a deal at any stage of its pipeline (e.g. to load history); the stage rules of the deal
	itself (won needs an amount, lost needs a reason) hold all the same."""
	first = pipelines.first_open_stage(deal.pipeline)
	if first and deal.stage == first.stage_name:
		return
	if frappe.flags.in_import or frappe.session.user == "Administrator":
		return
	if ANY_STAGE_ON_CREATE_ROLES.intersection(frappe.get_roles()):
		return
	frappe.throw(
		_("A new deal starts at stage {0} of pipeline {1}; move it on after saving").format(
			frappe.bold(_(first.stage_name)) if first else "", frappe.bold(deal.pipeline)
		),
		InitialStageError,
	)


# --- new leads -----------------------------------------------------------------------------


def validate_new_lead_status(lead) -> None:
	"""Frappe's workflow check refuses every new document outside the workflow's first state, even for
	an import of history. A lead starts as New; a head of sales, an administrator and Data Import may
	create it in any status (its own rules, e.g. a lost reason, hold all the same)."""
	workflow = get_workflow(lead.doctype)
	first = workflow.states[0].state if workflow.states else None
	state = lead.get(workflow.workflow_state_field)
	if not state:
		lead.set(workflow.workflow_state_field, first)
		return
	if state == first or frappe.flags.in_import or frappe.session.user == "Administrator":
		return
	if ANY_STAGE_ON_CREATE_ROLES.intersection(frappe.get_roles()):
		return
	frappe.throw(
		_("A new lead starts with status {0}; change it after saving").format(frappe.bold(_(first))),
		InitialStageError,
	)


# --- Workflow -> stages / options ---------------------------------------------------------


def on_workflow_update(doc, method=None):
	"""doc_events hook of Frappe's Workflow."""
	if not doc.is_active:
		return
	if doc.document_type == "CRM Deal" and doc.workflow_state_field == pipelines.STAGE_FIELD:
		add_workflow_states_to_pipeline(doc)
	elif doc.document_type in STATUS_WORKFLOW_DOCTYPES:
		sync_select_options(doc.document_type, doc.workflow_state_field, [s.state for s in doc.states])


def add_workflow_states_to_pipeline(workflow) -> list[str]:
	known = set(pipelines.all_stage_names())
	missing = list(dict.fromkeys(s.state for s in workflow.states if s.state not in known))
	pipeline_name = pipelines.default_pipeline()
	if not missing or not pipeline_name:
		return []
	pipeline = frappe.get_doc("CRM Pipeline", pipeline_name)
	# new states are open stages, placed before the first closed one
	closed_at = next(
		(i for i, row in enumerate(pipeline.stages) if row.stage_type != pipelines.OPEN), len(pipeline.stages)
	)
	others = list(pipeline.stages)
	added = [
		pipeline.append("stages", {"stage_name": state, "stage_type": pipelines.OPEN}) for state in missing
	]
	rows = others[:closed_at] + added + others[closed_at:]
	for idx, row in enumerate(rows, start=1):
		row.idx = idx
	pipeline.stages = rows
	pipeline.flags.from_workflow = True
	pipeline.save(ignore_permissions=True)
	return missing


def sync_select_options(doctype: str, fieldname: str, states: list[str]) -> None:
	"""Select options of the state field = the doctype's own options plus every workflow state."""
	meta = frappe.get_meta(doctype)
	current = [o for o in (meta.get_field(fieldname).options or "").split("\n") if o]
	wanted = list(dict.fromkeys([*current, *states]))
	if wanted != current:
		make_property_setter(
			doctype, fieldname, "options", "\n".join(wanted), "Text", validate_fields_for_doctype=False
		)
		frappe.clear_cache(doctype=doctype)


# --- stages -> Workflow -------------------------------------------------------------------


def pipeline_condition(pipeline: str) -> str:
	"""The condition of the Deal workflow's transitions made from `pipeline`'s stages: one workflow governs the
	deals of every pipeline (Frappe allows one per doctype), each pipeline's moves apply to its own deals."""
	return f"doc.pipeline == {json.dumps(pipeline, ensure_ascii=False)}"


_PIPELINE_CONDITION = re.compile(r'^doc\.pipeline == ".*"$', re.DOTALL)


def made_from_stages(transition) -> bool:
	"""A transition the pipelines keep (remade on every save of a pipeline): one with a pipeline's condition, or
	one of the moves the app made before conditions existed (Win, Lose, Reopen, Move to <stage> for the sales
	roles, with no condition). Any other transition is the administrator's and stays as it is."""
	condition = (transition.get("condition") or "").strip()
	if condition:
		return bool(_PIPELINE_CONDITION.match(condition))
	return transition.get("allowed") in (*TRANSITION_ROLES, *CLOSED_STAGE_EDITORS) and transition.get(
		"action"
	) in (*PIPELINE_ACTIONS, move_action(transition.get("next_state") or ""))


def roles_into(stage) -> list[str]:
	"""Who may move a deal into `stage`: the roles of its rule, else the sales roles."""
	return stage_rules.split(stage.get("allowed_roles")) or list(TRANSITION_ROLES)


def pipeline_transitions(pipeline: str, stages: list) -> list[dict]:
	"""The moves of a pipeline's deals: from every open stage to every other stage (Win into the won stage,
	Lose into a lost one) by the roles allowed into the target, and Reopen by a head of sales: a lost deal to
	the first open stage, a won one to the last (it was won from there)."""
	condition = pipeline_condition(pipeline)
	open_stages = [s for s in stages if s.stage_type == pipelines.OPEN]
	rows, used = [], set()

	def add(source, target, action, roles):
		if (source.stage_name, action) in used:
			# one action leads to one stage: a second lost stage is reached by its own move
			action = move_action(target.stage_name)
		used.add((source.stage_name, action))
		for role in roles:
			rows.append(
				{
					"state": source.stage_name,
					"action": action,
					"next_state": target.stage_name,
					"allowed": role,
					"allow_self_approval": 1,
					"condition": condition,
				}
			)

	for source in stages:
		if source.stage_type != pipelines.OPEN:
			if open_stages:
				target = open_stages[-1 if source.stage_type == pipelines.WON else 0]
				add(source, target, "Reopen", CLOSED_STAGE_EDITORS)
			continue
		for target in stages:
			if target.stage_name == source.stage_name:
				continue
			action = {pipelines.WON: "Win", pipelines.LOST: "Lose"}.get(
				target.stage_type, move_action(target.stage_name)
			)
			add(source, target, action, roles_into(target))
	return rows


def deal_workflow():
	"""The active workflow of deals by stage, the one the pipelines keep (None if there is none)."""
	name = active_workflow(pipelines.DEAL)
	if not name:
		return None
	workflow = frappe.get_doc("Workflow", name)
	return workflow if workflow.workflow_state_field == pipelines.STAGE_FIELD else None


def sync_deal_workflow() -> bool:
	"""Bring the Deal workflow in step with every pipeline: a state per stage (a new one editable as the shipped
	ones are: open stages by the sales roles, closed ones by a head of sales; rows an administrator changed stay),
	no state of a stage no pipeline has, and each pipeline's moves remade from its stages and their rules.
	Transitions an administrator added in the Workflow form (see made_from_stages) stay. True if it changed."""
	workflow = deal_workflow()
	if not workflow:
		return False
	stages_by_pipeline = {
		name: pipelines.get_stages(name, with_rules=True)
		for name in frappe.get_all(
			"CRM Pipeline", order_by="is_default desc, creation asc, name asc", pluck="name"
		)
	}
	names = pipelines.all_stage_names()
	stage_types = {}
	for stages in stages_by_pipeline.values():
		for stage in stages:
			stage_types.setdefault(stage.stage_name, stage.stage_type)

	states = [row for row in workflow.states if row.state in stage_types]
	present = {row.state for row in states}
	for name in names:
		ensure_state(name)
		if name in present:
			continue
		editors = TRANSITION_ROLES if stage_types[name] == pipelines.OPEN else CLOSED_STAGE_EDITORS
		for role in (*editors, STATE_EDITOR_ADMIN):
			states.append(frappe._dict(state=name, doc_status="0", allow_edit=role))
	states.sort(key=lambda row: names.index(row.state))

	kept = [
		t
		for t in workflow.transitions
		if not made_from_stages(t) and t.state in stage_types and t.next_state in stage_types
	]
	made = [row for name, stages in stages_by_pipeline.items() for row in pipeline_transitions(name, stages)]
	for action in dict.fromkeys(row["action"] for row in made):
		ensure_action(action)
	for stage in stage_types:
		translate_move_action(stage)

	def signature(state_rows, transition_rows):
		return (
			[(r.get("state"), r.get("allow_edit"), str(r.get("doc_status"))) for r in state_rows],
			[
				(
					r.get("state"),
					r.get("action"),
					r.get("next_state"),
					r.get("allowed"),
					r.get("condition") or "",
				)
				for r in transition_rows
			],
		)

	if signature(states, [*kept, *made]) == signature(workflow.states, workflow.transitions):
		return False
	workflow.set("states", [_row(r) for r in states])
	workflow.set("transitions", [*(_row(t) for t in kept), *made])
	workflow.flags.ignore_permissions = True
	workflow.save()
	return True


def _row(row) -> dict:
	"""A child row as values for Document.set, without the identity of the row it came from."""
	data = row.as_dict() if isinstance(row, Document) else dict(row)
	for key in ("name", "idx", "parent", "parentfield", "parenttype", "creation", "modified", "doctype"):
		data.pop(key, None)
	return data


def move_action(stage: str) -> str:
	return f"Move to {stage}"


# languages the actions of stages an administrator adds are translated into (the product's first languages)
ACTION_LANGUAGES = ("ru",)


def translate_move_action(stage: str) -> None:
	""" "Move to <stage>" of a stage an administrator added reads in each language as the shipped ones do
	("Перевести на этап «Пилот»"), through a Translation record an administrator may still change."""
	from frappe.translate import get_all_translations

	action = move_action(stage)
	for lang in ACTION_LANGUAGES:
		messages = get_all_translations(lang) or {}
		if action in messages or frappe.db.exists("Translation", {"language": lang, "source_text": action}):
			continue
		template = messages.get("Move to {0}")
		if not template:
			continue
		frappe.get_doc(
			{
				"doctype": "Translation",
				"language": lang,
				"source_text": action,
				"translated_text": template.format(messages.get(stage) or stage),
			}
		).insert(ignore_permissions=True)


def ensure_state(state: str) -> None:
	if not frappe.db.exists("Workflow State", state):
		frappe.get_doc({"doctype": "Workflow State", "workflow_state_name": state}).insert(
			ignore_permissions=True
		)


def ensure_role(role: str) -> None:
	if not frappe.db.exists("Role", role):
		frappe.get_doc({"doctype": "Role", "role_name": role, "desk_access": 1}).insert(
			ignore_permissions=True
		)


def ensure_action(action: str) -> None:
	if not frappe.db.exists("Workflow Action Master", action):
		frappe.get_doc({"doctype": "Workflow Action Master", "workflow_action_name": action}).insert(
			ignore_permissions=True
		)
