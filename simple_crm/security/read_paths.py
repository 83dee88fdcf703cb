"""Read paths beside lists and forms, held to the CRM's row-level rules.

A sales manager must learn nothing about a record she cannot see: not its name, title or values, not
even a count that moves with them. Frappe answers several requests without asking the row-level rules:

- rows of Frappe's own doctypes that describe a record (attachments, workflow actions, assignments,
  comments, versions, tags, follows, energy points, discussions, repeats): `reference_query` /
  `reference_permission` (permission_query_conditions and has_permission in hooks.py) make each such row
  follow the visibility of the record it describes, one uncorrelated sub-query per row-level doctype; a
  discussion's reply follows its topic (`reply_query` / `reply_permission`);
- a tag (`Tag`, whose text is often a client's name or a note about a deal) is listed and read when it is
  used on a row the user lists or on no CRM record at all (`tag_query` / `tag_permission`): one
  uncorrelated sub-query over Tag Link, on the index `add_reference_indexes` adds;
- attachments of CRM records are kept private (`make_attachment_private`): Frappe serves public files to
  anyone and lists them without asking whose record they belong to;
- whitelisted methods that read a record by name or count with raw SQL are replaced
  (override_whitelisted_methods): `get_link_title`, `get_group_by_count`, `get_open_count`, `get_next`,
  and the kanban card moves (the Desk's search bar: simple_crm.permissions.search.global_search);
- messages about other records name them only to those who can see them (`shown`, `shown_list`).
"""

import json

import frappe
from frappe import _
from frappe.model import default_fields

from simple_crm.permissions import (
	ROW_LEVEL_DOCTYPES,
	condition_for,
	keep_visible,
	record_visible,
	row_condition_for,
	sees_everything,
)
from simple_crm.security.input import existing_doctype, json_argument

# Frappe's doctypes whose rows describe another record: doctype -> (field naming its doctype, its name)
REFERENCE_FIELDS = {
	"File": ("attached_to_doctype", "attached_to_name"),
	"Workflow Action": ("reference_doctype", "reference_name"),
	"ToDo": ("reference_type", "reference_name"),
	"Comment": ("reference_doctype", "reference_name"),
	"Communication": ("reference_doctype", "reference_name"),
	"Version": ("ref_doctype", "docname"),
	"Tag Link": ("document_type", "document_name"),
	"Document Follow": ("ref_doctype", "ref_docname"),
	"Energy Point Log": ("reference_doctype", "reference_name"),
	"Discussion Topic": ("reference_doctype", "reference_docname"),
	# a repeat of a task (simple_crm.security.auto_repeat)
	"Auto Repeat": ("reference_doctype", "reference_document"),
}


class CardNotVisibleError(frappe.PermissionError):
	pass


# --- rows about a record ------------------------------------------------------------------------------


def reference_condition(doctype: str, user: str | None = None) -> str:
	"""SQL condition: the row of `doctype` describes no row-level record, or one `user` can see."""
	type_field, name_field = REFERENCE_FIELDS[doctype]
	table = f"`tab{doctype}`"
	parts = []
	for target in ROW_LEVEL_DOCTYPES:
		condition = condition_for(target, user)
		if condition:
			parts.append(
				f"(ifnull({table}.`{type_field}`, '') != {frappe.db.escape(target)} "
				f"or {table}.`{name_field}` in (select `tab{target}`.`name` from `tab{target}` where {condition}))"
			)
	return "({})".format(" and ".join(parts)) if parts else ""


def reference_query(user: str | None = None, doctype: str | None = None) -> str:
	return reference_condition(doctype, user) if doctype in REFERENCE_FIELDS else ""


def reference_permission(doc, ptype: str | None = None, user: str | None = None) -> bool | None:
	"""Refuses a stored row describing a record the user cannot see; otherwise Frappe decides (None: this
	hook runs before Frappe's own for these doctypes and must never grant)."""
	type_field, name_field = REFERENCE_FIELDS.get(doc.get("doctype"), (None, None))
	if not type_field or doc.get("__islocal") or not doc.get("name"):
		return None
	target, name = doc.get(type_field), doc.get(name_field)
	if target not in ROW_LEVEL_DOCTYPES or not name:
		return None
	return None if _matches(target, name, user or frappe.session.user) else False


def _matches(doctype: str, name: str, user: str) -> bool:
	condition = row_condition_for(doctype, user)
	return not condition or _visible_row(doctype, name, condition)


def _visible_row(doctype: str, name: str, condition: str) -> bool:
	table = f"`tab{doctype}`"
	return bool(
		frappe.db.sql(f"select {table}.name from {table} where {table}.name = %s and {condition}", name)
	)


# --- tags and discussion replies: rows whose visibility comes from rows about a record -------------------


def tag_condition(user: str | None = None) -> str:
	"""SQL condition on Tag: the tag is on no CRM record, or on a Tag Link row the user lists (a row of
	another doctype's record, or of a CRM record she can see). A tag only on records she cannot see is
	hidden. Both sub-queries are uncorrelated: MariaDB reads each once per query, on Tag Link's index."""
	links = reference_condition("Tag Link", user)
	if not links:
		return ""
	crm_doctypes = ", ".join(frappe.db.escape(doctype) for doctype in ROW_LEVEL_DOCTYPES)
	return (
		"(`tabTag`.`name` not in (select `tag` from `tabTag Link` "
		f"where `document_type` in ({crm_doctypes}) and `tag` is not null) "
		f"or `tabTag`.`name` in (select `tabTag Link`.`tag` from `tabTag Link` where {links}))"
	)


def tag_query(user: str | None = None, doctype: str | None = None) -> str:
	return tag_condition(user)


def tag_permission(doc, ptype: str | None = None, user: str | None = None) -> bool | None:
	"""has_permission of Tag: a stored tag the user would not list is refused (every ptype); otherwise
	Frappe decides."""
	if doc.get("__islocal") or not doc.get("name"):
		return None
	condition = tag_condition(user or frappe.session.user)
	if not condition or _visible_row("Tag", doc.get("name"), condition):
		return None
	return False


def reply_condition(user: str | None = None) -> str:
	"""SQL condition on Discussion Reply: the reply's topic is one the user lists (or it has none)."""
	topics = reference_condition("Discussion Topic", user)
	if not topics:
		return ""
	return (
		"(ifnull(`tabDiscussion Reply`.`topic`, '') = '' or `tabDiscussion Reply`.`topic` in "
		f"(select `tabDiscussion Topic`.`name` from `tabDiscussion Topic` where {topics}))"
	)


def reply_query(user: str | None = None, doctype: str | None = None) -> str:
	return reply_condition(user)


def reply_permission(doc, ptype: str | None = None, user: str | None = None) -> bool | None:
	"""has_permission of Discussion Reply: a stored reply in a discussion of a record the user cannot see
	is refused; otherwise Frappe decides."""
	if doc.get("__islocal") or not doc.get("name") or not doc.get("topic"):
		return None
	topic = frappe.db.get_value(
		"Discussion Topic", doc.get("topic"), ["name", "reference_doctype", "reference_docname"], as_dict=True
	)
	if not topic:
		return None
	return reference_permission(frappe._dict(topic, doctype="Discussion Topic"), ptype, user)


def add_reference_indexes() -> None:
	"""Indexes the sub-queries above read: Tag Link by record and tag, a discussion by record, a reply by
	topic (Frappe declares none of them)."""
	frappe.db.add_index(
		"Tag Link", ["document_type", "document_name", "tag"], index_name="crm_reference_index"
	)
	frappe.db.add_index("Tag Link", ["tag", "document_type"], index_name="crm_tag_index")
	frappe.db.add_index(
		"Discussion Topic", ["reference_doctype", "reference_docname"], index_name="crm_reference_index"
	)
	frappe.db.add_index("Discussion Reply", ["topic"], index_name="crm_topic_index")


def make_attachment_private(doc, method=None) -> None:
	"""File after_insert: an attachment of a CRM record is private.

	Frappe lists every public file to every desk user (its own condition for File lets `is_private = 0`
	through before any app's condition applies) and serves it to anyone holding the URL. A file whose
	content another File row shares (Frappe reuses the stored file for equal content) stays where it is."""
	if doc.is_private or doc.is_folder or doc.attached_to_doctype not in ROW_LEVEL_DOCTYPES:
		return
	if not doc.file_url or not doc.file_url.startswith("/files/"):
		return
	if frappe.db.exists("File", {"file_url": doc.file_url, "name": ("!=", doc.name)}):
		return
	doc.is_private = 1
	doc.save(ignore_permissions=True)


# --- whitelisted replacements (override_whitelisted_methods in hooks.py) ---------------------------------


@frappe.whitelist()
def get_link_title(doctype: str, docname: str):
	"""`frappe.desk.search.get_link_title`, which reads the title of any record by name: a record the user
	cannot see is answered as one that does not exist."""
	from frappe.desk.search import get_link_title as frappe_get_link_title

	if doctype in ROW_LEVEL_DOCTYPES and not record_visible(doctype, docname):
		return None if frappe.get_meta(doctype).show_title_field_in_link else docname
	return frappe_get_link_title(doctype, docname)


@frappe.whitelist()
def get_group_by_count(doctype: str, current_filters: str, field: str) -> list[dict]:
	"""`frappe.desk.listview.get_group_by_count`. For `assigned_to` Frappe counts the assignments of every
	record matching the filters with a raw query, without any permission: an oracle for any field of any
	record. Here the records counted are the ones `frappe.get_list` gives the user."""
	from frappe.desk.listview import get_group_by_count as frappe_get_group_by_count

	existing_doctype(doctype)
	current_filters = json.dumps(json_argument(current_filters, "current_filters", (dict, list)))
	if field != "assigned_to":
		return frappe_get_group_by_count(doctype, current_filters, field)
	visible = frappe.get_list(
		doctype,
		filters=frappe.parse_json(current_filters),
		fields=[f"`tab{doctype}`.`name`"],
		order_by="",
		limit_page_length=0,
		run=False,
	)
	return frappe.db.sql(
		f"""select `tabToDo`.`allocated_to` as name, count(*) as count
		from `tabToDo` join `tabUser` on `tabUser`.`name` = `tabToDo`.`allocated_to`
		where `tabToDo`.`status` != 'Cancelled' and `tabUser`.`user_type` = 'System User'
			and `tabToDo`.`reference_type` = %(doctype)s and `tabToDo`.`reference_name` in ({visible})
		group by `tabToDo`.`allocated_to`
		order by count desc
		limit 50""",
		{"doctype": doctype},
		as_dict=True,
	)


@frappe.whitelist()
@frappe.read_only()
def get_open_count(doctype: str, name: str, items=None):
	"""`frappe.desk.notifications.get_open_count` (the counts of a form's dashboard). Frappe counts the
	linked records with `frappe.get_all`, whoever they belong to; here they are counted as the user lists
	them. Doctypes the dashboard does not show are not counted (Frappe fails on them with a 500)."""
	from frappe.desk import notifications

	meta = frappe.get_meta(doctype)
	links = meta.get_dashboard_data()
	shown_items = [item for group in links.transactions for item in group.get("items")]
	if items is not None:
		items = frappe.parse_json(items)
		items = [item for item in items if item in shown_items] if isinstance(items, list) else []
	out = notifications.get_open_count(doctype, name, items)
	for row in out.get("count", {}).get("external_links_found", []):
		row.update(_linked_counts(row["doctype"], name, links))
	return out


def _linked_counts(doctype: str, name: str, links) -> dict:
	from frappe.desk import notifications

	if not frappe.has_permission(doctype, "read"):
		return {"count": 0, "open_count": 0}
	fieldname = links.get("non_standard_fieldnames", {}).get(doctype, links.get("fieldname"))
	filters = {fieldname: name}
	if dynamic_link_filters := notifications.get_dynamic_link_filters(doctype, links, fieldname):
		filters.update(dynamic_link_filters)
	counts = {"count": _count(doctype, filters), "open_count": 0}
	if open_filters := notifications.get_filters_for(doctype):
		counts["open_count"] = _count(doctype, {**filters, **open_filters})
	return counts


def _count(doctype: str, filters: dict) -> int:
	# Frappe's dashboard stops counting at 100
	return len(frappe.get_list(doctype, filters=filters, pluck="name", limit=100, distinct=True))


@frappe.whitelist()
def get_next(
	doctype: str,
	value: str,
	prev: int,
	filters: str | list | None = None,
	sort_order: str = "desc",
	sort_field: str = "modified",
):
	"""`frappe.desk.form.utils.get_next` (the form's previous/next arrows). Frappe reads `sort_field` of
	record `value` without any permission and compares the user's records with it: given a colleague's
	deal and `amount`, an oracle for its amount. The record must be visible and the field a real one."""
	from frappe.desk.form.utils import get_next as frappe_get_next

	meta = frappe.get_meta(doctype)
	if sort_field not in default_fields and not meta.get_field(sort_field):
		frappe.throw(_("{0} is not a field of {1}").format(sort_field, _(doctype)), frappe.ValidationError)
	if str(sort_order).lower() not in ("asc", "desc"):
		frappe.throw(_("Sort order must be asc or desc"), frappe.ValidationError)
	if doctype in ROW_LEVEL_DOCTYPES and not record_visible(doctype, value):
		frappe.throw(_("You cannot see {0} {1}").format(_(doctype), value), frappe.PermissionError)
	return frappe_get_next(doctype, value, prev, filters, sort_order, sort_field)


# the kanban board: a card is a record; a board is shared by everyone who sees its doctype


@frappe.whitelist()
def update_order(board_name: str, order: str):
	from frappe.desk.doctype.kanban_board import kanban_board

	board = frappe.get_doc("Kanban Board", board_name)
	cards = [card for column in _parse_order(order).values() for card in column or []]
	_check_cards(board.reference_doctype, cards)
	return kanban_board.update_order(board_name, order)


@frappe.whitelist()
def update_order_for_single_card(
	board_name: str,
	docname: str,
	from_colname: str,
	to_colname: str,
	old_index,
	new_index,
	lost_reason: str | None = None,
	lost_comment: str | None = None,
):
	"""A card moved on a board. A move into a lost column may bring the reason the Desk asked for
	(`lost_reason`, `lost_comment`): the record takes them and its new column in one save, which its own rules
	check (the reason must exist and apply, the move must be allowed to the user)."""
	from frappe.desk.doctype.kanban_board import kanban_board

	board = frappe.get_doc("Kanban Board", board_name)
	_check_cards(board.reference_doctype, [docname])
	_check_columns(board, from_colname, to_colname)
	if lost_reason:
		return _move_with_lost_reason(board, docname, to_colname, lost_reason, lost_comment)
	return kanban_board.update_order_for_single_card(
		board_name, docname, from_colname, to_colname, old_index, new_index
	)


def _move_with_lost_reason(board, docname: str, to_colname: str, lost_reason: str, lost_comment: str | None):
	meta = frappe.get_meta(board.reference_doctype)
	if board.reference_doctype not in ROW_LEVEL_DOCTYPES or not meta.has_field("lost_reason"):
		frappe.throw(
			_("{0} records have no lost reason").format(_(board.reference_doctype)), frappe.ValidationError
		)
	doc = frappe.get_doc(board.reference_doctype, docname)
	doc.check_permission("write")
	doc.lost_reason = lost_reason
	if lost_comment is not None and meta.has_field("lost_comment"):
		doc.lost_comment = lost_comment
	doc.set(board.field_name, to_colname)
	doc.save()
	# a board of a row-level doctype keeps no order of cards (forget_card_order): nothing else to save
	return board


@frappe.whitelist()
def add_card(board_name: str, docname: str, colname: str):
	from frappe.desk.doctype.kanban_board import kanban_board

	board = frappe.get_doc("Kanban Board", board_name)
	_check_cards(board.reference_doctype, [docname])
	_check_columns(board, colname)
	return kanban_board.add_card(board_name, docname, colname)


def _parse_order(order) -> dict:
	try:
		parsed = frappe.parse_json(order)
	except ValueError:
		parsed = None
	if not isinstance(parsed, dict) or not all(isinstance(v, list | type(None)) for v in parsed.values()):
		frappe.throw(
			_("The order of the cards must map each column to a list of cards"), frappe.ValidationError
		)
	return parsed


def _check_cards(doctype: str, cards: list) -> None:
	"""Every card moved or placed is a record the user sees (and, under the row-level rules, may change);
	one answer for a colleague's record and for one that does not exist."""
	if doctype not in ROW_LEVEL_DOCTYPES:
		return
	frappe.has_permission(doctype, "write", throw=True)
	for card in cards:
		if not isinstance(card, str) or not record_visible(doctype, card):
			frappe.throw(
				_("Only cards of records you can see can be moved on the board"),
				CardNotVisibleError,
				title=_("Not Permitted"),
			)


def _check_columns(board, *columns: str) -> None:
	known = {column.column_name for column in board.columns}
	for column in columns:
		if column not in known:
			frappe.throw(
				_("{0} is not a column of board {1}").format(column, board.name), frappe.ValidationError
			)


def forget_card_order(doc, method=None) -> None:
	"""Kanban Board validate: a board of a row-level doctype keeps no order of cards. Every user sees other
	cards on it, and the order, readable by all of them, would list the names of records they cannot see;
	the cards show in the list's order instead."""
	if doc.reference_doctype in ROW_LEVEL_DOCTYPES:
		for column in doc.columns:
			column.order = "[]"


# --- messages that mention other records --------------------------------------------------------------------


def shown(doctype: str, name: str | None) -> str:
	"""`name` in bold when the session user can see the record, else words that name nothing."""
	if not name:
		return frappe.bold(_("(none)"))
	if sees_record(doctype, name):
		return frappe.bold(name)
	return _("a record you cannot see")


def shown_list(doctype: str, names: list[str], render=frappe.bold) -> str:
	"""The names the user can see, rendered, and how many others there are."""
	visible = [n for n in names if sees_record(doctype, n)]
	hidden = len(names) - len(visible)
	parts = [render(n) for n in visible]
	if hidden:
		parts.append(_("{0} you cannot see").format(hidden))
	return ", ".join(parts)


def sees_record(doctype: str, name: str) -> bool:
	user = frappe.session.user
	if doctype not in ROW_LEVEL_DOCTYPES or sees_everything(user):
		return True
	return record_visible(doctype, name, user)


def responsible_name(user: str | None) -> str:
	return frappe.utils.get_fullname(user) if user else _("nobody")
