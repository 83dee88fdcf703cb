"""Bad input is refused with a message naming the field, before anything is written; never a 500.

Frappe 15 hands what a client sends to the database with few checks of its own, and MariaDB's refusal
reaches the client as an HTTP 500 with a traceback:

- a date or time that does not exist (`2026-02-30`, `2026-13-01 10:00`, `25:00`, `0000-00-00`) or is
  not a date at all (error 1292);
- `NaN` and `Infinity` (`1e309` reads as infinity) in a number field (pymysql cannot send them), and
  numbers beyond the column: Currency, Float, Percent and Duration are decimal(21,9), so 10^12 and
  above do not fit (error 1264); a text in a number field is silently stored as 0;
- text longer than its column once Frappe has escaped its HTML (Frappe checks the length before the
  escaping: 46 times `<x>` fits a varchar(140), its escaped form does not; error 1406), and text beyond
  the 65,535 bytes of a Small Text (error 1366);
- an object where a single value belongs (`{"lead_name": {"a": 1}}`), or a child table that is not a
  list of rows (`{"items": "abc"}`);
- a request body that is not valid JSON (`{bad json`) or not a JSON object (`[1, 2]`), and missing or
  mistyped arguments of a whitelisted method.

Three guards, for every doctype of the app (and Frappe's Contact, which the app extends) with their
child rows:

- `check_document` (doc_events "*", before_validate, so before any controller runs and whatever the
  path: Desk, REST, Data Import, the app's own code) refuses a value that cannot be stored as it is;
- `check_request` (before_request) refuses a `/api/resource` body Frappe would fail on while building
  the document (not an object, objects in place of values, a child table that is not a list of rows),
  and a body of the app's methods that is not an object; `install` turns a body that is not valid JSON
  into the same refusal (Frappe parses it before any hook runs, so the parser is wrapped once per
  process, from the app's hooks);
- `checked_arguments` (a decorator under `@frappe.whitelist`) checks a method's arguments against its
  annotations as Frappe does, refuses NaN and infinite numbers, and reports a missing argument, all
  with translated messages (Frappe's own check answers an untranslated TypeError, or a 500 for a missing
  argument).

Each refusal is a `BadInputError` (HTTP 417, as Frappe's validation errors) or, for a body that cannot
be read at all, a `MalformedRequestError` (HTTP 400); nothing is written. A request body is checked
before the user is known, so its message is in the language the request asks for (Accept-Language) or
the site's; the other messages are in the user's language.
"""

import datetime
import functools
import inspect
import json
import math
import re
import typing
from decimal import Decimal

import frappe
from frappe import _
from frappe.model import no_value_fields, table_fields
from frappe.utils import cstr, escape_html

from simple_crm.constants import APP_MODULE

# Frappe's doctypes whose records the app extends with its own fields and rules
EXTENDED_DOCTYPES = ("Contact",)

# the sizes of MariaDB's text columns, in bytes
TEXT_BYTES = {"text": 65_535, "mediumtext": 16_777_215}
INTEGER_RANGE = {"int": 2**31, "bigint": 2**63, "smallint": 2**15, "tinyint": 2**7}
SHOWN_CHARACTERS = 40


class BadInputError(frappe.ValidationError):
	"""A value that cannot be stored as it is: not a real date, not a finite number within the column's
	range, too long for its column, or not a single value."""


class MalformedRequestError(frappe.ValidationError):
	"""A request body that is not a JSON object, or not JSON at all."""

	http_status_code = 400


def applies_to(meta) -> bool:
	"""Whether the app's input rules apply to the records (and child rows) of a doctype."""
	return meta.name in EXTENDED_DOCTYPES or meta.module == APP_MODULE


# --- document values -----------------------------------------------------------------------------------


def check_document(doc, method=None) -> None:
	"""doc_events "*" before_validate: every date, time and number of the record and of its child rows is
	one its column takes (before the controllers read them)."""
	if frappe.flags.in_install or not applies_to(doc.meta):
		return
	check_values(doc)
	for row in doc.get_all_children():
		check_values(row, parent=doc)


def check_document_lengths(doc, method=None) -> None:
	"""doc_events "*" before_save: every text fits its column, as the controllers left it (an ИНН or a phone
	typed with separators is cleaned in validate and may only then fit)."""
	if frappe.flags.in_install or not applies_to(doc.meta):
		return
	check_values(doc, lengths=True)
	for row in doc.get_all_children():
		check_values(row, parent=doc, lengths=True)


def check_values(row, parent=None, lengths: bool = False) -> None:
	"""Dates, times and numbers (or, with `lengths`, texts) of one row."""
	single = bool(row.meta.issingle)
	for df in row.meta.fields:
		if df.fieldtype in table_fields or df.fieldtype in no_value_fields or df.get("is_virtual"):
			continue
		value = row.get(df.fieldname)
		if value is None or value == "":
			continue
		text = is_text_column(df)
		if lengths and not text:
			continue
		if not lengths and text and not isinstance(value, list | tuple | dict | set):
			continue  # its length is checked once the controllers have cleaned it
		problem = value_problem(row, df, value, single)
		if problem:
			throw_for(row, parent, problem)
	if not lengths and row.get("idx") not in (None, ""):
		df = frappe._dict(fieldname="idx", fieldtype="Int", label="Index")
		problem = value_problem(row, df, row.idx, single)
		if problem:
			throw_for(row, parent, problem)


def throw_for(row, parent, message: str) -> None:
	if parent is not None:
		table = parent.meta.get_field(row.parentfield)
		label = _(table.label, context=parent.doctype) if table else _(row.doctype)
		number = next(n for n, other in enumerate(parent.get(row.parentfield), start=1) if other is row)
		message = _("{0}, row {1}: {2}").format(frappe.bold(label), number, message)
	frappe.throw(message, BadInputError, title=_("Invalid value"))


def value_problem(row, df, value, single: bool = False) -> str | None:
	"""What is wrong with `value` for the field `df` of `row`, as a translated message; None if nothing."""
	label = frappe.bold(_(df.label or df.fieldname, context=df.parent))
	if df.fieldtype == "JSON":
		return None
	if isinstance(value, list | tuple | dict | set):
		return _("{0} must be a single value, not a list or an object").format(label)
	if df.fieldtype == "Check":
		return None  # Frappe reads any value as 0 or 1

	kind, size, scale = column_of(df)
	if kind == "date":
		if not is_date(value, with_time=False):
			return _("{0}: {1} is not a valid date; use the format YYYY-MM-DD").format(label, shown(value))
	elif kind == "datetime":
		if not is_date(value, with_time=True):
			return _("{0}: {1} is not a valid date and time; use the format YYYY-MM-DD HH:MM:SS").format(
				label, shown(value)
			)
	elif kind == "time":
		if not is_time(value):
			return _("{0}: {1} is not a valid time; use the format HH:MM:SS").format(label, shown(value))
	elif kind == "decimal":
		return number_problem(label, value, limit=10 ** (size - scale), scale=scale)
	elif kind in INTEGER_RANGE:
		return number_problem(label, value, limit=INTEGER_RANGE[kind], scale=0)
	elif kind == "varchar" and not single:
		stored = stored_text(row, df, cstr(value))
		if len(stored) > size:
			if stored != cstr(value):
				return _(
					"{0} is too long: {1} characters once its HTML is escaped, at most {2} allowed"
				).format(label, len(stored), size)
			return _("{0} is too long: {1} characters, at most {2} allowed").format(label, len(stored), size)
	elif kind in TEXT_BYTES and not single:
		length = len(stored_text(row, df, cstr(value)).encode("utf-8"))
		if length > TEXT_BYTES[kind]:
			return _("{0} is too long: the text takes {1} bytes, at most {2} allowed").format(
				label, length, TEXT_BYTES[kind]
			)
	return None


def is_text_column(df) -> bool:
	kind = column_of(df)[0]
	return kind == "varchar" or kind in TEXT_BYTES


def column_of(df) -> tuple[str | None, int, int]:
	"""The column Frappe makes for the field (frappe.database.schema): kind, size (or precision), scale."""
	from frappe.database.schema import get_definition

	definition = get_definition(df.fieldtype, precision=df.get("precision"), length=df.get("length"))
	match = re.match(r"^(\w+)(?:\((\d+)(?:,\s*(\d+))?\))?", definition or "")
	if not match:
		return None, 0, 0
	return match.group(1).lower(), int(match.group(2) or 0), int(match.group(3) or 0)


def number_problem(label: str, value, limit: int, scale: int) -> str | None:
	"""`value` must read as a finite number (as frappe.utils.flt reads it) smaller than `limit` in size."""
	number = as_number(value)
	if number is None or math.isnan(number):
		return _("{0} must be a number, got {1}").format(label, shown(value))
	if math.isinf(number) or abs(round(number, scale)) >= limit:
		largest = limit - 1
		return _("{0} is out of range: {1}; allowed values are from {2} to {3}").format(
			label, shown(value), -largest, largest
		)
	return None


def as_number(value) -> float | None:
	if isinstance(value, bool | int | float | Decimal):
		try:
			return float(value)
		except OverflowError:  # an int beyond any float
			return math.inf
	if isinstance(value, str):
		try:
			return float(value.strip().replace(",", ""))  # as frappe.utils.flt reads it
		except ValueError:
			return None
	return None


_TIME = r"(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,6}))?)?"
DATE_TEXT = re.compile(rf"^(\d{{4}})-(\d{{1,2}})-(\d{{1,2}})(?:[ T]{_TIME})?$")
TIME_TEXT = re.compile(rf"^{_TIME}$")


def is_date(value, with_time: bool) -> bool:
	"""A date (or date and time) that exists, as an object or as ISO text; a Date field takes a date and time
	too (the database keeps the date)."""
	if isinstance(value, datetime.date):
		return True
	match = DATE_TEXT.match(value) if isinstance(value, str) else None
	if not match:
		return False
	year, month, day, hour, minute, second, fraction = match.groups()
	try:
		datetime.datetime(
			int(year),
			int(month),
			int(day),
			int(hour or 0),
			int(minute or 0),
			int(second or 0),
			int((fraction or "0").ljust(6, "0")),
		)
	except ValueError:
		return False
	return True


def is_time(value) -> bool:
	if isinstance(value, datetime.time | datetime.timedelta):
		return True
	match = TIME_TEXT.match(value) if isinstance(value, str) else None
	if not match:
		return False
	hour, minute, second, fraction = match.groups()
	try:
		datetime.time(int(hour), int(minute), int(second or 0), int((fraction or "0").ljust(6, "0")))
	except ValueError:
		return False
	return True


def stored_text(row, df, value: str) -> str:
	"""The text Frappe will store: `BaseDocument._sanitize_content` (run after the length check of
	`_validate_length`) escapes the HTML of most text fields, which makes them longer."""
	if "<" not in value and ">" not in value:
		return value
	if (
		df.get("ignore_xss_filter")
		or (df.fieldtype in ("Data", "Small Text", "Text") and df.get("options") == "Email")
		or df.fieldtype in ("Attach", "Attach Image", "Barcode", "Code")
		or row.docstatus == 2
		or (row.docstatus == 1 and not df.get("allow_on_submit"))
	):
		return value
	if "<!-- markdown -->" in value:
		from bs4 import BeautifulSoup

		if not BeautifulSoup(value, "html.parser").find():
			return value
	from frappe.utils.html_utils import sanitize_html

	return sanitize_html(value, linkify=df.fieldtype == "Text Editor")


def shown(value) -> str:
	"""A value as a message shows it: escaped, shortened."""
	text = cstr(value)
	if len(text) > SHOWN_CHARACTERS:
		text = text[:SHOWN_CHARACTERS] + "…"
	return frappe.bold(escape_html(text))


# --- request bodies ------------------------------------------------------------------------------------

RESOURCE_PATH = re.compile(r"^/api/(?:v1/)?resource/(?P<doctype>[^/]+)(?:/(?P<name>.+?))?/?$")
APP_METHOD_PATH = re.compile(rf"^/api/(?:v1/|v2/)?method/{re.escape('simple_crm.')}")


def check_request() -> None:
	"""before_request: refuse a body Frappe would fail on with a 500 (see the module's docstring)."""
	install()
	request = frappe.local.request
	if request.method not in ("POST", "PUT"):
		return
	resource = RESOURCE_PATH.match(request.path)
	if resource:
		# POST creates a record of the doctype, PUT changes one (POST on a record runs a method of it)
		creates = request.method == "POST" and not resource.group("name")
		changes = request.method == "PUT" and resource.group("name")
		if creates or changes:
			check_resource_body(resource.group("doctype"))
	elif APP_METHOD_PATH.match(request.path) and request.is_json:
		body = request.get_data(as_text=True)
		if body and not isinstance(json.loads(body), dict):
			throw_not_an_object()


def check_resource_body(doctype: str) -> None:
	"""The fields of a record sent to /api/resource, read as Frappe reads them (frappe.api.v1)."""
	from frappe.api.v1 import get_request_form_data

	data = get_request_form_data()
	if not isinstance(data, dict):
		throw_not_an_object()
	try:
		meta = frappe.get_meta(doctype)
	except frappe.DoesNotExistError:
		return  # Frappe answers 404
	if not applies_to(meta):
		return
	problem = shape_problem(meta, data)
	for table in meta.get_table_fields():
		rows = data.get(table.fieldname)
		if problem:
			break
		if rows is None:
			continue
		label = frappe.bold(_(table.label, context=doctype))
		if not isinstance(rows, list):
			problem = _("{0} must be a list of rows").format(label)
			break
		for number, row in enumerate(rows, start=1):
			if isinstance(row, dict):
				row_problem = shape_problem(frappe.get_meta(table.options), row)
			else:
				row_problem = _("a row must be an object of the row's fields")
			if row_problem:
				problem = _("{0}, row {1}: {2}").format(label, number, row_problem)
				break
	if problem:
		frappe.throw(problem, BadInputError, title=_("Invalid value"))


def shape_problem(meta, data: dict) -> str | None:
	"""A list or an object where the field takes a single value."""
	for df in meta.fields:
		if df.fieldtype in table_fields or df.fieldtype in no_value_fields or df.fieldtype == "JSON":
			continue
		if isinstance(data.get(df.fieldname), list | dict):
			label = frappe.bold(_(df.label or df.fieldname, context=meta.name))
			return _("{0} must be a single value, not a list or an object").format(label)
	return None


def throw_not_an_object() -> None:
	frappe.throw(
		_("The request body must be a JSON object of field names and values"),
		MalformedRequestError,
		title=_("Invalid request"),
	)


def install() -> None:
	"""Refuse a request body that is not valid JSON with a MalformedRequestError (HTTP 400) instead of the
	JSONDecodeError (HTTP 500) of Frappe 15's `frappe.app.make_form_dict`, which parses the body before any
	hook of an app runs. Wraps that function once per process (idempotent), from the before_request hook,
	so from the second request of a process on (the first one has already been parsed). Later Frappe
	versions refuse such a body themselves ("Invalid request body"); this wrapper can go then."""
	import frappe.app

	if getattr(frappe.app.make_form_dict, "_crm_guarded", False):
		return
	frappe_make_form_dict = frappe.app.make_form_dict

	@functools.wraps(frappe_make_form_dict)
	def make_form_dict(request):
		try:
			return frappe_make_form_dict(request)
		except json.JSONDecodeError:
			frappe.throw(
				_("The request body is not valid JSON"), MalformedRequestError, title=_("Invalid request")
			)

	make_form_dict._crm_guarded = True
	frappe.app.make_form_dict = make_form_dict


# --- arguments of whitelisted methods ------------------------------------------------------------------


def checked_arguments(fn):
	"""Check a whitelisted method's arguments with translated messages naming them. Goes under
	`@frappe.whitelist(...)`:

	        @frappe.whitelist(methods=["POST"])
	        @checked_arguments
	        def convert(lead: str, deal_amount: float | None = None): ...

	Each argument is checked against its annotation the way Frappe does (its own `transform_parameter_types`,
	one argument at a time, and converted the same way); floats must be finite; texts must be storable (no
	unpaired surrogate); a required argument must be there. Frappe's own check is then left nothing to do (the wrapper shows Frappe no annotations), since it
	answers a bad value with an untranslated TypeError that names the argument only in the traceback."""
	from frappe.exceptions import FrappeTypeError
	from frappe.utils.typing_validations import transform_parameter_types

	signature = inspect.signature(fn)

	@functools.wraps(fn)
	def checked(*args, **kwargs):
		try:
			bound = signature.bind(*args, **kwargs)
		except TypeError:
			for name, parameter in list(signature.parameters.items())[len(args) :]:
				if parameter.default is parameter.empty and name not in kwargs:
					frappe.throw(
						_("{0} is required").format(argument_label(name)),
						BadInputError,
						title=_("Missing value"),
					)
			raise
		for name, value in bound.arguments.items():
			try:
				_args, converted = transform_parameter_types(fn, (), {name: value})
			except FrappeTypeError:
				frappe.throw(argument_message(fn, name, value), BadInputError, title=_("Invalid value"))
			if not storable_text(converted[name]):
				frappe.throw(
					_("{0} holds a character that is not text (an unpaired surrogate)").format(
						argument_label(name)
					),
					BadInputError,
					title=_("Invalid value"),
				)
			if isinstance(converted[name], float) and not math.isfinite(converted[name]):
				frappe.throw(
					_("{0} must be a finite number, got {1}").format(argument_label(name), shown(value)),
					BadInputError,
					title=_("Invalid value"),
				)
			bound.arguments[name] = converted[name]
		return fn(*bound.args, **bound.kwargs)

	checked.__annotations__ = {}
	return checked


def storable_text(value) -> bool:
	"""Whether every text in `value` can be written as UTF-8 (a JSON body may carry unpaired surrogates as
	escapes; the database and the log refuse them with a 500)."""
	if isinstance(value, str):
		try:
			value.encode("utf-8")
		except UnicodeEncodeError:
			return False
		return True
	if isinstance(value, dict):
		return all(storable_text(k) and storable_text(v) for k, v in value.items())
	if isinstance(value, list | tuple):
		return all(storable_text(v) for v in value)
	return True


def argument_label(name: str) -> str:
	return frappe.bold(_(frappe.unscrub(name)))


def argument_message(fn, name: str, value) -> str:
	annotation = fn.__annotations__.get(name)
	types = set(typing.get_args(annotation)) or {annotation}
	if bool in types:
		return _("{0} must be 0 or 1, got {1}").format(argument_label(name), shown(value))
	if types & {int, float}:
		return _("{0} must be a number, got {1}").format(argument_label(name), shown(value))
	return _("{0} has a value of the wrong kind: {1}").format(argument_label(name), shown(value))


# --- arguments of the Frappe methods the app replaces -----------------------------------------------------


def existing_doctype(doctype, name: str = "doctype") -> str:
	"""The name of a DocType, as a method got it. Frappe answers a name no DocType has (or an empty one)
	with an ImportError, a 500; here it is a translated 404 naming the argument."""
	if not isinstance(doctype, str) or not doctype.strip() or not frappe.db.exists("DocType", doctype):
		frappe.throw(
			_("{0}: {1} is not a document type").format(argument_label(name), shown(doctype)),
			frappe.DoesNotExistError,
			title=_("Not Found"),
		)
	return doctype


def json_argument(value, name: str, kind: type):
	"""An argument that is a `kind` (list or dict), or the same JSON-encoded. Frappe parses such arguments
	with json.loads and fails on anything else with a 500; here it is a translated 417 naming the argument."""
	if isinstance(value, str):
		try:
			value = json.loads(value)
		except ValueError:
			value = None
	if not isinstance(value, kind):
		expected = {list: _("a list"), dict: _("an object")}.get(kind, _("a list or an object"))
		frappe.throw(
			_("{0} must be {1} (or the same as JSON)").format(argument_label(name), expected),
			BadInputError,
			title=_("Invalid value"),
		)
	return value
