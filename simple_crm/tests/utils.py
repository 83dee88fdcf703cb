"""Test bases shared by the app's integration tests.

`CRMTestCase` rolls back after every test (v15's FrappeTestCase does not). `CRMRestTestCase` talks
to the real WSGI application over Frappe's test client, as a real user authenticated with an API
token: requests run in their own thread and connection and commit, so what a REST test creates is
committed and removed again in `tearDown`.
"""

import json
from collections.abc import Callable

import frappe
from frappe.utils import get_test_client

try:  # v16
	from frappe.tests import IntegrationTestCase as FrappeTestCase
except ImportError:  # v15
	from frappe.tests.utils import FrappeTestCase

from frappe.tests.test_api import make_request


class CRMTestCase(FrappeTestCase):
	def tearDown(self):
		frappe.db.rollback()
		frappe.set_user("Administrator")
		super().tearDown()


class RestResponse:
	def __init__(self, response):
		self.status_code = response.status_code
		self.text = response.get_data(as_text=True)
		try:
			self.json = json.loads(self.text) if self.text else {}
		except ValueError:
			self.json = {}

	@property
	def data(self):
		return self.json.get("data", self.json.get("message"))

	def error_text(self) -> str:
		"""Every message the server sent back, as one string (exception + _server_messages)."""
		parts = [self.json.get("exception") or ""]
		for raw in json.loads(self.json.get("_server_messages") or "[]"):
			try:
				parts.append(json.loads(raw).get("message", ""))
			except (ValueError, AttributeError):
				parts.append(str(raw))
		return "\n".join(parts)


# API credentials per user, made once per process: {user: (api_key, api_secret)}
_tokens: dict[str, tuple[str, str]] = {}


class CRMRestTestCase(FrappeTestCase):
	"""REST calls as a real user; documents are committed, so tests register them for cleanup."""

	client = get_test_client()

	def setUp(self):
		super().setUp()
		self._cleanup: list[tuple[str, str]] = []

	def tearDown(self):
		frappe.db.rollback()
		frappe.set_user("Administrator")
		for doctype, name in reversed(self._cleanup):
			if frappe.db.exists(doctype, name):
				frappe.delete_doc(doctype, name, force=True, ignore_permissions=True)
		frappe.db.commit()
		super().tearDown()

	def track(self, doctype: str, name: str) -> str:
		self._cleanup.append((doctype, name))
		return name

	@staticmethod
	def token_for(user: str) -> str:
		"""An API key/secret for `user`, made (and committed) once per process and reused while the user
		keeps that key."""
		cached = _tokens.get(user)
		if cached and frappe.db.get_value("User", user, "api_key") == cached[0]:
			return f"token {cached[0]}:{cached[1]}"
		doc = frappe.get_doc("User", user)
		if not doc.api_key:
			doc.api_key = frappe.generate_hash(length=15)
		secret = frappe.generate_hash(length=15)
		doc.api_secret = secret
		doc.flags.ignore_permissions = True
		doc.save()
		frappe.db.commit()
		_tokens[user] = (doc.api_key, secret)
		return f"token {doc.api_key}:{secret}"

	def request(self, method: str, path: str, user: str = "Administrator", data=None) -> RestResponse:
		headers = {"Authorization": self.token_for(user), "Accept": "application/json"}
		# the request runs in its own connection: what this test wrote must be committed for it to see, and
		# the test's next read must start a fresh snapshot (after the request) to see what it wrote
		frappe.db.commit()
		kwargs = {"headers": headers}
		if data is not None:
			kwargs["json"] = data
		target = getattr(self.client, method.lower())
		return RestResponse(make_request(target=target, args=(path,), kwargs=kwargs))

	def rest_get(self, doctype: str, name: str, user: str = "Administrator") -> RestResponse:
		return self.request("GET", f"/api/resource/{doctype}/{name}", user)

	def rest_list(self, doctype: str, user: str = "Administrator", **params) -> RestResponse:
		from urllib.parse import urlencode

		query = {k: json.dumps(v) if not isinstance(v, str) else v for k, v in params.items()}
		suffix = f"?{urlencode(query)}" if query else ""
		return self.request("GET", f"/api/resource/{doctype}{suffix}", user)

	def rest_insert(self, doctype: str, data: dict, user: str = "Administrator") -> RestResponse:
		r = self.request("POST", f"/api/resource/{doctype}", user, data)
		if r.status_code == 200 and r.data and r.data.get("name"):
			self.track(doctype, r.data["name"])
		return r

	def rest_update(self, doctype: str, name: str, data: dict, user: str = "Administrator") -> RestResponse:
		return self.request("PUT", f"/api/resource/{doctype}/{name}", user, data)

	def rest_delete(self, doctype: str, name: str, user: str = "Administrator") -> RestResponse:
		return self.request("DELETE", f"/api/resource/{doctype}/{name}", user)

	def rest_call(self, method: str, data: dict | None = None, user: str = "Administrator") -> RestResponse:
		return self.request("POST", f"/api/method/{method}", user, data or {})


class CommittedSettings:
	"""Test-case mixin for tests of jobs that commit: `set_automation(**values)` saves Simple CRM Settings
	(committed, as the jobs read them in their own transactions) and puts the old values back after the
	test."""

	def set_automation(self, **values) -> None:
		settings = frappe.get_single("Simple CRM Settings")
		before = {key: settings.get(key) for key in values}
		settings.update(values)
		settings.save()
		frappe.db.commit()

		def restore():
			frappe.db.rollback()
			doc = frappe.get_single("Simple CRM Settings")
			doc.update(before)
			doc.save()
			frappe.db.commit()

		self.addCleanup(restore)


def require_lead_company(case) -> Callable[[], None]:
	"""An administrator makes Company mandatory for leads (Customize Form's property setter), committed, for
	the rest of `case`'s test; returns what undoes it (also run at the test's end, harmless twice)."""
	frappe.make_property_setter(
		{"doctype": "CRM Lead", "fieldname": "company_name", "property": "reqd", "value": "1"},
		validate_fields_for_doctype=False,
	)
	setter = frappe.db.get_value(
		"Property Setter", {"doc_type": "CRM Lead", "field_name": "company_name", "property": "reqd"}
	)
	frappe.db.commit()
	frappe.clear_cache(doctype="CRM Lead")

	def undo():
		frappe.db.rollback()
		frappe.delete_doc("Property Setter", setter, force=True, ignore_permissions=True)
		frappe.clear_cache(doctype="CRM Lead")
		frappe.db.commit()

	case.addCleanup(undo)
	return undo
