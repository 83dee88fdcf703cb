"""The OpenAPI 3.1 description of the app's methods (simple_crm/api/openapi.json), served as it is kept.

The JSON file is written by hand; simple_crm/tests/test_openapi.py keeps it true to the code (every
whitelisted method of the app described, with its arguments, HTTP methods and guest access)."""

import frappe
from werkzeug.wrappers import Response

SPEC_FILE = ("api", "openapi.json")


def spec_path() -> str:
	return frappe.get_app_path("simple_crm", *SPEC_FILE)


@frappe.whitelist(allow_guest=True, methods=["GET"])
def spec() -> Response:
	"""The description itself (not wrapped in Frappe's `message`): Frappe passes a returned Response on."""
	with open(spec_path(), "rb") as f:
		body = f.read()
	response = Response(body, mimetype="application/json")
	response.headers["X-Content-Type-Options"] = "nosniff"
	response.headers["Cache-Control"] = "public, max-age=300"
	return response
