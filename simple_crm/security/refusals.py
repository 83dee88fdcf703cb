"""A refusal carries its message, not a traceback.

When the server refuses a request with a message for the user (a ValidationError and its kind: a wrong phone,
a won deal without an amount; HTTP 417), Frappe also sends the Python traceback (`exc`, and its last line as
`exception`) whenever System Settings' "Show Full Error and Allow Reporting of Issues to the Developer" is on,
its default, and the Desk prints it into the browser console. A refusal is not a fault of the server: its
answer keeps the message (`_server_messages`) and the exception's name (`exc_type`) and loses the traceback.
Server errors (HTTP 500) keep what the setting decides; the tracebacks of both are in the Error Log.
"""

import json

REFUSED = 417
TRACEBACK_KEYS = ("exc", "exception")


def after_request(response, request) -> None:
	"""after_request hook: the traceback taken out of a refusal's JSON answer."""
	if (
		response.status_code != REFUSED
		or response.mimetype != "application/json"
		or response.direct_passthrough
	):
		return
	try:
		body = json.loads(response.get_data())
	except ValueError:
		return
	if not isinstance(body, dict):
		return
	# API v1 answers carry them at the top, v2 answers in each of their `errors`
	answers = [body, *(e for e in body.get("errors") or () if isinstance(e, dict))]
	if not any(key in answer for answer in answers for key in TRACEBACK_KEYS):
		return
	for answer in answers:
		for key in TRACEBACK_KEYS:
			answer.pop(key, None)
	response.set_data(json.dumps(body, separators=(",", ":")))
