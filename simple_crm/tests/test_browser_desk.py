"""The Desk as a production bench serves it, in headless Chromium (simple_crm.tests.desk_browser): what the
server publishes reaches the open page live (Frappe's realtime server behind the site's own address), a save
or a workflow action the server refuses shows its message in Russian and leaves the console clean, the
workspace opens clean, and the main screens' load and save times are measured and printed."""

import secrets
from urllib.parse import quote

import frappe
from frappe.desk.form.assign_to import add as assign

from simple_crm.tests import factories
from simple_crm.tests.desk_browser import DeskBrowserTestCase
from simple_crm.tests.sales_org import email

WORKSPACE = "/app/simple-crm"
# the browser's own console line for an answer with an error status (the refusal the test provokes)
REFUSED_REQUEST = r"status of 417"


class TestDeskInTheBrowser(DeskBrowserTestCase):
	# --- realtime -----------------------------------------------------------------------------------------

	def test_an_event_published_to_the_user_reaches_the_open_page(self):
		page = self.login(self.manager)
		self.open(page, "/app/crm-lead", ready=".frappe-list", label="lead list")
		page.evaluate(
			"""() => { window.simple_crm_received = [];
			frappe.realtime.on("simple_crm_test_event", (data) => window.simple_crm_received.push(data)); }"""
		)
		token = secrets.token_hex(8)
		# to another user first: it must not arrive here
		frappe.publish_realtime("simple_crm_test_event", {"token": "not yours"}, user=email("sales2"))
		frappe.publish_realtime("simple_crm_test_event", {"token": token}, user=self.manager)
		page.wait_for_function(
			"(token) => window.simple_crm_received.some((d) => d.token === token)", arg=token, timeout=10_000
		)
		self.assertEqual(page.evaluate("() => window.simple_crm_received.map((d) => d.token)"), [token])

	def test_an_assignment_lights_the_notification_bell_without_a_reload(self):
		lead = self.make(factories.make_lead(responsible=self.manager))
		page = self.login(self.manager)
		self.open(page, "/app/crm-lead", ready=".frappe-list", label="lead list")
		page.evaluate(
			"""() => { window.simple_crm_notified = 0;
			frappe.realtime.on("notification", () => window.simple_crm_notified++);
			$(".notifications-icon .notifications-seen").show();
			$(".notifications-icon .notifications-unseen").hide(); }"""
		)
		assign({"doctype": "CRM Lead", "name": lead.name, "assign_to": [self.manager]})
		self.assertTrue(
			frappe.db.exists("Notification Log", {"for_user": self.manager, "document_name": lead.name})
		)
		frappe.db.commit()  # the notification is published once its record is committed
		page.wait_for_function("() => window.simple_crm_notified > 0", timeout=10_000)
		unseen = "() => $('.notifications-icon .notifications-unseen').css('display') !== 'none'"
		self.assertTrue(page.evaluate(unseen), "the bell shows an unseen notification")
		self.shot(page, "notification arrived")

	# --- console hygiene ----------------------------------------------------------------------------------

	def test_a_refused_save_shows_the_message_and_keeps_the_console_clean(self):
		self.expect_console(REFUSED_REQUEST)
		lead = self.make(factories.make_lead(responsible=self.manager))
		page = self.login(self.manager)
		self.open(
			page, f"/app/crm-lead/{lead.name}", ready='input[data-fieldname="phone"]', label="lead form"
		)
		page.locator('input[data-fieldname="phone"]').first.fill("позвонить завтра")
		message = self.dialog(page)
		self.timed(page, "save of a lead refused by the server", lambda: self.save(page, until=message))
		self.assertIn("это не номер телефона", message.inner_text())
		self.shot(page, "refused save")
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value("CRM Lead", lead.name, "phone"), lead.phone, "nothing saved")

	def test_a_refused_workflow_action_shows_the_message_and_keeps_the_console_clean(self):
		self.expect_console(REFUSED_REQUEST)
		client = self.make(factories.make_client(responsible=self.manager))
		deal = self.make(factories.make_deal(client.name, responsible=self.manager))
		page = self.login(self.manager)
		self.open(
			page, f"/app/crm-deal/{deal.name}", ready=".page-actions .actions-btn-group", label="deal form"
		)
		page.locator(".page-actions .actions-btn-group button").click()
		# won needs an amount, which the deal has not
		page.locator(".page-actions .actions-btn-group .dropdown-menu").get_by_text(
			"Выиграть", exact=True
		).click()
		message = self.dialog(page)
		message.wait_for(state="visible")
		self.wait_idle(page)
		self.assertIn("нужны: сумма больше нуля", message.inner_text())
		self.shot(page, "refused workflow action")
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value("CRM Deal", deal.name, "stage"), deal.stage, "nothing moved")

	def test_the_workspace_opens_clean(self):
		for user in (self.manager, email("head_a")):
			page = self.login(user)
			self.open(page, WORKSPACE, ready=".layout-main-section .ce-block", label=f"workspace ({user})")
			page.wait_for_timeout(1500)  # the cards and charts render after the page is idle
			self.shot(page, f"workspace {user}")

	# --- words ------------------------------------------------------------------------------------------

	def test_new_and_add_read_as_russian_phrases(self):
		"""Frappe glues "Add"/"New" to the record's name ("Добавить Сделка", "Новый Сделка"): the list's
		button and a new form's title read as whole phrases (words.js; the kanban column's button is tried
		in test_browser_deal_kanban)."""
		page = self.login(self.manager)
		self.open(page, "/app/crm-deal", ready=".frappe-list", label="deal list")
		button = page.locator(".page-actions .primary-action").first
		button.wait_for(state="visible")
		self.assertEqual(button.get_attribute("data-label"), "Добавить сделку")
		self.open(page, "/app/crm-client", ready=".frappe-list", label="client list")
		self.assertEqual(
			page.locator(".page-actions .primary-action").first.get_attribute("data-label"),
			"Добавить клиента",
		)
		self.open(page, "/app/crm-task/new", ready='[data-fieldname="subject"]', label="new task form")
		title = page.locator(".page-head:visible .title-text").first
		title.wait_for(state="visible")
		self.assertEqual(title.inner_text().strip(), "Новая задача")
		self.shot(page, "new task form")

	# --- timings ------------------------------------------------------------------------------------------

	def test_main_screens_load_and_save_times(self):
		"""The screens a sales manager lives in, each timed (printed with the class's timings)."""
		lead = self.make(factories.make_lead(responsible=self.manager))
		page = self.login(self.manager)
		self.open(page, WORKSPACE, ready=".layout-main-section .ce-block", label="workspace")
		self.open(page, "/app/crm-lead", ready=".frappe-list .list-row-container", label="lead list")
		self.open(
			page, f"/app/crm-lead/{lead.name}", ready='input[data-fieldname="phone"]', label="lead form"
		)
		page.locator('input[data-fieldname="company_name"]').first.fill("ООО Ромашка и партнёры")
		self.timed(page, "save of a lead", lambda: self.save(page))
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value("CRM Lead", lead.name, "company_name"), "ООО Ромашка и партнёры")
		# the default pipeline's board (simple_crm.kanban), with a deal of hers on it
		pipeline = factories.default_pipeline()
		deal = self.make(factories.make_deal(responsible=self.manager, pipeline=pipeline))
		frappe.db.commit()  # the server reads it in its own connection
		board = frappe.db.get_value("Kanban Board", {"crm_pipeline": pipeline})
		self.assertTrue(board, f"the pipeline {pipeline} has no kanban board")
		self.open(
			page,
			f"/app/crm-deal/view/kanban/{quote(board)}",
			ready=f'.kanban-card-wrapper[data-name="{quote(deal.name)}"]',
			label="deal kanban",
		)
		labels = [label for label, _seconds in self.timings]
		for screen in ("workspace", "lead list", "lead form", "save of a lead", "deal kanban"):
			self.assertTrue(any(screen in label for label in labels), screen)
