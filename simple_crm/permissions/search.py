"""Link search, the Desk's search bar and counts, each under the row-level rules."""

import functools
import inspect
import re

import frappe
from frappe.desk.search import relevance_sorter
from frappe.utils import cint

from simple_crm.constants import ROW_LEVEL_DOCTYPES
from simple_crm.permissions.rules import condition_for, parents_of, sees_few
from simple_crm.security.input import checked_arguments

SEARCHABLE_FIELDTYPES = frozenset(
	{"Data", "Text", "Small Text", "Long Text", "Link", "Select", "Read Only", "Text Editor"}
)


# Link search reads indexes, not tables: the words typed are looked up in a FULLTEXT index of each
# doctype's name fields (word prefixes: "петр" finds "Иван Петров"), a phone, e-mail or INN in the
# duplicate index (CRM Contact Point) or the call's normalised number, and a record name by its prefix.
# The columns of each doctype's `crm_search` FULLTEXT index (made by add_search_indexes at migrate):
SEARCH_INDEX = {
	"CRM Lead": ("lead_name", "company_name"),
	"CRM Deal": ("deal_name",),
	"CRM Client": ("client_name",),
	"CRM Counterparty": ("short_name", "full_name"),
	"CRM Order": ("order_number",),
	"CRM Task": ("subject",),
	"Contact": ("full_name",),
	"CRM Complaint": ("subject",),
}
SEARCH_INDEX_NAME = "crm_search"
# InnoDB's FULLTEXT indexes words of at least innodb_ft_min_token_size (3) characters and skips its stopwords
MIN_WORD = 3
STOPWORDS = frozenset(
	"a about an are as at be by com de en for from how i in is it la of on or that the this to was what"
	" when where who will with und www".split()
)
# records an index lookup hands to the list query (which keeps the user's latest page of them): five pages of
# the link field's ten. Every candidate is a row the user may see, so fewer candidates mean fewer rows read for
# a manager whose records hide among the many matches of a common first name (about half the time with 50
# instead of 200 on the full dataset)
CANDIDATES = 50


def with_defaults(fn):
	"""Frappe's `validate_and_sanitize_search_inputs` reads `searchfield`, `start` and `page_len` from the
	keyword arguments, and failed with a KeyError (a 500) when a direct call left them out: the signature's
	defaults are filled in first (a missing required argument is refused by `checked_arguments`)."""
	signature = inspect.signature(fn)

	@functools.wraps(fn)
	def wrapper(*args, **kwargs):
		bound = signature.bind_partial(*args, **kwargs)
		bound.apply_defaults()
		return fn(**bound.arguments)

	return wrapper


@frappe.whitelist()
@checked_arguments
@with_defaults
@frappe.validate_and_sanitize_search_inputs
def search_visible(
	doctype: str,
	txt: str,
	searchfield: str | None = None,
	start: int = 0,
	page_len: int = 10,
	filters: str | dict | list | None = None,
	as_dict: bool = False,
	reference_doctype: str | None = None,
):
	"""Link search for the row-level doctypes (`standard_queries` in hooks.py).

	Frappe's own link search drops every permission check when the caller passes
	`ignore_user_permissions=1` (any caller can), so a sales manager could list the names and titles of
	every deal. This search always ends in `frappe.get_list`, i.e. in the conditions above. Frappe's scans
	every row with `like '%text%'`; this one finds its candidates through indexes (see SEARCH_INDEX), and
	matches with `like` only what no index can answer (words shorter than three letters). Disabled records
	are left out, the best match first."""
	meta = frappe.get_meta(doctype)
	fields = list(dict.fromkeys(["name", meta.title_field or "name", *meta.get_search_fields()]))
	fields = [f for f in fields if f == "name" or meta.get_field(f)]
	if isinstance(filters, str):
		filters = frappe.parse_json(filters)
	if isinstance(filters, dict):
		filters = [
			[doctype, key, *(v if isinstance(v, list | tuple) else ("=", v))] for key, v in filters.items()
		]
	filters = list(filters or [])
	if meta.get_field("disabled"):
		filters.append([doctype, "disabled", "!=", 1])
	or_filters = []
	txt = (txt or "").strip()
	if txt:
		names = indexed_candidates(doctype, txt)
		if names is None:
			for fieldname in fields:
				df = meta.get_field(fieldname)
				if fieldname == "name" or (df and df.fieldtype in SEARCHABLE_FIELDTYPES):
					or_filters.append([doctype, fieldname, "like", f"%{txt}%"])
		elif not names:
			return []
		else:
			filters.append([doctype, "name", "in", names])
	rows = frappe.get_list(
		doctype,
		filters=filters,
		or_filters=or_filters,
		fields=fields,
		limit_start=start,
		limit_page_length=page_len,
		order_by=f"`tab{doctype}`.modified desc",
		as_list=not as_dict,
		reference_doctype=reference_doctype,
		strict=False,
	)
	return sorted(rows, key=lambda row: relevance_sorter(row, txt, as_dict))


def search_words(txt: str) -> list[str]:
	"""The words of `txt` a FULLTEXT index holds (letters and digits only: nothing of the boolean syntax)."""
	return [w for w in re.findall(r"\w+", txt.lower()) if len(w) >= MIN_WORD and w not in STOPWORDS]


def indexed_candidates(doctype: str, txt: str) -> list[str] | None:
	"""Names of `doctype`'s records matching `txt` that the user may see, found through indexes; None when
	no index can answer `txt` (the caller then matches with `like`)."""
	condition = condition_for(doctype)
	names: list[str] = []
	answered = False
	points = _contact_points(txt)
	for point in points:
		answered = True
		names += _point_matches(doctype, point, condition)
	words = search_words(txt)
	unread = [w for w in re.findall(r"\w+", txt.lower()) if w not in words and w not in STOPWORDS]
	if doctype in SEARCH_INDEX and words and not unread and has_search_index(doctype):
		answered = True
		names += _word_matches(doctype, words, condition)
	if re.fullmatch(r"[\w.-]+", txt) and not points:
		# a record's own name ("LEAD-2026-00012", "CL-00042"): its prefix, on the primary key
		names += frappe.db.sql_list(
			f"select `name` from `tab{doctype}` where `name` like %(prefix)s"
			f"{' and ' + condition if condition else ''} limit {CANDIDATES}",
			{"prefix": txt.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"},
		)
		answered = answered or bool(names)
	if not answered:
		return None
	return list(dict.fromkeys(names))[:CANDIDATES]


def _contact_points(txt: str) -> list[tuple[str, str]]:
	"""(kind, normalised value) pairs `txt` may be as a whole: an e-mail, an INN, a phone number (ten digits
	are either an INN or a phone without its country code)."""
	from simple_crm.utils import phones
	from simple_crm.validation import default_phone_region

	if "@" in txt and " " not in txt:
		return [("Email", txt.lower())]
	points = []
	if re.fullmatch(r"\d{10}|\d{12}", txt):
		points.append(("INN", txt))
	if phones.is_phone_like(txt, min_digits=10) and len(phones.digits_only(txt)) >= 10:
		try:
			points.append(("Phone", phones.normalize_phone(txt, default_phone_region())))
		except phones.PhoneError:
			pass
	return points


def _point_matches(doctype: str, point: tuple[str, str], condition: str) -> list[str]:
	kind, value = point
	where = f" and {condition}" if condition else ""
	if doctype == "CRM Call" and kind == "Phone":
		return frappe.db.sql_list(
			f"select `name` from `tabCRM Call` where `phone_normalized` = %(value)s{where} limit {CANDIDATES}",
			{"value": value},
		)
	if doctype == "CRM Counterparty" and kind == "INN":
		return frappe.db.sql_list(
			f"select `name` from `tabCRM Counterparty` where `inn` = %(value)s{where} limit {CANDIDATES}",
			{"value": value},
		)
	return frappe.db.sql_list(
		f"""select `tab{doctype}`.`name` from `tabCRM Contact Point` `point`
		join `tab{doctype}` on `tab{doctype}`.`name` = `point`.`reference_name`
		where `point`.`kind` = %(kind)s and `point`.`value` = %(value)s
			and `point`.`reference_doctype` = %(doctype)s{where}
		limit {CANDIDATES}""",
		{"kind": kind, "value": value, "doctype": doctype},
	)


def _word_matches(doctype: str, words: list[str], condition: str) -> list[str]:
	if condition and sees_few(doctype, frappe.session.user):
		return _word_matches_among_few(doctype, words, condition)
	return _word_matches_in_index(doctype, words, condition)


def _word_matches_in_index(doctype: str, words: list[str], condition: str) -> list[str]:
	columns = ", ".join(f"`tab{doctype}`.`{c}`" for c in SEARCH_INDEX[doctype])
	query = " ".join(f"+{w}*" for w in words)
	where = f" and {condition}" if condition else ""
	return frappe.db.sql_list(
		f"""select `tab{doctype}`.`name` from `tab{doctype}`
		where match({columns}) against (%(query)s in boolean mode){where}
		limit {CANDIDATES}""",
		{"query": query},
	)


def _word_matches_among_few(doctype: str, words: list[str], condition: str) -> list[str]:
	"""The same words for a user who sees few records (rules.sees_few): the condition's set form drives the
	query from the user's own records and each one's columns are tested for a word starting with each word,
	as the FULLTEXT index matches them. MATCH would first collect every record of the table holding the word
	(tens of thousands for a common first name) and only then keep the user's."""
	columns = [f"`tab{doctype}`.`{c}`" for c in SEARCH_INDEX[doctype]]
	values = {}
	tests = []
	for n, word in enumerate(words):
		# a word is letters, digits and underscores only (search_words): nothing of the pattern syntax
		values[f"word{n}"] = f"(*UCP)(^|[^[:alnum:]]){word}"
		tests.append("(" + " or ".join(f"{column} regexp %(word{n})s" for column in columns) + ")")
	return frappe.db.sql_list(
		f"""select `tab{doctype}`.`name` from `tab{doctype}`
		where {condition} and {" and ".join(tests)}
		limit {CANDIDATES}""",
		values,
	)


def has_search_index(doctype: str) -> bool:
	"""Whether `doctype`'s table has its FULLTEXT search index over SEARCH_INDEX's columns (cached)."""
	key = f"simple_crm:search_index:{doctype}"
	cached = frappe.cache.get_value(key)
	if cached is None:
		columns = frappe.db.sql_list(
			"""select `column_name` from information_schema.statistics
			where `table_schema` = database() and `table_name` = %(table)s and `index_name` = %(index)s
			order by `seq_in_index`""",
			{"table": f"tab{doctype}", "index": SEARCH_INDEX_NAME},
		)
		cached = int(tuple(columns) == SEARCH_INDEX[doctype])
		frappe.cache.set_value(key, cached, expires_in_sec=3600)
	return bool(cached)


def add_search_indexes() -> None:
	"""The FULLTEXT index of every doctype of SEARCH_INDEX (after_migrate; made once, fixed if its columns
	changed)."""
	for doctype, columns in SEARCH_INDEX.items():
		frappe.cache.delete_value(f"simple_crm:search_index:{doctype}")
		if has_search_index(doctype):
			continue
		table = f"tab{doctype}"
		if frappe.db.sql(f"show index from `{table}` where Key_name = %s", SEARCH_INDEX_NAME):
			frappe.db.sql_ddl(f"alter table `{table}` drop index `{SEARCH_INDEX_NAME}`")
		cols = ", ".join(f"`{c}`" for c in columns)
		frappe.db.sql_ddl(f"alter table `{table}` add fulltext index `{SEARCH_INDEX_NAME}` ({cols})")
		frappe.cache.delete_value(f"simple_crm:search_index:{doctype}")


# --- global search ----------------------------------------------------------------------------------

GLOBAL_SEARCH_BATCH = 50
GLOBAL_SEARCH_MAX_ROUNDS = 20


@frappe.whitelist()
def global_search(text: str, start: int = 0, limit: int = 20, doctype: str = ""):
	"""Frappe's global search (the Desk's search bar), with the row-level rules applied.

	Frappe's own search only asks whether the user may read a doctype at all, then returns the indexed
	text of every record of it: a sales manager would read the content of colleagues' deals. This
	wrapper (`override_whitelisted_methods` in hooks.py) pages through Frappe's results and keeps the
	rows the user may see, so a page holds `limit` visible results when there are that many.

	Leads, clients, contact persons, counterparties and deals come first, found by phone (typed in any
	form), e-mail, INN, the beginning of a name or their id through the CRM's own indexes
	(simple_crm.permissions.search_bar); Frappe's index adds the rest."""
	from frappe.utils.global_search import search

	from simple_crm.permissions.search_bar import record_results

	start, limit = max(cint(start), 0), cint(limit) or 20
	wanted = start + limit
	visible = record_results(text, doctype)
	seen = {(r["doctype"], r["name"]) for r in visible}
	offset = 0
	for _round in range(GLOBAL_SEARCH_MAX_ROUNDS):
		rows = search(text, start=offset, limit=GLOBAL_SEARCH_BATCH, doctype=doctype)
		fresh = [r for r in rows if (r.doctype, r.name) not in seen]
		seen.update((r.doctype, r.name) for r in fresh)
		visible.extend(keep_visible(fresh))
		if len(visible) >= wanted or not rows:
			break
		offset += GLOBAL_SEARCH_BATCH
	return visible[start:wanted]


def keep_visible(rows: list[dict]) -> list[dict]:
	"""The rows (each with `doctype` and `name`) whose record the session user may list.

	Every doctype goes through `frappe.get_list`, one query per doctype: the CRM's records under their
	row-level rules, and the rows of other doctypes (a colleague's ToDo or Note, whose text names a record,
	is in Frappe's index for everyone who may read ToDos) under their own conditions."""
	names: dict[str, list[str]] = {}
	for row in rows:
		names.setdefault(row.get("doctype"), []).append(row.get("name"))
	listed: dict[str, set] = {}
	for doctype, chunk in names.items():
		try:
			listed[doctype] = set(
				frappe.get_list(doctype, filters={"name": ("in", chunk)}, pluck="name", limit=0)
			)
		except frappe.PermissionError:
			frappe.clear_last_message()
			listed[doctype] = set()
	return [r for r in rows if r.get("name") in listed.get(r.get("doctype"), ())]


@frappe.whitelist()
def get_count(doctype: str, filters=None, debug=False, cache=False) -> int:
	"""`frappe.client.get_count` that counts only what the user may list.

	Frappe v15 answers it with `frappe.db.count`, without any permission check, so anyone could count a
	colleague's deals matching any filter (and so learn what they contain), or any other doctype's rows
	(assignments, files, notifications of others). The count goes through `frappe.get_list` for every
	doctype: row-level rules, role permissions and Frappe's own conditions apply, and a doctype the user
	may not list answers 403. Child tables of the row-level doctypes are counted under their parent."""
	from frappe.client import get_safe_filters

	filters = get_safe_filters(filters)
	if frappe.session.user == "Administrator":
		return frappe.db.count(doctype, filters, cache=cache)
	parents = [] if doctype in ROW_LEVEL_DOCTYPES else parents_of(doctype)
	rows = frappe.get_list(
		doctype,
		filters=filters,
		fields=["count(*) as total"],
		parent_doctype=parents[0] if parents else None,
		as_list=True,
	)
	return cint(rows[0][0]) if rows else 0
