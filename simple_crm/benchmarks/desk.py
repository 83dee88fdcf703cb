"""The main screens of the Desk in a real browser on the site's data (part `desk` of the suite).

The site is served as a production bench serves it (simple_crm.serve: gunicorn and Frappe's realtime server)
on a free loopback port. Debian's Chromium, headless through Playwright, signs in as the busiest generated
sales manager, their head of sales and the suite's director (simple_crm.benchmarks.reports.users), reading
the Desk in Russian, and opens each screen a sales day is spent in `runs` times after one warm-up. A figure
is what the user waits for: from the navigation (or the key press that saves) until the screen's content is
shown and the Desk is idle (no request running, nothing frozen), the measure of the browser tests
(simple_crm.tests.desk_browser).

The floor is the same kind of screen on Frappe's bare doctypes, for the same user in the same browser: the
ToDo list for lists, boards and reports; Frappe's own "Tools" workspace (its shortcuts to ToDo, Note, File and
the calendar, which every Desk user opens) for the workspace; for forms and saves a Note (a ToDo is an assignment
here, which a sales manager may not make): a Note's form, a new Note saved (a Note's text is changed in a
mode of its own, so a new Note is the floor of both saves).

The manager also creates leads in the lead form and saves a change to one of them; those leads carry the
suite's e-mail pattern and go with its teardown, the Notes of the floor are deleted at the end. Each user gets a
password for the run: the stored password hash, the user's language, their sessions and their login
entries in the activity log are put back as they were, and so is the site's "setup complete" mark (a
generated site never had its setup wizard answered, which sends every user to it).
"""

import os
import statistics
import time
from contextlib import contextmanager
from urllib.parse import quote

import frappe
from frappe.utils import now
from frappe.utils.password import update_password

from simple_crm.benchmarks import reports

# the Desk is idle as the browser tests wait for it: no request running, nothing frozen
from simple_crm.tests.desk_browser import DESK_IDLE, chromium, playwright

PASSWORD = "Bench-desk-2026!"
TIMEOUT_MS = 120_000
WORKSPACE = "/app/simple-crm"
FLOOR_WORKSPACE = "/app/tools"
WORKSPACE_READY = ".layout-main-section .ce-block"
LIST_READY = ".frappe-list .list-row-container:visible, .frappe-list .no-result:visible"
FORM_READY = ".form-layout .frappe-control:visible"
KANBAN_READY = ".kanban-column[data-column-value] .crm-column-total, .kanban-empty-state:visible"
REPORT_READY = ".report-wrapper .dt-scrollable:visible, .report-wrapper .no-result:visible"
SAVED = "() => !!(window.cur_frm && !cur_frm.is_dirty() && !cur_frm.doc.__islocal && !cur_frm.doc.__unsaved)"


def time_desk(fallback: dict[str, str], record_pattern: str, runs: int = 3, progress=None) -> list[dict]:
	"""label -> user from `fallback` when the site has no generated data; `record_pattern` (an e-mail like
	pattern with one %) names what the runs insert."""
	from simple_crm.tests.web_server import serve

	who = reports.users(fallback)
	started = now()
	rows: list[dict] = []
	with (
		signed_in(list(who.values()), started),
		serve(frappe.local.site, os.path.abspath(frappe.local.sites_path), seconds=300) as url,
	):
		driver = playwright().start()
		browser = driver.chromium.launch(executable_path=chromium(), headless=True)
		try:
			for label, user in who.items():
				desk = Desk(browser, url, user, record_pattern)
				try:
					for row in desk.measure(label, screens_of(label, user), runs):
						rows.append(row)
						if progress:
							progress(row)
				finally:
					desk.close()
		finally:
			browser.close()
			driver.stop()
			frappe.db.rollback()
			for user in who.values():
				remove_notes(user, started)
			frappe.db.commit()
	return rows


# --- the users ------------------------------------------------------------------------------------------


@contextmanager
def signed_in(users: list[str], started: str):
	"""A known password and Russian for `users` while the runs last; what they had before afterwards."""
	kept = {}
	# a site whose setup wizard was never answered (a generated one) sends every user to it
	setup_complete = frappe.db.get_single_value("System Settings", "setup_complete")
	frappe.db.set_single_value("System Settings", "setup_complete", 1)
	for user in users:
		kept[user] = {
			"language": frappe.db.get_value("User", user, "language"),
			"auth": frappe.db.sql(
				"""select `password`, `encrypted` from `__Auth`
				where `doctype` = 'User' and `name` = %s and `fieldname` = 'password'""",
				user,
			),
		}
		frappe.db.set_value("User", user, "language", "ru", update_modified=False)
		update_password(user, PASSWORD, logout_all_sessions=False)
	frappe.db.commit()
	try:
		yield
	finally:
		frappe.db.rollback()
		for user, before in kept.items():
			frappe.db.set_value("User", user, "language", before["language"], update_modified=False)
			frappe.db.delete("__Auth", {"doctype": "User", "name": user, "fieldname": "password"})
			for password, encrypted in before["auth"]:
				frappe.db.sql(
					"""insert into `__Auth` (`doctype`, `name`, `fieldname`, `password`, `encrypted`)
					values ('User', %s, 'password', %s, %s)""",
					(user, password, encrypted),
				)
			frappe.db.delete("Sessions", {"user": user})
			frappe.db.delete("Activity Log", {"user": user, "creation": (">=", started)})
			frappe.cache.delete_value(f"user:{user}")
		frappe.db.set_single_value("System Settings", "setup_complete", setup_complete)
		frappe.db.commit()


# --- the screens ----------------------------------------------------------------------------------------


def newest(doctype: str, filters: dict) -> str | None:
	names = frappe.get_all(doctype, filters=filters, order_by="creation desc", limit=1, pluck="name")
	return names[0] if names else None


def screens_of(label: str, user: str) -> list[tuple[str, str, str, str]]:
	"""(screen, route, ready selector, floor kind) of what `user` opens most."""
	screens = [("workspace", WORKSPACE, WORKSPACE_READY, "workspace")]
	pipeline = frappe.db.get_single_value("Simple CRM Settings", "default_pipeline") or frappe.db.get_value(
		"CRM Pipeline", {}, "name"
	)
	board = frappe.db.get_value("Kanban Board", {"crm_pipeline": pipeline}) if pipeline else None
	lead = newest("CRM Lead", {"responsible": user})
	deal = newest("CRM Deal", {"responsible": user})
	client = newest("CRM Client", {"responsible": user})
	screens += [
		("lead list", "/app/crm-lead", LIST_READY, "list"),
		("deal list", "/app/crm-deal", LIST_READY, "list"),
	]
	if board:
		# a column shows its first cards only (simple_crm.kanban.board_cards), whoever's the board is: a director's
		# holds every deal of the pipeline
		screens.append(("deal kanban", f"/app/crm-deal/view/kanban/{quote(board)}", KANBAN_READY, "list"))
	if label == "sales manager":
		screens += [
			("client list", "/app/crm-client", LIST_READY, "list"),
			("task list", "/app/crm-task", LIST_READY, "list"),
		]
		for doctype, name in (("CRM Lead", lead), ("CRM Deal", deal), ("CRM Client", client)):
			if name:
				route = f"/app/{frappe.scrub(doctype).replace('_', '-')}/{quote(name)}"
				screens.append((f"{doctype.removeprefix('CRM ').lower()} form", route, FORM_READY, "form"))
	screens.append(("funnel report", f"/app/query-report/{quote('CRM Sales Funnel')}", REPORT_READY, "list"))
	return screens


class Desk:
	"""A browser of its own, signed in as `user`."""

	def __init__(self, browser, url: str, user: str, record_pattern: str):
		self.url = url
		self.user = user
		self.pattern = record_pattern
		self.context = browser.new_context(locale="ru-RU", viewport={"width": 1920, "height": 1000})
		self.context.set_default_timeout(TIMEOUT_MS)
		response = self.context.request.post(f"{url}/api/method/login", form={"usr": user, "pwd": PASSWORD})
		if response.status != 200:
			raise RuntimeError(f"{user} could not sign in: HTTP {response.status}")
		self.page = self.context.new_page()
		self.made = 0

	def close(self) -> None:
		self.context.close()

	def idle(self, ready: str | None = None) -> None:
		if ready:
			self.page.locator(ready).first.wait_for(state="visible")
		self.page.wait_for_function(DESK_IDLE)

	def open(self, route: str, ready: str) -> float:
		started = time.perf_counter()
		self.page.goto(f"{self.url}{route}")
		self.idle(ready)
		return time.perf_counter() - started

	def open_afresh(self, route: str, ready: str) -> float:
		"""`route` opened after a deal has changed: no funnel chart is kept."""
		from simple_crm.dashboards import new_funnel_generation

		new_funnel_generation()
		return self.open(route, ready)

	def save(self) -> float:
		started = time.perf_counter()
		self.page.keyboard.press("Control+s")
		self.page.wait_for_function(SAVED)
		self.idle()
		self.last_save = time.perf_counter() - started
		return self.last_save

	def tag(self) -> str:
		self.made += 1
		return self.pattern.replace("%", f"desk-{frappe.generate_hash(length=6)}-{self.made}")

	def fill(self, fieldname: str, value: str) -> None:
		self.page.locator(
			f'[data-fieldname="{fieldname}"] input, input[data-fieldname="{fieldname}"]'
		).first.fill(value)

	def new_lead(self) -> float:
		"""A lead typed into the form and saved: the time of the save."""
		email = self.tag()
		self.open("/app/crm-lead/new", 'input[data-fieldname="lead_name"]')
		self.fill("lead_name", "Бенч Лид")
		self.fill("company_name", f"ООО Бенч {email.split('@')[0]}")
		self.fill("email", email)
		self.page.wait_for_function("(email) => window.cur_frm && cur_frm.doc.email === email", arg=email)
		return self.save()

	def change_lead(self) -> float:
		"""A change to the lead just saved, saved."""
		company = f"ООО Бенч {frappe.generate_hash(length=8)}"
		self.fill("company_name", company)
		self.page.wait_for_function(
			"(company) => window.cur_frm && cur_frm.doc.company_name === company", arg=company
		)
		return self.save()

	def new_note(self) -> float:
		"""The floor of a save: a Note (Frappe's bare doctype every Desk user may create) typed and saved."""
		self.open("/app/note/new", 'input[data-fieldname="title"]')
		self.note_title = self.tag()
		self.fill("title", self.note_title)
		self.page.wait_for_function(
			"(title) => window.cur_frm && cur_frm.doc.title === title", arg=self.note_title
		)
		self.save()
		self.note = self.page.evaluate("() => cur_frm.doc.name")
		return self.last_save

	def measure(self, label: str, screens: list, runs: int) -> list[dict]:
		floor_figures = {
			"list": figures(lambda: self.open("/app/todo", LIST_READY), runs),
			"workspace": figures(lambda: self.open(FLOOR_WORKSPACE, WORKSPACE_READY), runs),
			"save": figures(self.new_note, runs),
		}
		floor_figures["form"] = figures(lambda: self.open(f"/app/note/{quote(self.note)}", FORM_READY), runs)
		rows = []
		for screen, route, ready, kind in screens:
			value = figures(lambda route=route, ready=ready: self.open(route, ready), runs)
			rows.append(row(screen, label, value, floor_figures.get(kind) or floor_figures["list"]))
			if screen == "workspace":
				# the funnel chart is kept per user until a deal changes (simple_crm.dashboards): the row above
				# is the workspace opened again, this one its first opening after a change
				value = figures(lambda route=route, ready=ready: self.open_afresh(route, ready), runs)
				rows.append(row("workspace, deals changed", label, value, floor_figures["workspace"]))
		if label == "sales manager":
			rows.append(row("save of a new lead", label, figures(self.new_lead, runs), floor_figures["save"]))
			rows.append(
				row(
					"save of a change to a lead",
					label,
					figures(self.change_lead, runs),
					floor_figures["save"],
				)
			)
		return rows


def figures(fn, runs: int) -> dict:
	"""Median and p95 of `runs` timings (ms) after one warm-up."""
	seconds = []
	errors = []
	for attempt in range(runs + 1):
		try:
			taken = fn()
		except Exception as error:
			errors.append(f"{type(error).__name__}: {error}"[:200])
			continue
		if attempt:
			seconds.append(taken * 1000)
	result = {"n": len(seconds), "median_ms": None, "p95_ms": None, "req_s": None, "errors": len(errors)}
	if seconds:
		ordered = sorted(seconds)
		median = statistics.median(ordered)
		result.update(
			median_ms=round(median, 1),
			p95_ms=round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 1),
			req_s=round(1000 / median, 2) if median else None,
		)
	if errors:
		result["error_samples"] = errors[:1]
	return result


def row(screen: str, label: str, value: dict, floor: dict) -> dict:
	def ratio(key):
		return round(value[key] / floor[key], 2) if value.get(key) and floor.get(key) else None

	return {
		"operation": f"desk {screen}"[:38],
		"user": label,
		"clients": 1,
		"value": value,
		"floor": floor,
		"ratio_median": ratio("median_ms"),
		"ratio_p95": ratio("p95_ms"),
	}


def remove_notes(user: str, started: str) -> int:
	"""The Notes the floor saved, with their versions."""
	names = frappe.get_all(
		"Note",
		filters={"owner": user, "creation": (">=", started), "title": ("like", "bench-desk-%")},
		pluck="name",
	)
	for name in names:
		frappe.db.delete("Version", {"ref_doctype": "Note", "docname": name})
		frappe.db.delete("Note", name)
	return len(names)
