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
- a stage added to a pipeline becomes a state of the Deal workflow, with moves to and from the
  pipeline's other open stages, so deals can reach it without anyone writing transitions by hand;
- a state added to the Lead workflow becomes an option of the lead's status (the same for complaints:
  `CRM Complaint Workflow`, state field `status`, shipped in the same file).

On top of Frappe's check of transitions, a deal keeps the "who may edit in this state" setting of the
workflow on the server (Frappe v15 only makes the form read-only): a sales manager cannot change a won
or lost deal over REST either.
"""

import json

import frappe
from frappe import _
from frappe.custom.doctype.property_setter.property_setter import make_property_setter
from frappe.model.workflow import get_workflow, get_workflow_name

from simple_crm import pipelines

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


def add_pipeline_stages_to_workflow(pipeline) -> list[str]:
	"""Called when a pipeline is saved: its stages become states of the Deal workflow, with moves."""
	if pipeline.flags.from_workflow:
		return []
	name = active_workflow("CRM Deal")
	if not name:
		return []
	workflow = frappe.get_doc("Workflow", name)
	if workflow.workflow_state_field != pipelines.STAGE_FIELD:
		return []
	known = {s.state for s in workflow.states}
	new = [row for row in pipeline.stages if row.stage_name not in known]
	if not new:
		return []
	open_stages = [row.stage_name for row in pipeline.stages if row.stage_type == pipelines.OPEN]
	won = [row.stage_name for row in pipeline.stages if row.stage_type == pipelines.WON]
	lost = [row.stage_name for row in pipeline.stages if row.stage_type == pipelines.LOST]
	existing = {(t.state, t.next_state, t.allowed) for t in workflow.transitions}
	actions = {(t.state, t.action, t.allowed) for t in workflow.transitions}

	def add_transition(state, next_state, action, roles=TRANSITION_ROLES):
		for role in roles:
			if (state, next_state, role) in existing:
				continue
			if (state, action, role) in actions:
				# one action leads to one state: "Win" already goes to another won stage
				action = move_action(next_state)
			ensure_action(action)
			workflow.append(
				"transitions",
				{
					"state": state,
					"action": action,
					"next_state": next_state,
					"allowed": role,
					"allow_self_approval": 1,
				},
			)
			existing.add((state, next_state, role))
			actions.add((state, action, role))

	for row in new:
		ensure_state(row.stage_name)
		editors = TRANSITION_ROLES if row.stage_type == pipelines.OPEN else CLOSED_STAGE_EDITORS
		for role in (*editors, STATE_EDITOR_ADMIN):
			workflow.append("states", {"state": row.stage_name, "doc_status": "0", "allow_edit": role})
	first_open = open_stages[0] if open_stages else None
	for row in new:
		stage = row.stage_name
		if row.stage_type == pipelines.OPEN:
			for other in open_stages:
				if other != stage:
					add_transition(other, stage, move_action(stage))
					add_transition(stage, other, move_action(other))
			for target in won:
				add_transition(stage, target, "Win")
			for target in lost:
				add_transition(stage, target, "Lose")
			if stage == first_open:
				for closed in won + lost:
					add_transition(closed, stage, move_action(stage), roles=CLOSED_STAGE_EDITORS)
		else:
			for other in open_stages:
				add_transition(other, stage, "Win" if row.stage_type == pipelines.WON else "Lose")
			if first_open:
				add_transition(stage, first_open, move_action(first_open), roles=CLOSED_STAGE_EDITORS)
	workflow.flags.ignore_permissions = True
	workflow.save()
	return [row.stage_name for row in new]


def move_action(stage: str) -> str:
	return f"Move to {stage}"


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
