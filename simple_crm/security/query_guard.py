"""What a list query may ask for: plain columns and the Desk's aggregates, never a sub-query.

Frappe builds every permission-checked list (`frappe.get_list`: REST `/api/resource/<doctype>`,
`frappe.client.get_list` / `get_value`, `frappe.desk.reportview.get` and exports, number cards, dashboard
charts, kanban, group-by counts) with `frappe.model.db_query.DatabaseQuery`, which pastes the caller's
`fields`, `order_by` and `group_by` into the SQL after a check of its own. In Frappe 15.44 that check looks
for a sub-query only at the start of an expression, so `max((select group_concat(name, ':', amount) from
`tabCRM Deal`))` passes and reads every deal, whatever the row-level rules say, and `order_by` accepts
`(select sleep(5))`-like timing probes wrapped the same way.

Two guards close it, applied to the two DatabaseQuery steps that take the caller's expressions
(`sanitize_fields` and `validate_order_by_and_group_by`) for every session but the Administrator's:

- For the CRM's own doctypes and their child tables, an allow-list: a field is a column (optionally
  `tab`-qualified, or `link_field.column` of a doctype without row-level rules), `*`, or `count`, `sum`,
  `avg`, `min` or `max` of a column, `*` or `1` (optionally `distinct`), each optionally with an `as` alias;
  an order is such a field or an alias, with `asc`/`desc`; a group is a column or an alias. The column must
  exist.
- For every other doctype (a sub-query reading CRM tables fits in a ToDo list as well), a deny-list on the
  tokens of the expression, string literals and quoted names aside: no `select`, no statement separator,
  comment or user variable, no `sleep`/`benchmark`-like function.

A list shows a link to a record by that record's title when its doctype says so (`show_title_field_in_link`):
the Desk then asks for `link_field.title_field as link_field_title_field` (a deal's client by its name), which
joins the linked table without its row-level rule. For a row-level doctype that one column is taken, as a plain
field only (not in an aggregate, an order or a grouping), and read through the linked record's own rule
(`guard_linked_titles`): a record the user cannot see gives no title, as `get_link_title` answers for it.

Anything else is refused with a `QueryExpressionError` (HTTP 417) naming the expression. Frappe offers no
hook into DatabaseQuery, so the two methods are wrapped once per process (`install`, called when the app
is imported and from the `before_request` / `before_job` hooks); the wrappers call Frappe's own checks
first and only ever add refusals.
"""

import re

import frappe
from frappe import _

from simple_crm.constants import APP_MODULE, ROW_LEVEL_CHILD_DOCTYPES, ROW_LEVEL_DOCTYPES


class QueryExpressionError(frappe.ValidationError):
	pass


# --- the allow-list grammar ---------------------------------------------------------------------------

_NAME = r"[^\W\d]\w*"  # a bare SQL name (unicode letters allowed, as MariaDB does)
_QUOTED = r"`[\w \-:]+`"  # a backtick-quoted name without backticks, dots or punctuation inside
_IDENT = rf"(?:{_NAME}|{_QUOTED})"
_TABLE = r"(?:`tab[\w \-]+`|tab\w+)"
_AGGREGATES = ("count", "sum", "avg", "min", "max")

COLUMN = re.compile(rf"^(?:(?P<table>{_TABLE})\.)?(?P<column>{_IDENT}|\*)$", re.IGNORECASE)
LINKED_COLUMN = re.compile(rf"^(?P<link>{_NAME})\.(?P<column>{_NAME})$")
AGGREGATE = re.compile(
	rf"^(?P<function>{'|'.join(_AGGREGATES)})\s*\(\s*(?:distinct\s+)?(?P<argument>[^()]+?)\s*\)$",
	re.IGNORECASE,
)
ALIAS = re.compile(
	rf"^(?P<expression>.+?)\s+as\s+(?P<alias>{_IDENT}|\"[\w \-]+\"|'[\w \-:]+')$", re.IGNORECASE
)
DIRECTION = re.compile(r"^(?P<expression>.+?)(?:\s+(?:asc|desc))?$", re.IGNORECASE)

# --- the deny-list ------------------------------------------------------------------------------------

_TOKENS = re.compile(r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\"|`[^`]*`|[^\W\d]\w*|\S", re.UNICODE)
DENIED_WORDS = frozenset(
	{
		"select",
		"union",
		"into",
		"sleep",
		"benchmark",
		"load_file",
		"get_lock",
		"release_lock",
		"is_free_lock",
		"master_pos_wait",
		"extractvalue",
		"updatexml",
	}
)
DENIED_CHARACTERS = frozenset({";", "@", "#"})

# columns Frappe adds to lists that a doctype may lack (set_optional_columns drops them)
OPTIONAL_COLUMNS = frozenset({"_user_tags", "_comments", "_assign", "_liked_by", "_seen", "_comment_count"})


def is_crm_doctype(doctype: str) -> bool:
	"""The CRM's doctypes (module Simple CRM), Contact and the child tables of the row-level doctypes."""
	if doctype in ROW_LEVEL_DOCTYPES or doctype in ROW_LEVEL_CHILD_DOCTYPES:
		return True
	try:
		return frappe.get_meta(doctype).module == APP_MODULE
	except frappe.DoesNotExistError:
		return False


def refuse(expression, doctype: str, part: str | None = None):
	"""Refuse an expression without repeating it: it may name records the caller cannot see."""
	frappe.throw(
		_(
			"{0} of a list of {1} may hold only field names and count, sum, avg, min or max of a field, each "
			"with an optional alias"
		).format(part or _("Fields"), _(doctype)),
		QueryExpressionError,
		title=_("Invalid Query"),
	)


def _unquote(name: str) -> str:
	return name[1:-1] if name[:1] in "`\"'" else name


def _table_doctype(table: str, query) -> tuple[str, bool]:
	"""The doctype a table of the query stands for, and whether it is joined through a link field."""
	name = _unquote(table)
	linked = getattr(query, "linked_table_aliases", None) or {}
	if name in linked:
		return _unquote(linked[name])[3:], True
	return name[3:], False


def _columns(doctype: str) -> list[str]:
	try:
		return frappe.db.get_table_columns(doctype)  # cached by Frappe
	except Exception:
		return []


def _check_column(text: str, query, aliases: frozenset = frozenset()) -> bool:
	"""Whether `text` is a column of a table the query reads (or an alias / `*`)."""
	text = text.strip()
	match = COLUMN.match(text)
	if match:
		column = _unquote(match.group("column"))
		if column == "*":
			return True
		if not match.group("table"):
			if column in aliases or column in OPTIONAL_COLUMNS:
				return True
			return column in _columns(query.doctype)
		doctype, through_link = _table_doctype(match.group("table"), query)
		if through_link:
			if not _may_join(doctype, query):
				return False
		elif doctype != query.doctype and doctype not in ROW_LEVEL_CHILD_DOCTYPES + _children(query.doctype):
			return False
		return column in OPTIONAL_COLUMNS or column in _columns(doctype)
	match = LINKED_COLUMN.match(text)
	if match:
		df = frappe.get_meta(query.doctype).get_field(match.group("link"))
		if not df or df.fieldtype != "Link" or not df.options:
			return False
		return _may_join(df.options, query) and match.group("column") in _columns(df.options)
	return False


def _may_join(doctype: str, query) -> bool:
	"""`link_field.column` joins the linked record without its row-level rule: not for row-level doctypes
	(unless the user sees every record anyway)."""
	from simple_crm.permissions import sees_everything

	return doctype not in ROW_LEVEL_DOCTYPES or sees_everything(query.user)


def _linked_title(expression: str, query) -> tuple[str, str, str] | None:
	"""(table alias, doctype, column) when `expression` is the title of a record linked from the list's doctype,
	joined by its link field (`tabCRM Client_1`.`client_name`): what the Desk asks for to show a link by its
	title. Only the doctype's title field, of a doctype that shows links by title."""
	match = COLUMN.match(expression.strip())
	if not match or not match.group("table"):
		return None
	alias = _unquote(match.group("table"))
	link = next(
		(t for t in getattr(query, "link_tables", None) or [] if _unquote(t.table_alias) == alias), None
	)
	if not link:
		return None
	meta = frappe.get_meta(link.doctype)
	column = _unquote(match.group("column"))
	if not meta.show_title_field_in_link or not meta.title_field or column != meta.title_field:
		return None
	return alias, link.doctype, column


def guard_linked_titles(query) -> None:
	"""The titles of linked row-level records, as `_linked_title` lets them through, are read only for the
	records the user sees (their own rule, one uncorrelated sub-query each); others give NULL. Runs once
	Frappe has checked the fields (its own check refuses any sub-query) and found their tables."""
	from simple_crm.permissions import condition_for

	for index, field in enumerate(query.fields or []):
		if not isinstance(field, str):
			continue
		expression, alias = _split_alias(field)
		linked = _linked_title(expression, query)
		if not linked or linked[1] not in ROW_LEVEL_DOCTYPES:
			continue
		table_alias, doctype, column = linked
		condition = condition_for(doctype, query.user)
		if not condition:
			continue
		table = f"`tab{doctype}`"
		query.fields[index] = (
			f"if(`{table_alias}`.`name` in (select {table}.`name` from {table} where {condition}), "
			f"`{table_alias}`.`{column}`, null) as `{alias or column}`"
		)


def _children(doctype: str) -> tuple:
	return tuple(df.options for df in frappe.get_meta(doctype).get_table_fields())


def _split_alias(text: str) -> tuple[str, str | None]:
	match = ALIAS.match(text.strip())
	if match:
		return match.group("expression").strip(), _unquote(match.group("alias"))
	return text.strip(), None


def _check_value_expression(expression: str, query, aliases: frozenset = frozenset()) -> bool:
	match = AGGREGATE.match(expression)
	if match:
		argument = match.group("argument").strip()
		return argument in ("*", "1") or _check_column(argument, query)
	return _check_column(expression, query, aliases)


def check_fields_allowed(query) -> frozenset:
	"""The allow-list for `query.fields`; returns the aliases the fields define."""
	aliases = set()
	for field in query.fields or []:
		if not isinstance(field, str):
			refuse(field, query.doctype)
		expression, alias = _split_alias(field)
		if not _check_value_expression(expression, query) and not _linked_title(expression, query):
			refuse(field, query.doctype)
		if alias:
			aliases.add(alias)
	return frozenset(aliases)


def check_order_allowed(parameters: str, query) -> None:
	aliases = check_fields_aliases(query)
	for part in _split_top_level(parameters):
		expression = DIRECTION.match(part.strip()).group("expression").strip()
		if not _check_value_expression(expression, query, aliases):
			refuse(parameters, query.doctype, _("Sort order or grouping"))


def check_fields_aliases(query) -> frozenset:
	return frozenset(alias for _expr, alias in map(_split_alias, _strings(query.fields)) if alias)


def _strings(values) -> list[str]:
	return [v for v in values or [] if isinstance(v, str)]


def _split_top_level(text: str) -> list[str]:
	"""`text` split at the commas that are not inside parentheses."""
	parts, depth, current = [], 0, []
	for char in text:
		if char == "(":
			depth += 1
		elif char == ")":
			depth -= 1
		if char == "," and depth == 0:
			parts.append("".join(current))
			current = []
		else:
			current.append(char)
	parts.append("".join(current))
	return [p for p in parts if p.strip()]


def check_denied(expression, doctype: str, part: str | None = None) -> None:
	"""The deny-list for every doctype: no sub-query, statement, comment, variable or timing function."""
	if not isinstance(expression, str):
		return
	text = expression.lower()
	if "--" in text or "/*" in text:
		refuse(expression, doctype, part)
	for token in _TOKENS.findall(text):
		if token in DENIED_WORDS or token in DENIED_CHARACTERS:
			refuse(expression, doctype, part)


# --- wiring into DatabaseQuery ------------------------------------------------------------------------


def _guarded(query) -> bool:
	return (query.user or frappe.session.user) != "Administrator"


def _allow_listed(query) -> bool:
	return not query.flags.ignore_permissions and is_crm_doctype(query.doctype)


def install() -> None:
	"""Wrap DatabaseQuery's two checks once per process (idempotent)."""
	from frappe.model.db_query import DatabaseQuery

	if getattr(DatabaseQuery, "_crm_guarded", False):
		return
	frappe_sanitize_fields = DatabaseQuery.sanitize_fields
	frappe_validate_order_by_and_group_by = DatabaseQuery.validate_order_by_and_group_by

	def sanitize_fields(self):
		if _guarded(self):
			for field in self.fields or []:
				check_denied(field, self.doctype)
			if _allow_listed(self):
				check_fields_allowed(self)
		frappe_sanitize_fields(self)

	def validate_order_by_and_group_by(self, parameters):
		if parameters and isinstance(parameters, str) and _guarded(self):
			check_denied(parameters, self.doctype, _("Sort order or grouping"))
			if _allow_listed(self):
				check_order_allowed(parameters, self)
		frappe_validate_order_by_and_group_by(self, parameters)

	frappe_apply_fieldlevel_read_permissions = DatabaseQuery.apply_fieldlevel_read_permissions

	def apply_fieldlevel_read_permissions(self):
		frappe_apply_fieldlevel_read_permissions(self)
		if _guarded(self) and not self.flags.ignore_permissions:
			guard_linked_titles(self)

	DatabaseQuery.sanitize_fields = sanitize_fields
	DatabaseQuery.validate_order_by_and_group_by = validate_order_by_and_group_by
	DatabaseQuery.apply_fieldlevel_read_permissions = apply_fieldlevel_read_permissions
	DatabaseQuery._crm_guarded = True

	# Frappe's pre-check of list arguments (frappe.client.get_list, frappe.desk.reportview) fails with an
	# IndexError, answered as a 500, on a field without a column in it such as `version()`
	from frappe.desk import reportview

	frappe_validate_fields = reportview.validate_fields

	def validate_fields(data):
		try:
			frappe_validate_fields(data)
		except IndexError:
			refuse(None, data.get("doctype") or "")

	reportview.validate_fields = validate_fields


def before_request():
	install()


def before_job(*args, **kwargs):
	install()


# --- dashboard charts ---------------------------------------------------------------------------------

CHART_FIELDS = ("based_on", "value_based_on", "group_by_based_on", "aggregate_function_based_on")


class ChartNotAllowedError(frappe.PermissionError):
	pass


@frappe.whitelist()
def dashboard_chart(
	chart_name: str | None = None,
	chart: str | dict | None = None,
	no_cache=None,
	filters=None,
	from_date=None,
	to_date=None,
	timespan=None,
	time_interval=None,
	heatmap_year=None,
	refresh=None,
):
	"""`frappe.desk.doctype.dashboard_chart.dashboard_chart.get`, checked first for the CRM's doctypes.

	A chart may come as JSON from the caller (or from a chart anyone can create with
	`create_dashboard_chart`); its field settings are pasted into the query, and a heatmap is computed
	with `frappe.get_all`, which applies no permission at all. So for a CRM doctype every field setting
	must be a plain column, and heatmaps are left to those who see every record."""
	from frappe.desk.doctype.dashboard_chart.dashboard_chart import get

	from simple_crm.security.input import json_argument

	config = (
		frappe.get_doc("Dashboard Chart", chart_name)
		if chart_name
		else frappe._dict(json_argument(chart, "chart", dict))
	)
	check_chart(config)
	from simple_crm.dashboards import translate_group_labels

	return translate_group_labels(
		config,
		get(
			chart_name=chart_name,
			chart=chart,
			no_cache=no_cache,
			filters=filters,
			from_date=from_date,
			to_date=to_date,
			timespan=timespan,
			time_interval=time_interval,
			heatmap_year=heatmap_year,
			refresh=refresh,
		),
	)


def check_chart(config) -> None:
	from simple_crm.permissions import sees_everything

	doctype = config.get("document_type")
	if config.get("chart_type") == "Report" or not doctype or not isinstance(doctype, str):
		return
	if not is_crm_doctype(doctype) or frappe.session.user == "Administrator":
		return
	columns = set(_columns(doctype))
	for fieldname in CHART_FIELDS:
		value = config.get(fieldname)
		if value and (not isinstance(value, str) or value not in columns):
			refuse(value, doctype)
	if config.get("type") == "Heatmap" and not sees_everything():
		frappe.throw(
			_("A heatmap of {0} is available only to those who see every record").format(_(doctype)),
			ChartNotAllowedError,
			title=_("Not Permitted"),
		)
