"""Every user-facing string of the app has a Russian translation in `translations/ru.csv`.

The strings are collected the way Frappe's own extractors find them: names, labels, descriptions and
Select options of the app's DocType JSON files and custom fields, roles and workflow states/actions
shipped as fixtures, the masters the app seeds (lead sources, lost reasons, segments, complaint categories,
the default pipeline and its stages), report, workspace, number card and dashboard chart JSON files, and every literal
message passed to `_()` in Python and `__()` in JavaScript (Frappe's babel/regex extractors).
"""

import json
import re
from collections import defaultdict
from pathlib import Path

import frappe
from frappe.gettext.extractors.utils import extract_messages_from_code, is_translatable
from frappe.translate import (
	clear_cache,
	extract_messages_from_javascript_code,
	extract_messages_from_python_code,
	get_all_translations,
	get_translation_dict_from_file,
	get_translations_from_apps,
	read_csv_file,
)

from simple_crm.tests.utils import CRMTestCase

APP = "simple_crm"
APP_PATH = Path(frappe.get_app_path(APP))
MODULE_PATH = APP_PATH / "simple_crm"
RU_CSV = APP_PATH / "translations" / "ru.csv"
PLACEHOLDER = re.compile(r"\{\d*\}")
SKIPPED_DIRS = {"tests", "__pycache__", "node_modules", "dist"}

# A Message is (source text, context or None); origins say where it was found, for failure output.
Message = tuple[str, str | None]


def collect_messages() -> dict[Message, set[str]]:
	"""All translatable strings of the app, each with the places it comes from."""
	found: dict[Message, set[str]] = defaultdict(set)

	def add(message, origin: str, context: str | None = None):
		if isinstance(message, str) and message.strip() and is_translatable(message):
			found[(message.strip(), context or None)].add(origin)

	for path in sorted(MODULE_PATH.glob("doctype/*/*.json")):
		_collect_doctype(_load(path), add)
	for path in sorted(MODULE_PATH.glob("report/*/*.json")):
		_collect_report(_load(path), add)
	for path in sorted(MODULE_PATH.glob("workspace/*/*.json")):
		_collect_workspace(_load(path), add)
	for path in sorted(MODULE_PATH.glob("number_card/*/*.json")):
		data = _load(path)
		add(data.get("label"), f"Number Card {data.get('name')}")
	for path in sorted(MODULE_PATH.glob("dashboard_chart/*/*.json")):
		data = _load(path)
		add(data.get("chart_name"), f"Dashboard Chart {data.get('name')}")
	_collect_fixtures(add)
	_collect_reference_data(add)
	_collect_code(add)
	return dict(found)


# the masters the app ships: the Desk shows their names translated (their doctypes are "translated doctypes")
REFERENCE_DATA = {
	"CRM Lead Source": "LEAD_SOURCES",
	"CRM Lost Reason": "LOST_REASONS",
	"CRM Client Segment": "CLIENT_SEGMENTS",
	"CRM Complaint Category": "COMPLAINT_CATEGORIES",
	"CRM Pipeline": "DEFAULT_PIPELINE",
	"CRM Pipeline Stage": "DEFAULT_STAGES",
}


def _collect_reference_data(add):
	from simple_crm import install

	for doctype, constant in REFERENCE_DATA.items():
		value = getattr(install, constant)
		for row in [value] if isinstance(value, str) else value:
			add(row if isinstance(row, str) else row[0], f"{doctype} shipped by install.{constant}")


def _load(path: Path):
	return json.loads(path.read_text(encoding="utf-8"))


def _collect_doctype(data: dict, add):
	"""Labels, descriptions and options carry the doctype as context, as the Desk asks for them."""
	if data.get("doctype") != "DocType":
		return
	doctype = data["name"]
	origin = f"DocType {doctype}"
	add(doctype, origin)
	add(data.get("description"), origin)
	for field in data.get("fields", []):
		where = f"{origin}.{field.get('fieldname')}"
		add(field.get("label"), where, doctype)
		add(field.get("description"), where, doctype)
		if field.get("fieldtype") == "Select":
			for option in (field.get("options") or "").split("\n"):
				add(option, where, doctype)
	for link in data.get("links", []):
		add(link.get("group"), f"{origin} connections")


def _collect_report(data: dict, add):
	if data.get("doctype") != "Report":
		return
	origin = f"Report {data.get('name')}"
	add(data.get("report_name"), origin)
	for column in data.get("columns", []):
		add(column.get("label"), origin)
	for report_filter in data.get("filters", []):
		add(report_filter.get("label"), origin)


def _collect_workspace(data: dict, add):
	if data.get("doctype") != "Workspace":
		return
	origin = f"Workspace {data.get('name')}"
	add(data.get("label"), origin)
	add(data.get("title"), origin)
	for key in ("charts", "number_cards", "shortcuts", "links", "quick_lists", "custom_blocks"):
		for row in data.get(key, []):
			add(row.get("label"), origin)
			add(row.get("description"), origin)
			add(row.get("format"), origin)
	for block in json.loads(data.get("content") or "[]"):
		if block.get("type") in ("header", "paragraph"):
			add(frappe.utils.strip_html_tags(block.get("data", {}).get("text") or ""), origin)


def _collect_fixtures(add):
	fixtures = APP_PATH / "fixtures"
	for row in _load_fixture(fixtures / "role.json"):
		add(row.get("role_name") or row.get("name"), "Role fixture")
	for row in _load_fixture(fixtures / "workflow_state.json"):
		add(row.get("workflow_state_name") or row.get("name"), "Workflow State fixture")
	for row in _load_fixture(fixtures / "workflow_action_master.json"):
		add(row.get("workflow_action_name") or row.get("name"), "Workflow Action Master fixture")
	# the shipped workflows are seeded once, not fixtures (see simple_crm.workflows)
	for workflow in _load_fixture(APP_PATH / "setup" / "workflows.json"):
		origin = f"Workflow {workflow.get('name')}"
		for state in workflow.get("states", []):
			add(state.get("state"), origin)
			add(state.get("message"), origin)
		for transition in workflow.get("transitions", []):
			add(transition.get("action"), origin)
	for field in _load_fixture(fixtures / "custom_field.json"):
		origin = f"Custom Field {field.get('name')}"
		add(field.get("label"), origin, field.get("dt"))
		add(field.get("description"), origin, field.get("dt"))
		if field.get("fieldtype") == "Select":
			for option in (field.get("options") or "").split("\n"):
				add(option, origin, field.get("dt"))


def _load_fixture(path: Path) -> list[dict]:
	return _load(path) if path.exists() else []


def _collect_code(add):
	for path in sorted(APP_PATH.rglob("*")):
		relative = path.relative_to(APP_PATH)
		if path.suffix not in (".py", ".js", ".html", ".vue") or not path.is_file():
			continue
		if SKIPPED_DIRS.intersection(relative.parts[:-1]) or path.name.startswith("test_"):
			continue
		code = path.read_text(encoding="utf-8")
		if path.suffix == ".py":
			messages = extract_messages_from_python_code(code)
		else:
			messages = list(extract_messages_from_code(code))
			if path.suffix == ".js":
				messages += extract_messages_from_javascript_code(code)
		for line, message, context in messages:
			if path.suffix == ".py" and not _is_literal_argument(code, message):
				continue
			add(message, f"{relative}:{line}", context)


def _is_literal_argument(code: str, message: str) -> bool:
	"""babel also reports a string nested in a non-literal argument, as "kind" in `_(row["kind"])`."""
	prefix = re.split(r"[\\'\"\n]", message, maxsplit=1)[0]
	return re.search(r"_\(\s*[rRuU]?[\"']{1,3}" + re.escape(prefix), code) is not None


def load_ru_csv() -> dict[str, str]:
	"""The app's Russian dictionary keyed as Frappe keys it (`source` or `source:context`)."""
	return get_translation_dict_from_file(str(RU_CSV), "ru", APP, throw=True)


def translation_for(message: Message, translations: dict[str, str]) -> str | None:
	source, context = message
	if context and translations.get(f"{source}:{context}"):
		return translations[f"{source}:{context}"]
	return translations.get(source)


def placeholders(text: str) -> list[str]:
	return sorted(PLACEHOLDER.findall(text))


class TestRussianTranslations(CRMTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.messages = collect_messages()
		cls.ru = load_ru_csv()

	def test_collector_finds_the_app_strings(self):
		# guards the collector itself: one string of each kind must be found
		sources = {source for source, _context in self.messages}
		for expected in ("CRM Lead", "Responsible Manager", "Disqualified", "CRM Sales Manager", "Convert"):
			self.assertIn(expected, sources)
		self.assertTrue(any("{0}" in source for source in sources))

	def test_shipped_masters_are_shown_translated(self):
		"""Link fields, lists and link search show (and find) the masters by their Russian names."""
		translated = set(frappe.get_attr("frappe.translate.get_translated_doctypes")())
		for doctype in REFERENCE_DATA:
			if not frappe.get_meta(doctype).istable:
				self.assertIn(doctype, translated)
		sources = {source for source, _context in self.messages}
		for expected in ("Price Too High", "Website", "Key Account", "Sales", "Negotiation", "Warranty"):
			self.assertIn(expected, sources)

	def test_every_string_has_a_russian_translation(self):
		missing = [
			f"{source!r} (context {context!r}) from {', '.join(sorted(origins)[:2])}"
			for (source, context), origins in sorted(
				self.messages.items(), key=lambda i: (i[0][0], i[0][1] or "")
			)
			if not translation_for((source, context), self.ru)
		]
		self.assertEqual(missing, [], "untranslated strings:\n" + "\n".join(missing))

	def test_new_and_add_read_as_whole_phrases_for_every_record(self):
		"""words.js replaces Frappe's glued "New {0}" / "Add {0}" by "New <doctype>" / "Add <doctype>" for the
		doctypes it lists: each of them has both phrases in Russian, and each is a doctype of the app."""
		script = (APP_PATH / "public" / "js" / "words.js").read_text()
		listed = re.search(r"PHRASE_DOCTYPES = \[(.*?)\];", script, re.S)
		self.assertTrue(listed, "words.js lists no PHRASE_DOCTYPES")
		doctypes = re.findall(r'"([^"]+)"', listed.group(1))
		self.assertIn("CRM Deal", doctypes)
		missing = []
		for doctype in doctypes:
			self.assertTrue(frappe.db.exists("DocType", {"name": doctype, "module": "Simple CRM"}), doctype)
			missing += [phrase for phrase in (f"New {doctype}", f"Add {doctype}") if not self.ru.get(phrase)]
		self.assertEqual(missing, [])
		self.assertEqual(self.ru["New CRM Deal"], "Новая сделка")
		self.assertEqual(self.ru["Add CRM Client"], "Добавить клиента")

	def test_translations_keep_placeholders(self):
		broken = [
			f"{row[0]!r} -> {row[1]!r}"
			for row in read_csv_file(str(RU_CSV))
			if len(row) >= 2 and placeholders(row[0]) != placeholders(row[1])
		]
		self.assertEqual(broken, [])

	def test_csv_rows_are_well_formed(self):
		seen: dict[str, str] = {}
		for number, row in enumerate(read_csv_file(str(RU_CSV)), start=1):
			self.assertIn(len(row), (2, 3), f"row {number}: {row}")
			source, translated = row[0], row[1]
			key = f"{source}:{row[2]}" if len(row) == 3 and row[2] else source
			self.assertTrue(source.strip() and translated.strip(), f"row {number}: {row}")
			self.assertEqual(source, source.strip(), f"row {number}: source has outer spaces")
			self.assertEqual(translated, translated.strip(), f"row {number}: translation has outer spaces")
			self.assertNotIn(key, seen, f"row {number}: {key!r} is translated twice")
			seen[key] = translated

	def test_the_site_serves_the_app_translations(self):
		"""What the Desk receives at boot (get_all_translations) and what _() returns in Russian."""
		clear_cache()
		merged = get_all_translations("ru")
		apps = frappe.get_installed_apps()
		later_apps = apps[apps.index(APP) + 1 :]  # an app installed later may reword a shared string
		reworded = set(get_translations_from_apps("ru", later_apps)) if later_apps else set()
		for key, translated in self.ru.items():
			if key not in reworded:
				self.assertEqual(merged.get(key), translated, key)

		self.assertEqual(frappe._("CRM Deal", lang="ru"), "Сделка")
		self.assertEqual(frappe._("Open", lang="ru", context="CRM Task"), "Открыта")
		self.assertEqual(frappe._("Open", lang="ru", context="CRM Deal"), "Открытый")
		formats = [
			row
			for row in read_csv_file(str(RU_CSV))
			if len(row) == 2 and "{0}" in row[0] and row[0] not in reworded
		]
		self.assertTrue(formats)
		for source, translated in formats:
			self.assertEqual(
				frappe._(source, lang="ru").format("X", "Y", "Z", "W", "V"),
				translated.format("X", "Y", "Z", "W", "V"),
			)

	def test_current_language_switches_the_wording(self):
		previous = frappe.local.lang
		try:
			frappe.local.lang = "ru"
			self.assertEqual(frappe._("Responsible Manager"), "Ответственный менеджер")
			self.assertEqual(frappe._("CRM Head of Sales"), self.ru["CRM Head of Sales"])
			frappe.local.lang = "en"
			self.assertEqual(frappe._("Responsible Manager"), "Responsible Manager")
		finally:
			frappe.local.lang = previous
