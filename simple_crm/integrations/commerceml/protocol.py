"""The 1C exchange protocol (`type=sale`), the CRM's side: who may call, the session, the uploaded files, the
modes and their plain-text answers.

- checkauth: HTTP Basic with the integration user's API key as the user name and its API secret as the
  password (the user must be enabled and have the CRM Integration role). Answers "success", the cookie's name
  and a fresh session token; the token is kept in Redis (as a SHA-256 hash) for `SESSION_SECONDS`, renewed by
  every call. Repeated bad credentials from one address are refused for a while (`FAILURES_ALLOWED`).
- init: "zip=yes" and "file_limit=<bytes>".
- file: the request body is appended to the named file of the session (1C cuts a large file into parts of at
  most file_limit bytes); a session may hold at most `SESSION_BYTES`.
- import: the named file (an XML, or a zip of XMLs) is read and its counterparties and orders upserted through
  the accounting exchange, all or nothing: one item refused (an INN with a wrong check digit, an unknown deal)
  refuses the file with the reasons, and nothing of it is written. Sending it again changes nothing.
- query: the CRM's new counterparties and clients (and orders entered in the CRM) as CommerceML (`query`);
  what it lists is remembered in the session.
- success: 1C took what the last query listed: it is marked delivered and not listed again; the session's
  files are removed.

Every refusal answers "failure" and the reason on the next line (HTTP 200: 1C reads the answer's text, not its
status), after rolling back whatever the call wrote; every call leaves a CRM Integration Log row (channel
Accounting).
"""

import base64
import hashlib
import hmac
import os
import re
import shutil
import time

import frappe
from frappe import _
from frappe.utils import cint
from frappe.utils.password import get_decrypted_password
from werkzeug.wrappers import Response

from simple_crm.integrations import exchange
from simple_crm.integrations.commerceml import query, reader
from simple_crm.integrations.common import remote_address, write_log
from simple_crm.integrations.exchange.batch import CHANNEL, batch_limit, config
from simple_crm.permissions.roles import INTEGRATION

PATH = "/api/method/simple_crm.api.commerceml.exchange"
COOKIE = "crm_1c_session"
SESSION_SECONDS = 3600
# what one upload request and one session may bring
FILE_LIMIT = 10 * 1024 * 1024
SESSION_BYTES = 100 * 1024 * 1024
# bad credentials from one address within FAILURE_WINDOW seconds before it is refused for the rest of it
FAILURES_ALLOWED = 10
FAILURE_WINDOW = 600
FOLDER = "commerceml"
MODES = ("checkauth", "init", "file", "import", "query", "success")
FILENAME = re.compile(r"^[\w\-. ]{1,120}$")


class ExchangeRefused(reader.CommerceMLError):
	pass


def refuse(message: str):
	raise ExchangeRefused(message)


# --- the request -------------------------------------------------------------------------------------------


def before_request() -> None:
	"""Frappe reads an Authorization header as its own API key login and answers a JSON 401 when it fails; for
	the 1C exchange the header is put aside here (before Frappe looks at it) and checked by `checkauth`, so that
	1C gets the protocol's "failure" answer with the reason."""
	request = getattr(frappe.local, "request", None)
	if request is None or request.path.rstrip("/") != PATH:
		return
	frappe.local.commerceml_authorization = request.environ.pop("HTTP_AUTHORIZATION", None)


def answer(text: str, content_type: str = "text/plain") -> Response:
	return Response(text.encode("utf-8"), status=200, content_type=f"{content_type}; charset=utf-8")


def handle(exchange_type: str | None, mode: str | None, filename: str | None) -> Response:
	"""One call of the protocol; any refusal becomes "failure\\n<reason>" with nothing written."""
	started = time.monotonic()
	entry = frappe._dict(summary=None, mode=mode, filename=filename)
	frappe.local.flags.commit = True  # import and success write in a GET
	try:
		if exchange_type != "sale":
			refuse(_("Only the exchange of type sale is supported, got {0}").format(exchange_type or "-"))
		if mode not in MODES:
			refuse(_("Unknown mode {0}: expected one of {1}").format(mode or "-", ", ".join(MODES)))
		text, content_type = MODE_HANDLERS[mode](filename, entry)
	except Exception as e:
		frappe.db.rollback()
		if isinstance(e, frappe.ValidationError | frappe.PermissionError | frappe.AuthenticationError):
			reason = frappe.utils.strip_html(str(e)) or type(e).__name__
		else:
			frappe.log_error("1C exchange failed", reference_doctype=None)
			reason = _("The CRM could not process the request: the error is in the Error Log")
		reason = " ".join(reason.split())
		log(entry, "Rejected", started, error=reason)
		frappe.db.commit()
		frappe.local.message_log = []
		return answer(f"failure\n{reason}")
	log(entry, "Processed", started)
	return answer(text, content_type)


def log(entry, status: str, started: float, error: str | None = None) -> None:
	summary = "1C {}{}: {}".format(
		entry.mode or "-",
		f" {entry.filename}" if entry.filename else "",
		entry.summary or status.lower(),
	)
	write_log(
		CHANNEL,
		"Inbound",
		status,
		payload={
			"mode": entry.mode,
			"filename": entry.filename,
			"seconds": round(time.monotonic() - started, 3),
		},
		summary=summary,
		error=error,
	)


# --- who calls ---------------------------------------------------------------------------------------------


def failures_key() -> str:
	return f"crm_commerceml_failures:{remote_address() or '-'}"


def basic_credentials() -> tuple[str, str]:
	header = getattr(frappe.local, "commerceml_authorization", None) or ""
	scheme, _sep, token = header.partition(" ")
	if scheme.lower() != "basic" or not token.strip():
		refuse(_("No credentials: 1C must send the user name and password (HTTP Basic)"))
	try:
		decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
	except (ValueError, UnicodeDecodeError):
		refuse(_("The credentials are not valid HTTP Basic"))
	key, sep, secret = decoded.partition(":")
	if not sep or not key or not secret:
		refuse(_("The credentials are not valid HTTP Basic"))
	return key, secret


def authenticate() -> str:
	"""The integration user whose API key and secret 1C sent."""
	failures = cint(frappe.cache.get_value(failures_key()))
	if failures >= FAILURES_ALLOWED:
		refuse(
			_("Too many failed logins from this address: try again in {0} minutes").format(
				FAILURE_WINDOW // 60
			)
		)
	key, secret = basic_credentials()
	user = frappe.db.get_value("User", {"api_key": key, "enabled": 1}, "name")
	stored = get_decrypted_password("User", user, "api_secret", raise_exception=False) if user else None
	if not stored or not hmac.compare_digest(stored.encode(), secret.encode()):
		frappe.cache.set_value(failures_key(), failures + 1, expires_in_sec=FAILURE_WINDOW)
		refuse(_("Wrong user name or password: use the API key and API secret of the CRM's integration user"))
	if INTEGRATION not in frappe.get_roles(user):
		refuse(_("User {0} does not have the role {1}").format(user, _(INTEGRATION)))
	return user


def act_as(user: str) -> None:
	frappe.set_user(user)
	frappe.local.lang = frappe.translate.get_user_lang(user)


# --- the session -------------------------------------------------------------------------------------------


def session_key(digest: str) -> str:
	return f"crm_commerceml_session:{digest}"


def token_digest(token: str) -> str:
	return hashlib.sha256(token.encode()).hexdigest()


def folder(digest: str) -> str:
	return frappe.get_site_path("private", FOLDER, digest[:32])


def session() -> tuple[str, dict]:
	"""(digest, state) of the session 1C's cookie names, renewed; refused when missing or expired."""
	token = frappe.request.cookies.get(COOKIE) if frappe.request else None
	if not token:
		refuse(_("No exchange session: call checkauth first and send its cookie"))
	digest = token_digest(token)
	state = frappe.cache.get_value(session_key(digest))
	if not state:
		refuse(_("The exchange session has expired or is unknown: call checkauth again"))
	user = frappe.db.get_value("User", {"name": state["user"], "enabled": 1}, "name")
	if not user or INTEGRATION not in frappe.get_roles(user):
		refuse(_("User {0} may no longer use the exchange").format(state["user"]))
	act_as(user)
	save_session(digest, state)
	return digest, state


def save_session(digest: str, state: dict) -> None:
	frappe.cache.set_value(session_key(digest), state, expires_in_sec=SESSION_SECONDS)


def end_session(digest: str) -> None:
	frappe.cache.delete_value(session_key(digest))
	shutil.rmtree(folder(digest), ignore_errors=True)


def remove_expired_folders() -> None:
	"""Upload folders of sessions that ended without success."""
	root = frappe.get_site_path("private", FOLDER)
	if not os.path.isdir(root):
		return
	deadline = time.time() - SESSION_SECONDS
	for name in os.listdir(root):
		path = os.path.join(root, name)
		if os.path.isdir(path) and os.path.getmtime(path) < deadline:
			shutil.rmtree(path, ignore_errors=True)


# --- the modes ---------------------------------------------------------------------------------------------


def checkauth(filename, entry):
	user = authenticate()
	act_as(user)
	config()  # the accounting exchange is switched on
	remove_expired_folders()
	token = frappe.generate_hash(length=40)
	save_session(token_digest(token), {"user": user, "offered": [], "imported": {}})
	entry.summary = user
	return f"success\n{COOKIE}\n{token}", "text/plain"


def init(filename, entry):
	session()
	return f"zip=yes\nfile_limit={FILE_LIMIT}", "text/plain"


def checked_filename(filename: str | None) -> str:
	"""A plain file name: no folder, nothing but letters, digits, spaces, dots, dashes and underscores."""
	name = (filename or "").strip()
	if not FILENAME.match(name) or name.strip(".") == "":
		refuse(_("Invalid file name {0}").format(frappe.utils.escape_html(filename or "-")))
	return name


def upload(filename, entry):
	digest, state = session()
	name = checked_filename(filename)
	body = frappe.request.get_data(cache=False) if frappe.request else b""
	if len(body) > FILE_LIMIT:
		refuse(_("The part is {0} bytes, at most {1} allowed").format(len(body), FILE_LIMIT))
	if not body:
		refuse(_("The file {0} came without content").format(name))
	path = folder(digest)
	os.makedirs(path, exist_ok=True)
	used = sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
	if used + len(body) > SESSION_BYTES:
		refuse(_("The session's files would exceed {0} bytes").format(SESSION_BYTES))
	with open(os.path.join(path, name), "ab") as handle:
		handle.write(body)
	# a file sent again after its import starts over
	if state["imported"].pop(name, None):
		save_session(digest, state)
	entry.summary = f"{len(body)} bytes"
	# 1C's exchange of orders (type=sale) may send its file without calling import afterwards: the file is
	# imported as soon as what arrived reads as a whole document. A part of a larger file does not (an XML
	# document without its end, a zip without its directory), nor does a file that cannot be read: both wait
	# for the next part or for import, which says why it cannot be read.
	with open(os.path.join(path, name), "rb") as handle:
		data = handle.read()
	try:
		items = reader.read(name, data)
	except reader.CommerceMLError:
		return "success", "text/plain"
	try:
		import_items(digest, state, name, items, entry)
	except Exception:
		# refused as a whole: the file goes, so that 1C's next try of it starts from nothing
		os.remove(os.path.join(path, name))
		raise
	entry.summary = f"{len(body)} bytes, imported: {entry.summary}"
	return "success", "text/plain"


def import_file(filename, entry):
	digest, state = session()
	name = checked_filename(filename)
	if state["imported"].get(name):
		entry.summary = "imported when uploaded"
		return "success", "text/plain"
	path = os.path.join(folder(digest), name)
	if not os.path.isfile(path):
		refuse(_("The file {0} was not uploaded in this session").format(name))
	with open(path, "rb") as handle:
		data = handle.read()
	import_items(digest, state, name, reader.read(name, data), entry)
	return "success", "text/plain"


def import_items(digest: str, state: dict, name: str, items: tuple, entry) -> None:
	"""Write an upload's counterparties and orders (all or nothing) and mark the file imported."""
	counterparties, orders, skipped = items
	complete_names(counterparties)
	assign_clients(counterparties, orders)
	values = config()
	limit = batch_limit(values)
	counts = {}
	for what, items, upsert in (
		("counterparties", counterparties, exchange.upsert_counterparties),
		("orders", orders, exchange.upsert_orders),
	):
		totals = {"created": 0, "updated": 0, "unchanged": 0}
		for start in range(0, len(items), limit):
			result = upsert(items[start : start + limit])
			errors = [row for row in result["items"] if row and row["status"] == "error"]
			if errors:
				label = _("Counterparty") if what == "counterparties" else _("Order")
				reasons = "; ".join(
					f"{label} {row['external_id'] or '?'}: {row['error']}" for row in errors[:5]
				)
				more = len(errors) - 5
				refuse(
					_("{0} was not imported: {1}").format(name, reasons)
					+ (" " + _("(and {0} more)").format(more) if more > 0 else "")
				)
			for key in totals:
				totals[key] += result[key]
		counts[what] = totals
	state["imported"][name] = True
	save_session(digest, state)
	entry.summary = "; ".join(
		"{}: {}".format(what, ", ".join(f"{n} {k}" for k, n in totals.items() if n) or "none")
		for what, totals in counts.items()
	) + (f"; {skipped} other documents skipped" if skipped else "")


def complete_names(items: list[dict]) -> None:
	"""A new counterparty sent without its full name takes its short name as the full one."""
	short = [item for item in items if not item.get("full_name") and item.get("short_name")]
	if not short:
		return
	known = set(
		frappe.get_all(
			"CRM Counterparty",
			filters={"external_id": ("in", [item["external_id"] for item in short])},
			pluck="external_id",
		)
	)
	for item in short:
		if item["external_id"] not in known:
			item["full_name"] = item["short_name"]


def assign_clients(counterparties: list[dict], orders: list[dict]) -> None:
	"""A counterparty 1C sends belongs to no CRM client yet; an order naming a CRM deal tells whose it is: the
	deal's client takes the counterparty when it has no client in the CRM (a counterparty of another client
	stays there, and the order waits as the accounting exchange says)."""
	deals = {order["deal"] for order in orders if order.get("deal") and order.get("counterparty_external_id")}
	if not deals:
		return
	deal_clients = dict(
		frappe.get_all(
			"CRM Deal", filters={"name": ("in", list(deals))}, fields=["name", "client"], as_list=True
		)
	)
	wanted = {}
	for order in orders:
		client = deal_clients.get(order.get("deal"))
		if client and order.get("counterparty_external_id"):
			wanted.setdefault(order["counterparty_external_id"], client)
	stored = dict(
		frappe.get_all(
			"CRM Counterparty",
			filters={"external_id": ("in", list(wanted))},
			fields=["external_id", "client"],
			as_list=True,
		)
	)
	for item in counterparties:
		client = wanted.get(item["external_id"])
		if client and "client" not in item and not stored.get(item["external_id"]):
			item["client"] = client


def list_news(filename, entry):
	digest, state = session()
	values = config()
	xml, offered = query.build(batch_limit(values))
	state["offered"] = offered
	save_session(digest, state)
	entry.summary = f"{len(offered)} records listed"
	return xml, "application/xml"


def confirm(filename, entry):
	digest, state = session()
	delivered = query.mark_delivered(state.get("offered") or [])
	end_session(digest)
	entry.summary = f"{delivered} records delivered"
	return "success", "text/plain"


MODE_HANDLERS = {
	"checkauth": checkauth,
	"init": init,
	"file": upload,
	"import": import_file,
	"query": list_news,
	"success": confirm,
}
