"""The Desk in a real browser: the base of the tests that work the CRM as its users do.

`DeskBrowserTestCase` serves the test site on loopback in a process of its own (simple_crm.tests.web_server, serving simple_crm.serve),
starts Debian's Chromium headless through Playwright and gives each test:

- `login(user)`: a browser of its own for `user` (a password is set for them, their language is Russian for
  the test), logged in through the login endpoint as the login page does;
- `open(page, path, ready=selector)`: a Desk route, waited for until the Desk is idle (no request running,
  nothing frozen), its load time recorded, and its realtime connection checked;
- `timed(page, label, action)`: any step (a save, a move on the kanban) timed the same way;
- `shot(page, name)`: a screenshot per step under the bench's `logs/simple_crm-tests/screenshots/<test>/`;
- `make(doc)`: a record the test made, deleted after it (last made, first deleted; a converted lead is
  unlinked from what it became first); the CRM tasks and calls the server made while the test ran are deleted
  too (a call logged in the browser, the call-back task of a lead typed in);
- `save(page)`, `modal(page, title)`: Ctrl+S on a form until it is saved, the dialog on top once it is shown.

The site is served as a production bench serves it (gunicorn and Frappe's realtime server, see
simple_crm.serve). A test fails on an uncaught script error, on any error the page writes to the console (a
Python traceback sent to the browser, a failed socket.io request among them), but for the few lines of
`IGNORED_CONSOLE` (each says why) and those a test expects (`expect_console`), and on a Desk page that gets
no realtime connection; the timings are printed at the end of the class. The tests fail, never skip, when Playwright or Chromium is missing.
"""

import os
import re
import shutil
import time
from pathlib import Path

import frappe
from frappe.utils import get_bench_path
from frappe.utils.password import update_password

from simple_crm.tests.sales_org import SalesOrgUsers, email
from simple_crm.tests.utils import CRMTestCase
from simple_crm.tests.web_server import serve

CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
TIMEOUT_MS = 30_000
# the board's request for a card dropped into another column (a dropped card stands there before it answers)
KANBAN_MOVE = "update_order_for_single_card"
REALTIME_TIMEOUT_MS = 15_000
PASSWORD = "Desk-test-2026!"
SCREENSHOTS = Path(get_bench_path()) / "logs" / "simple_crm-tests" / "screenshots"

# what the server makes on its own while a test works the Desk (deleted after each test)
MADE_BY_THE_SERVER = ("CRM Task", "CRM Call")
# console lines that are no fault of the page (each with its reason)
IGNORED_CONSOLE = (
	# Chromium's own request for an icon the Desk does not declare
	re.compile(r"favicon\.ico"),
)
# the Desk is idle: no request running, nothing frozen, the page's route rendered
DESK_IDLE = """() => !!(window.frappe && frappe.boot && frappe.request && frappe.dom
	&& frappe.request.ajax_count === 0 && !frappe.dom.freeze_count
	&& !document.querySelector('#freeze.in'))"""
# the Desk's socket to Frappe's realtime server is connected
REALTIME_CONNECTED = """() => !!(window.frappe && frappe.realtime && frappe.realtime.socket
	&& frappe.realtime.socket.connected)"""


def chromium() -> str:
	found = next((p for p in CHROMIUM_PATHS if os.access(p, os.X_OK)), None) or shutil.which("chromium")
	if not found:
		raise AssertionError(
			"Chromium is not installed, and the Desk is tested in a real browser: apt-get install -y chromium "
			"(scripts/test.sh installs it when run as root)"
		)
	return found


def playwright():
	try:
		from playwright.sync_api import sync_playwright
	except ImportError:
		raise AssertionError(
			"Playwright is not installed in the bench's Python, and the Desk is tested in a real browser: "
			"bench setup requirements --dev (scripts/test.sh does it)"
		) from None
	return sync_playwright()


class DeskBrowserTestCase(SalesOrgUsers, CRMTestCase):
	"""The test site in headless Chromium, as the organisation's users (simple_crm.tests.sales_org)."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.timings: list[tuple[str, float]] = []
		cls._languages: dict[str, str | None] = {}
		# a site whose setup wizard was never answered sends every user to it: the test site opens on the Desk
		cls._setup_complete = frappe.db.get_single_value("System Settings", "setup_complete")
		if not cls._setup_complete:
			frappe.db.set_single_value("System Settings", "setup_complete", 1)
			frappe.db.commit()
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
			frappe.db.rollback()
			for user, language in cls._languages.items():
				frappe.db.set_value("User", user, "language", language, update_modified=False)
			if not cls._setup_complete:
				frappe.db.set_single_value("System Settings", "setup_complete", 0)
			frappe.db.commit()
			cls.print_timings()
			super().tearDownClass()

	@classmethod
	def print_timings(cls):
		if not cls.timings:
			return
		print(f"\n{cls.__name__}: what users waited for in the browser (seconds)")
		for label, seconds in cls.timings:
			print(f"  {seconds:6.2f}  {label}")

	def setUp(self):
		super().setUp()
		self.manager = email("sales1")
		self.made: list[tuple[str, str]] = []
		self.started = frappe.utils.now_datetime()
		self.contexts = []
		self.console: list[str] = []
		self.expected_console: list[re.Pattern] = []
		self.step = 0
		self.shots = SCREENSHOTS / self.id().rsplit(".", 2)[-2:][0] / self._testMethodName
		shutil.rmtree(self.shots, ignore_errors=True)

	def tearDown(self):
		try:
			# the pages first: an open form whose record is deleted reloads it and writes the 404 to the console
			self.close_pages()
			self.delete_made()
		finally:
			super().tearDown()
		self.assertEqual(self.console, [], "the page wrote errors to the console")

	def close_pages(self) -> None:
		for context in self.contexts:
			context.close()
		self.contexts = []

	# --- what a test makes --------------------------------------------------------------------------------

	def make(self, doc):
		self.made.append((doc.doctype, doc.name))
		return doc

	def delete_made(self) -> None:
		frappe.db.rollback()
		frappe.set_user("Administrator")
		for doctype in MADE_BY_THE_SERVER:
			for name in frappe.get_all(doctype, filters={"creation": (">=", self.started)}, pluck="name"):
				frappe.delete_doc(doctype, name, force=True, ignore_permissions=True)
		# a converted lead and what it became name each other
		for doctype, name in self.made:
			if doctype == "CRM Lead" and frappe.db.exists(doctype, name):
				frappe.db.set_value(
					doctype,
					name,
					{"status": "New", "client": None, "contact": None, "deal": None, "converted_on": None},
				)
		for doctype, name in reversed(self.made):
			if frappe.db.exists(doctype, name):
				frappe.delete_doc(doctype, name, force=True, ignore_permissions=True)
		self.made = []
		frappe.db.commit()

	# --- people and pages -------------------------------------------------------------------------------

	def login(self, user: str, language: str = "ru"):
		"""A page of a fresh browser logged in as `user`, reading the Desk in `language`."""
		frappe.set_user("Administrator")
		if user not in self._languages:
			type(self)._languages[user] = frappe.db.get_value("User", user, "language")
		frappe.db.set_value("User", user, "language", language, update_modified=False)
		update_password(user, PASSWORD)
		frappe.db.commit()
		context = self.browser.new_context(
			locale=f"{language}-RU" if language == "ru" else language,
			viewport={"width": 1920, "height": 1000},
		)
		context.set_default_timeout(TIMEOUT_MS)
		self.contexts.append(context)
		response = context.request.post(f"{self.url}/api/method/login", form={"usr": user, "pwd": PASSWORD})
		self.assertEqual(response.status, 200, response.text())
		page = context.new_page()
		page.on("pageerror", self._on_page_error)
		page.on("console", self._on_console)
		return page

	def _on_page_error(self, error) -> None:
		# where it was thrown: the first frame of the stack that names a script
		where = next(
			(line.strip() for line in (error.stack or "").splitlines()[1:] if "/assets/" in line), ""
		)
		self.console.append(f"uncaught: {error} {where}".strip())

	def _on_console(self, message) -> None:
		if message.type != "error":
			return
		where = (message.location or {}).get("url") or ""
		text = f"{message.text} ({where})" if where else message.text
		if any(pattern.search(text) for pattern in (*IGNORED_CONSOLE, *self.expected_console)):
			return
		self.console.append(text)

	def expect_console(self, pattern: str) -> None:
		"""A console error this test provokes on purpose (say, the browser's own line for a refused request)."""
		self.expected_console.append(re.compile(pattern))

	def open(self, page, path: str, ready: str | None = None, label: str | None = None):
		"""Open a Desk route and wait until it is shown and idle; records how long that took."""
		frappe.db.commit()  # what the test wrote is there for the server's own connection
		started = time.perf_counter()
		response = page.goto(f"{self.url}{path}")
		self.assertLess(response.status, 400, f"{path}: HTTP {response.status}")
		try:
			self.wait_idle(page, ready)
		except Exception:
			self.shot(page, f"not ready {label or path}")  # what the page showed instead
			raise
		self.timings.append((f"open {label or path}", time.perf_counter() - started))
		self.assert_realtime(page)
		return page

	def assert_realtime(self, page) -> None:
		"""The page is connected to Frappe's realtime server (notifications, assignments and list updates
		arrive live)."""
		try:
			page.wait_for_function(REALTIME_CONNECTED, timeout=REALTIME_TIMEOUT_MS)
		except Exception:
			raise AssertionError(f"{page.url}: no connection to the realtime server") from None

	def wait_idle(self, page, ready: str | None = None) -> None:
		if ready:
			page.locator(ready).first.wait_for(state="visible")
		page.wait_for_function(DESK_IDLE)

	def timed(self, page, label: str, action, ready: str | None = None):
		"""Run `action()` (a click that saves, a drop on the kanban), wait until the Desk is idle again; records
		the time."""
		started = time.perf_counter()
		result = action()
		self.wait_idle(page, ready)
		self.timings.append((label, time.perf_counter() - started))
		return result

	def shot(self, page, name: str) -> Path:
		"""A screenshot of the page as it is now, numbered in the order of the test's steps."""
		self.step += 1
		self.shots.mkdir(parents=True, exist_ok=True)
		path = self.shots / f"{self.step:02d}-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}.png"
		page.screenshot(path=str(path), full_page=False)
		return path

	def save(self, page, until=None) -> None:
		"""Ctrl+S on the form, then wait for `until` (a locator) or for the form to be saved."""
		page.keyboard.press("Control+s")
		if until is not None:
			until.wait_for(state="visible")
		else:
			page.wait_for_function("() => cur_frm && !cur_frm.is_dirty() && !cur_frm.doc.__unsaved")

	# --- the Desk's parts -------------------------------------------------------------------------------

	def modal(self, page, title: str):
		"""The dialog on top once it is shown, its title checked."""
		dialog = self.dialog(page)
		dialog.wait_for(state="visible")
		page.wait_for_timeout(300)  # the dialog's fade-in
		self.assertIn(title, dialog.locator(".modal-title").inner_text())
		return dialog

	@staticmethod
	def dialog(page):
		"""The dialog on top (Frappe shows one modal at a time)."""
		return page.locator(".modal.show .modal-dialog").last

	@staticmethod
	def alert_texts(page) -> str:
		return " ".join(page.locator(".desk-alert, .alert-message").all_inner_texts())
