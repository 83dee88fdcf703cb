"""Every operation of the OpenAPI description (simple_crm/api/openapi.json), fuzzed over HTTP.

The test site is served on loopback in a process of its own (simple_crm.tests.web_server, serving simple_crm.serve). For each
operation, hypothesis (with hypothesis-jsonschema) makes a few requests from its parameter and request body
schemas, deterministically (derandomized), and sends them as a sales manager with an API token and, for the
public operations, as a guest. Every answer must hold:

- no 5xx;
- the body matches the description: a 2xx the operation's success schema, a 4xx Frappe's error envelope
  (with its `_server_messages` readable as messages); a 429 (a rate limit) may be anything;
- no partial write: after a 4xx, the row counts and the latest `modified` of the CRM's tables (and of the
  Frappe tables the app's methods write to) are what they were before. The Integration Log is left out: it
  records refused calls on purpose.

Endpoints that need a secret (the PBX's signature, Telegram's secret token, the web form key) answer the
fuzz with 4xx: they refuse garbage. A failure lists every case, by operation and request.
"""

import json
import os
import time
from urllib.parse import quote, urlencode

import frappe
import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from simple_crm.tests.factories import make_user
from simple_crm.tests.test_openapi import load_spec, operations, resolve
from simple_crm.tests.utils import CRMRestTestCase
from simple_crm.tests.web_server import serve

EXAMPLES_PER_OPERATION = 8
SPEC_URI = "urn:simple-crm:openapi"
MANAGER = "openapi.fuzz.manager@example.com"
# Frappe's tables the app's methods write to (tags, likes, follows, files, boards, repeats, timelines)
FRAPPE_TABLES = (
	"Contact",
	"Tag",
	"Tag Link",
	"Comment",
	"ToDo",
	"File",
	"Document Follow",
	"Kanban Board",
	"Auto Repeat",
	"Communication",
	"Version",
	"Dynamic Link",
	"Notification Log",
)
# records every call to the channels, the refused ones on purpose
NOT_SNAPSHOT = ("CRM Integration Log",)
HEADER_TEXT = {"type": "string", "pattern": "^[!-~]{0,80}$"}


def inline(spec: dict, node):
	"""A schema with its references replaced by what they name (hypothesis-jsonschema reads no references
	outside the schema it is given)."""
	if isinstance(node, dict):
		if "$ref" in node:
			return inline(spec, resolve(spec, {"$ref": node["$ref"]}))
		return {k: inline(spec, v) for k, v in node.items()}
	if isinstance(node, list):
		return [inline(spec, v) for v in node]
	return node


def request_schema(spec: dict, operation: dict) -> tuple[dict, str | None]:
	"""One schema for a whole request: {"query": ..., "headers": ..., "body": ...}; and the body's type."""
	properties, required = {}, []
	query, query_required, headers, headers_required = {}, [], {}, []
	for parameter in operation.get("parameters", []):
		parameter = resolve(spec, parameter)
		if "schema" in parameter:
			schema = parameter["schema"]
		else:
			schema = next(iter(parameter["content"].values()))["schema"]
		if parameter["in"] == "header":
			headers[parameter["name"]] = HEADER_TEXT
			if parameter.get("required"):
				headers_required.append(parameter["name"])
		else:
			query[parameter["name"]] = inline(spec, schema)
			if parameter.get("required"):
				query_required.append(parameter["name"])
	properties["query"] = {
		"type": "object",
		"properties": query,
		"required": query_required,
		"additionalProperties": False,
	}
	properties["headers"] = {
		"type": "object",
		"properties": headers,
		"required": headers_required,
		"additionalProperties": False,
	}
	required += ["query", "headers"]
	media_type = None
	if operation.get("requestBody"):
		body = resolve(spec, operation["requestBody"])
		media_type, content = next(iter(body["content"].items()))
		properties["body"] = inline(spec, content["schema"])
		if body.get("required"):
			required.append("body")
	return {"type": "object", "properties": properties, "required": required}, media_type


def examples(schema: dict, count: int) -> list:
	"""`count` values of a schema, the same ones every run."""
	found = []

	@settings(
		max_examples=count,
		derandomize=True,
		database=None,
		deadline=None,
		phases=[Phase.generate],
		suppress_health_check=list(HealthCheck),
	)
	@given(from_schema(schema))
	def collect(value):
		found.append(value)

	collect()
	return found[:count]


def query_value(parameter: dict, value) -> str:
	if "content" in parameter:
		return json.dumps(value)
	if isinstance(value, bool):
		return "true" if value else "false"
	return value if isinstance(value, str) else json.dumps(value)


def snapshot() -> dict:
	"""Row count and latest `modified` of every table the CRM's methods may write to."""
	doctypes = frappe.get_all(
		"DocType",
		filters={"module": "Simple CRM", "issingle": 0, "is_virtual": 0, "name": ("not in", NOT_SNAPSHOT)},
		pluck="name",
	)
	tables = sorted({*doctypes, *FRAPPE_TABLES})
	frappe.db.commit()  # a new snapshot: what the server committed
	query = " union all ".join(
		f"select %s, count(*), max(`modified`) from `tab{doctype}`" for doctype in tables
	)
	return {row[0]: (row[1], str(row[2])) for row in frappe.db.sql(query, tables)}


class TestOpenAPIFuzz(CRMRestTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.spec = load_spec()
		cls.registry = Registry().with_resource(
			SPEC_URI, Resource(contents=cls.spec, specification=DRAFT202012)
		)
		make_user(MANAGER, roles=("CRM Sales Manager",))
		frappe.db.commit()
		cls.server = serve(frappe.local.site, os.path.abspath(frappe.local.sites_path))
		cls.url = cls.server.__enter__()

	@classmethod
	def tearDownClass(cls):
		try:
			cls.server.__exit__(None, None, None)
		finally:
			super().tearDownClass()

	def validator(self, pointer: str) -> Draft202012Validator:
		return Draft202012Validator({"$ref": SPEC_URI + pointer}, registry=self.registry)

	def response_pointer(self, path: str, http: str, operation: dict, status: int, media_type: str):
		responses = operation.get("responses", {})
		code = next((c for c in (str(status), f"{str(status)[0]}XX", "default") if c in responses), None)
		if code is None:
			return None, f"status {status} is not described"
		response = responses[code]
		base = (
			response["$ref"][1:]
			if "$ref" in response
			else ("/paths/" + path.replace("~", "~0").replace("/", "~1") + f"/{http}/responses/{code}")
		)
		content = resolve(self.spec, response).get("content") or {}
		if not content:
			return None, None
		if media_type not in content:
			return None, f"answered {media_type}, described {sorted(content)}"
		return "#" + base + "/content/" + media_type.replace("~", "~0").replace("/", "~1") + "/schema", None

	def check_answer(self, where: str, path: str, http: str, operation: dict, response) -> list[str]:
		status = response.status_code
		if status >= 500:
			return [f"{where}: {status} {response.text[:600]}"]
		if status == 429:
			return []
		media_type = (response.headers.get("Content-Type") or "").split(";")[0].strip()
		pointer, problem = self.response_pointer(path, http, operation, status, media_type)
		if problem:
			return [f"{where}: {status} {problem}: {response.text[:300]}"]
		if pointer is None or media_type != "application/json":
			return []
		try:
			body = response.json()
		except ValueError:
			return [f"{where}: {status} not JSON: {response.text[:300]}"]
		errors = [e.message[:300] for e in self.validator(pointer).iter_errors(body)]
		errors += messages_problems(body)
		return [
			f"{where}: {status} does not match the description: {e} in {response.text[:300]}" for e in errors
		]

	def send(self, session, path: str, http: str, operation: dict, value: dict, media_type, auth: str | None):
		headers = {"Accept": "application/json", **value.get("headers", {})}
		if auth:
			headers["Authorization"] = auth
		params = {}
		by_name = {
			resolve(self.spec, p)["name"]: resolve(self.spec, p) for p in operation.get("parameters", [])
		}
		for name, item in value.get("query", {}).items():
			if item is not None:
				params[name] = query_value(by_name[name], item)
		kwargs = {"params": params, "headers": headers, "timeout": 60, "allow_redirects": False}
		if "body" in value:
			if media_type == "application/x-www-form-urlencoded":
				kwargs["data"] = {
					k: v if isinstance(v, str) else json.dumps(v) for k, v in value["body"].items()
				}
			else:
				kwargs["json"] = value["body"]
		return session.request(http.upper(), self.url + quote(path), **kwargs)

	def test_every_operation_holds_under_fuzz(self):
		started = time.monotonic()
		manager = self.token_for(MANAGER)
		failures, sent = [], 0
		session = requests.Session()
		for path, http, operation in operations(self.spec):
			schema, media_type = request_schema(self.spec, operation)
			callers = [("manager", manager)] + ([("guest", None)] if operation.get("security") == [] else [])
			for value in examples(schema, EXAMPLES_PER_OPERATION):
				for caller, auth in callers:
					before = snapshot()
					response = self.send(session, path, http, operation, value, media_type, auth)
					sent += 1
					where = f"{http.upper()} {path} as {caller} with {json.dumps(value, ensure_ascii=False)[:400]}"
					failures += self.check_answer(where, path, http, operation, response)
					if 400 <= response.status_code < 500:
						after = snapshot()
						changed = {t: (before[t], after[t]) for t in before if before[t] != after.get(t)}
						if changed:
							failures.append(f"{where}: {response.status_code} yet wrote {changed}")
		session.close()
		elapsed = time.monotonic() - started
		self.assertFalse(failures, f"{len(failures)} of {sent} requests failed:\n" + "\n".join(failures))
		self.assertGreater(sent, len(list(operations(self.spec))))
		self.assertLess(elapsed, 180, f"the fuzz took {elapsed:.0f} s")


def messages_problems(body) -> list[str]:
	"""`_server_messages` is a JSON list of JSON-encoded messages, each an object with `message`."""
	raw = body.get("_server_messages") if isinstance(body, dict) else None
	if raw is None:
		return []
	try:
		messages = [json.loads(m) for m in json.loads(raw)]
	except (TypeError, ValueError):
		return [f"_server_messages is not a JSON list of JSON messages: {raw[:200]}"]
	return [
		f"a message without `message`: {m}" for m in messages if not isinstance(m, dict) or "message" not in m
	]


class TestFuzzFindingsAreRefused(CRMRestTestCase):
	"""What the fuzz found answering 500, now a translated 4xx that writes nothing (one test per finding)."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		make_user(MANAGER, roles=("CRM Sales Manager",))
		frappe.db.commit()
		cls.token_for(MANAGER)  # saving the user's key touches their contact: before any snapshot

	def assertRefused(self, method: str, dotted: str, data: dict, status: int, text: str):
		before = snapshot()
		if method == "GET":
			response = self.request("GET", f"/api/method/{dotted}?{urlencode(data)}", MANAGER)
		else:
			response = self.request(method, f"/api/method/{dotted}", MANAGER, data=data)
		self.assertEqual(response.status_code, status, response.text[:500])
		self.assertIn(text, response.error_text())
		self.assertEqual(messages_problems(response.json), [])
		self.assertEqual(snapshot(), before)

	def test_a_doctype_that_does_not_exist(self):
		for method, dotted, data, name in (
			("GET", "frappe.client.get", {"doctype": "0"}, "Doctype"),
			("POST", "simple_crm.security.side_doors.get", {"doctype": ""}, "Doctype"),
			("POST", "frappe.desk.doctype.tag.tag.add_tag", {"tag": "x", "dt": "", "dn": "0"}, "Dt"),
			("POST", "frappe.desk.doctype.tag.tag.remove_tag", {"tag": "x", "dt": "0", "dn": "0"}, "Dt"),
			("POST", "frappe.desk.doctype.tag.tag.add_tags", {"tags": ["x"], "dt": "0", "docs": ["0"]}, "Dt"),
			("POST", "frappe.desk.like.toggle_like", {"doctype": "", "name": "0"}, "Doctype"),
			(
				"POST",
				"frappe.utils.file_manager.add_attachments",
				{"doctype": "", "name": "0", "attachments": []},
				"Doctype",
			),
			(
				"GET",
				"frappe.automation.doctype.auto_repeat.auto_repeat.generate_message_preview",
				{"reference_dt": "0", "reference_doc": ""},
				"Reference Dt",
			),
			(
				"GET",
				"frappe.desk.listview.get_group_by_count",
				{"doctype": "", "current_filters": "[]", "field": "owner"},
				"Doctype",
			),
		):
			with self.subTest(dotted=dotted, data=data):
				self.assertRefused(method, dotted, data, 404, f"<strong>{name}</strong>: ")

	def test_json_arguments_that_are_not_json(self):
		for method, dotted, data, name in (
			(
				"POST",
				"frappe.desk.doctype.tag.tag.add_tags",
				{"tags": "x", "dt": "CRM Lead", "docs": "[]"},
				"Tags",
			),
			(
				"POST",
				"frappe.desk.doctype.tag.tag.add_tags",
				{"tags": "[]", "dt": "CRM Lead", "docs": "{x"},
				"Docs",
			),
			(
				"GET",
				"frappe.desk.listview.get_group_by_count",
				{"doctype": "CRM Lead", "current_filters": "{x", "field": "owner"},
				"Current Filters",
			),
			("GET", "frappe.desk.doctype.dashboard_chart.dashboard_chart.get", {}, "Chart"),
			("POST", "frappe.desk.doctype.dashboard_chart.dashboard_chart.get", {"chart": "[1]"}, "Chart"),
		):
			with self.subTest(dotted=dotted, data=data):
				self.assertRefused(method, dotted, data, 417, f"<strong>{name}</strong> must be ")

	def test_link_search_called_directly(self):
		# Frappe's search decorator needed searchfield, start and page_len (a KeyError); they have defaults
		response = self.request(
			"GET",
			"/api/method/simple_crm.permissions.search.search_visible?doctype=CRM%20Lead&txt=a",
			MANAGER,
		)
		self.assertEqual(response.status_code, 200, response.text[:500])
		self.assertIsInstance(response.data, list)
		self.assertRefused(
			"GET", "simple_crm.permissions.search.search_visible", {"doctype": "CRM Lead"}, 417, "is required"
		)

	def test_a_web_form_that_does_not_exist(self):
		for dotted in (
			"frappe.website.doctype.web_form.web_form.accept",
			"simple_crm.api.web_to_lead.accept",
		):
			with self.subTest(dotted=dotted):
				self.assertRefused("POST", dotted, {"web_form": "no-such-form"}, 404, "no-such-form")
