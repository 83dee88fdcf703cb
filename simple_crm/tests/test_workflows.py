"""The Lead and Deal workflows as users meet them, and as an administrator changes them.

- Every move between two states, for every role, over REST as real users: the shipped transitions
  succeed, every other move is refused with a message naming both states, and nothing changes.
- The rules on top: a lost reason for Lost/Disqualified (and the stage it was lost at), an amount and a
  client for Won, a converted lead is read-only, a deal moves only within its own pipeline, a new deal
  starts at its pipeline's first stage, a closed deal is edited by a head of sales only.
- An administrator's edits: a state added in the Workflow form becomes a pipeline stage, a Select
  option, a kanban column and a move users can make; a stage added to a pipeline becomes a workflow
  state with moves; edits survive a migrate.

The expected moves are written out here from the product's process (README: Sales process), not read
back from the Workflow documents.
"""

import frappe
from frappe.model.workflow import get_transitions
from frappe.utils import today

from simple_crm import install, pipelines, workflows
from simple_crm.tests import factories
from simple_crm.tests.sales_org import SalesOrgRestTestCase, SalesOrgTestCase, email

OPEN_STAGES = ("Qualification", "Needs Analysis", "Proposal", "Negotiation")
DEAL_STATES = (*OPEN_STAGES, "Won", "Lost")
REOPEN_DEAL = {("Lost", "Qualification"), ("Won", "Negotiation")}
LEAD_STATES = ("New", "In Progress", "Qualified", "Disqualified")
LEAD_MOVES = {
	("New", "In Progress"),
	("New", "Qualified"),
	("In Progress", "Qualified"),
	("Qualified", "In Progress"),
	("New", "Disqualified"),
	("In Progress", "Disqualified"),
	("Qualified", "Disqualified"),
}
REOPEN_LEAD = {("Disqualified", "In Progress")}
DEAL_REASON = "Price Too High"  # seeded, applies to deals
LEAD_REASON = "Spam"  # seeded, applies to leads
USERS = ("sales1", "head_a", "director", "crm_admin")


def deal_move_allowed(key: str, source: str, target: str) -> bool:
	if key in ("sales1", "head_a") and source in OPEN_STAGES and target != source:
		return True
	return key == "head_a" and (source, target) in REOPEN_DEAL


def lead_move_allowed(key: str, source: str, target: str) -> bool:
	if key in ("sales1", "head_a") and (source, target) in LEAD_MOVES:
		return True
	return key == "head_a" and (source, target) in REOPEN_LEAD


def fresh(doctype: str, name: str, *fields):
	frappe.db.rollback()  # see what REST requests committed
	return frappe.db.get_value(doctype, name, list(fields), as_dict=True)


class WorkflowRestTestCase(SalesOrgRestTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.client_name = factories.make_client(responsible=email("sales1")).name
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		frappe.db.rollback()
		frappe.set_user("Administrator")
		for deal in frappe.get_all("CRM Deal", filters={"client": cls.client_name}, pluck="name"):
			frappe.delete_doc("CRM Deal", deal, force=True, ignore_permissions=True)
		frappe.delete_doc("CRM Client", cls.client_name, force=True, ignore_permissions=True)
		frappe.db.commit()
		super().tearDownClass()

	def check_every_move(self, doctype: str, name: str, sources, targets, move_allowed) -> None:
		"""Each user moves the record from each state to each other one over REST: the allowed moves
		succeed, every other one is refused, names both states when the user may edit the record at all,
		and changes nothing."""
		field = "status" if doctype == "CRM Lead" else "stage"
		outcomes = set()
		for key in USERS:
			for source in sources:
				for target in targets:
					if source == target:
						continue
					allowed = move_allowed(key, source, target)
					outcomes.add(allowed)
					with self.subTest(user=key, move=f"{source} -> {target}", allowed=allowed):
						self.put_at(doctype, name, source)
						r = self.rest_update(doctype, name, {field: target}, user=email(key))
						stored = fresh(doctype, name, field)[field]
						if allowed:
							self.assertEqual(r.status_code, 200, r.text[:300])
							self.assertEqual(stored, target)
							continue
						self.assertIn(r.status_code, (403, 417), r.text[:300])
						self.assertEqual(stored, source)
						if key in ("sales1", "head_a"):
							self.assertIn("transition not allowed", r.error_text())
							self.assertIn(source, r.error_text())
							self.assertIn(target, r.error_text())
		self.assertEqual(outcomes, {True, False})

	def put_at(self, doctype: str, name: str, state: str) -> None:
		"""Place the record in `state` directly in the database (the starting point of a move)."""
		if doctype == "CRM Lead":
			values = {"status": state}
		else:
			values = {"stage": state, "stage_type": pipelines.get_stage("Sales", state).stage_type}
			# the reason a move to Lost needs (a won or reopened deal drops it)
			values["lost_reason"] = DEAL_REASON
		frappe.db.set_value(doctype, name, values, update_modified=False)
		frappe.db.commit()


class TestDealTransitions(WorkflowRestTestCase):
	def test_every_move_for_every_role(self):
		deal = factories.make_deal(
			self.client_name, responsible=email("sales1"), amount=1000, lost_reason=DEAL_REASON
		)
		frappe.db.commit()
		self.check_every_move("CRM Deal", deal.name, DEAL_STATES, DEAL_STATES, deal_move_allowed)

	def test_won_needs_amount_and_client_over_rest(self):
		deal = factories.make_deal(responsible=email("sales1"))
		frappe.db.commit()
		self.track("CRM Deal", deal.name)
		r = self.rest_update("CRM Deal", deal.name, {"stage": "Won"}, user=email("sales1"))
		self.assertEqual(r.status_code, 417, r.text[:300])
		self.assertIn("an amount above zero", r.error_text())
		self.assertIn("a client", r.error_text())
		self.assertEqual(fresh("CRM Deal", deal.name, "stage").stage, "Qualification")
		r = self.rest_update(
			"CRM Deal",
			deal.name,
			{"stage": "Won", "amount": 5000, "client": self.client_name},
			user=email("sales1"),
		)
		self.assertEqual(r.status_code, 200, r.text[:300])
		self.assertEqual((r.data["stage_type"], r.data["won_on"]), ("Won", today()))

	def test_lost_needs_a_reason_and_records_the_stage(self):
		deal = factories.make_deal(self.client_name, responsible=email("sales1"))
		frappe.db.commit()
		r = self.rest_update("CRM Deal", deal.name, {"stage": "Proposal"}, user=email("sales1"))
		self.assertEqual(r.status_code, 200, r.text[:300])
		r = self.rest_update("CRM Deal", deal.name, {"stage": "Lost"}, user=email("sales1"))
		self.assertEqual(r.status_code, 417, r.text[:300])
		self.assertIn("Choose the reason the deal was lost", r.error_text())
		self.assertEqual(fresh("CRM Deal", deal.name, "stage").stage, "Proposal")
		r = self.rest_update(
			"CRM Deal", deal.name, {"stage": "Lost", "lost_reason": DEAL_REASON}, user=email("sales1")
		)
		self.assertEqual(r.status_code, 200, r.text[:300])
		self.assertEqual((r.data["lost_at_stage"], r.data["lost_on"]), ("Proposal", today()))

	def test_closed_deal_is_changed_by_a_head_of_sales_only(self):
		deal = factories.make_deal(self.client_name, responsible=email("sales1"), amount=1000)
		frappe.db.commit()
		self.put_at("CRM Deal", deal.name, "Won")
		r = self.rest_update("CRM Deal", deal.name, {"amount": 1}, user=email("sales1"))
		self.assertEqual(r.status_code, 403, r.text[:300])
		self.assertIn("only", r.error_text())
		self.assertEqual(fresh("CRM Deal", deal.name, "amount").amount, 1000)
		r = self.rest_update("CRM Deal", deal.name, {"amount": 1200}, user=email("head_a"))
		self.assertEqual(r.status_code, 200, r.text[:300])
		# the CRM administrator corrects data in any state, but moves nothing
		r = self.rest_update("CRM Deal", deal.name, {"amount": 1300}, user=email("crm_admin"))
		self.assertEqual(r.status_code, 200, r.text[:300])

	def test_new_deal_starts_at_the_first_stage_of_its_pipeline(self):
		r = self.rest_insert(
			"CRM Deal", {"deal_name": "Сразу переговоры", "stage": "Negotiation"}, user=email("sales1")
		)
		self.assertEqual(r.status_code, 417, r.text[:300])
		self.assertIn("InitialStageError", r.text)
		self.assertIn("starts at stage", r.error_text())
		r = self.rest_insert("CRM Deal", {"deal_name": "С начала"}, user=email("sales1"))
		self.assertEqual(r.status_code, 200, r.text[:300])
		self.assertEqual(r.data["stage"], "Qualification")
		# a head of sales loading history may start anywhere
		r = self.rest_insert(
			"CRM Deal", {"deal_name": "Из архива", "stage": "Negotiation"}, user=email("head_a")
		)
		self.assertEqual(r.status_code, 200, r.text[:300])

	def test_deal_moves_only_within_its_own_pipeline(self):
		pipeline = self.track("CRM Pipeline", factories.make_pipeline().name)
		frappe.db.commit()
		r = self.rest_insert(
			"CRM Deal", {"deal_name": "Вторая воронка", "pipeline": pipeline}, user=email("sales1")
		)
		self.assertEqual(r.status_code, 200, r.text[:300])
		name = r.data["name"]
		self.assertEqual((r.data["pipeline"], r.data["stage"]), (pipeline, "Qualification"))
		# Negotiation is a state of the workflow and a stage of "Sales", but not of this pipeline
		r = self.rest_update("CRM Deal", name, {"stage": "Negotiation"}, user=email("sales1"))
		self.assertEqual(r.status_code, 417, r.text[:300])
		self.assertIn("is not a stage of pipeline", r.error_text())
		self.assertEqual(fresh("CRM Deal", name, "stage").stage, "Qualification")
		r = self.rest_update("CRM Deal", name, {"stage": "Proposal"}, user=email("sales1"))
		self.assertEqual(r.status_code, 200, r.text[:300])


class TestLeadTransitions(WorkflowRestTestCase):
	def test_every_move_for_every_role(self):
		lead = factories.make_lead(responsible=email("sales1"), lost_reason=LEAD_REASON)
		frappe.db.commit()
		self.track("CRM Lead", lead.name)
		# Converted is reached through the conversion only (test below): no manual move leads there
		self.check_every_move(
			"CRM Lead", lead.name, LEAD_STATES, (*LEAD_STATES, "Converted"), lead_move_allowed
		)

	def test_disqualified_needs_a_reason(self):
		lead = factories.make_lead(responsible=email("sales1"))
		frappe.db.commit()
		self.track("CRM Lead", lead.name)
		r = self.rest_update("CRM Lead", lead.name, {"status": "Disqualified"}, user=email("sales1"))
		self.assertEqual(r.status_code, 417, r.text[:300])
		self.assertIn("Select a lost reason", r.error_text())
		self.assertEqual(fresh("CRM Lead", lead.name, "status").status, "New")
		r = self.rest_update(
			"CRM Lead",
			lead.name,
			{"status": "Disqualified", "lost_reason": LEAD_REASON},
			user=email("sales1"),
		)
		self.assertEqual(r.status_code, 200, r.text[:300])

	def test_converted_only_by_conversion_and_then_read_only(self):
		# a converted lead cannot be deleted: this one stays on the throw-away test site
		lead = factories.make_lead(responsible=email("sales1"))
		frappe.db.commit()
		# setting the status by hand does not convert: the lead has no client
		r = self.rest_update("CRM Lead", lead.name, {"status": "Converted"}, user=email("sales1"))
		self.assertIn(r.status_code, (403, 417), r.text[:300])
		self.assertEqual(fresh("CRM Lead", lead.name, "status").status, "New")

		r = self.rest_call(
			"simple_crm.api.lead.convert",
			{"lead": lead.name, "create_deal": 1, "deal_amount": 900},
			user=email("sales1"),
		)
		self.assertEqual(r.status_code, 200, r.text[:300])
		self.assertEqual(fresh("CRM Lead", lead.name, "status").status, "Converted")
		for key in ("sales1", "head_a", "crm_admin"):
			for change in ({"interest": "Передумали"}, {"status": "In Progress"}):
				with self.subTest(user=key, change=change):
					r = self.rest_update("CRM Lead", lead.name, change, user=email(key))
					self.assertIn(r.status_code, (403, 417), r.text[:300])
					self.assertEqual(fresh("CRM Lead", lead.name, "status").status, "Converted")
		self.assertFalse(fresh("CRM Lead", lead.name, "interest").interest)


class TestAdministratorEditsWorkflow(SalesOrgTestCase):
	"""The Desk way: an administrator edits the Workflow or a pipeline; everything else follows."""

	def tearDown(self):
		super().tearDown()  # rolls back
		# caches filled while the edits were in place
		for name in (workflows.DEAL_WORKFLOW, workflows.LEAD_WORKFLOW):
			frappe.clear_document_cache("Workflow", name)
		frappe.cache.hdel("workflow", "CRM Deal")
		frappe.cache.hdel("workflow", "CRM Lead")
		frappe.clear_cache(doctype="CRM Deal")
		frappe.clear_cache(doctype="CRM Lead")

	def test_state_added_in_the_workflow_form_is_usable(self):
		state = "Пилотный проект"
		workflow = frappe.get_doc("Workflow", workflows.DEAL_WORKFLOW)
		workflow.append("states", {"state": state, "doc_status": "0", "allow_edit": "CRM Sales Manager"})
		if not frappe.db.exists("Workflow Action Master", "Start Pilot"):
			frappe.get_doc(
				{"doctype": "Workflow Action Master", "workflow_action_name": "Start Pilot"}
			).insert()
		if not frappe.db.exists("Workflow State", state):
			frappe.get_doc({"doctype": "Workflow State", "workflow_state_name": state}).insert()
		workflow.append(
			"transitions",
			{
				"state": "Proposal",
				"action": "Start Pilot",
				"next_state": state,
				"allowed": "CRM Sales Manager",
			},
		)
		workflow.append(
			"transitions",
			{"state": state, "action": "Win", "next_state": "Won", "allowed": "CRM Sales Manager"},
		)
		frappe.set_user(email("crm_admin"))
		workflow.save()
		frappe.set_user("Administrator")

		# the stage master, the Select options and the kanban have it, before the closed stages
		stages = [s.stage_name for s in pipelines.get_stages("Sales")]
		self.assertEqual(stages[stages.index(state) + 1 :], ["Won", "Lost"])
		frappe.clear_cache(doctype="CRM Deal")
		self.assertIn(state, frappe.get_meta("CRM Deal").get_field("stage").options.split("\n"))
		board = frappe.db.get_value("Kanban Board", {"reference_doctype": "CRM Deal", "field_name": "stage"})
		columns = frappe.get_all("Kanban Board Column", filters={"parent": board}, pluck="column_name")
		self.assertIn(state, columns)

		# a sales manager moves a deal there and on, through the same save as the Desk and REST
		deal = factories.make_deal(factories.make_client().name, responsible=email("sales1"), amount=100)
		frappe.set_user(email("sales1"))
		for stage in ("Proposal", state, "Won"):
			deal.reload()
			deal.stage = stage
			deal.save()
		self.assertEqual(deal.stage_type, "Won")
		# moves the administrator did not add stay refused
		deal.reload()
		deal.stage = "Qualification"
		self.assertRaises(frappe.ValidationError, deal.save)
		frappe.set_user("Administrator")

		# reports group by the new stage
		deal2 = factories.make_deal(responsible=email("sales1"))
		frappe.db.set_value("CRM Deal", deal2.name, {"stage": state, "stage_type": "Open"})
		counts = dict(
			frappe.get_all("CRM Deal", fields=["stage", "count(name) as n"], group_by="stage", as_list=True)
		)
		self.assertEqual(counts.get(state), 1)

	def test_stage_added_to_a_pipeline_becomes_a_workflow_state(self):
		stage = "Демонстрация"
		frappe.set_user(email("crm_admin"))
		pipeline = factories.make_pipeline(
			stages=(
				("Qualification", "Open", 10),
				(stage, "Open", 40),
				("Won", "Won", 100),
				("Lost", "Lost", 0),
			)
		)
		frappe.set_user("Administrator")
		workflow = frappe.get_doc("Workflow", workflows.DEAL_WORKFLOW)
		self.assertIn(stage, {s.state for s in workflow.states})
		moves = {(t.state, t.next_state, t.allowed) for t in workflow.transitions}
		for role in workflows.TRANSITION_ROLES:
			self.assertIn(("Qualification", stage, role), moves)
			self.assertIn((stage, "Won", role), moves)
			self.assertIn((stage, "Lost", role), moves)

		frappe.set_user(email("sales1"))
		deal = frappe.get_doc(
			{"doctype": "CRM Deal", "deal_name": "Демо", "pipeline": pipeline.name}
		).insert()
		self.assertEqual(deal.stage, "Qualification")
		actions = {t.action for t in get_transitions(deal)}
		self.assertIn(workflows.move_action(stage), actions)
		deal.stage = stage
		deal.save()
		self.assertEqual(frappe.db.get_value("CRM Deal", deal.name, "stage"), stage)

	def test_state_added_to_the_lead_workflow_becomes_a_status(self):
		state = "Ждёт бюджета"
		if not frappe.db.exists("Workflow State", state):
			frappe.get_doc({"doctype": "Workflow State", "workflow_state_name": state}).insert()
		workflow = frappe.get_doc("Workflow", workflows.LEAD_WORKFLOW)
		workflow.append("states", {"state": state, "doc_status": "0", "allow_edit": "CRM Sales Manager"})
		workflow.append(
			"transitions",
			{
				"state": "In Progress",
				"action": "Start Work",
				"next_state": state,
				"allowed": "CRM Sales Manager",
			},
		)
		workflow.save()
		frappe.clear_cache(doctype="CRM Lead")
		self.assertIn(state, frappe.get_meta("CRM Lead").get_field("status").options.split("\n"))
		lead = factories.make_lead(responsible=email("sales1"))
		frappe.set_user(email("sales1"))
		for status in ("In Progress", state):
			lead.reload()
			lead.status = status
			lead.save()
		self.assertEqual(frappe.db.get_value("CRM Lead", lead.name, "status"), state)

	def test_patch_lets_crm_administrators_edit_in_every_state(self):
		"""Sites installed before: the patch adds the missing rows and keeps everything else."""
		from simple_crm.patches.v1_0 import workflow_states_editable_by_crm_administrator as patch

		workflow = frappe.get_doc("Workflow", workflows.DEAL_WORKFLOW)
		workflow.states = [row for row in workflow.states if row.allow_edit != workflows.STATE_EDITOR_ADMIN]
		workflow.send_email_alert = 1  # an administrator's own change
		workflow.save()
		others = sorted((row.state, row.allow_edit) for row in workflow.states)
		patch.execute()
		patch.execute()  # a second run adds nothing
		after = frappe.get_doc("Workflow", workflows.DEAL_WORKFLOW)
		admin_rows = [row.state for row in after.states if row.allow_edit == workflows.STATE_EDITOR_ADMIN]
		self.assertEqual(sorted(admin_rows), sorted(dict.fromkeys(row.state for row in after.states)))
		self.assertEqual(
			sorted(
				(r.state, r.allow_edit) for r in after.states if r.allow_edit != workflows.STATE_EDITOR_ADMIN
			),
			others,
		)
		self.assertEqual(after.send_email_alert, 1)

	def test_edits_survive_migrate(self):
		from frappe.utils.fixtures import sync_fixtures

		workflow = frappe.get_doc("Workflow", workflows.DEAL_WORKFLOW)
		# the administrator lets only heads of sales win deals from Negotiation, and turns e-mail alerts on
		workflow.transitions = [
			t
			for t in workflow.transitions
			if not (t.state == "Negotiation" and t.next_state == "Won" and t.allowed == "CRM Sales Manager")
		]
		workflow.send_email_alert = 1
		workflow.save()
		before = sorted((t.state, t.action, t.next_state, t.allowed) for t in workflow.transitions)

		sync_fixtures("simple_crm")
		install.after_migrate()
		workflows.seed_workflows()
		frappe.clear_document_cache("Workflow", workflows.DEAL_WORKFLOW)

		after = frappe.get_doc("Workflow", workflows.DEAL_WORKFLOW)
		self.assertEqual(
			sorted((t.state, t.action, t.next_state, t.allowed) for t in after.transitions), before
		)
		self.assertEqual(after.send_email_alert, 1)
		self.restore_shipped_workflow()

	def restore_shipped_workflow(self):
		"""sync_fixtures commits: put the shipped workflow back as it was."""
		frappe.db.rollback()
		shipped = next(w for w in workflows.shipped_workflows() if w["name"] == workflows.DEAL_WORKFLOW)
		workflow = frappe.get_doc("Workflow", workflows.DEAL_WORKFLOW)
		workflow.send_email_alert = shipped["send_email_alert"]
		workflow.set("transitions", [])
		for row in shipped["transitions"]:
			workflow.append("transitions", {k: v for k, v in row.items() if k != "doctype"})
		workflow.save()
		# as an install leaves it: the moves between stages are the pipelines'
		workflows.sync_deal_workflow()
		frappe.db.commit()
