"""The public doors of website inquiries; what becomes of an inquiry is simple_crm.integrations.web_to_lead.

- `submit`: the endpoint for the company's websites (guest POST, JSON or form fields, with the form key);
- `accept`: Frappe's web form endpoint (frappe.website.doctype.web_form.web_form.accept, replaced through
  override_whitelisted_methods) sends new submissions of web forms for CRM Lead through the same checks,
  duplicate handling and answer; every other web form goes on to Frappe;
- `handle_again`, not public: an administrator has a failed inquiry handled again (the Integration Log form).

Both public doors answer {"ok": true} once the inquiry is accepted (recorded, with its job queued), whether the
person is known or not.
"""

import functools
import json

import frappe
from frappe import _
from frappe.rate_limiter import rate_limit
from frappe.utils import escape_html
from frappe.website.doctype.web_form.web_form import accept as frappe_accept

from simple_crm.integrations import web_to_lead
from simple_crm.integrations.common import InvalidPayloadError, inbound, json_body, request_body
from simple_crm.security.input import checked_arguments

FORM_MIMETYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def limited(fn):
	"""Frappe's `rate_limit` per IP address, with the limits of Simple CRM Settings as they are now."""

	@functools.wraps(fn)
	def wrapper(*args, **kwargs):
		limit, seconds = web_to_lead.rate_limits()
		return rate_limit(limit=limit, seconds=seconds, methods=["POST"])(fn)(*args, **kwargs)

	return wrapper


@frappe.whitelist(allow_guest=True, methods=["POST"])
@limited
def submit():
	"""An inquiry from a website: a JSON object (or form fields) with name, company, phone, email, message,
	utm_source, utm_medium, utm_campaign, utm_content, utm_term, page_url, referrer, form_key and the empty
	honeypot homepage. See the README for the snippet a website uses."""
	payload = {}
	with inbound(web_to_lead.API_CHANNEL, payload) as entry:
		web_to_lead.check_enabled()
		data = read_body()
		payload.update(loggable(data))
		web_to_lead.check_form_key(data)
		web_to_lead.check_honeypot(data)
		web_to_lead.record(web_to_lead.read_inquiry(data), entry)
	return answer()


@frappe.whitelist(allow_guest=True, methods=["POST"])
@checked_arguments
def accept(web_form: str, data: str | dict | None = None):
	"""Frappe's web form endpoint: a submission of a web form for CRM Lead is a website inquiry. Other web
	forms go on to Frappe, with their data checked first (Frappe fails on data that is not a JSON object and on
	a web form that does not exist with a 500)."""
	doc_type = frappe.db.get_value("Web Form", web_form, "doc_type")
	if doc_type is None:
		frappe.throw(
			_("Web Form {0} not found").format(frappe.bold(escape_html(str(web_form)[:140]))),
			frappe.DoesNotExistError,
			title=_("Not Found"),
		)
	if doc_type != "CRM Lead":
		return frappe_accept(web_form=web_form, data=json.dumps(parse_web_form_data(data)))
	return accept_inquiry(data)


@limited
def accept_inquiry(data: str | dict | None):
	payload = {}
	with inbound(web_to_lead.WEB_FORM_CHANNEL, payload) as entry:
		web_to_lead.check_enabled()
		request_body(web_to_lead.BODY_LIMIT)
		values = parse_web_form_data(data)
		payload.update(loggable(values))
		if values.get("name"):
			frappe.throw(
				_("A website inquiry cannot change a saved lead"),
				InvalidPayloadError,
				title=_("Not Accepted"),
			)
		values = web_to_lead.from_web_form(values)
		web_to_lead.check_honeypot(values)
		web_to_lead.record(web_to_lead.read_inquiry(values), entry)
	return answer()


@frappe.whitelist(methods=["POST"])
@checked_arguments
def handle_again(log: str) -> dict:
	"""Have a failed website inquiry handled again once its cause is fixed (administrators)."""
	return web_to_lead.handle_again(log)


def answer() -> dict:
	"""The same answer for a new and a known person, and no message the checks may have left."""
	frappe.clear_messages()
	return {"ok": True}


def read_body() -> dict:
	"""The request's fields: form fields, or else a JSON object whatever the declared type (a page may post
	JSON as text/plain to spare the browser a CORS preflight)."""
	request_body(web_to_lead.BODY_LIMIT)
	if frappe.request.mimetype in FORM_MIMETYPES:
		return frappe.request.form.to_dict()
	return json_body(web_to_lead.BODY_LIMIT)


def parse_web_form_data(data) -> dict:
	if isinstance(data, dict):
		return data
	try:
		values = json.loads(data or "{}")
	except (TypeError, ValueError):
		values = None
	if not isinstance(values, dict):
		frappe.throw(_("The form data is not a JSON object"), InvalidPayloadError, title=_("Invalid Request"))
	return values


def loggable(value):
	"""A copy the log can store: texts without unpaired surrogates (a JSON body may carry them as escapes,
	and the database takes UTF-8 only)."""
	if isinstance(value, str):
		return value.encode("utf-8", "replace").decode("utf-8")
	if isinstance(value, dict):
		return {loggable(str(k)): loggable(v) for k, v in value.items()}
	if isinstance(value, list):
		return [loggable(v) for v in value]
	return value
