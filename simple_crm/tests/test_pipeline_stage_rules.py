"""The sales process edited on the Pipeline form: stages, their order, who may move a deal into each stage and
the fields it needs there; the Deal workflow and the pipeline's kanban board follow every save.

- A rule typed in Russian is kept as Frappe's names; bad input (a duplicate stage, no won or lost stage, an
  unknown role, a field the deal has not) is refused with a message naming it and changes nothing: neither the
  pipeline nor the workflow.
- A stage only heads of sales may enter: a sales manager cannot move a deal into it over REST nor through the
  workflow action (the Desk's button), a head of sales can; the other moves stay as they were.
- Required fields hold whoever saves the deal (Desk, REST, Data Import) and name the empty fields.
- A reorder reorders the workflow's states, the board's columns and where a won deal reopens.
"""

import json

import frappe
from frappe.model.workflow import get_transitions

from simple_crm import kanban, pipelines, stage_rules, workflows
from simple_crm.simple_crm.doctype.crm_pipeline.crm_pipeline import PipelineStageError, StageInUseError
from simple_crm.tests import factories
from simple_crm.tests.sales_org import SalesOrgRestTestCase, SalesOrgTestCase, email

APPROVAL = "Согласование с руководителем"
STAGES = (
	("Qualification", "Open", 10),
	("Proposal", "Open", 50),
	("Won", "Won", None),
	("Lost", "Lost", None),
)


def workflow_signature() -> tuple:
	frappe.clear_document_cache("Workflow", workflows.DEAL_WORKFLOW)
	workflow = frappe.get_doc("Workflow", workflows.DEAL_WORKFLOW)
	return (
		[(s.state, s.allow_edit) for s in workflow.states],
		sorted((t.state, t.action, t.next_state, t.allowed, t.condition or "") for t in workflow.transitions),
	)


def moves_into(pipeline: str, stage: str) -> set[tuple[str, str]]:
	"""(from stage, role) of the pipeline's moves into `stage` (reopening a won deal aside)."""
	workflow = frappe.get_doc("Workflow", workflows.DEAL_WORKFLOW)
	condition = workflows.pipeline_condition(pipeline)
	return {
		(t.state, t.allowed)
		for t in workflow.transitions
		if t.next_state == stage and t.condition == condition and t.action != "Reopen"
	}


def add_approval_stage(pipeline: str, roles: str = "CRM: руководитель отдела продаж", fields: str = ""):
	"""As the Pipeline form does: a new open stage before Won, with its rules typed in Russian."""
	doc = frappe.get_doc("CRM Pipeline", pipeline)
	rows = list(doc.stages)
	new = doc.append(
		"stages",
		{
			"stage_name": APPROVAL,
			"stage_type": "Open",
			"probability": 70,
			"allowed_roles": roles,
			"required_fields": fields,
		},
	)
	won_at = next(i for i, row in enumerate(rows) if row.stage_type == "Won")
	doc.stages = [*rows[:won_at], new, *rows[won_at:]]
	for idx, row in enumerate(doc.stages, start=1):
		row.idx = idx
	doc.save()
	return doc


class TestStageRules(SalesOrgTestCase):
	def tearDown(self):
		super().tearDown()
		frappe.clear_document_cache("Workflow", workflows.DEAL_WORKFLOW)
		frappe.cache.hdel("workflow", "CRM Deal")

	def test_rules_typed_in_russian_are_kept_as_names(self):
		frappe.set_user(email("crm_admin"))
		pipeline = factories.make_pipeline(stages=STAGES)
		add_approval_stage(
			pipeline.name,
			roles="CRM: руководитель отдела продаж, CRM Administrator",
			fields="Сумма\nexpected_close_date; Client",
		)
		stage = pipelines.get_stage(pipeline.name, APPROVAL, with_rules=True)
		self.assertEqual(stage.allowed_roles, "CRM Head of Sales\nCRM Administrator")
		self.assertEqual(stage.required_fields, "amount\nexpected_close_date\nclient")
		# the workflow lets exactly those roles in, from every open stage of this pipeline only
		self.assertEqual(
			moves_into(pipeline.name, APPROVAL),
			{
				(source, role)
				for source in ("Qualification", "Proposal")
				for role in ("CRM Head of Sales", "CRM Administrator")
			},
		)
		# the board has the column, in its place
		board = kanban.board_of(pipeline.name)
		columns = frappe.get_all(
			"Kanban Board Column", filters={"parent": board}, pluck="column_name", order_by="idx"
		)
		self.assertEqual(columns, ["Qualification", "Proposal", APPROVAL, "Won", "Lost"])
		# the default pipeline's moves are untouched
		sales = workflows.pipeline_condition("Sales")
		workflow = frappe.get_doc("Workflow", workflows.DEAL_WORKFLOW)
		self.assertEqual(len([t for t in workflow.transitions if t.condition == sales]), 42)

	def test_the_form_offers_the_crm_roles_and_the_requirable_deal_fields(self):
		"""The Pipeline form's pickers (crm_pipeline.js) read their choices from the form's onload: what the
		server accepts in a rule, by Frappe's names."""
		doc = factories.make_pipeline(stages=STAGES)
		doc.run_method("onload")
		choices = doc.get_onload().stage_rule_choices
		self.assertEqual(
			set(choices["allowed_roles"]),
			{"CRM Sales Manager", "CRM Head of Sales", "CRM Director", "CRM Administrator"},
		)
		self.assertIn("amount", choices["required_fields"])
		self.assertNotIn("stage", choices["required_fields"])
		# every choice is accepted back as a rule
		self.assertEqual(
			stage_rules.parse_roles("\n".join(choices["allowed_roles"])), choices["allowed_roles"]
		)
		self.assertEqual(
			stage_rules.parse_fields(", ".join(choices["required_fields"])), choices["required_fields"]
		)

	def test_bad_input_is_refused_and_changes_nothing(self):
		pipeline = factories.make_pipeline(stages=STAGES)
		before = (pipelines.get_stages(pipeline.name, with_rules=True), workflow_signature())
		cases = {
			"duplicate stage": (
				lambda doc: doc.append("stages", {"stage_name": "proposal", "stage_type": "Open"}),
				PipelineStageError,
				"appears twice",
			),
			"no won stage": (
				lambda doc: doc.set("stages", [s for s in doc.stages if s.stage_type != "Won"]),
				PipelineStageError,
				"type Won",
			),
			"no lost stage": (
				lambda doc: doc.set("stages", [s for s in doc.stages if s.stage_type != "Lost"]),
				PipelineStageError,
				"type Lost",
			),
			"unknown role": (
				lambda doc: doc.stages[1].set("allowed_roles", "CRM Head of Sales\nГлавный по сделкам"),
				stage_rules.StageRuleError,
				"Главный по сделкам",
			),
			"a field the deal has not": (
				lambda doc: doc.stages[1].set("required_fields", "amount, subject"),
				stage_rules.StageRuleError,
				"subject",
			),
		}
		for case, (change, error, words) in cases.items():
			with self.subTest(case):
				doc = frappe.get_doc("CRM Pipeline", pipeline.name)
				change(doc)
				with self.assertRaisesRegex(error, words):
					doc.save()
				self.assertEqual(
					(pipelines.get_stages(pipeline.name, with_rules=True), workflow_signature()), before
				)

	def test_error_messages_are_russian(self):
		pipeline = factories.make_pipeline(stages=STAGES)
		doc = frappe.get_doc("CRM Pipeline", pipeline.name)
		doc.stages[1].allowed_roles = "Нет такой роли"
		frappe.local.lang = "ru"
		try:
			with self.assertRaisesRegex(stage_rules.StageRuleError, "роли .*Нет такой роли.* не существует"):
				doc.save()
			deal = factories.make_deal(pipeline=pipeline.name)
			add_approval_stage(pipeline.name, roles="", fields="amount")
			deal.reload()
			deal.stage = APPROVAL
			with self.assertRaisesRegex(stage_rules.StageRequiredFieldsError, "заполните: .*Сумма"):
				deal.save()
		finally:
			frappe.local.lang = "en"

	def test_required_fields_hold_for_every_path(self):
		frappe.set_user(email("crm_admin"))
		pipeline = factories.make_pipeline(stages=STAGES)
		add_approval_stage(pipeline.name, roles="", fields="Сумма, Expected Close Date")
		frappe.set_user("Administrator")
		deal = factories.make_deal(pipeline=pipeline.name, responsible=email("sales1"))
		frappe.set_user(email("sales1"))
		for in_import in (False, True):
			with self.subTest(in_import=in_import):
				frappe.flags.in_import = in_import
				try:
					deal.reload()
					deal.stage = APPROVAL
					with self.assertRaises(stage_rules.StageRequiredFieldsError) as refused:
						deal.save()
				finally:
					frappe.flags.in_import = False
				self.assertIn("Amount", str(refused.exception))
				self.assertIn("Expected Close Date", str(refused.exception))
				self.assertEqual(frappe.db.get_value("CRM Deal", deal.name, "stage"), "Qualification")
		deal.reload()
		deal.update({"stage": APPROVAL, "amount": 250000, "expected_close_date": "2027-01-15"})
		deal.save()
		self.assertEqual(frappe.db.get_value("CRM Deal", deal.name, "stage"), APPROVAL)
		# a deal already in the stage is not held to the rule while it stays there
		frappe.set_user("Administrator")
		frappe.db.set_value("CRM Deal", deal.name, "expected_close_date", None)
		frappe.set_user(email("sales1"))
		deal.reload()
		deal.probability = 80
		deal.save()

	def test_reorder_moves_states_columns_and_reopening(self):
		pipeline = factories.make_pipeline(
			stages=(("Qualification", "Open", 10), ("Proposal", "Open", 50), *STAGES[2:])
		)
		condition = workflows.pipeline_condition(pipeline.name)

		def reopen_targets():
			workflow = frappe.get_doc("Workflow", workflows.DEAL_WORKFLOW)
			return {
				t.state: t.next_state
				for t in workflow.transitions
				if t.condition == condition and t.action == "Reopen"
			}

		self.assertEqual(reopen_targets(), {"Won": "Proposal", "Lost": "Qualification"})
		doc = frappe.get_doc("CRM Pipeline", pipeline.name)
		doc.stages[0].idx, doc.stages[1].idx = 2, 1
		doc.stages = sorted(doc.stages, key=lambda row: row.idx)
		doc.save()
		self.assertEqual(
			[s.stage_name for s in pipelines.get_stages(pipeline.name)],
			["Proposal", "Qualification", "Won", "Lost"],
		)
		self.assertEqual(reopen_targets(), {"Won": "Qualification", "Lost": "Proposal"})
		columns = frappe.get_all(
			"Kanban Board Column",
			filters={"parent": kanban.board_of(pipeline.name)},
			pluck="column_name",
			order_by="idx",
		)
		self.assertEqual(columns, ["Proposal", "Qualification", "Won", "Lost"])
		# new deals start at the new first stage
		self.assertEqual(factories.make_deal(pipeline=pipeline.name).stage, "Proposal")

	def test_removing_a_stage_with_deals_is_refused(self):
		pipeline = factories.make_pipeline(stages=STAGES)
		add_approval_stage(pipeline.name, roles="")
		deal = factories.make_deal(pipeline=pipeline.name)
		deal.stage = APPROVAL
		deal.save()
		before = workflow_signature()
		doc = frappe.get_doc("CRM Pipeline", pipeline.name)
		doc.stages = [s for s in doc.stages if s.stage_name != APPROVAL]
		with self.assertRaisesRegex(StageInUseError, APPROVAL):
			doc.save()
		self.assertEqual(workflow_signature(), before)
		# nor does its type change under the deals in it
		doc = frappe.get_doc("CRM Pipeline", pipeline.name)
		next(s for s in doc.stages if s.stage_name == APPROVAL).stage_type = "Lost"
		with self.assertRaisesRegex(StageInUseError, "type of a stage in use"):
			doc.save()
		self.assertEqual(pipelines.get_stage(pipeline.name, APPROVAL).stage_type, "Open")
		self.assertEqual(workflow_signature(), before)

	def test_administrators_own_transitions_stay(self):
		workflow = frappe.get_doc("Workflow", workflows.DEAL_WORKFLOW)
		workflow.append(
			"transitions",
			{
				"state": "Proposal",
				"action": "Approve",
				"next_state": "Negotiation",
				"allowed": "CRM Director",
				"condition": "doc.amount > 1000000",
			},
		)
		workflows.ensure_action("Approve")
		workflow.save()
		pipeline = factories.make_pipeline(stages=STAGES)
		add_approval_stage(pipeline.name)
		frappe.clear_document_cache("Workflow", workflows.DEAL_WORKFLOW)
		workflow = frappe.get_doc("Workflow", workflows.DEAL_WORKFLOW)
		self.assertIn(
			("Proposal", "Approve", "Negotiation", "CRM Director"),
			{(t.state, t.action, t.next_state, t.allowed) for t in workflow.transitions},
		)

	def test_patch_hands_the_shipped_moves_to_the_pipelines(self):
		"""A site installed before: the shipped moves (no condition) become the pipelines' own, the same moves per
		pipeline; an administrator's own transition stays."""
		from simple_crm.patches.v1_0 import deal_workflow_kept_by_pipelines

		shipped = next(w for w in workflows.shipped_workflows() if w["name"] == workflows.DEAL_WORKFLOW)
		workflow = frappe.get_doc("Workflow", workflows.DEAL_WORKFLOW)
		workflow.set("transitions", [])
		for row in shipped["transitions"]:
			workflow.append("transitions", {k: v for k, v in row.items() if k != "doctype"})
		workflows.ensure_action("Escalate")
		own = {
			"state": "Proposal",
			"action": "Escalate",
			"next_state": "Negotiation",
			"allowed": "CRM Director",
		}
		workflow.append("transitions", dict(own))
		workflow.save()
		shipped_moves = {
			(t["state"], t["action"], t["next_state"], t["allowed"]) for t in shipped["transitions"]
		}

		deal_workflow_kept_by_pipelines.execute()
		frappe.clear_document_cache("Workflow", workflows.DEAL_WORKFLOW)
		workflow = frappe.get_doc("Workflow", workflows.DEAL_WORKFLOW)
		sales = workflows.pipeline_condition("Sales")
		self.assertEqual(
			{
				(t.state, t.action, t.next_state, t.allowed)
				for t in workflow.transitions
				if t.condition == sales
			},
			shipped_moves,
		)
		unconditioned = [
			(t.state, t.action, t.next_state, t.allowed) for t in workflow.transitions if not t.condition
		]
		self.assertEqual(unconditioned, [tuple(own.values())])


class TestStageRoleRuleRest(SalesOrgRestTestCase):
	"""A stage only heads of sales may enter, as a sales manager and a head of sales meet it over REST."""

	def setUp(self):
		super().setUp()
		frappe.set_user(email("crm_admin"))
		self.pipeline = self.track("CRM Pipeline", factories.make_pipeline(stages=STAGES).name)
		add_approval_stage(self.pipeline)
		frappe.set_user("Administrator")
		self.deal = self.track(
			"CRM Deal", factories.make_deal(pipeline=self.pipeline, responsible=email("sales1")).name
		)
		frappe.db.commit()

	def tearDown(self):
		super().tearDown()
		frappe.clear_document_cache("Workflow", workflows.DEAL_WORKFLOW)
		frappe.cache.hdel("workflow", "CRM Deal")

	def stage(self) -> str:
		frappe.db.rollback()
		return frappe.db.get_value("CRM Deal", self.deal, "stage")

	def apply(self, action: str, user: str):
		doc = frappe.get_doc("CRM Deal", self.deal).as_dict()
		return self.rest_call(
			"frappe.model.workflow.apply_workflow",
			{"doc": json.dumps(doc, default=str), "action": action},
			user=user,
		)

	def test_sales_manager_may_not_move_a_deal_in_over_rest(self):
		r = self.rest_update("CRM Deal", self.deal, {"stage": APPROVAL}, user=email("sales1"))
		self.assertEqual(r.status_code, 417, r.text[:300])
		self.assertIn("transition not allowed", r.error_text())
		self.assertEqual(self.stage(), "Qualification")
		# the moves the rule does not touch stay hers
		r = self.rest_update("CRM Deal", self.deal, {"stage": "Proposal"}, user=email("sales1"))
		self.assertEqual(r.status_code, 200, r.text[:300])
		r = self.rest_update("CRM Deal", self.deal, {"stage": APPROVAL}, user=email("head_a"))
		self.assertEqual(r.status_code, 200, r.text[:300])
		self.assertEqual(self.stage(), APPROVAL)

	def test_workflow_action_follows_the_rule(self):
		action = workflows.move_action(APPROVAL)
		frappe.set_user(email("sales1"))
		deal = frappe.get_doc("CRM Deal", self.deal)
		self.assertNotIn(action, {t.action for t in get_transitions(deal)})
		frappe.set_user(email("head_a"))
		self.assertIn(action, {t.action for t in get_transitions(deal)})
		frappe.set_user("Administrator")

		r = self.apply(action, email("sales1"))
		self.assertNotEqual(r.status_code, 200, r.text[:300])
		self.assertEqual(self.stage(), "Qualification")
		r = self.apply(action, email("head_a"))
		self.assertEqual(r.status_code, 200, r.text[:300])
		self.assertEqual(self.stage(), APPROVAL)

	def test_a_rule_lifted_lets_sales_managers_in(self):
		frappe.set_user(email("crm_admin"))
		doc = frappe.get_doc("CRM Pipeline", self.pipeline)
		next(s for s in doc.stages if s.stage_name == APPROVAL).allowed_roles = "CRM: менеджер по продажам"
		doc.save()
		frappe.set_user("Administrator")
		frappe.db.commit()
		r = self.rest_update("CRM Deal", self.deal, {"stage": APPROVAL}, user=email("sales1"))
		self.assertEqual(r.status_code, 200, r.text[:300])
		# and heads of sales are now left out of it
		self.assertEqual(
			moves_into(self.pipeline, APPROVAL),
			{("Qualification", "CRM Sales Manager"), ("Proposal", "CRM Sales Manager")},
		)
