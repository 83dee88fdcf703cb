"""A sales day from the first call to the funnel, in one run of the Desk (headless Chromium; see
simple_crm.tests.desk_browser), as a Russian-speaking sales manager and then her head of sales.

The manager types a lead with the phone written as people dictate it ("8 (916) ... доб. 12"), is warned of a
duplicate when a second lead comes with the same number written otherwise, converts the first lead and
follows the link of the result to the new deal, logs a call and plans the next task from the deal, completes
the task with its result, moves one deal on her pipeline's kanban to Lost (answering the reason dialog) and
another to Won, finds the new client by its phone in the search bar and opens the sales funnel, whose numbers
are those the server counts for her. Her head of sales then opens the team view (the workspace's cards with
the numbers counted for him) and finds her new deal on the team's board of the pipeline, under her name.

Each step is a screenshot and its time is printed; the steps themselves are those of the single-feature
tests (lost reasons, quick actions, the kanban, the workspace), whose helpers are reused here.
"""

import random
import re
from urllib.parse import quote

import frappe
from frappe.utils import getdate, today

from simple_crm import pipelines
from simple_crm.simple_crm.report.crm_sales_funnel import crm_sales_funnel
from simple_crm.tests import factories
from simple_crm.tests import test_browser_desk as desk
from simple_crm.tests import test_browser_lost_reasons as lost_reasons
from simple_crm.tests import test_browser_quick_actions as quick_actions
from simple_crm.tests import test_browser_workspace as workspace
from simple_crm.tests.desk_browser import KANBAN_MOVE, DeskBrowserTestCase
from simple_crm.tests.sales_org import email

CUSTOM_BUTTON = quick_actions.CUSTOM_BUTTON
FUNNEL = "/app/query-report/CRM%20Sales%20Funnel"


def digits(text: str) -> str:
	return re.sub(r"\D", "", text or "")


class TestSalesDay(DeskBrowserTestCase):
	# the steps as the single-feature browser tests take them
	button = quick_actions.TestQuickActionsInTheDesk.button
	open_dialog = quick_actions.TestQuickActionsInTheDesk.open_dialog
	drag = lost_reasons.TestLostReasonDialogs.drag
	drop_for_the_dialog = lost_reasons.TestLostReasonDialogs.drop_for_the_dialog
	expected = workspace.TestWorkspaceOfEachRole.expected
	shown = workspace.TestWorkspaceOfEachRole.shown

	def setUp(self):
		super().setUp()
		self.head = email("head_a")

	# --- the day ----------------------------------------------------------------------------------------

	def test_a_sales_day_from_the_lead_to_the_funnel_and_the_team_view(self):
		self.pipeline = pipelines.default_pipeline()
		self.board = frappe.db.get_value("Kanban Board", {"crm_pipeline": self.pipeline})
		self.assertTrue(self.board, "the pipeline has its kanban board")
		# one number, written two ways: as dictated with an extension, and in the international form
		n = random.SystemRandom().randint(0, 9_999_999)
		a, b, c = f"{n // 10000:03d}", f"{(n // 100) % 100:02d}", f"{n % 100:02d}"
		self.messy_phone = f"8 (916) {a}-{b}-{c} доб. 12"
		self.other_form = f"+7 916 {a} {b} {c}"
		self.search_form = f"8916{a}{b}{c}"
		self.company = factories.unique("ООО Весна ")
		# the deals of the manager's pipeline already worked: one to lose, one to win
		client = self.make(factories.make_client(responsible=self.manager))
		self.to_lose = self.make(
			factories.make_deal(client.name, responsible=self.manager, stage="Qualification", amount=40000)
		)
		self.to_win = self.make(
			factories.make_deal(client.name, responsible=self.manager, stage="Negotiation", amount=250000)
		)
		frappe.db.commit()

		page = self.login(self.manager)
		try:
			lead = self.lead_typed_on_the_form(page)
			self.duplicate_warned(page, lead)
			deal = self.lead_converted(page, lead)
			self.call_logged_and_task_planned(page, deal)
			self.task_completed(page, deal)
			self.deals_lost_and_won_on_the_kanban(page, deal)
			self.client_found_by_phone(page)
			self.funnel_seen(page)
		except Exception:
			self.shot(page, "failed here")  # what the page showed when the step failed
			raise
		self.team_view_seen_by_the_head(deal)

	def lead_typed_on_the_form(self, page) -> str:
		self.open(page, "/app/crm-lead/new", ready='input[data-fieldname="lead_name"]', label="new lead form")
		page.locator('input[data-fieldname="lead_name"]').first.fill("Анна Весенняя")
		page.locator('input[data-fieldname="company_name"]').first.fill(self.company)
		page.locator('input[data-fieldname="phone"]').first.fill(self.messy_phone)
		self.shot(page, "new lead typed")
		self.timed(page, "save of a new lead", lambda: self.save(page))
		lead = page.evaluate("() => cur_frm.doc.name")
		self.made.append(("CRM Lead", lead))
		frappe.db.rollback()
		saved = frappe.db.get_value(
			"CRM Lead", lead, ["phone", "phone_normalized", "responsible"], as_dict=True
		)
		self.assertEqual(
			(saved.phone, saved.phone_normalized, saved.responsible),
			(self.messy_phone, f"+7916{self.search_form[4:]}", self.manager),
			"the number kept as typed, found by its international form, the lead hers",
		)
		self.shot(page, "lead saved")
		return lead

	def duplicate_warned(self, page, lead: str) -> None:
		self.open(page, "/app/crm-lead/new", ready='input[data-fieldname="lead_name"]', label="new lead form")
		page.locator('input[data-fieldname="lead_name"]').first.fill("Анна из Весны")
		page.locator('input[data-fieldname="phone"]').first.fill(self.other_form)
		self.timed(page, "save of a duplicate lead", lambda: self.save(page))
		second = page.evaluate("() => cur_frm.doc.name")
		self.made.append(("CRM Lead", second))
		warning = page.locator(".form-message", has_text="Возможные дубликаты").first
		warning.wait_for(state="visible")
		self.wait_idle(page)
		self.assertEqual(warning.inner_text().count("Возможные дубликаты"), 1, "the warning is shown once")
		self.assertIn(f"Телефон +7{self.search_form[1:]}", warning.inner_text(), "the number both leads have")
		self.assertEqual(warning.locator(f'a[href="/app/crm-lead/{lead}"]').count(), 1, "a link to the first")
		self.shot(page, "duplicate warning")

	def lead_converted(self, page, lead: str) -> str:
		self.open(page, f"/app/crm-lead/{lead}", ready=CUSTOM_BUTTON, label="lead form")
		dialog = self.open_dialog(page, "Конвертировать", "Конвертировать лид")
		dialog.locator('input[data-fieldname="deal_amount"]').fill("150000")
		self.shot(page, "conversion dialog")
		self.timed(page, "convert a lead", lambda: dialog.locator(".btn-modal-primary").click())
		message = page.locator(".modal.show .msgprint").last
		message.locator("li.conversion-result").nth(2).wait_for()
		frappe.db.rollback()
		client, contact, deal = frappe.db.get_value("CRM Lead", lead, ["client", "contact", "deal"])
		self.assertTrue(client and contact and deal, "the lead became a client, a contact and a deal")
		# removed in reverse: the deal, the contact, the leads, then the client they depend on
		self.made = [("CRM Client", client), *self.made, ("Contact", contact), ("CRM Deal", deal)]
		self.client = client
		self.assertIn(f"Клиент: {self.company}", message.inner_text())
		self.shot(page, "conversion result")

		# the link of the result leads to the new deal
		self.timed(
			page,
			"follow the conversion result to the deal",
			lambda: message.locator('li.conversion-result[data-doctype="CRM Deal"] a').click(),
		)
		page.wait_for_url(f"**/app/crm-deal/{deal}")
		self.wait_idle(page, f"{CUSTOM_BUTTON}:visible")
		self.assertEqual(page.locator(".modal.show").count(), 0, "the message closed on the way")
		self.assertEqual(
			frappe.db.get_value("CRM Deal", deal, ["client", "amount", "responsible", "pipeline"]),
			(client, 150000, self.manager, self.pipeline),
		)
		self.shot(page, "new deal")
		# the deal's page afresh, as the quick actions' helpers expect (one form in the page)
		self.open(page, f"/app/crm-deal/{deal}", ready=CUSTOM_BUTTON, label="deal form")
		return deal

	def call_logged_and_task_planned(self, page, deal: str) -> None:
		dialog = self.open_dialog(page, "Записать звонок", "Записать звонок")
		self.assertIn(
			self.search_form[4:], digits(dialog.locator('input[data-fieldname="phone"]').input_value())
		)
		dialog.locator('input[data-fieldname="topic"]').fill("Объём первой поставки")
		dialog.locator('input[data-fieldname="result"]').fill("Просят КП до пятницы")
		self.timed(page, "log a call", lambda: dialog.locator(".btn-modal-primary").click())
		dialog.wait_for(state="hidden")
		page.locator(".timeline-item", has_text="Исходящий звонок").first.wait_for()
		self.shot(page, "call logged")

		dialog = self.open_dialog(page, "Следующая задача", "Следующая задача")
		dialog.locator('input[data-fieldname="subject"]').fill("Обсудить КП с Анной")
		self.timed(page, "plan the next task", lambda: dialog.locator(".btn-modal-primary").click())
		dialog.wait_for(state="hidden")
		page.locator(".timeline-item", has_text="Обсудить КП с Анной").first.wait_for()
		self.shot(page, "task planned")
		frappe.db.rollback()
		calls = frappe.get_all(
			"CRM Call", filters={"deal": deal}, fields=["client", "manager", "topic", "result"]
		)
		self.assertEqual(
			[tuple(c.values()) for c in calls],
			[(self.client, self.manager, "Объём первой поставки", "Просят КП до пятницы")],
		)

	def task_completed(self, page, deal: str) -> None:
		task = frappe.db.get_value(
			"CRM Task",
			{"reference_doctype": "CRM Deal", "reference_name": deal, "subject": "Обсудить КП с Анной"},
			["name", "status", "task_type", "assigned_to"],
			as_dict=True,
		)
		self.assertEqual((task.status, task.task_type, task.assigned_to), ("Open", "Call", self.manager))
		self.open(page, f"/app/crm-task/{task.name}", ready=CUSTOM_BUTTON, label="task form")
		page.locator('textarea[data-fieldname="result"]').first.fill("Созвонились, КП согласовано")
		self.shot(page, "task result typed")
		self.timed(
			page,
			"complete a task",
			lambda: self.button(page, "Отметить выполненной").click(),
			ready=".indicator-pill:has-text('Выполнена')",
		)
		self.shot(page, "task completed")
		frappe.db.rollback()
		done = frappe.db.get_value("CRM Task", task.name, ["status", "result", "completed_on"], as_dict=True)
		self.assertEqual((done.status, done.result), ("Done", "Созвонились, КП согласовано"))
		self.assertTrue(done.completed_on)

	def deals_lost_and_won_on_the_kanban(self, page, new_deal: str) -> None:
		def card(deal):
			return f'.kanban-card-wrapper[data-name="{quote(deal)}"]'

		def column(stage):
			return f'.kanban-column[data-column-value="{stage}"]'

		self.open(
			page,
			f"/app/crm-deal/view/kanban/{quote(self.board)}",
			ready=f"{card(new_deal)} .crm-card-details",
			label="pipeline kanban",
		)
		self.shot(page, "kanban")
		dialog = self.drop_for_the_dialog(page, card(self.to_lose.name), f"{column('Lost')} .kanban-cards")
		dialog.locator('select[data-fieldname="lost_reason"]').select_option(label="Нет бюджета")
		self.shot(page, "kanban reason dialog")

		def moved(action, attempts: int = 1):
			"""`action` until the board sends the card's move, then its answer. The card stands in the column it was
			dropped into at once, so the move is done when the request has answered. A board that redraws itself
			(the realtime list update of the move before) drops a drag that was under way: a person drags again."""
			for attempt in range(attempts):
				try:
					with page.expect_response(
						lambda r: KANBAN_MOVE in r.url, timeout=None if attempt == attempts - 1 else 5_000
					) as response:
						action()
					break
				except Exception as error:
					# Playwright's TimeoutError (the module is imported where the browser starts, desk_browser)
					if type(error).__name__ != "TimeoutError" or attempt == attempts - 1:
						raise
					self.shot(page, f"drag {attempt + 1} not taken")
					self.wait_idle(page)
			self.assertEqual(response.value.status, 200, response.value.text()[:500])

		self.timed(
			page,
			"lose a deal on the kanban (dialog answered)",
			lambda: moved(lambda: dialog.locator(".btn-modal-primary").click()),
		)
		page.locator(f"{column('Lost')} {card(self.to_lose.name)}").wait_for()
		# the dialog fades out over the board: a drag that starts on its backdrop moves nothing
		dialog.wait_for(state="hidden")
		page.locator(".modal-backdrop").wait_for(state="detached")
		self.wait_idle(page)
		self.timed(
			page,
			"win a deal on the kanban",
			lambda: moved(
				lambda: self.drag(page, card(self.to_win.name), f"{column('Won')} .kanban-cards"), attempts=3
			),
		)
		page.locator(f"{column('Won')} {card(self.to_win.name)}").wait_for()
		self.wait_idle(page)
		self.shot(page, "deals lost and won")
		frappe.db.rollback()
		self.assertEqual(
			frappe.db.get_value("CRM Deal", self.to_lose.name, ["stage", "lost_reason"]),
			("Lost", "No Budget"),
		)
		self.assertEqual(frappe.db.get_value("CRM Deal", self.to_win.name, "stage"), "Won")
		self.assertEqual(frappe.db.get_value("CRM Deal", new_deal, "stage"), "Qualification")

	def client_found_by_phone(self, page) -> None:
		search = page.locator("#navbar-search")
		search.click()
		search.fill(self.search_form)
		# the client itself, not the lead or the contact person that carry its name too
		suggestion = page.locator(".awesomplete li", has_text=f"Клиент: {self.company}").first
		suggestion.wait_for(state="visible")
		self.shot(page, "search by phone")
		self.timed(page, "open a client found by phone", lambda: suggestion.click())
		page.wait_for_url(f"**/app/crm-client/{self.client}")
		self.wait_idle(page, f"{CUSTOM_BUTTON}:visible")
		self.shot(page, "client found")

	def funnel_seen(self, page) -> None:
		self.open(
			page,
			f"{FUNNEL}?pipeline={quote(self.pipeline)}",
			ready=".dt-scrollable .dt-row",
			label="sales funnel",
		)
		shown = page.evaluate(
			"""() => {
				const columns = frappe.query_report.columns.map((c) => c.fieldname);
				const at = (name) => columns.indexOf(name) + 1;  // the datatable's first column numbers the rows
				return [...document.querySelectorAll('.dt-scrollable .dt-row')].map((row) => [
					row.querySelector(`.dt-cell--col-${at('stage_label')}`).innerText.trim(),
					row.querySelector(`.dt-cell--col-${at('deals')}`).innerText.trim(),
				]);
			}"""
		)
		self.shot(page, "sales funnel")
		# the server's rows for the manager, in her language
		language = frappe.local.lang
		frappe.set_user(self.manager)
		frappe.local.lang = "ru"
		try:
			filters = {
				"from_date": getdate(today()).replace(month=1, day=1),
				"to_date": today(),
				"pipeline": self.pipeline,
			}
			_columns, data, *_rest = crm_sales_funnel.execute(filters)
		finally:
			frappe.local.lang = language
			frappe.set_user("Administrator")
		self.assertEqual(shown, [[row["stage_label"], str(row["deals"])] for row in data])
		counts = {row["stage"]: row["deals"] for row in data}
		self.assertGreaterEqual(counts["Won"], 1, "the deal won today")
		self.assertGreaterEqual(counts["Lost"], 1, "the deal lost today")
		self.assertGreaterEqual(counts["Qualification"], 3, "the day's deals entered the first stage")

	def team_view_seen_by_the_head(self, deal: str) -> None:
		expected = self.expected(self.head, workspace.HEAD_TITLES)
		self.assertEqual(self.shown(self.head, workspace.HEAD_TITLES), expected)
		page = self.page
		card = f'.kanban-card-wrapper[data-name="{quote(deal)}"]'
		self.open(
			page,
			f"/app/crm-deal/view/kanban/{quote(self.board)}",
			ready=f"{card} .crm-card-details",
			label="pipeline kanban (head of sales)",
		)
		details = page.locator(f'.kanban-column[data-column-value="Qualification"] {card} .crm-card-details')
		full_name = frappe.db.get_value("User", self.manager, "full_name")
		self.assertEqual(details.locator(".crm-card-responsible").inner_text().strip(), full_name)
		self.assertIn(self.company, page.locator(card).inner_text(), "the deal named after its new client")
		self.assertIn(
			"Нет открытых задач", details.inner_text(), "the task she completed is not shown as next"
		)
		details.scroll_into_view_if_needed()
		self.shot(page, "the manager's new deal in the team view")
