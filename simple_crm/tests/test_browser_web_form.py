"""The public inquiry form (/inquiry) in a real browser: Debian's Chromium, headless, driven by Playwright,
against the test site served over HTTP on loopback in a process of its own (simple_crm.tests.web_server, serving simple_crm.serve).

A visitor reading Russian opens the page, fills the form and sends it; the page's own scripts (Frappe's web
form and the app's honeypot) post it, and the lead is on the site. The tests fail, never skip, when
Playwright or Chromium is missing (scripts/test.sh installs both).
"""

import os
import shutil

import frappe

from simple_crm.tests.test_channel_web_to_lead import WebToLeadTestCase, fresh_phone, national
from simple_crm.tests.web_server import serve

CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
TIMEOUT_MS = 30_000


def chromium() -> str:
	found = next((p for p in CHROMIUM_PATHS if os.access(p, os.X_OK)), None) or shutil.which("chromium")
	if not found:
		raise AssertionError(
			"Chromium is not installed, and the web form is tested in a real browser: apt-get install -y "
			"chromium (scripts/test.sh installs it when run as root)"
		)
	return found


def playwright():
	try:
		from playwright.sync_api import sync_playwright
	except ImportError:
		raise AssertionError(
			"Playwright is not installed in the bench's Python, and the web form is tested in a real browser: "
			"bench setup requirements --dev (scripts/test.sh does it)"
		) from None
	return sync_playwright()


class TestInquiryFormInBrowser(WebToLeadTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.server = serve(frappe.local.site, os.path.abspath(frappe.local.sites_path))
		cls.url = cls.server.__enter__()
		try:
			cls.driver = playwright().start()
			cls.browser = cls.driver.chromium.launch(executable_path=chromium(), headless=True)
		except BaseException:
			cls.server.__exit__(None, None, None)
			raise

	@classmethod
	def tearDownClass(cls):
		try:
			cls.browser.close()
			cls.driver.stop()
		finally:
			cls.server.__exit__(None, None, None)
			super().tearDownClass()

	def setUp(self):
		super().setUp()
		# a visitor whose browser asks for Russian
		self.context = self.browser.new_context(locale="ru-RU", extra_http_headers={"Accept-Language": "ru"})
		self.context.set_default_timeout(TIMEOUT_MS)
		self.page = self.context.new_page()
		self.errors = []
		self.page.on("pageerror", lambda error: self.errors.append(str(error)))

	def tearDown(self):
		self.context.close()
		super().tearDown()

	def open_form(self):
		frappe.db.commit()
		response = self.page.goto(f"{self.url}/inquiry/new")
		self.assertEqual(response.status, 200)
		self.page.wait_for_selector('input[data-fieldname="lead_name"]', state="visible")
		self.assertEqual(self.page.locator("html").get_attribute("lang"), "ru")
		self.assertIn("Отправьте нам заявку", self.page.inner_text("body"))

	def fill(self, **values) -> None:
		for fieldname, value in values.items():
			tag = "textarea" if fieldname == "interest" else "input"
			field = self.page.locator(f'{tag}[data-fieldname="{fieldname}"]')
			field.click()
			field.type(value)  # key by key, as a person types
		# the form reads a control when it loses focus
		self.page.locator('input[data-fieldname="lead_name"]').click()

	def send(self) -> None:
		button = self.page.locator("button.submit-btn")
		self.assertEqual(button.inner_text().strip(), "Отправить")
		button.click()

	def test_a_visitor_sends_the_form_in_russian_and_the_lead_is_there(self):
		phone = fresh_phone()
		n = national(phone)
		written = f"8 ({n[:3]}) {n[3:6]}-{n[6:8]}-{n[8:]}"
		self.open_form()
		self.fill(
			lead_name="Светлана Орлова",
			company_name="ООО «Северный ветер»",
			phone=written,
			email="S.Orlova@Example.com",
			interest="Нужны стеллажи для склада, 40 секций.\nПозвоните после обеда.",
		)
		self.send()
		self.page.wait_for_selector("text=Спасибо! Мы получили вашу заявку и скоро с вами свяжемся.")
		self.assertIn("Заявка отправлена", self.page.inner_text("body"))
		frappe.db.rollback()  # read what the server committed (a new snapshot)
		self.run_inquiry_jobs()  # the job the submission queued, as a worker runs it
		[lead] = self.leads_with(phone=phone)
		self.assertEqual(lead.lead_name, "Светлана Орлова")
		self.assertEqual(lead.company_name, "ООО «Северный ветер»")
		self.assertEqual((lead.phone, lead.phone_normalized), (written, phone))
		self.assertEqual(lead.email, "s.orlova@example.com")
		self.assertEqual(lead.interest, "Нужны стеллажи для склада, 40 секций.\nПозвоните после обеда.")
		self.assertEqual((lead.channel, lead.source), ("Website", "Website"))
		[log] = self.logs(channel="Web Form")
		self.assertEqual((log.status, log.reference_name), ("Processed", lead.name))
		self.assertIn(f"{self.url}/inquiry/new", log.payload, "the page the inquiry was sent from")
		self.assertEqual(self.errors, [], "no script error on the page")

	def test_a_wrong_phone_shows_the_error_and_writes_nothing(self):
		self.open_form()
		before = self.counts()
		self.fill(lead_name="Пётр", phone="12-34", interest="Счёт на оплату")
		self.send()
		dialog = self.page.locator(".modal.show .modal-body, .modal.show .msgprint").first
		dialog.wait_for(state="visible")
		message = dialog.inner_text()
		self.assertIn("Обращение не принято", message)
		self.assertIn("Телефон: «12-34» — неверный номер телефона", message)
		self.assertFalse(self.page.locator("text=Заявка отправлена").is_visible(), "no success message")
		frappe.db.rollback()  # read what the server committed (a new snapshot)
		self.assertEqual(self.counts(), before, "nothing written")
		self.assertEqual([log.status for log in self.logs(channel="Web Form")], ["Rejected"])
