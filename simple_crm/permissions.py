"""Row-level visibility of CRM records.

One SQL condition per doctype, built here and used three times: by `permission_query_conditions` (list
views, Report Builder, reports, REST lists, exports, kanban, number cards), by `has_permission`
(opening, saving, deleting one record) and by the link search (`standard_queries`), so a record is
visible through every path or through none. These hooks can only restrict what the role permissions
(DocPerm) already allow.

- System Manager, CRM Administrator and CRM Director see everything.
- A head of sales sees the records of their team (CRM Sales Team: head + members) and their own,
  plus leads nobody is responsible for yet (to distribute them).
- Everyone else (a sales manager) sees the records they are responsible for, co-manage (deals) or are
  assigned to (Frappe assignments), and what hangs off those (counterparties and orders of their
  clients, contacts linked to their clients).

The conditions are plain `column in (...)` tests and uncorrelated sub-queries over indexed columns
(responsible, client, deal, CRM Deal Manager.user), so MariaDB materialises each sub-query once per list
query instead of once per row.
"""

import frappe
from frappe import _
from frappe.desk.search import relevance_sorter
from frappe.utils import cint, cstr, flt

FULL_ACCESS_ROLES = frozenset({"System Manager", "CRM Administrator", "CRM Director"})
HEAD_OF_SALES = "CRM Head of Sales"
SALES_MANAGER = "CRM Sales Manager"
CRM_ROLES = frozenset({HEAD_OF_SALES, SALES_MANAGER, *FULL_ACCESS_ROLES} - {"System Manager"})
ROW_LEVEL_DOCTYPES = (
	"CRM Lead",
	"CRM Deal",
	"CRM Client",
	"CRM Counterparty",
	"CRM Order",
	"CRM Task",
	"CRM Call",
	"Contact",
)


def sees_everything(user: str) -> bool:
	if user == "Administrator":
		return True
	return bool(FULL_ACCESS_ROLES.intersection(frappe.get_roles(user)))


def team_users(user: str) -> list[str]:
	"""The user plus, for a head of sales, the members of every active team they lead."""
	users = {user}
	if HEAD_OF_SALES in frappe.get_roles(user):
		team = frappe.qb.DocType("CRM Sales Team")
		member = frappe.qb.DocType("CRM Sales Team Member")
		rows = (
			frappe.qb.from_(member)
			.join(team)
			.on(member.parent == team.name)
			.select(member.user)
			.where((team.head == user) & (team.disabled == 0) & (member.parenttype == "CRM Sales Team"))
			.run(pluck=True)
		)
		users.update(row for row in rows if row)
	return sorted(users)


# --- SQL building blocks (every value goes through frappe.db.escape) -----------------------------------


def _in(users: list[str]) -> str:
	# never empty: `users` always holds the user themself
	return "({})".format(", ".join(frappe.db.escape(u) for u in users))


def _assigned(doctype: str, user: str) -> str:
	"""The record is assigned to `user` (Frappe's `_assign` holds a JSON list of users)."""
	pattern = '%"{}"%'.format(user.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_"))
	return f"`tab{doctype}`.`_assign` like {frappe.db.escape(pattern)}"


def _deal_sources(u: str) -> list[str]:
	"""Sub-queries each returning names of deals the users are responsible for or co-manage."""
	return [
		f"select `name` from `tabCRM Deal` where `responsible` in {u}",
		f"select `parent` from `tabCRM Deal Manager` where `parenttype` = 'CRM Deal' and `user` in {u}",
	]


def _client_sources(u: str) -> list[str]:
	"""Sub-queries each returning names of clients the users are responsible for or have deals with."""
	return [
		f"select `name` from `tabCRM Client` where `responsible` in {u}",
		f"select `client` from `tabCRM Deal` where `responsible` in {u} and `client` is not null",
		(
			"select `tabCRM Deal`.`client` from `tabCRM Deal Manager` join `tabCRM Deal` "
			"on `tabCRM Deal`.`name` = `tabCRM Deal Manager`.`parent` "
			"where `tabCRM Deal Manager`.`parenttype` = 'CRM Deal' "
			f"and `tabCRM Deal Manager`.`user` in {u} and `tabCRM Deal`.`client` is not null"
		),
	]


def _column_in(column: str, sources: list[str]) -> list[str]:
	return [f"{column} in ({source})" for source in sources]


def condition_for(doctype: str, user: str | None = None) -> str:
	"""SQL condition limiting `doctype` to what `user` may see ("" when unrestricted)."""
	user = user or frappe.session.user
	if doctype not in ROW_LEVEL_DOCTYPES or sees_everything(user):
		return ""
	roles = frappe.get_roles(user)
	if doctype == "Contact" and not CRM_ROLES.intersection(roles):
		return ""  # Contact belongs to Frappe: only CRM users are narrowed
	u = _in(team_users(user))
	t = f"`tab{doctype}`"

	if doctype == "CRM Lead":
		parts = [f"{t}.`responsible` in {u}"]
		if HEAD_OF_SALES in roles:
			parts.append(f"ifnull({t}.`responsible`, '') = ''")
	elif doctype == "CRM Deal":
		parts = [f"{t}.`responsible` in {u}", *_column_in(f"{t}.`name`", _deal_sources(u)[1:])]
	elif doctype == "CRM Client":
		parts = [f"{t}.`responsible` in {u}", *_column_in(f"{t}.`name`", _client_sources(u)[1:])]
	elif doctype == "CRM Counterparty":
		parts = [f"{t}.`owner` in {u}", *_column_in(f"{t}.`client`", _client_sources(u))]
	elif doctype == "CRM Order":
		parts = [
			*_column_in(f"{t}.`client`", _client_sources(u)),
			*_column_in(f"{t}.`deal`", _deal_sources(u)),
		]
	elif doctype == "CRM Task":
		parts = [f"{t}.`assigned_to` in {u}", f"{t}.`author` in {u}"]
	elif doctype == "CRM Call":
		parts = [f"{t}.`manager` in {u}"]
	else:  # Contact
		linked_clients = " or ".join(_column_in("`tabDynamic Link`.`link_name`", _client_sources(u)))
		parts = [
			f"{t}.`crm_responsible` in {u}",
			f"{t}.`owner` in {u}",
			(
				f"{t}.`name` in (select `tabDynamic Link`.`parent` from `tabDynamic Link` "
				"where `tabDynamic Link`.`parenttype` = 'Contact' "
				f"and `tabDynamic Link`.`link_doctype` = 'CRM Client' and ({linked_clients}))"
			),
		]
	parts.append(_assigned(doctype, user))
	return "({})".format(" or ".join(parts))


def child_condition(doctype: str, user: str | None = None) -> str:
	"""Rows of a child table are visible when their parent is.

	Frappe lists child rows (`frappe.get_list("CRM Deal Item", parent_doctype="CRM Deal")`, REST
	`/api/resource/CRM Deal Item?parent=CRM Deal`) checking only the parent's role permission, not the
	parent's row-level condition; without this, deal items, co-managers or the phones of every contact
	would be readable by every sales manager. A child doctype used by other parents too (Dynamic Link) is
	only narrowed for the rows of the row-level parents."""
	user = user or frappe.session.user
	table = f"`tab{doctype}`"
	parts = []
	for parent in parents_of(doctype):
		condition = condition_for(parent, user)
		if condition:
			parts.append(
				f"({table}.`parenttype` != {frappe.db.escape(parent)} or {table}.`parent` in "
				f"(select `tab{parent}`.`name` from `tab{parent}` where {condition}))"
			)
	return " and ".join(parts)


def parents_of(child_doctype: str) -> list[str]:
	return [
		parent
		for parent in ROW_LEVEL_DOCTYPES
		if any(df.options == child_doctype for df in frappe.get_meta(parent).get_table_fields())
	]


def set_default_responsible(doc, fieldname: str = "responsible") -> None:
	"""A new record created by someone who does not see everything is theirs unless they chose someone:
	otherwise a sales manager's own new lead or client would vanish from their lists the moment it is
	saved. Web forms (Guest), the Administrator and full-access users leave it to distribution."""
	user = frappe.session.user
	if not doc.is_new() or doc.get(fieldname) or user in ("Guest", "Administrator"):
		return
	if not CRM_ROLES.intersection(frappe.get_roles(user)) or sees_everything(user):
		return
	doc.set(fieldname, user)


class LinkNotVisibleError(frappe.PermissionError):
	pass


def record_visible(doctype: str, name: str, user: str | None = None) -> bool:
	"""Whether `user` may read the stored record (role permission and row-level condition), in one query."""
	user = user or frappe.session.user
	if not frappe.has_permission(doctype, "read", user=user):
		return False
	return _row_matches(doctype, name, condition_for(doctype, user) or "1 = 1")


def _row_matches(doctype: str, name: str, condition: str) -> bool:
	table = f"`tab{doctype}`"
	return bool(
		frappe.db.sql(f"select {table}.name from {table} where {table}.name = %s and {condition}", name)
	)


def check_links_visible(doc, method=None) -> None:
	"""A record may point only at records its author can see (validate hook of the row-level doctypes).

	Otherwise a sales manager could hang a task, a call, a contact or a counterparty on a colleague's deal
	or client, learn from the answer that it exists, and put their own data on its timeline. Only links
	that are new or changed are checked: a record that already points somewhere stays editable. Work
	moved by the system (hand-over, conversion, integrations) runs with ignore_permissions and is not
	checked."""
	user = frappe.session.user
	if doc.flags.ignore_permissions or user == "Administrator" or sees_everything(user):
		return
	before = None if doc.is_new() else doc.get_doc_before_save()
	targets = set(_link_values(doc)) - (set(_link_values(before)) if before else set())
	for doctype, name in sorted(targets):
		if frappe.db.exists(doctype, name) and not record_visible(doctype, name, user):
			frappe.throw(
				_("{0} {1} is not one of the records you can see, so it cannot be linked here").format(
					_(doctype), frappe.bold(name)
				),
				LinkNotVisibleError,
				title=_("Not Permitted"),
			)


def _link_values(doc) -> list[tuple[str, str]]:
	"""(doctype, name) of every row-level record `doc` and its child rows link to."""
	out = []
	for row in [doc, *doc.get_all_children()]:
		for df in row.meta.get_link_fields() + row.meta.get_dynamic_link_fields():
			value = row.get(df.fieldname)
			target = df.options if df.fieldtype == "Link" else row.get(df.options)
			if value and target in ROW_LEVEL_DOCTYPES:
				out.append((target, value))
	return out


NUMERIC_FIELDTYPES = frozenset({"Currency", "Float", "Int", "Percent", "Check"})


class FieldNotWritableError(frappe.PermissionError):
	pass


def refuse_unwritable_fields(doc) -> None:
	"""A value sent for a field above the user's permission level (turnover, debt: filled by the
	accounting exchange) is refused with a message. Frappe itself would silently put the stored value back,
	and whoever sent it over REST or an import would never learn it was dropped.

	Called from the controllers' `validate_higher_perm_levels`, before Frappe's own reset."""
	if doc.flags.ignore_permissions or frappe.flags.in_install or frappe.session.user == "Administrator":
		return
	access = doc.get_permlevel_access()
	fields = [df for df in doc.meta.get_high_permlevel_fields() if df.permlevel not in access]
	if not fields:
		return
	reference = frappe.new_doc(doc.doctype) if doc.is_new() else doc.get_latest()
	changed = [df for df in fields if not _same_value(df, doc.get(df.fieldname), reference.get(df.fieldname))]
	if changed:
		frappe.throw(
			_("You cannot change {0}: these fields are filled in by the accounting system").format(
				", ".join(frappe.bold(_(df.label)) for df in changed)
			),
			FieldNotWritableError,
			title=_("Not Permitted"),
		)


def _same_value(df, value, stored) -> bool:
	if df.fieldtype in NUMERIC_FIELDTYPES:
		return flt(value) == flt(stored)
	return cstr(value) == cstr(stored)


def has_permission(doc, ptype: str | None = None, user: str | None = None) -> bool | None:
	"""The same condition, checked for one stored record; None leaves the decision to Frappe.

	A record not saved yet has no row to check: creating is governed by the role permissions alone."""
	user = user or frappe.session.user
	doctype, name = doc.get("doctype"), doc.get("name")
	if not doctype or not name or doc.get("__islocal"):
		return None
	condition = condition_for(doctype, user)
	if not condition:
		return None
	if _row_matches(doctype, name, condition):
		return True
	# a document that is not stored (yet) is not refused here
	return None if not frappe.db.exists(doctype, name) else False


# --- hooks.py wires these per doctype --------------------------------------------------------------


def lead_query(user=None):
	return condition_for("CRM Lead", user)


def deal_query(user=None):
	return condition_for("CRM Deal", user)


def client_query(user=None):
	return condition_for("CRM Client", user)


def counterparty_query(user=None):
	return condition_for("CRM Counterparty", user)


def order_query(user=None):
	return condition_for("CRM Order", user)


def task_query(user=None):
	return condition_for("CRM Task", user)


def call_query(user=None):
	return condition_for("CRM Call", user)


def contact_query(user=None):
	return condition_for("Contact", user)


def child_query(user=None, doctype=None):
	return child_condition(doctype, user) if doctype else ""


# --- link search ------------------------------------------------------------------------------------

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
	"""The rows (each with `doctype` and `name`) whose record the session user may see."""
	names: dict[str, list[str]] = {}
	for row in rows:
		names.setdefault(row.get("doctype"), []).append(row.get("name"))
	# one condition and one query per doctype; doctypes without row-level rules are kept as they are
	allowed = {
		doctype: set(frappe.get_list(doctype, filters={"name": ("in", chunk)}, pluck="name", limit=0))
		for doctype, chunk in names.items()
		if condition_for(doctype)
	}
	return [r for r in rows if r.get("doctype") not in allowed or r.get("name") in allowed[r.get("doctype")]]


@frappe.whitelist()
def get_count(doctype: str, filters=None, debug=False, cache=False) -> int:
	"""`frappe.client.get_count` that respects permissions for the CRM's records.

	Frappe v15 answers it with `frappe.db.count`, without any permission check, so anyone could count a
	colleague's deals matching any filter (and so learn what they contain). For the row-level doctypes and
	their child tables the count goes through `frappe.get_list`; other doctypes keep Frappe's behaviour."""
	from frappe.client import get_count as frappe_get_count
	from frappe.client import get_safe_filters

	parents = [] if doctype in ROW_LEVEL_DOCTYPES else parents_of(doctype)
	if doctype not in ROW_LEVEL_DOCTYPES and not parents:
		return frappe_get_count(doctype, filters, debug, cache)
	rows = frappe.get_list(
		doctype,
		filters=get_safe_filters(filters),
		fields=["count(*) as total"],
		parent_doctype=parents[0] if parents else None,
		as_list=True,
	)
	return cint(rows[0][0]) if rows else 0


# --- configuration a CRM administrator may touch ------------------------------------------------------

CRM_DOCTYPES_FOR_CONFIGURATION = (*ROW_LEVEL_DOCTYPES, "CRM Hand Over")


def _limited_to_crm(user: str) -> bool:
	roles = frappe.get_roles(user)
	return user != "Administrator" and "System Manager" not in roles and "CRM Administrator" in roles


def configuration_query(user=None, doctype=None) -> str:
	"""A CRM administrator who is not a System Manager sees and edits the workflows and assignment rules
	(both keep their target in `document_type`) of the CRM's doctypes only."""
	if not doctype or not _limited_to_crm(user or frappe.session.user):
		return ""
	names = ", ".join(frappe.db.escape(dt) for dt in CRM_DOCTYPES_FOR_CONFIGURATION)
	return f"`tab{doctype}`.`document_type` in ({names})"


def configuration_permission(doc, ptype: str | None = None, user: str | None = None) -> bool | None:
	if not _limited_to_crm(user or frappe.session.user):
		return None
	return None if doc.get("document_type") in CRM_DOCTYPES_FOR_CONFIGURATION else False
