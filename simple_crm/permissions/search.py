"""Link search, the Desk's search bar and counts, each under the row-level rules."""

import frappe
from frappe.desk.search import relevance_sorter
from frappe.utils import cint

from simple_crm.constants import ROW_LEVEL_DOCTYPES
from simple_crm.permissions.rules import condition_for, parents_of

SEARCHABLE_FIELDTYPES = frozenset(
	{"Data", "Text", "Small Text", "Long Text", "Link", "Select", "Read Only", "Text Editor"}
)


@frappe.whitelist()
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
	every deal. This search always goes through `frappe.get_list`, i.e. through the conditions above;
	otherwise it behaves like Frappe's: name, title and search fields matched with `like`, disabled
	records left out, the best match first."""
	meta = frappe.get_meta(doctype)
	fields = list(dict.fromkeys(["name", meta.title_field or "name", *meta.get_search_fields()]))
	fields = [f for f in fields if f == "name" or meta.get_field(f)]
	or_filters = []
	if txt:
		for fieldname in fields:
			df = meta.get_field(fieldname)
			if fieldname == "name" or (df and df.fieldtype in SEARCHABLE_FIELDTYPES):
				or_filters.append([doctype, fieldname, "like", f"%{txt}%"])
	if isinstance(filters, str):
		filters = frappe.parse_json(filters)
	if isinstance(filters, dict):
		filters = [
			[doctype, key, *(v if isinstance(v, list | tuple) else ("=", v))] for key, v in filters.items()
		]
	filters = list(filters or [])
	if meta.get_field("disabled"):
		filters.append([doctype, "disabled", "!=", 1])
	rows = frappe.get_list(
		doctype,
		filters=filters,
		or_filters=or_filters,
		fields=fields,
		limit_start=start,
		limit_page_length=page_len,
		order_by=f"`tab{doctype}`.idx desc, `tab{doctype}`.modified desc",
		as_list=not as_dict,
		reference_doctype=reference_doctype,
		strict=False,
	)
	return sorted(rows, key=lambda row: relevance_sorter(row, txt, as_dict))


# --- global search ----------------------------------------------------------------------------------

GLOBAL_SEARCH_BATCH = 50
GLOBAL_SEARCH_MAX_ROUNDS = 20


@frappe.whitelist()
def global_search(text: str, start: int = 0, limit: int = 20, doctype: str = ""):
	"""Frappe's global search (the Desk's search bar), with the row-level rules applied.

	Frappe's own search only asks whether the user may read a doctype at all, then returns the indexed
	text of every record of it: a sales manager would read the content of colleagues' deals. This
	wrapper (`override_whitelisted_methods` in hooks.py) pages through Frappe's results and keeps the
	rows the user may see, so a page holds `limit` visible results when there are that many."""
	from frappe.utils.global_search import search

	start, limit = max(cint(start), 0), cint(limit) or 20
	wanted = start + limit
	visible, seen = [], set()
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
