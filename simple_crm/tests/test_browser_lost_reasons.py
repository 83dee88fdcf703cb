"""Losing a deal or disqualifying a lead in the Desk, as a Russian-speaking sales manager does it (headless
Chromium; see simple_crm.tests.desk_browser): the workflow action on the form and a drop on the deals' kanban
ask for the reason in a dialog listing the reasons in Russian; closing the dialog saves nothing; the reason
chosen is saved with the move."""

import frappe

from simple_crm.tests import factories
from simple_crm.tests.desk_browser import KANBAN_MOVE, DeskBrowserTestCase
from simple_crm.tests.sales_org import email

KANBAN = "Deals by Stage"


class TestLostReasonDialogs(DeskBrowserTestCase):
	def reason_labels(self, dialog) -> list[str]:
		return [
			o.strip() for o in dialog.locator('select[data-fieldname="lost_reason"] option').all_inner_texts()
		]

	def test_disqualifying_a_lead_asks_for_the_reason_in_russian(self):
		lead = self.make(factories.make_lead(responsible=self.manager, source="Website"))
		page = self.login(self.manager)
		path = f"/app/crm-lead/{lead.name}"
		self.open(page, path, ready=".page-actions .actions-btn-group", label="lead form")
		# reference data in Russian: the lead source shown in its link field
		self.assertEqual(page.locator('input[data-fieldname="source"]').first.input_value(), "Сайт")
		self.shot(page, "lead form")

		def disqualify():
			page.locator(".page-actions .actions-btn-group button").click()
			page.locator(".page-actions .actions-btn-group .dropdown-menu").get_by_text(
				"Дисквалифицировать", exact=True
			).click()

		disqualify()
		dialog = self.modal(page, "Почему лид дисквалифицирован?")
		labels = self.reason_labels(dialog)
		self.assertIn("Слишком высокая цена", labels)
		self.assertIn("Спам", labels, "reasons for leads only are offered on a lead")
		self.assertNotIn("Price Too High", labels)
		self.shot(page, "reason dialog")

		# closed without a reason: nothing is saved
		dialog.locator(".btn-modal-close").click()
		dialog.wait_for(state="hidden")
		self.wait_idle(page)
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value("CRM Lead", lead.name, ["status", "lost_reason"]), ("New", None))

		# a reason given: the action goes through with it
		disqualify()
		dialog = self.modal(page, "Почему лид дисквалифицирован?")
		dialog.locator('select[data-fieldname="lost_reason"]').select_option(label="Слишком высокая цена")
		dialog.locator('textarea[data-fieldname="lost_comment"]').fill("Дорого для них")
		self.timed(
			page,
			"disqualify a lead (dialog answered)",
			lambda: dialog.locator(".btn-modal-primary").click(),
			ready=".indicator-pill:has-text('Дисквалифицирован')",
		)
		self.shot(page, "lead disqualified")
		frappe.db.rollback()
		self.assertEqual(
			frappe.db.get_value("CRM Lead", lead.name, ["status", "lost_reason", "lost_comment"]),
			("Disqualified", "Price Too High", "Дорого для них"),
		)

	def test_losing_a_deal_on_the_form_asks_for_the_reason(self):
		client = self.make(factories.make_client(responsible=self.manager))
		deal = self.make(factories.make_deal(client.name, responsible=self.manager))
		page = self.login(self.manager)
		self.open(
			page, f"/app/crm-deal/{deal.name}", ready=".page-actions .actions-btn-group", label="deal form"
		)
		page.locator(".page-actions .actions-btn-group button").click()
		page.locator(".page-actions .actions-btn-group .dropdown-menu").get_by_text(
			"Проиграть", exact=True
		).click()
		dialog = self.modal(page, "Почему сделка проиграна?")
		labels = self.reason_labels(dialog)
		self.assertIn("Проект отменён", labels, "reasons for deals only are offered on a deal")
		self.assertNotIn("Спам", labels, "reasons for leads only are not")
		dialog.locator('select[data-fieldname="lost_reason"]').select_option(label="Выбрал конкурента")
		self.timed(
			page,
			"lose a deal on its form (dialog answered)",
			lambda: dialog.locator(".btn-modal-primary").click(),
		)
		self.shot(page, "deal lost")
		frappe.db.rollback()
		self.assertEqual(
			frappe.db.get_value("CRM Deal", deal.name, ["stage", "lost_reason", "lost_at_stage"]),
			("Lost", "Chose a Competitor", "Qualification"),
		)

	def test_a_deal_dropped_into_lost_on_the_kanban_asks_for_the_reason(self):
		client = self.make(factories.make_client(responsible=self.manager))
		deal = self.make(factories.make_deal(client.name, responsible=self.manager))
		page = self.login(self.manager)
		board = f"/app/crm-deal/view/kanban/{KANBAN.replace(' ', '%20')}"
		card = f'.kanban-card-wrapper[data-name="{deal.name}"]'
		self.open(page, board, ready=card, label="deals kanban")
		self.shot(page, "kanban")

		self.drag(page, card, '.kanban-column[data-column-value="Lost"] .kanban-cards')
		dialog = self.modal(page, "Почему сделка проиграна?")
		self.assertIn("Проигрыш", dialog.inner_text(), "the column it goes to, in Russian")
		self.shot(page, "kanban reason dialog")
		# closed: the card goes back and the deal is unchanged
		dialog.locator(".btn-modal-close").click()
		dialog.wait_for(state="hidden")
		self.wait_idle(page)
		page.locator(f'.kanban-column[data-column-value="Qualification"] {card}').wait_for()
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value("CRM Deal", deal.name, "stage"), "Qualification")
		self.shot(page, "kanban card back")

		dialog = self.drop_for_the_dialog(
			page, card, '.kanban-column[data-column-value="Lost"] .kanban-cards'
		)
		dialog.locator('select[data-fieldname="lost_reason"]').select_option(label="Нет бюджета")

		def answer():
			# the card already stands in the column it was dropped into: the move is done when the board's request
			# has answered
			with page.expect_response(lambda r: KANBAN_MOVE in r.url) as moved:
				dialog.locator(".btn-modal-primary").click()
			self.assertEqual(moved.value.status, 200, moved.value.text()[:500])

		self.timed(page, "lose a deal on the kanban (dialog answered)", answer)
		page.locator(f'.kanban-column[data-column-value="Lost"] {card}').wait_for()
		self.shot(page, "kanban deal lost")
		frappe.db.rollback()
		self.assertEqual(
			frappe.db.get_value("CRM Deal", deal.name, ["stage", "lost_reason"]), ("Lost", "No Budget")
		)

	def drop_for_the_dialog(self, page, source: str, target: str):
		"""Drag the card again until the board takes the drop (a drag right after the board put the card back
		can start before the card is draggable again; a person would simply drag once more)."""
		for _attempt in range(3):
			self.drag(page, source, target)
			dialog = self.dialog(page)
			try:
				dialog.wait_for(state="visible", timeout=5000)
			except Exception:
				continue
			return self.modal(page, "Почему сделка проиграна?")
		self.fail("dropping the card into Lost never opened the reason dialog")

	def drag(self, page, source: str, target: str) -> None:
		"""Drag as a mouse does (the board's Sortable listens to pointer moves, not to HTML5 drag events)."""
		page.locator(source).scroll_into_view_if_needed()
		start = page.locator(source).bounding_box()
		end = page.locator(target).bounding_box()
		page.mouse.move(start["x"] + start["width"] / 2, start["y"] + 10)
		page.mouse.down()
		page.mouse.move(start["x"] + start["width"] / 2 + 5, start["y"] + 15, steps=3)
		page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 20, steps=15)
		page.mouse.up()
