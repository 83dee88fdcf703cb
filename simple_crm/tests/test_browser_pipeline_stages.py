"""A stage added on the Pipeline form, as a Russian-speaking CRM administrator adds it (headless Chromium; see
simple_crm.tests.desk_browser): a row with its name, who may move a deal into it and the field it needs, saved
in well under a minute; then a sales manager moves a deal into it with the workflow action on the deal's form,
the action reading in Russian. The deals' Workflow form says that the pipelines keep its stages."""

import time

import frappe

from simple_crm import pipelines
from simple_crm.tests import factories
from simple_crm.tests.desk_browser import DeskBrowserTestCase
from simple_crm.tests.sales_org import email

STAGE = "Пилотный запуск"
STAGES = (
	("Qualification", "Open", 10),
	("Proposal", "Open", 50),
	("Won", "Won", None),
	("Lost", "Lost", None),
)


class TestPipelineStageInBrowser(DeskBrowserTestCase):
	def setUp(self):
		super().setUp()
		self.pipeline = factories.make_pipeline(stages=STAGES).name
		self.deal = factories.make_deal(
			pipeline=self.pipeline, responsible=email("sales1"), amount=90000
		).name
		frappe.db.commit()

	def tearDown(self):
		self.close_pages()
		frappe.db.rollback()
		frappe.set_user("Administrator")
		frappe.delete_doc("CRM Deal", self.deal, force=True, ignore_permissions=True)
		frappe.delete_doc("CRM Pipeline", self.pipeline, force=True, ignore_permissions=True)
		frappe.db.delete("Translation", {"source_text": f"Move to {STAGE}"})
		frappe.db.commit()
		super().tearDown()

	def test_administrator_adds_a_stage_and_a_sales_manager_uses_it(self):
		page = self.login(email("crm_admin"))
		started = time.perf_counter()
		grid = '.frappe-control[data-fieldname="stages"]'
		self.open(page, f"/app/crm-pipeline/{self.pipeline}", ready=grid, label="pipeline form")
		self.assertIn("процесс продаж", page.locator(".form-message").first.inner_text())
		self.shot(page, "pipeline form")

		page.locator(f"{grid} .grid-add-row").click()
		page.locator(f"{grid} .grid-body .grid-row").last.locator(".btn-open-row").click()
		row = page.locator(".grid-row-open")
		row.wait_for(state="visible")
		self.assertIn("Кто может переводить сделки на этап", row.inner_text())
		row.locator('[data-fieldname="stage_name"] input').fill(STAGE)
		row.locator('[data-fieldname="probability"] input').fill("60")
		# the role picked from the CRM's roles in Russian, the field typed by its Russian label
		row.locator('[data-fieldname="allowed_roles"] .stage-rule-picker').click()
		picker = self.modal(page, "Выбрать роли")
		self.assertIn("CRM: руководитель отдела продаж", picker.inner_text())
		picker.locator("label").filter(has_text="CRM: менеджер по продажам").locator("input").check()
		self.shot(page, "role picker")
		picker.locator(".btn-primary").click()
		picker.wait_for(state="hidden")
		self.shot(page, "role picked")
		self.assertEqual(
			row.locator('[data-fieldname="allowed_roles"] textarea').input_value(), "CRM Sales Manager"
		)
		row.locator('[data-fieldname="required_fields"] textarea').fill("Сумма")
		self.shot(page, "stage row")
		row.locator(".grid-collapse-row").first.click()
		self.timed(page, "save the pipeline", lambda: page.keyboard.press("Control+s"))
		page.wait_for_function("() => !cur_frm.is_dirty()")
		seconds = time.perf_counter() - started
		self.assertLess(seconds, 60, "adding a stage with its rule takes under a minute")
		self.timings.append(("add a stage with a role rule (from opening the form)", seconds))

		frappe.db.rollback()
		stage = pipelines.get_stage(self.pipeline, STAGE, with_rules=True)
		self.assertIsNotNone(stage, "the stage was saved")
		self.assertEqual((stage.allowed_roles, stage.required_fields), ("CRM Sales Manager", "amount"))
		# the grid shows the rule in Russian
		self.assertIn("CRM: менеджер по продажам", page.locator(grid).inner_text())
		self.shot(page, "pipeline saved")

		page = self.login(email("sales1"))
		actions = ".page-actions .actions-btn-group"
		self.open(page, f"/app/crm-deal/{self.deal}", ready=actions, label="deal form")
		page.locator(f"{actions} button").click()
		menu = page.locator(f"{actions} .dropdown-menu")
		self.shot(page, "workflow actions")
		self.timed(
			page,
			"move the deal into the new stage",
			lambda: menu.get_by_text(f"Перевести на этап «{STAGE}»", exact=True).click(),
		)
		page.wait_for_function(f"() => cur_frm.doc.stage === {STAGE!r}")
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value("CRM Deal", self.deal, "stage"), STAGE)
		self.shot(page, "deal moved")

	def test_workflow_form_points_to_the_pipelines(self):
		page = self.login(email("crm_admin"))
		self.open(page, "/app/workflow/CRM Deal Workflow", ready=".form-message", label="deal workflow form")
		note = page.locator(".form-message").first
		self.assertIn("ведётся воронкой", note.inner_text())
		self.assertIn(self.pipeline, note.inner_text())
		self.shot(page, "workflow note")
