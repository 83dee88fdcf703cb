"""The OpenAPI description (simple_crm/api/openapi.json) is true to the code.

- Every whitelisted function of the app is described under its own path, and every Frappe method the app
  replaces (hooks.py `override_whitelisted_methods`) also under Frappe's path; nothing described is gone.
  A missing or stale one fails with its name.
- Each operation's arguments are the function's (names; required = no default), its HTTP methods are the
  ones the function allows, and it is public (`security: []`) exactly when the function allows guests.
- The document is valid OpenAPI 3.1: its JSON Schemas against Draft 2020-12's metaschema, its structure by
  explicit checks (references resolve, operation ids unique, tags and security schemes declared) and by
  openapi-spec-validator.
- /api/method/simple_crm.api.openapi.spec serves the file as it is, to guests.
"""

import copy
import inspect
import json
import re

import frappe
from frappe.tests.test_api import make_request
from frappe.utils import get_test_client
from jsonschema import Draft202012Validator

from simple_crm.api.openapi import spec_path
from simple_crm.tests.security.attacks import _import_all, path_of
from simple_crm.tests.utils import CRMTestCase

METHOD_PREFIX = "/api/method/"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
DOC_METHOD_PATH = METHOD_PREFIX + "run_doc_method"
QUERY_METHODS = ("get", "delete")


def load_spec() -> dict:
	with open(spec_path(), encoding="utf-8") as f:
		return json.load(f)


def app_functions() -> dict:
	"""Every whitelisted function of the app, by its dotted path (all of its modules imported)."""
	_import_all("simple_crm")
	return {path_of(fn): fn for fn in frappe.whitelisted if fn.__module__.split(".")[0] == "simple_crm"}


def replaced_methods() -> dict[str, str]:
	"""Frappe's methods the app replaces: Frappe's path -> the app function answering it (the last hook wins,
	as in frappe.handler.execute_cmd)."""
	out = {}
	for original, targets in frappe.get_hooks("override_whitelisted_methods").items():
		if targets and targets[-1].startswith("simple_crm."):
			out[original] = targets[-1]
	return out


def operations(spec: dict):
	for path, item in spec.get("paths", {}).items():
		for http in HTTP_METHODS:
			if http in item:
				yield path, http, item[http]


def resolve(spec: dict, node):
	"""Follow local references ("#/components/...") to the object they name."""
	seen = 0
	while isinstance(node, dict) and "$ref" in node:
		ref = node["$ref"]
		if not ref.startswith("#/"):
			raise KeyError(f"not a local reference: {ref}")
		node = spec
		for part in ref[2:].split("/"):
			node = node[part.replace("~1", "/").replace("~0", "~")]
		seen += 1
		if seen > 20:
			raise KeyError(f"reference loop at {ref}")
	return node


def described_arguments(spec: dict, http: str, operation: dict) -> tuple[set[str], set[str]]:
	"""(all, required) argument names of an operation: query parameters, or the JSON body's properties."""
	names, required = set(), set()
	if http in QUERY_METHODS:
		for parameter in operation.get("parameters", []):
			parameter = resolve(spec, parameter)
			if parameter["in"] == "query":
				names.add(parameter["name"])
				if parameter.get("required"):
					required.add(parameter["name"])
		return names, required
	body = operation.get("requestBody")
	if body:
		schema = resolve(spec, resolve(spec, body)["content"]["application/json"]["schema"])
		names = set(schema.get("properties", {}))
		required = set(schema.get("required", []))
	return names, required


def signature_arguments(fn) -> tuple[set[str], set[str]]:
	parameters = [
		p
		for name, p in inspect.signature(fn).parameters.items()
		if name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
	]
	return {p.name for p in parameters}, {p.name for p in parameters if p.default is p.empty}


def coverage_problems(spec: dict) -> list[str]:
	"""What is whitelisted but not described (or described but gone), each by name."""
	functions, replaced = app_functions(), replaced_methods()
	problems, own, frappe_paths = [], set(), set()
	for path, http, operation in operations(spec):
		target = operation.get("x-function")
		dotted = path[len(METHOD_PREFIX) :]
		if target not in functions:
			problems.append(
				f"{http.upper()} {path}: x-function {target} is not a whitelisted function of the app"
			)
		elif path == DOC_METHOD_PATH and operation.get("x-doc-method"):
			own.add(target)
		elif dotted == target:
			own.add(target)
		elif replaced.get(dotted) == target:
			frappe_paths.add(dotted)
		else:
			problems.append(f"{http.upper()} {path}: is not answered by {target}")
	for name in sorted(set(functions) - own):
		problems.append(f"not described: {name} ({METHOD_PREFIX}{name})")
	for original, target in sorted(replaced.items()):
		if target in functions and original not in frappe_paths:
			problems.append(f"not described under Frappe's path: {original} (replaced by {target})")
	return problems


def operation_problems(spec: dict) -> list[str]:
	"""Arguments, HTTP methods and guest access of every operation against its function."""
	functions, problems = app_functions(), []
	for path in spec.get("paths", {}):
		item = spec["paths"][path]
		targets = {op.get("x-function") for http, op in item.items() if http in HTTP_METHODS}
		for target in targets & set(functions):
			allowed = {m.lower() for m in frappe.allowed_http_methods_for_whitelisted_func[functions[target]]}
			described = {http for http in HTTP_METHODS if item.get(http, {}).get("x-function") == target}
			if described != allowed:
				problems.append(
					f"{path}: HTTP methods {sorted(described)}, the function allows {sorted(allowed)}"
				)
	for path, http, operation in operations(spec):
		fn = functions.get(operation.get("x-function"))
		if fn is None:
			continue
		where = f"{http.upper()} {path}"
		guest = fn in frappe.guest_methods
		if (operation.get("security") == []) != guest:
			problems.append(f"{where}: public in the description {not guest}, allow_guest {guest}")
		names, required = signature_arguments(fn)
		if operation.get("x-doc-method"):
			problems += doc_method_problems(spec, where, operation, fn, names)
		elif operation.get("x-raw-body"):
			# the body is read as it came (a webhook's payload), not as arguments
			if required:
				problems.append(f"{where}: reads its body, yet the function requires {sorted(required)}")
			if http in ("post", "put") and not operation.get("requestBody"):
				problems.append(f"{where}: the body it reads is not described")
		else:
			given, given_required = described_arguments(spec, http, operation)
			if given != names:
				problems.append(
					f"{where}: arguments {sorted(given)}, the function takes {sorted(names)}"
					f" (missing {sorted(names - given)}, stale {sorted(given - names)})"
				)
			if given_required != required:
				problems.append(
					f"{where}: required {sorted(given_required)}, the function requires {sorted(required)}"
				)
	return problems


def doc_method_problems(spec: dict, where: str, operation: dict, fn, names: set[str]) -> list[str]:
	problems = []
	doctype, method = operation["x-doc-method"]["doctype"], operation["x-doc-method"]["method"]
	controller = frappe.get_doc({"doctype": doctype}).__class__
	if getattr(controller, method, None) is not fn or fn.__name__ != method:
		problems.append(f"{where}: {doctype}.{method} is not {path_of(fn)}")
	if names:
		problems.append(f"{where}: run_doc_method passes no arguments, {path_of(fn)} takes {sorted(names)}")
	schema = resolve(spec, resolve(spec, operation["requestBody"])["content"]["application/json"]["schema"])
	properties = schema.get("properties", {})
	if (
		properties.get("dt", {}).get("const") != doctype
		or properties.get("method", {}).get("const") != method
	):
		problems.append(f"{where}: the body must name dt {doctype} and method {method}")
	return problems


def schemas_in(spec: dict):
	"""Every JSON Schema of the document, with where it is."""
	components = spec.get("components", {})
	for name, schema in components.get("schemas", {}).items():
		yield f"components/schemas/{name}", schema

	def media(where, content):
		for media_type, value in (content or {}).items():
			if "schema" in value:
				yield f"{where} {media_type}", value["schema"]

	for name, parameter in components.get("parameters", {}).items():
		if "schema" in parameter:
			yield f"components/parameters/{name}", parameter["schema"]
		yield from media(f"components/parameters/{name}", parameter.get("content"))
	for name, body in components.get("requestBodies", {}).items():
		yield from media(f"components/requestBodies/{name}", body.get("content"))
	for name, response in components.get("responses", {}).items():
		yield from media(f"components/responses/{name}", response.get("content"))
		for header, value in (response.get("headers") or {}).items():
			if "schema" in value:
				yield f"components/responses/{name} header {header}", value["schema"]
	for path, http, operation in operations(spec):
		for parameter in operation.get("parameters", []):
			if "schema" in parameter:
				yield f"{http.upper()} {path} parameter {parameter.get('name')}", parameter["schema"]
		for code, response in operation.get("responses", {}).items():
			if "$ref" not in response:
				yield from media(f"{http.upper()} {path} {code}", response.get("content"))
				for header, value in (response.get("headers") or {}).items():
					if "schema" in value:
						yield f"{http.upper()} {path} {code} header {header}", value["schema"]


def structure_problems(spec: dict) -> list[str]:
	"""OpenAPI 3.1 rules this document relies on, checked one by one."""
	problems = []
	if spec.get("openapi") != "3.1.0":
		problems.append(f"openapi is {spec.get('openapi')!r}, not 3.1.0")
	info = spec.get("info") or {}
	if not info.get("title") or not info.get("version"):
		problems.append("info needs a title and a version")
	tags = {tag["name"] for tag in spec.get("tags", [])}
	schemes = set(spec.get("components", {}).get("securitySchemes", {}))
	for requirement in spec.get("security", []):
		problems += [f"security names an undeclared scheme {s}" for s in requirement if s not in schemes]
	operation_ids = {}
	for path, http, operation in operations(spec):
		where = f"{http.upper()} {path}"
		if not path.startswith(METHOD_PREFIX):
			problems.append(f"{where}: not a /api/method path")
		if not re.fullmatch(r"/api/method/[A-Za-z0-9_.]+", path):
			problems.append(f"{where}: not a dotted method path")
		operation_id = operation.get("operationId")
		if not operation_id or operation_id in operation_ids:
			problems.append(f"{where}: operationId {operation_id!r} missing or used twice")
		operation_ids[operation_id] = where
		problems += [f"{where}: undeclared tag {tag}" for tag in operation.get("tags", []) if tag not in tags]
		for requirement in operation.get("security", []):
			problems += [f"{where}: undeclared security scheme {s}" for s in requirement if s not in schemes]
		responses = operation.get("responses") or {}
		if not any(code.startswith("2") or code.startswith("3") for code in responses):
			problems.append(f"{where}: no success response")
		problems += [
			f"{where}: response code {code!r}"
			for code in responses
			if not re.fullmatch(r"[1-5](XX|[0-9]{2})|default", code)
		]
		if http in QUERY_METHODS and "requestBody" in operation:
			problems.append(f"{where}: a request body on {http.upper()}")
		for parameter in operation.get("parameters", []):
			parameter = resolve(spec, parameter)
			if ("schema" in parameter) == ("content" in parameter):
				problems.append(
					f"{where}: parameter {parameter.get('name')} needs schema or content, not both"
				)
	problems += unresolved_references(spec)
	return problems


def unresolved_references(spec: dict) -> list[str]:
	problems = []

	def walk(node, where):
		if isinstance(node, dict):
			if isinstance(node.get("$ref"), str):
				try:
					resolve(spec, {"$ref": node["$ref"]})
				except (KeyError, TypeError, IndexError):
					problems.append(f"{where}: {node['$ref']} does not resolve")
			for key, value in node.items():
				walk(value, f"{where}/{key}")
		elif isinstance(node, list):
			for i, value in enumerate(node):
				walk(value, f"{where}/{i}")

	walk(spec, "#")
	return problems


def schema_problems(spec: dict) -> list[str]:
	problems = []
	for where, schema in schemas_in(spec):
		for error in Draft202012Validator(Draft202012Validator.META_SCHEMA).iter_errors(schema):
			problems.append(f"{where}: {error.message}")
	return problems


class TestOpenAPIDescription(CRMTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.spec = load_spec()

	def assertNoProblems(self, problems: list[str]):
		if problems:
			self.fail(f"{len(problems)} problem(s) in simple_crm/api/openapi.json:\n" + "\n".join(problems))

	# --- 1. every whitelisted function, and nothing else

	def test_every_whitelisted_method_is_described(self):
		self.assertNoProblems(coverage_problems(self.spec))

	def test_a_missing_or_stale_method_is_named(self):
		spec = copy.deepcopy(self.spec)
		del spec["paths"][METHOD_PREFIX + "simple_crm.api.lead.convert"]
		del spec["paths"][METHOD_PREFIX + "frappe.client.get"]
		spec["paths"][METHOD_PREFIX + "simple_crm.api.lead.gone"] = {
			"post": {
				**spec["paths"][METHOD_PREFIX + "simple_crm.api.sms.send"]["post"],
				"x-function": "simple_crm.api.lead.gone",
			}
		}
		problems = "\n".join(coverage_problems(spec))
		self.assertIn("not described: simple_crm.api.lead.convert", problems)
		self.assertIn("not described under Frappe's path: frappe.client.get", problems)
		self.assertIn("simple_crm.api.lead.gone is not a whitelisted function", problems)

	# --- 2. arguments, HTTP methods, guests

	def test_operations_match_their_functions(self):
		self.assertNoProblems(operation_problems(self.spec))

	def test_a_wrong_argument_method_or_guest_flag_is_named(self):
		spec = copy.deepcopy(self.spec)
		convert = spec["paths"][METHOD_PREFIX + "simple_crm.api.lead.convert"]
		body = resolve(spec, convert["post"]["requestBody"])["content"]["application/json"]["schema"]
		del body["properties"]["deal_amount"]
		body["required"] = []
		convert["get"] = convert["post"]
		spec["paths"][METHOD_PREFIX + "simple_crm.api.web_to_lead.submit"]["post"].pop("security")
		problems = "\n".join(operation_problems(spec))
		self.assertIn("missing ['deal_amount']", problems)
		self.assertIn("the function requires ['lead']", problems)
		self.assertIn("the function allows ['post']", problems)
		self.assertIn(
			"simple_crm.api.web_to_lead.submit: public in the description False, allow_guest True", problems
		)

	# --- 3. valid OpenAPI 3.1

	def test_document_is_valid_openapi_3_1(self):
		self.assertNoProblems(structure_problems(self.spec) + schema_problems(self.spec))
		from openapi_spec_validator import validate

		validate(self.spec)

	def test_the_checks_see_a_broken_document(self):
		spec = copy.deepcopy(self.spec)
		spec["components"]["schemas"]["Error"]["required"] = "exc_type"
		spec["components"]["schemas"]["DuplicateMatch"]["properties"]["matched_on"] = {
			"$ref": "#/components/schemas/Gone"
		}
		operation = spec["paths"][METHOD_PREFIX + "simple_crm.api.lead.convert"]["post"]
		operation["tags"] = ["Nowhere"]
		problems = "\n".join(structure_problems(spec) + schema_problems(spec))
		self.assertIn("components/schemas/Error", problems)
		self.assertIn("#/components/schemas/Gone does not resolve", problems)
		self.assertIn("undeclared tag Nowhere", problems)
		from openapi_spec_validator import validate

		spec = copy.deepcopy(self.spec)
		spec["paths"][METHOD_PREFIX + "simple_crm.api.lead.convert"]["post"]["parameters"] = [
			{"name": "lead"}
		]
		with self.assertRaises(Exception):
			validate(spec)

	# --- 4. served as kept

	def test_served_over_http_as_the_file(self):
		client = get_test_client()
		response = make_request(
			target=client.get,
			args=(METHOD_PREFIX + "simple_crm.api.openapi.spec",),
			kwargs={"headers": {"Accept": "application/json"}},
		)
		self.assertEqual(response.status_code, 200)
		self.assertEqual(response.mimetype, "application/json")
		with open(spec_path(), "rb") as f:
			self.assertEqual(response.get_data(), f.read())
		self.assertEqual(json.loads(response.get_data()), self.spec)
		refused = make_request(
			target=client.post,
			args=(METHOD_PREFIX + "simple_crm.api.openapi.spec",),
			kwargs={"headers": {"Accept": "application/json"}},
		)
		self.assertEqual(refused.status_code, 403)
