"""A Russian-speaking sales manager's day in the Desk (headless Chromium; see simple_crm.tests.desk_browser):
logging a call and planning the next task from the deal form, converting a lead and following the links of the
result to the new client and its deals, finding a client by phone in the search bar."""

import frappe

from simple_crm.tests import factories
from simple_crm.tests.desk_browser import DeskBrowserTestCase
from simple_crm.tests.sales_org import email

CUSTOM_BUTTON = ".page-head .custom-actions button"


class TestQuickActionsInTheDesk(DeskBrowserTestCase):
	def button(self, page, label: str):
		return page.locator(CUSTOM_BUTTON).filter(has_text=label).first

	def open_dialog(self, page, label: str, title: str):
		self.button(page, label).click()
		return self.modal(page, title)

	def test_log_a_call_and_plan_the_next_task_from_the_deal_form(self):
		client = self.make(factories.make_client(responsible=self.manager, phone="+7 (916) 700-12-34"))
		deal = self.make(factories.make_deal(client.name, responsible=self.manager))
		page = self.login(self.manager)
		self.open(page, f"/app/crm-deal/{deal.name}", ready=CUSTOM_BUTTON, label="deal form")
		for label in ("Позвонить", "Записать звонок", "Следующая задача"):
			self.assertTrue(self.button(page, label).is_visible(), label)
		self.shot(page, "deal form with quick actions")

		dialog = self.open_dialog(page, "Записать звонок", "Записать звонок")
		self.assertIn("+7 (916) 700-12-34", dialog.locator('input[data-fieldname="phone"]').input_value())
		dialog.locator('input[data-fieldname="topic"]').fill("Условия поставки")
		dialog.locator('input[data-fieldname="result"]').fill("Ждут КП")
		self.shot(page, "log call dialog")
		self.timed(page, "log a call", lambda: dialog.locator(".btn-modal-primary").click())
		dialog.wait_for(state="hidden")
		frappe.db.rollback()
		calls = frappe.get_all(
			"CRM Call",
			filters={"deal": deal.name},
			fields=["client", "manager", "topic", "result", "direction"],
		)
		self.assertEqual(
			[tuple(c.values()) for c in calls],
			[(client.name, self.manager, "Условия поставки", "Ждут КП", "Outbound")],
		)
		# the call is on the deal's timeline, in Russian
		page.locator(".timeline-item", has_text="Исходящий звонок").first.wait_for()
		self.shot(page, "call on the timeline")

		dialog = self.open_dialog(page, "Следующая задача", "Следующая задача")
		self.assertEqual(dialog.locator('input[data-fieldname="subject"]').input_value(), "Перезвонить")
		dialog.locator('input[data-fieldname="subject"]').fill("Отправить коммерческое предложение")
		self.shot(page, "next task dialog")
		self.timed(page, "plan the next task", lambda: dialog.locator(".btn-modal-primary").click())
		dialog.wait_for(state="hidden")
		frappe.db.rollback()
		tasks = frappe.get_all(
			"CRM Task",
			filters={"reference_doctype": "CRM Deal", "reference_name": deal.name},
			fields=["subject", "assigned_to", "author", "due_on"],
		)
		self.assertEqual(len(tasks), 1)
		self.assertEqual(
			(tasks[0].subject, tasks[0].assigned_to, tasks[0].author),
			("Отправить коммерческое предложение", self.manager, self.manager),
		)
		self.assertEqual((tasks[0].due_on.hour, tasks[0].due_on.minute), (10, 0))
		page.locator(".timeline-item", has_text="Отправить коммерческое предложение").first.wait_for()
		self.shot(page, "task on the timeline")

	def test_convert_a_lead_and_follow_the_links(self):
		lead = self.make(
			factories.make_lead(
				lead_name="Олег Конвертов",
				company_name="ООО Конверсия",
				phone="+7 (916) 700-55-66",
				responsible=self.manager,
			)
		)
		page = self.login(self.manager)
		self.open(page, f"/app/crm-lead/{lead.name}", ready=CUSTOM_BUTTON, label="lead form")
		dialog = self.open_dialog(page, "Конвертировать", "Конвертировать лид")
		self.timed(page, "convert a lead", lambda: dialog.locator(".btn-modal-primary").click())
		message = page.locator(".modal.show .msgprint").last
		message.locator("li.conversion-result").nth(2).wait_for()
		frappe.db.rollback()
		client, contact, deal = frappe.db.get_value("CRM Lead", lead.name, ["client", "contact", "deal"])
		# removed in reverse: the deal, the contact, the lead, then the client they depend on
		self.made = [("CRM Client", client), *self.made, ("Contact", contact), ("CRM Deal", deal)]
		text = message.inner_text()
		for expected in ("Клиент: ООО Конверсия", "Контактное лицо: Олег Конвертов", "Сделка:"):
			self.assertIn(expected, text)
		self.shot(page, "conversion result")

		# the links stay on the lead, in a section that is open
		self.dialog(page).locator(".btn-modal-close").click()
		self.wait_idle(page)
		link = page.locator('.frappe-control[data-fieldname="client"] a').first
		link.wait_for(state="visible")
		self.shot(page, "converted lead")

		# from the message to the client: its phone, and its deal among its connections
		self.open(page, f"/app/crm-lead/{lead.name}", ready=".page-head", label="converted lead")
		page.locator('.frappe-control[data-fieldname="client"] a').first.wait_for(state="visible")
		self.assertEqual(frappe.db.get_value("CRM Client", client, "phone"), "+7 (916) 700-55-66")
		self.open(page, f"/app/crm-client/{client}", ready=CUSTOM_BUTTON, label="client form")
		deals = page.locator('.document-link[data-doctype="CRM Deal"]').first
		deals.scroll_into_view_if_needed()
		deals.locator(".count").filter(has_text="1").wait_for()
		self.assertIn("Сделка", deals.inner_text())
		self.shot(page, "client with its deal")

	def test_find_a_client_by_phone_in_the_search_bar(self):
		client = self.make(
			factories.make_client(
				client_name="ООО Телефонный Поиск", responsible=self.manager, phone="+7 (916) 700-98-76"
			)
		)
		foreign = self.make(
			factories.make_client(
				client_name="ООО Чужой Номер", responsible=email("sales3"), phone="+7 (916) 700-98-77"
			)
		)
		page = self.login(self.manager)
		self.open(page, "/app/crm-client", ready=".page-head", label="client list")
		search = page.locator("#navbar-search")
		search.click()
		search.fill("89167009876")
		suggestion = page.locator(".awesomplete li", has_text="ООО Телефонный Поиск").first
		suggestion.wait_for(state="visible")
		self.shot(page, "search bar suggestion")
		self.timed(page, "open a client found by phone", lambda: suggestion.click())
		page.wait_for_url(f"**/app/crm-client/{client.name}")
		self.shot(page, "client found")

		# "Search for": the dialog lists it by name, and nothing of a colleague's client
		search.click()
		search.fill("+7 916 700 98 76")
		page.locator(".awesomplete li", has_text="ООО Телефонный Поиск").first.wait_for(state="visible")
		search.press("Enter")
		found = page.locator(".search-dialog .search-results", has_text="ООО Телефонный Поиск").first
		found.wait_for(state="visible")
		self.wait_idle(page)
		self.shot(page, "search dialog")
		page.locator(".search-dialog .search-input").fill("89167009877")
		page.wait_for_timeout(1500)  # the dialog searches after a pause in typing
		self.wait_idle(page)
		self.assertNotIn(foreign.client_name, page.locator(".search-dialog").inner_text())
		self.shot(page, "a colleague's number finds nothing")

	def test_history_and_call_lengths_read_in_russian(self):
		lead = self.make(factories.make_lead(responsible=self.manager, phone="+7 (916) 700-33-44"))
		# a status changed by a save in English (REST, an import, a job), as its version records it
		lead.reload()
		lead.status = "In Progress"
		lead.save(ignore_version=False)
		factories.make_call(lead=lead.name, manager=self.manager, duration=824, direction="Outbound")
		page = self.login(self.manager)
		self.open(page, f"/app/crm-lead/{lead.name}", ready=CUSTOM_BUTTON, label="lead form with history")
		history = page.locator(".timeline-item", has_text="с Новый на В работе").first
		history.wait_for()
		history.scroll_into_view_if_needed()
		self.assertIn("Статус", history.inner_text())
		call = page.locator(".timeline-item", has_text="Исходящий звонок").first
		self.assertIn("13 мин 44 с", call.inner_text())
		timeline = page.locator(".new-timeline").first.inner_text()
		for english in ("In Progress", "changed the value", "13m 44s"):
			self.assertNotIn(english, timeline)
		self.shot(page, "history in russian")
