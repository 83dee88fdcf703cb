"""Every whitelisted method a hostile user could aim at a CRM record, and how the suite attacks it.

Which methods: `selected_methods()` imports every module of the `frappe` and `simple_crm` packages (test
modules, patches and commands aside; a module that fails to import is skipped), then keeps, of the
functions registered by `@frappe.whitelist`:

- every function of `simple_crm` (the app's endpoints all deal with CRM records);
- every function of `frappe` with a parameter named like a doctype, a record or a query
  (`SELECTING_PARAMETERS`), or whose source reads the request's form directly (`form_dict`,
  `get_form_params`: `frappe.desk.reportview.get` and the like take their arguments that way);
- plus `EXTRA_ENTRY_POINTS`, reachable over `/api/method/` without being in `frappe.whitelisted`, and
  `ALSO_SELECTED`, whose record arguments go by other names (a kanban board's `order` lists cards).

Whitelisted controller methods (`Class.method`) are included: they are reached through `run_doc_method`
on a document of their class, and a new one on a CRM doctype must be attacked like any endpoint.

`COVERAGE` maps each selected method to an `Attack` (the calls made, as each hostile user, once per
row-level doctype or once in all, with placeholders filled from the foreign records) or to
`NotApplicable(reason)`. A method added by a Frappe upgrade or by the app is not in `COVERAGE`, and the
suite fails until someone decides how to attack it. A function of the app that replaces a Frappe one
through `override_whitelisted_methods` is attacked with the calls of the method it replaces, at its own
path as well (`override_targets()`).

Placeholders, replaced in every string of a call (see `fill`):
`{dt}` the doctype attacked, `{dn}` the foreign record of that doctype, `{dn:DocType}` the foreign record
of another doctype, `{own}` / `{own:DocType}` a record of the attacker's own, `{title}` the title column of
`{dt}`, `{rel:DocType}` the row of DocType (File, Comment, ToDo, ...) describing the foreign record,
`{ownrel:DocType}` the row of DocType describing the attacker's own record, `{owner}` the foreign
records' owner, `{me}` the attacker, `{today}` today's date.
"""

import importlib
import inspect
import json
import pkgutil
from dataclasses import dataclass

import frappe

from simple_crm.tests.security.world import CHILD_TABLES, ROW_LEVEL

SELECTING_PARAMETERS = frozenset(
	{
		"doctype",
		"dt",
		"reference_doctype",
		"ref_doctype",
		"name",
		"docname",
		"dn",
		"doc_name",
		"names",
		"docnames",
		"fields",
		"fieldname",
		"filters",
		"or_filters",
		"current_filters",
		"order_by",
		"group_by",
		"sort_by",
		"doc",
		"docs",
		"args",
	}
)
EXTRA_ENTRY_POINTS = ("run_doc_method",)
# whitelisted methods whose record arguments go by other names (found by reading Frappe's source)
ALSO_SELECTED = (
	"frappe.desk.doctype.kanban_board.kanban_board.update_order",
	# renders a template against any record (reference_dt, reference_doc)
	"frappe.automation.doctype.auto_repeat.auto_repeat.generate_message_preview",
	# lists the e-mails of the contacts of the record an Auto Repeat sent by the client names
	"frappe.automation.doctype.auto_repeat.auto_repeat.AutoRepeat.fetch_linked_contacts",
)
SKIPPED_MODULE_PARTS = ("tests", "patches", "commands", "test_runner", "testing")

TITLE = {
	"CRM Lead": "lead_name",
	"CRM Deal": "deal_name",
	"CRM Client": "client_name",
	"CRM Counterparty": "full_name",
	"CRM Order": "order_number",
	"CRM Task": "subject",
	"CRM Call": "topic",
	"Contact": "last_name",
	"CRM Complaint": "subject",
}


@dataclass(frozen=True)
class Attack:
	"""Requests to `/api/method/<path>`: each call once per doctype of `doctypes` (all row-level doctypes
	by default; an empty tuple: once, with CRM Deal for the placeholders)."""

	calls: tuple[dict, ...]
	doctypes: tuple[str, ...] = ROW_LEVEL
	write: bool = False  # compare the foreign records before and after
	destructive: bool = False  # aimed at throw-away foreign records (a hole would destroy them)
	expect: str = ""  # "refused": answered 4xx; "falsy": the answer's data is empty, 0 or False
	http: str = ""  # GET or POST; by default POST where the method allows it, else GET
	# calls with crafted query expressions: made once per doctype of CRAFTED_DOCTYPES, by the first attacker
	# only (the expressions read other tables whoever sends them)
	crafted: tuple[dict, ...] = ()
	# what the product shows on purpose: "names" of records the user cannot read (duplicate matches are
	# reported by name and responsible, without a title)
	discloses: tuple[str, ...] = ()


@dataclass(frozen=True)
class NotApplicable:
	reason: str


def A(*calls: dict, **options) -> Attack:
	return Attack(calls=tuple(calls), **options)


def once(*calls: dict, **options) -> Attack:
	return Attack(calls=tuple(calls), doctypes=(), **options)


def NA(reason: str) -> NotApplicable:
	return NotApplicable(reason)


# --- crafted query expressions -----------------------------------------------------------------------
# Each reads a foreign deal's title (found by its name) or sleeps; a guarded list path refuses them or
# answers without the foreign values, quickly.
SUBQUERY = "(select group_concat(name, ':', deal_name, ':', amount) from `tabCRM Deal`)"
ONE_DEAL = "(select deal_name from `tabCRM Deal` where name = '{dn:CRM Deal}')"
FIELD_PAYLOADS = (
	f"max({SUBQUERY}) as leak",
	f"{SUBQUERY} as leak",
	f"if((select count(*) from `tabCRM Deal` where name = '{{dn:CRM Deal}}') > 0, {ONE_DEAL}, 'x') as leak",
	f"concat(name, {ONE_DEAL}) as leak",
	f"ifnull({ONE_DEAL}, name) as leak",
	f"extractvalue(1, concat(0x7e, {ONE_DEAL})) as leak",
	f"count(distinct {ONE_DEAL}) as leak",
	"name as leak from `tabCRM Deal` union select deal_name",
)
ORDER_PAYLOADS = (
	"(select sleep(1))",
	"if((select 1), sleep(1), 1)",
	"name, (select sleep(1))",
	f"extractvalue(1, concat(0x7e, {ONE_DEAL}))",
	f"{ONE_DEAL} desc",
	"name; select sleep(1)",
)
GROUP_PAYLOADS = (
	f"name, {ONE_DEAL}",
	f"extractvalue(1, concat(0x7e, {ONE_DEAL}))",
	"name having sleep(1)",
)
FILTER_PAYLOADS = (
	{"name": "{dn}"},
	[["name", "like", "%"]],
	[["name", "=", "{dn}"]],
	[["{dt}", "name", "in", ["{dn}"]]],
	[[ONE_DEAL, "like", "%"]],
	[["name", "in", f"{ONE_DEAL}"]],
	[["_assign", "like", "%{owner}%"]],
	[["owner", "!=", ""], ["name", "like", "%"]],
)
# a CRM doctype, Frappe's Contact and a Frappe doctype outside the row-level rules
CRAFTED_DOCTYPES = ("CRM Deal", "Contact", "ToDo")
QUICK_SECONDS = 0.9  # a sleep(1) that ran takes at least a second


def list_calls(fields_key="fields", filters_key="filters", base=None) -> tuple[dict, ...]:
	"""The plain calls of a list method: the title column, then each crafted filter."""
	base = base or {"doctype": "{dt}"}
	calls = [dict(base, **{fields_key: ["name", "{title}"]})]
	if filters_key:
		calls += [dict(base, **{fields_key: ["name", "{title}"], filters_key: f}) for f in FILTER_PAYLOADS]
	return tuple(calls)


def crafted_calls(
	fields_key="fields", order_key="order_by", group_key="group_by", base=None
) -> tuple[dict, ...]:
	"""Calls of a list method with each crafted fields/order/group expression."""
	base = base or {"doctype": "{dt}"}
	calls = [dict(base, **{fields_key: ["name", payload]}) for payload in FIELD_PAYLOADS]
	if order_key:
		calls += [dict(base, **{fields_key: ["name"], order_key: payload}) for payload in ORDER_PAYLOADS]
	if group_key:
		calls += [dict(base, **{fields_key: ["name"], group_key: payload}) for payload in GROUP_PAYLOADS]
	return tuple(calls)


def _json(value) -> str:
	return json.dumps(value)


REPORTVIEW = {"doctype": "{dt}"}
REFUSED_ADMIN = "refused"

# --- the table ---------------------------------------------------------------------------------------

COVERAGE: dict[str, Attack | NotApplicable] = {
	# ---- frappe.client
	"frappe.client.get": A(
		{"doctype": "{dt}", "name": "{dn}"},
		{"doctype": "{dt}", "filters": {"name": "{dn}"}},
		{"doctype": "{dt}", "filters": [["name", "like", "%"], ["owner", "!=", "{me}"]]},
		{"doctype": "{dt}", "name": "{dn}", "parent": "{dt}"},
	),
	"frappe.client.get_list": A(
		*list_calls(),
		{"doctype": "{dt}", "fields": ["name"], "or_filters": [["name", "=", "{dn}"], ["name", "like", "%"]]},
		crafted=crafted_calls(),
	),
	"frappe.client.get_count": A(
		{"doctype": "{dt}", "filters": {"name": "{dn}"}},
		{"doctype": "{dt}", "filters": [["name", "in", ["{dn}"]]]},
		expect="falsy",
	),
	"frappe.client.get_value": A(
		{"doctype": "{dt}", "fieldname": "{title}", "filters": {"name": "{dn}"}},
		{"doctype": "{dt}", "fieldname": "{title}", "filters": "{dn}"},
		{"doctype": "{dt}", "fieldname": ["name", "{title}"], "filters": [["name", "like", "%"]]},
		{"doctype": "{dt}", "fieldname": "{title}", "filters": {"name": "{dn}"}, "parent": "{dt}"},
		crafted=tuple(
			{"doctype": "{dt}", "fieldname": payload, "filters": {"owner": "Administrator"}}
			for payload in FIELD_PAYLOADS
		),
	),
	"frappe.client.get_single_value": once({"doctype": "{dt}", "field": "{title}"}),
	"frappe.client.get_password": A({"doctype": "{dt}", "name": "{dn}", "fieldname": "{title}"}),
	"frappe.client.get_doc_permissions": A({"doctype": "{dt}", "docname": "{dn}"}),
	"frappe.client.has_permission": A(
		{"doctype": "{dt}", "docname": "{dn}", "perm_type": "read"},
		{"doctype": "{dt}", "docname": "{dn}", "perm_type": "write"},
		expect="falsy_permission",
	),
	"frappe.client.is_document_amended": A({"doctype": "{dt}", "docname": "{dn}"}),
	"frappe.client.validate_link": A(
		{"doctype": "{dt}", "docname": "{dn}", "fields": ["{title}", "modified"]}
	),
	"frappe.client.set_value": A(
		{"doctype": "{dt}", "name": "{dn}", "fieldname": "{title}", "value": "hacked"},
		{"doctype": "{dt}", "name": "{dn}", "fieldname": {"_assign": '["{me}"]'}},
		{"doctype": "{dt}", "name": "{dn}", "fieldname": "_liked_by", "value": '["{me}"]'},
		write=True,
	),
	"frappe.client.insert": A(
		{
			"doc": {
				"doctype": "Comment",
				"comment_type": "Comment",
				"reference_doctype": "{dt}",
				"reference_name": "{dn}",
				"content": "x",
			}
		},
		{
			"doc": {
				"doctype": "ToDo",
				"allocated_to": "{me}",
				"reference_type": "{dt}",
				"reference_name": "{dn}",
				"description": "x",
			}
		},
		{
			"doc": {
				"doctype": "DocShare",
				"share_doctype": "{dt}",
				"share_name": "{dn}",
				"user": "{me}",
				"read": 1,
			}
		},
		{"doc": {"doctype": "Document Follow", "ref_doctype": "{dt}", "ref_docname": "{dn}", "user": "{me}"}},
		{"doc": {"doctype": "Tag Link", "document_type": "{dt}", "document_name": "{dn}", "tag": "hacked"}},
		{
			"doc": {
				"doctype": "File",
				"file_name": "x.txt",
				"attached_to_doctype": "{dt}",
				"attached_to_name": "{dn}",
				"content": "x",
			}
		},
		{
			"doc": {
				"doctype": "Communication",
				"subject": "x",
				"reference_doctype": "{dt}",
				"reference_name": "{dn}",
			}
		},
		{
			"doc": {
				"doctype": "CRM Deal Item",
				"parenttype": "CRM Deal",
				"parentfield": "items",
				"parent": "{dn:CRM Deal}",
				"item_name": "x",
				"qty": 1,
			}
		},
		{
			"doc": {
				"doctype": "CRM Deal Manager",
				"parenttype": "CRM Deal",
				"parentfield": "co_managers",
				"parent": "{dn:CRM Deal}",
				"user": "{me}",
			}
		},
		{
			"doc": {
				"doctype": "Dynamic Link",
				"parenttype": "Contact",
				"parentfield": "links",
				"parent": "{dn:Contact}",
				"link_doctype": "CRM Client",
				"link_name": "{own:CRM Client}",
			}
		},
		{
			"doc": {
				"doctype": "Dynamic Link",
				"parenttype": "Contact",
				"parentfield": "links",
				"parent": "{own:Contact}",
				"link_doctype": "CRM Client",
				"link_name": "{dn:CRM Client}",
			}
		},
		{
			"doc": {
				"doctype": "Auto Repeat",
				"reference_doctype": "{dt}",
				"reference_document": "{dn}",
				"frequency": "Daily",
				"start_date": "2030-01-01",
			}
		},
		{
			"doc": {
				"doctype": "CRM Task",
				"subject": "x",
				"reference_doctype": "{dt}",
				"reference_name": "{dn}",
			}
		},
		write=True,
	),
	"frappe.client.insert_many": A(
		{
			"docs": [
				{
					"doctype": "Comment",
					"comment_type": "Comment",
					"reference_doctype": "{dt}",
					"reference_name": "{dn}",
					"content": "x",
				}
			]
		},
		{
			"docs": [
				{
					"doctype": "CRM Deal Manager",
					"parenttype": "CRM Deal",
					"parentfield": "co_managers",
					"parent": "{dn:CRM Deal}",
					"user": "{me}",
				}
			]
		},
		write=True,
	),
	"frappe.client.save": A(
		{"doc": {"doctype": "{dt}", "name": "{dn}", "{title}": "hacked"}},
		{"doc": {"doctype": "{dt}", "name": "{dn}", "{title}": "hacked", "modified": "{modified}"}},
		write=True,
	),
	"frappe.client.submit": A(
		{"doc": {"doctype": "{dt}", "name": "{dn}", "modified": "{modified}"}}, write=True
	),
	"frappe.client.cancel": A({"doctype": "{dt}", "name": "{dn}"}, write=True),
	"frappe.client.bulk_update": A(
		{"docs": [{"doctype": "{dt}", "docname": "{dn}", "{title}": "hacked"}]}, write=True
	),
	"frappe.client.attach_file": A(
		{"filename": "x.txt", "filedata": "eA==", "doctype": "{dt}", "docname": "{dn}", "decode_base64": 1},
		write=True,
	),
	"frappe.client.delete": A({"doctype": "{dt}", "name": "{dn}"}, write=True, destructive=True, http="POST"),
	"frappe.client.rename_doc": A(
		{"doctype": "{dt}", "old_name": "{dn}", "new_name": "{dn}-x"},
		{"doctype": "{dt}", "old_name": "{own}", "new_name": "{dn}", "merge": 1},
		write=True,
		destructive=True,
		doctypes=("CRM Client", "CRM Lead", "CRM Deal", "Contact"),
	),
	"frappe.rename_doc": A(
		{"doctype": "{dt}", "old": "{dn}", "new": "{dn}-x"},
		{"doctype": "{dt}", "old": "{own}", "new": "{dn}", "merge": 1},
		write=True,
		destructive=True,
		doctypes=("CRM Client", "CRM Lead", "CRM Deal", "Contact"),
	),
	"frappe.model.rename_doc.update_document_title": A(
		{"doctype": "{dt}", "docname": "{dn}", "title": "hacked", "name": "{dn}", "enqueue": 0},
		{"doctype": "{dt}", "docname": "{own}", "name": "{dn}", "merge": 1, "enqueue": 0},
		write=True,
		destructive=True,
		doctypes=("CRM Client", "CRM Lead", "CRM Deal", "Contact"),
	),
	"run_doc_method": A(
		{"dt": "{dt}", "dn": "{dn}", "method": "rename", "args": {"name": "{dn}-x"}},
		{"docs": {"doctype": "{dt}", "name": "{dn}"}, "method": "get_title"},
		{"dt": "{dt}", "dn": "{dn}", "method": "as_dict"},
		# an Auto Repeat built from the request, naming the foreign record (the form's "Get Contacts")
		*(
			{
				"docs": {
					"doctype": "Auto Repeat",
					"reference_doctype": "{dt}",
					"reference_document": "{dn}",
					"notify_by_email": 1,
					**extra,
				},
				"method": "fetch_linked_contacts",
			}
			for extra in ({}, {"__islocal": 1}, {"__islocal": 1, "name": "{ownrel:Auto Repeat}"})
		),
		{"dt": "Auto Repeat", "dn": "{rel:Auto Repeat}", "method": "get_auto_repeat_schedule"},
		{"dt": "Auto Repeat", "dn": "{rel:Auto Repeat}", "method": "fetch_linked_contacts"},
		write=True,
	),
	"frappe.automation.doctype.auto_repeat.auto_repeat.AutoRepeat.fetch_linked_contacts": NA(
		"a controller method, reached only through run_doc_method (attacked above)"
	),
	"frappe.model.document.Document.rename": NA(
		"a controller method, reached only through run_doc_method (attacked above with method=rename)"
	),
	"simple_crm.simple_crm.doctype.crm_hand_over.crm_hand_over.CRMHandOver.resume": NA(
		"a controller method, reached only through run_doc_method on a hand-over record: it checks that the "
		"caller may hand that work over, as the hand-over itself does (tests/test_automation_hand_over.py)"
	),
	"frappe.model.document.unlock_document": A({"doctype": "{dt}", "name": "{dn}"}, write=True),
	# ---- the Desk's form
	"frappe.desk.form.load.getdoc": A({"doctype": "{dt}", "name": "{dn}"}),
	"frappe.desk.form.load.get_docinfo": A(
		{"doctype": "{dt}", "name": "{dn}"}, {"doc": {"doctype": "{dt}", "name": "{dn}"}}
	),
	"frappe.desk.form.load.get_communications": A({"doctype": "{dt}", "name": "{dn}"}),
	"frappe.desk.form.load.getdoctype": NA("returns the doctype's meta (fields, scripts), no record data"),
	"frappe.desk.form.save.savedocs": A(
		{
			"doc": {"doctype": "{dt}", "name": "{dn}", "{title}": "hacked", "modified": "{modified}"},
			"action": "Save",
		},
		{"doc": {"doctype": "{dt}", "name": "{dn}", "modified": "{modified}"}, "action": "Submit"},
		write=True,
	),
	"frappe.desk.form.save.cancel": A({"doctype": "{dt}", "name": "{dn}"}, write=True),
	"frappe.desk.form.utils.add_comment": A(
		{
			"reference_doctype": "{dt}",
			"reference_name": "{dn}",
			"content": "x",
			"comment_email": "{me}",
			"comment_by": "x",
		},
		write=True,
	),
	"frappe.desk.form.utils.update_comment": A({"name": "{rel:Comment}", "content": "hacked"}, write=True),
	"frappe.desk.form.utils.remove_attach": A({"dt": "{dt}", "dn": "{dn}", "fid": "{rel:File}"}, write=True),
	"frappe.desk.form.utils.get_next": A(
		{
			"doctype": "{dt}",
			"value": "{own}",
			"prev": 0,
			"filters": {},
			"sort_order": "desc",
			"sort_field": "modified",
		},
		{
			"doctype": "{dt}",
			"value": "{own}",
			"prev": 1,
			"filters": {},
			"sort_order": "asc",
			"sort_field": "modified",
		},
		{"doctype": "{dt}", "value": "{own}", "prev": 0, "sort_field": ONE_DEAL, "sort_order": "desc"},
	),
	"frappe.desk.form.assign_to.add": A(
		{"args": {"doctype": "{dt}", "name": "{dn}", "assign_to": ["{me}"]}},
		{"doctype": "{dt}", "name": "{dn}", "assign_to": ["{me}"]},
		write=True,
	),
	"frappe.desk.form.assign_to.add_multiple": A(
		{"args": {"doctype": "{dt}", "name": _json(["{dn}"]), "assign_to": ["{me}"]}}, write=True
	),
	"frappe.desk.form.assign_to.close": A(
		{"doctype": "{dt}", "name": "{dn}", "assign_to": "{owner}"}, write=True
	),
	"frappe.desk.form.assign_to.remove": A(
		{"doctype": "{dt}", "name": "{dn}", "assign_to": "{owner}"}, write=True
	),
	"frappe.desk.form.assign_to.remove_multiple": A(
		{"doctype": "{dt}", "names": _json(["{dn}"])}, write=True
	),
	"frappe.desk.form.document_follow.follow_document": A(
		{"doctype": "{dt}", "doc_name": "{dn}", "user": "{me}"}, write=True
	),
	"frappe.desk.form.document_follow.unfollow_document": A(
		{"doctype": "{dt}", "doc_name": "{dn}", "user": "{owner}"}, write=True
	),
	"frappe.desk.form.document_follow.update_follow": A(
		{"doctype": "{dt}", "doc_name": "{dn}", "following": 1}, write=True
	),
	"frappe.desk.form.document_follow.get_follow_users": A({"doctype": "{dt}", "doc_name": "{dn}"}),
	"frappe.desk.form.linked_with.get": A({"doctype": "{dt}", "docname": "{dn}"}),
	"frappe.desk.form.linked_with.get_submitted_linked_docs": A({"doctype": "{dt}", "name": "{dn}"}),
	"frappe.desk.form.linked_with.cancel_all_linked_docs": A(
		{"docs": [{"doctype": "{dt}", "name": "{dn}"}]}, write=True
	),
	"frappe.desk.form.linked_with.get_linked_doctypes": NA("returns doctype names and link fields (meta)"),
	"frappe.desk.like.toggle_like": A(
		{"doctype": "{dt}", "name": "{dn}", "add": "Yes"},
		{"doctype": "{dt}", "name": "{dn}", "add": "No"},
		write=True,
	),
	"frappe.desk.link_preview.get_preview_data": A({"doctype": "{dt}", "docname": "{dn}"}),
	"frappe.desk.doctype.tag.tag.add_tag": A({"tag": "hacked", "dt": "{dt}", "dn": "{dn}"}, write=True),
	"frappe.desk.doctype.tag.tag.add_tags": A(
		{"tags": ["hacked"], "dt": "{dt}", "docs": ["{dn}"]}, write=True
	),
	"frappe.desk.doctype.tag.tag.remove_tag": A({"tag": "{tag}", "dt": "{dt}", "dn": "{dn}"}, write=True),
	"frappe.desk.doctype.tag.tag.get_tagged_docs": A({"doctype": "{dt}", "tag": "{tag}"}),
	"frappe.desk.doctype.tag.tag.get_tags": A(
		{"doctype": "{dt}", "txt": ""}, {"doctype": "{dt}", "txt": "zq"}
	),
	"frappe.share.add": A(
		{"doctype": "{dt}", "name": "{dn}", "user": "{me}", "read": 1, "write": 1, "share": 1}, write=True
	),
	"frappe.share.set_permission": A(
		{"doctype": "{dt}", "name": "{dn}", "user": "{me}", "permission_to": "read", "value": 1}, write=True
	),
	"frappe.share.get_users": A({"doctype": "{dt}", "name": "{dn}"}),
	# ---- lists, reports, counts, search
	"frappe.desk.reportview.get": A(*list_calls(base=REPORTVIEW), crafted=crafted_calls(base=REPORTVIEW)),
	"frappe.desk.reportview.get_list": A(
		*list_calls(base=REPORTVIEW), crafted=crafted_calls(base=REPORTVIEW)
	),
	"frappe.desk.reportview.get_count": A(
		{"doctype": "{dt}", "filters": _json({"name": "{dn}"})},
		{
			"doctype": "{dt}",
			"filters": _json({"name": "{dn}"}),
			"distinct": "true",
			"fields": _json([f"{ONE_DEAL} as leak"]),
		},
		expect="falsy",
	),
	"frappe.desk.reportview.export_query": A(
		{"doctype": "{dt}", "file_format_type": "CSV", "fields": _json(["name", "{title}"])},
		{"doctype": "{dt}", "file_format_type": "CSV", "fields": _json(["name", FIELD_PAYLOADS[0]])},
		{
			"doctype": "{dt}",
			"file_format_type": "CSV",
			"fields": _json(["name"]),
			"filters": _json({"name": "{dn}"}),
		},
	),
	"frappe.desk.reportview.delete_items": A(
		{"doctype": "{dt}", "items": _json(["{dn}"])}, write=True, destructive=True
	),
	"frappe.desk.reportview.get_stats": A(
		{"stats": _json(["_assign", "_user_tags", "owner"]), "doctype": "{dt}"},
		{"stats": _json([ONE_DEAL]), "doctype": "{dt}"},
	),
	"frappe.desk.reportview.get_sidebar_stats": A(
		{"stats": _json(["_assign", "_user_tags", "owner"]), "doctype": "{dt}"},
		{"stats": _json([ONE_DEAL]), "doctype": "{dt}"},
	),
	"frappe.desk.reportview.get_filter_dashboard_data": A(
		{
			"stats": _json([{"name": "{title}", "type": "Data"}, {"name": "owner", "type": "Link"}]),
			"doctype": "{dt}",
		},
		{"stats": _json([{"name": ONE_DEAL, "type": "Data"}]), "doctype": "{dt}"},
	),
	"frappe.desk.reportview.save_report": NA("saves a Report Builder definition (a Report), no record data"),
	"frappe.desk.reportview.delete_report": NA("deletes a Report Builder definition the user owns"),
	"frappe.desk.listview.get_group_by_count": A(
		{"doctype": "{dt}", "current_filters": [], "field": "assigned_to"},
		{"doctype": "{dt}", "current_filters": [], "field": "owner"},
		{"doctype": "{dt}", "current_filters": [["{dt}", "name", "=", "{dn}"]], "field": "owner"},
		{"doctype": "{dt}", "current_filters": [["{dt}", "name", "=", "{dn}"]], "field": "assigned_to"},
		{"doctype": "{dt}", "current_filters": [], "field": "{title}"},
		{"doctype": "{dt}", "current_filters": [], "field": ONE_DEAL},
	),
	"frappe.desk.listview.get_list_settings": NA("the list view's settings of a doctype (meta)"),
	"frappe.desk.listview.set_list_settings": NA("writes the list view's settings of a doctype (meta)"),
	"frappe.desk.search.search_link": A(
		{"doctype": "{dt}", "txt": ""},
		{"doctype": "{dt}", "txt": "zq"},
		{"doctype": "{dt}", "txt": "{dn}"},
		{"doctype": "{dt}", "txt": "", "ignore_user_permissions": 1},
		{"doctype": "{dt}", "txt": "", "filters": {"name": "{dn}"}},
		{"doctype": "{dt}", "txt": "", "searchfield": ONE_DEAL},
		{"doctype": "{dt}", "txt": "", "reference_doctype": "CRM Task"},
	),
	"frappe.desk.search.search_widget": A(
		{"doctype": "{dt}", "txt": "", "page_length": 500},
		{"doctype": "{dt}", "txt": "zq", "as_dict": 1},
		{"doctype": "{dt}", "txt": "", "ignore_user_permissions": 1, "page_length": 500},
		{"doctype": "{dt}", "txt": "", "searchfield": ONE_DEAL},
		{"doctype": "{dt}", "txt": "", "filter_fields": ["{title}", ONE_DEAL]},
		{
			"doctype": "{dt}",
			"txt": "",
			"query": "frappe.contacts.doctype.contact.contact.contact_query",
			"filters": {"link_doctype": "CRM Client", "link_name": "{dn:CRM Client}"},
		},
		{"doctype": "{dt}", "txt": "", "query": "simple_crm.permissions.search.search_visible"},
	),
	"frappe.desk.search.get_link_title": A({"doctype": "{dt}", "docname": "{dn}"}),
	"frappe.desk.notifications.get_open_count": A(
		{"doctype": "{dt}", "name": "{dn}"},
		{
			"doctype": "CRM Client",
			"name": "{dn:CRM Client}",
			"items": ["CRM Deal", "CRM Order", "Contact", "CRM Counterparty"],
		},
	),
	"frappe.desk.calendar.get_events": A(
		{"doctype": "{dt}", "start": "2000-01-01", "end": "2100-01-01", "fields": ["name", "{title}"]},
		{
			"doctype": "{dt}",
			"start": "2000-01-01",
			"end": "2100-01-01",
			"field_map": {"start": "creation", "end": "modified", "title": "{title}"},
		},
		{
			"doctype": "{dt}",
			"start": "2000-01-01",
			"end": "2100-01-01",
			"fields": ["name", FIELD_PAYLOADS[0]],
		},
	),
	"frappe.desk.calendar.update_event": A(
		{
			"args": {"doctype": "{dt}", "name": "{dn}", "start": "2030-01-01"},
			"field_map": {"start": "{title}", "end": "{title}"},
		},
		write=True,
	),
	"frappe.desk.gantt.update_task": A(
		{
			"args": {"doctype": "{dt}", "name": "{dn}", "start": "2030-01-01", "end": "2030-01-02"},
			"field_map": {"start": "{title}", "end": "{title}"},
		},
		write=True,
	),
	"frappe.desk.treeview.get_children": A({"doctype": "{dt}", "parent": "", "filters": {"name": "{dn}"}}),
	"frappe.desk.treeview.get_all_nodes": A(
		{
			"doctype": "{dt}",
			"label": "x",
			"parent": "{dn}",
			"tree_method": "frappe.desk.treeview.get_children",
		}
	),
	"frappe.desk.treeview.add_node": NA("creates a node of a tree doctype; no CRM doctype is a tree"),
	"frappe.desk.query_report.run": A(
		{"report_name": "CRM Duplicates", "filters": {}},
		{"report_name": "CRM Duplicates", "filters": {"doctype": "{dt}"}},
		doctypes=(),
	),
	"frappe.desk.query_report.export_query": A(
		{"report_name": "CRM Duplicates", "file_format_type": "CSV", "filters": "{}", "visible_idx": "[]"},
		doctypes=(),
	),
	"frappe.desk.query_report.get_data_for_custom_field": A(
		{"doctype": "{dt}", "field": "{title}", "names": ["{dn}"]}
	),
	"frappe.desk.query_report.save_report": NA("saves a copy of a report's definition, no record data"),
	"frappe.desk.doctype.kanban_board.kanban_board.add_card": A(
		{"board_name": "Deals by Stage", "docname": "{dn:CRM Deal}", "colname": "Proposal"},
		doctypes=(),
		write=True,
	),
	"frappe.desk.doctype.kanban_board.kanban_board.update_order_for_single_card": A(
		{
			"board_name": "Deals by Stage",
			"docname": "{dn:CRM Deal}",
			"from_colname": "Qualification",
			"to_colname": "Proposal",
			"old_index": 0,
			"new_index": 0,
		},
		doctypes=(),
		write=True,
	),
	"frappe.desk.doctype.kanban_board.kanban_board.update_order": once(
		{"board_name": "Deals by Stage", "order": _json({"Proposal": ["{dn:CRM Deal}"]})},
		{"board_name": "Deals by Stage", "order": _json({"Won": ["{dn:CRM Deal}"], "Qualification": []})},
		write=True,
	),
	"frappe.desk.doctype.kanban_board.kanban_board.get_kanban_boards": NA(
		"board definitions, no record data"
	),
	"frappe.desk.doctype.kanban_board.kanban_board.quick_kanban_board": NA(
		"creates a board definition; its cards are read through the list paths attacked here"
	),
	"frappe.desk.doctype.number_card.number_card.get_result": A(
		{
			"doc": {"document_type": "{dt}", "function": "Count", "filters_json": "[]"},
			"filters": [["{dt}", "name", "=", "{dn}"]],
		},
		{
			"doc": {
				"document_type": "{dt}",
				"function": "Sum",
				"aggregate_function_based_on": ONE_DEAL,
				"filters_json": "[]",
			},
			"filters": [],
		},
		{
			"doc": {
				"document_type": "CRM Deal",
				"function": "Sum",
				"aggregate_function_based_on": "amount",
				"filters_json": "[]",
			},
			"filters": [["CRM Deal", "name", "=", "{dn:CRM Deal}"]],
		},
		{
			"doc": {
				"document_type": "{dt}",
				"function": "Max",
				"aggregate_function_based_on": "(select amount from `tabCRM Deal` where name = '{dn:CRM Deal}')",
				"filters_json": "[]",
			},
			"filters": [],
		},
		expect="falsy",
	),
	"frappe.desk.doctype.number_card.number_card.get_percentage_difference": A(
		{
			"doc": {
				"document_type": "{dt}",
				"function": "Sum",
				"aggregate_function_based_on": ONE_DEAL,
				"filters_json": "[]",
				"type": "Document Type",
			},
			"filters": [],
			"result": 1,
		},
	),
	"frappe.desk.doctype.dashboard_chart.dashboard_chart.get": A(
		{
			"chart": {
				"chart_type": "Count",
				"document_type": "{dt}",
				"based_on": "creation",
				"timeseries": 0,
				"type": "Bar",
				"filters_json": "[]",
				"group_by_type": "Count",
				"group_by_based_on": "{title}",
			},
			"filters": [],
			"refresh": 1,
		},
		{
			"chart": {
				"chart_type": "Group By",
				"document_type": "{dt}",
				"group_by_type": "Count",
				"group_by_based_on": "{title}",
				"type": "Bar",
				"filters_json": "[]",
			},
			"filters": [],
			"refresh": 1,
		},
		{
			"chart": {
				"chart_type": "Group By",
				"document_type": "{dt}",
				"group_by_type": "Sum",
				"group_by_based_on": "name",
				"aggregate_function_based_on": ONE_DEAL,
				"type": "Bar",
				"filters_json": "[]",
			},
			"filters": [],
			"refresh": 1,
		},
		{
			"chart": {
				"chart_type": "Sum",
				"document_type": "{dt}",
				"based_on": "creation",
				"value_based_on": "(select amount from `tabCRM Deal` where name = '{dn:CRM Deal}')",
				"timeseries": 1,
				"timespan": "Last Year",
				"time_interval": "Yearly",
				"type": "Line",
				"filters_json": "[]",
			},
			"filters": [],
			"refresh": 1,
		},
		{"chart_name": "Deals by Stage", "refresh": 1},
		{"chart_name": "Leads by Source", "refresh": 1},
	),
	"frappe.desk.doctype.dashboard_chart.dashboard_chart.add_chart_to_dashboard": NA(
		"adds a chart definition to a dashboard"
	),
	"frappe.desk.doctype.dashboard_chart.dashboard_chart.create_dashboard_chart": NA(
		"creates a chart definition; its data path (dashboard_chart.get) is attacked"
	),
	"frappe.desk.doctype.dashboard_chart.dashboard_chart.create_report_chart": NA(
		"creates a chart definition; its data path (dashboard_chart.get) is attacked"
	),
	"frappe.desk.doctype.number_card.number_card.add_card_to_dashboard": NA(
		"adds a card definition to a dashboard"
	),
	"frappe.desk.doctype.number_card.number_card.create_number_card": NA(
		"creates a card definition; its data path (number_card.get_result) is attacked"
	),
	"frappe.desk.doctype.number_card.number_card.create_report_number_card": NA(
		"creates a card definition; its data path (number_card.get_result) is attacked"
	),
	"frappe.desk.doctype.bulk_update.bulk_update.submit_cancel_or_update_docs": A(
		{"doctype": "{dt}", "docnames": ["{dn}"], "action": "update", "data": {"{title}": "hacked"}},
		{"doctype": "{dt}", "docnames": ["{dn}"], "action": "delete"},
		write=True,
		destructive=True,
	),
	"frappe.utils.global_search.search": A(
		{"text": "zq", "limit": 100},
		{"text": "{dn}", "limit": 100},
		{"text": "zq", "doctype": "ToDo"},
		doctypes=(),
	),
	"frappe.utils.diff.get_version_diff": A(
		{"from_version": "{rel:Version}", "to_version": "{rel:Version}", "fieldname": "{title}"},
		doctypes=("CRM Deal", "CRM Lead", "CRM Client", "CRM Task"),
	),
	"frappe.utils.diff.version_query": A(
		{
			"doctype": "Version",
			"txt": "",
			"searchfield": "name",
			"start": 0,
			"page_len": 50,
			"filters": {"ref_doctype": "{dt}", "docname": "{dn}"},
		},
		doctypes=("CRM Deal", "CRM Lead", "CRM Client", "CRM Task"),
	),
	"frappe.utils.file_manager.add_attachments": A(
		{"doctype": "{dt}", "name": "{own}", "attachments": ["{rel:File}"]},
		{"doctype": "{dt}", "name": "{dn}", "attachments": []},
		write=True,
	),
	"frappe.core.api.file.get_attached_images": A({"doctype": "{dt}", "names": ["{dn}"]}),
	"frappe.core.api.file.unzip_file": A({"name": "{rel:File}"}, write=True),
	"frappe.handler.upload_file": A(
		{"doctype": "{dt}", "docname": "{dn}", "file_url": "/files/x.txt", "is_private": 0},
		write=True,
	),
	"frappe.handler.uploadfile": A(
		{"doctype": "{dt}", "docname": "{dn}", "filename": "x.txt", "filedata": "eA==", "from_form": 1},
		write=True,
	),
	"frappe.utils.goal.get_monthly_goal_graph_data": A(
		{
			"title": "x",
			"doctype": "{dt}",
			"docname": "{dn}",
			"goal_value_field": "{title}",
			"goal_total_field": "{title}",
			"goal_history_field": "{title}",
			"goal_doctype": "{dt}",
			"goal_doctype_link": "name",
			"goal_field": "{title}",
			"date_field": "creation",
			"aggregation": "count",
		},
	),
	"frappe.utils.print_format.download_pdf": A({"doctype": "{dt}", "name": "{dn}"}, expect="refused"),
	# Frappe leaves out of the PDF the documents the user may not print: no refusal to expect
	"frappe.utils.print_format.download_multi_pdf": A({"doctype": "{dt}", "name": _json(["{dn}"])}),
	"frappe.utils.print_format.download_multi_pdf_async": A({"doctype": "{dt}", "name": _json(["{dn}"])}),
	"frappe.utils.print_format.print_by_server": A(
		{"doctype": "{dt}", "name": "{dn}", "printer_setting": "x"}, expect="refused"
	),
	"frappe.utils.weasyprint.download_pdf": A(
		{"doctype": "{dt}", "name": "{dn}", "print_format": "Standard"}, expect="refused"
	),
	"frappe.www.printview.get_html_and_style": A({"doc": "{dt}", "name": "{dn}"}),
	"frappe.www.printview.get_rendered_raw_commands": A({"doc": "{dt}", "name": "{dn}"}),
	"frappe.printing.page.print.print.get_print_settings_to_show": A({"doctype": "{dt}", "docname": "{dn}"}),
	"frappe.printing.page.print_format_builder.print_format_builder.create_custom_format": NA(
		"creates a Print Format (System Manager), no record data"
	),
	"frappe.printing.doctype.print_format.print_format.make_default": NA(
		"sets a default Print Format (meta)"
	),
	"frappe.www.list.get": A({"doctype": "{dt}", "txt": ""}),
	"frappe.www.list.get_list_data": A(
		{"doctype": "{dt}", "fields": ["name", "{title}"]},
		{"doctype": "{dt}", "fields": ["name", FIELD_PAYLOADS[0]]},
	),
	"frappe.realtime.can_subscribe_doc": A({"doctype": "{dt}", "docname": "{dn}"}, expect="falsy"),
	"frappe.realtime.can_subscribe_doctype": NA(
		"whether the user may follow list updates of a doctype (meta)"
	),
	"frappe.geo.utils.get_coords": A(
		{"doctype": "{dt}", "filters": {"name": "{dn}"}, "type": "location_field"}
	),
	"frappe.email.relink": A(
		{"name": "{rel:Communication}", "reference_doctype": "{dt}", "reference_name": "{own}"},
		{"name": "{rel:Communication}", "reference_doctype": "{dt}", "reference_name": "{dn}"},
		write=True,
	),
	"frappe.email.queue.unsubscribe": A({"doctype": "{dt}", "name": "{dn}", "email": "{owner}"}, write=True),
	"frappe.core.doctype.communication.email.make": A(
		{
			"doctype": "{dt}",
			"name": "{dn}",
			"content": "x",
			"subject": "x",
			"recipients": "",
			"send_email": 0,
		},
		write=True,
	),
	"frappe.core.doctype.communication.email.mark_email_as_seen": A(
		{"name": "{rel:Communication}"}, write=True
	),
	"frappe.core.doctype.sms_settings.sms_settings.get_contact_number": A(
		{"contact_name": "{dn:Contact}", "ref_doctype": "CRM Client", "ref_name": "{dn:CRM Client}"},
		doctypes=(),
	),
	"frappe.core.doctype.submission_queue.submission_queue.get_latest_submissions": A(
		{"doctype": "{dt}", "docname": "{dn}"}
	),
	"frappe.core.doctype.data_import.data_import.download_template": A(
		{
			"doctype": "{dt}",
			"export_fields": {"{dt}": ["name", "{title}"]},
			"export_records": "all",
			"file_type": "CSV",
		},
		{
			"doctype": "{dt}",
			"export_fields": {"{dt}": ["name", "{title}"]},
			"export_records": "by_filter",
			"export_filters": {"name": "{dn}"},
			"file_type": "CSV",
		},
	),
	"frappe.core.doctype.data_export.exporter.export_data": A(
		{
			"doctype": "{dt}",
			"select_columns": _json({"{dt}": ["name", "{title}"]}),
			"with_data": 1,
			"file_type": "CSV",
			"all_doctypes": 1,
		},
	),
	"frappe.core.doctype.access_log.access_log.make_access_log": NA(
		"inserts an Access Log row of the caller's own; reads nothing (Access Log rows are in the write check)"
	),
	"frappe.core.doctype.user_permission.user_permission.check_applicable_doc_perm": A(
		{"user": "{me}", "doctype": "{dt}", "docname": "{dn}"}
	),
	"frappe.core.doctype.deleted_document.deleted_document.restore": once({"name": "x"}, expect="refused"),
	"frappe.core.doctype.scheduled_job_type.scheduled_job_type.execute_event": NA(
		"runs a scheduled job by name (System Manager only), no record argument"
	),
	"frappe.desk.doctype.system_console.system_console.execute_code": once(
		{
			"doc": _json(
				{"doctype": "System Console", "console": "frappe.response['leak'] = 1", "type": "Python"}
			)
		},
		expect="refused",
	),
	"frappe.model.workflow.apply_workflow": A(
		{"doc": {"doctype": "{dt}", "name": "{dn}"}, "action": "Start Work"},
		{"doc": {"doctype": "{dt}", "name": "{dn}"}, "action": "Move to Proposal"},
		doctypes=("CRM Lead", "CRM Deal"),
		write=True,
	),
	"frappe.model.workflow.bulk_workflow_approval": A(
		{"docnames": ["{dn}"], "doctype": "{dt}", "action": "Start Work"},
		{"docnames": ["{dn}"], "doctype": "{dt}", "action": "Move to Proposal"},
		doctypes=("CRM Lead", "CRM Deal"),
		write=True,
	),
	"frappe.model.workflow.get_transitions": A(
		{"doc": {"doctype": "{dt}", "name": "{dn}"}}, doctypes=("CRM Lead", "CRM Deal")
	),
	"frappe.model.workflow.get_common_transition_actions": A(
		{"docs": ["{dn}"], "doctype": "{dt}"}, doctypes=("CRM Lead", "CRM Deal")
	),
	"frappe.model.workflow.can_cancel_document": NA("whether a doctype's workflow allows cancelling (meta)"),
	"frappe.workflow.doctype.workflow.workflow.get_workflow_state_count": A(
		{"doctype": "{dt}", "workflow_state_field": "status", "states": ["New", "In Progress"]},
		{"doctype": "{dt}", "workflow_state_field": ONE_DEAL, "states": ["x"]},
		doctypes=("CRM Lead", "CRM Deal"),
	),
	"frappe.workflow.doctype.workflow_action.workflow_action.apply_action": A(
		{
			"action": "Start Work",
			"doctype": "{dt}",
			"docname": "{dn}",
			"current_state": "New",
			"user": "{owner}",
			"last_modified": "{modified}",
		},
		doctypes=("CRM Lead",),
		write=True,
	),
	"frappe.workflow.doctype.workflow_action.workflow_action.confirm_action": A(
		{"doctype": "{dt}", "docname": "{dn}", "user": "{owner}", "action": "Start Work"},
		doctypes=("CRM Lead",),
		write=True,
	),
	"frappe.automation.doctype.assignment_rule.assignment_rule.bulk_apply": A(
		{"doctype": "{dt}", "docnames": _json(["{dn}"])}, write=True
	),
	"frappe.automation.doctype.auto_repeat.auto_repeat.make_auto_repeat": A(
		{"doctype": "{dt}", "docname": "{dn}", "frequency": "Daily", "start_date": "2030-01-01"}, write=True
	),
	"frappe.automation.doctype.auto_repeat.auto_repeat.update_reference": A(
		{"docname": "{dn}", "reference": {"doctype": "{dt}", "name": "{dn}"}},
		# the attacker's own repeat pointed at the foreign task, the foreign repeat at her own task
		{"docname": "{ownrel:Auto Repeat}", "reference": "{dn:CRM Task}"},
		{"docname": "{rel:Auto Repeat}", "reference": "{own:CRM Task}"},
		write=True,
	),
	"frappe.automation.doctype.auto_repeat.auto_repeat.generate_message_preview": A(
		{"reference_dt": "{dt}", "reference_doc": "{dn}", "message": "{{ doc.name }} {{ doc.{title} }}"},
		{
			"reference_dt": "CRM Task",
			"reference_doc": "{own:CRM Task}",
			"message": "{{ frappe.get_all('{dt}', fields=['name', '{title}'], limit=1000) }}",
			"subject": "{{ frappe.db.get_value('{dt}', '{dn}', '{title}') }}",
		},
		expect="refused",
	),
	"frappe.automation.doctype.auto_repeat.auto_repeat.get_auto_repeat_doctypes": NA(
		"link query for Auto Repeat's reference doctype: doctype names only"
	),
	"frappe.contacts.doctype.contact.contact.contact_query": once(
		{
			"doctype": "Contact",
			"txt": "",
			"searchfield": "name",
			"start": 0,
			"page_len": 50,
			"filters": {"link_doctype": "CRM Client", "link_name": "{dn:CRM Client}"},
		},
		{"doctype": "Contact", "txt": "zq", "searchfield": "name", "start": 0, "page_len": 50, "filters": {}},
	),
	"frappe.contacts.doctype.address.address.address_query": once(
		{
			"doctype": "Address",
			"txt": "",
			"searchfield": "name",
			"start": 0,
			"page_len": 50,
			"filters": {"link_doctype": "CRM Client", "link_name": "{dn:CRM Client}"},
		}
	),
	"frappe.contacts.doctype.address.address.get_default_address": A({"doctype": "{dt}", "name": "{dn}"}),
	"frappe.contacts.address_and_contact.filter_dynamic_link_doctypes": NA("link query of doctype names"),
	"frappe.social.doctype.energy_point_log.energy_point_log.get_reviews": A(
		{"doctype": "{dt}", "docname": "{dn}"}
	),
	"frappe.social.doctype.energy_point_log.energy_point_log.review": A(
		{
			"doc": {"doctype": "{dt}", "name": "{dn}"},
			"points": 1,
			"to_user": "{me}",
			"reason": "x",
			"review_type": "Appreciation",
		},
		write=True,
	),
	"frappe.templates.includes.comments.comments.add_comment": A(
		{
			"comment": "x",
			"comment_email": "{me}",
			"comment_by": "x",
			"reference_doctype": "{dt}",
			"reference_name": "{dn}",
			"route": "x",
		},
		write=True,
	),
	"frappe.templates.includes.likes.likes.like": A(
		{"reference_doctype": "{dt}", "reference_name": "{dn}", "like": 1, "route": "x"}, write=True
	),
	"frappe.website.doctype.discussion_topic.discussion_topic.submit_discussion": A(
		{"doctype": "{dt}", "docname": "{dn}", "reply": "x", "title": "x"}, write=True
	),
	# through the app's own web form (website-inquiry, on CRM Lead)
	"frappe.website.doctype.web_form.web_form.get_form_data": A(
		{"doctype": "{dt}", "docname": "{dn}", "web_form_name": "website-inquiry"}
	),
	"frappe.website.doctype.web_form.web_form.delete_multiple": A(
		{"web_form_name": "website-inquiry", "docnames": '["{dn}"]'},
		doctypes=("CRM Lead",),
		write=True,
		destructive=True,
		expect="refused",
	),
	"frappe.core.doctype.deleted_document.deleted_document.bulk_restore": once({"docnames": ["x"]}),
	"frappe.email.inbox.create_email_flag_queue": A(
		{"names": ["{rel:Communication}"], "action": "Read"},
		{"names": ["{rel:Communication}"], "action": "Unread"},
		write=True,
	),
	"frappe.website.doctype.web_form.web_form.delete": A(
		{"web_form_name": "website-inquiry", "docname": "{dn}"},
		doctypes=("CRM Lead",),
		write=True,
		destructive=True,
		expect="refused",
	),
	"frappe.model.mapper.make_mapped_doc": once(
		{"method": "frappe.client.get", "source_name": "{dn}", "args": {"doctype": "{dt}", "name": "{dn}"}}
	),
	"frappe.model.mapper.map_docs": once(
		{
			"method": "frappe.client.get",
			"source_names": ["{dn}"],
			"target_doc": {},
			"args": {"doctype": "{dt}"},
		}
	),
	"frappe.desk.doctype.event.event.get_events": once(
		{"start": "2000-01-01", "end": "2100-01-01", "filters": {}}
	),
	"frappe.desk.doctype.event.event.delete_communication": A(
		{"event": {"name": "x"}, "reference_doctype": "{dt}", "reference_docname": "{dn}"}, write=True
	),
	"frappe.desk.doctype.notification_log.notification_log.mark_as_read": A(
		{"docname": "{rel:Notification Log}"}, write=True
	),
	"frappe.core.doctype.prepared_report.prepared_report.make_prepared_report": once(
		{"report_name": "CRM Duplicates", "filters": {}}
	),
	"frappe.core.doctype.prepared_report.prepared_report.get_reports_in_queued_state": NA(
		"lists the caller's own queued Prepared Reports"
	),
	"frappe.core.doctype.prepared_report.prepared_report.download_attachment": NA(
		"downloads a Prepared Report by name; Prepared Reports are readable by their owner only (Frappe's rule)"
	),
	"frappe.email.doctype.email_group.email_group.import_from": once(
		{"name": "x", "doctype": "Contact"}, expect="refused"
	),
	"frappe.recorder.get": once({"uuid": "x"}, expect="refused"),
	"frappe.recorder.status": once({}, expect="refused"),
	"frappe.recorder.export_data": once({}, expect="refused"),
	"frappe.core.page.permission_manager.permission_manager.get_permissions": once(
		{"doctype": "{dt}"}, expect="refused"
	),
	"frappe.core.page.permission_manager.permission_manager.get_standard_permissions": NA(
		"DocPerm rows of a doctype (meta)"
	),
	"frappe.core.page.permission_manager.permission_manager.update": NA(
		"edits role permissions (System Manager only)"
	),
	"frappe.core.page.permission_manager.permission_manager.remove": NA(
		"edits role permissions (System Manager only)"
	),
	"frappe.core.page.permission_manager.permission_manager.reset": NA(
		"edits role permissions (System Manager only)"
	),
	"frappe.utils.nestedset.rebuild_tree": NA(
		"rebuilds a tree doctype (System Manager); no CRM doctype is a tree"
	),
	"frappe.modules.utils.export_customizations": NA(
		"writes customizations to files (developer mode, System Manager)"
	),
	"frappe.desk.page.setup_wizard.setup_wizard.setup_complete": NA(
		"site setup wizard (System Manager), done at install"
	),
	# ---- meta, configuration, link queries of doctype names, other users' settings: no CRM record data
	**{
		path: NA("returns or changes meta or configuration, never a CRM record's data")
		for path in (
			"frappe.core.doctype.doctype.doctype.get_row_size_utilization",
			"frappe.core.doctype.log_settings.log_settings.get_log_doctypes",
			"frappe.core.doctype.role.role.role_query",
			"frappe.core.doctype.user.user.user_query",
			"frappe.core.doctype.user.user.get_roles",
			"frappe.core.doctype.user_permission.user_permission.get_applicable_for_doctype_list",
			"frappe.core.doctype.user_permission.user_permission.get_user_permissions",
			"frappe.core.doctype.user_type.user_type.get_user_linked_doctypes",
			"frappe.core.report.permitted_documents_for_user.permitted_documents_for_user.query_doctypes",
			"frappe.custom.doctype.custom_field.custom_field.get_fields_label",
			"frappe.custom.doctype.custom_field.custom_field.rename_fieldname",
			"frappe.custom.doctype.customize_form.customize_form.get_link_filters_from_doc_without_customisations",
			"frappe.custom.doctype.customize_form.customize_form.get_orphaned_columns",
			"frappe.desk.desk_page.get",
			"frappe.desk.desk_page.getpage",
			"frappe.desk.desktop.update_onboarding_step",
			"frappe.desk.doctype.custom_html_block.custom_html_block.get_custom_blocks_for_user",
			"frappe.desk.doctype.dashboard_chart.dashboard_chart.get_charts_for_user",
			"frappe.desk.doctype.dashboard_chart_source.dashboard_chart_source.get_config",
			"frappe.desk.doctype.desktop_icon.desktop_icon.hide",
			"frappe.desk.doctype.list_view_settings.list_view_settings.get_default_listview_fields",
			"frappe.desk.doctype.list_view_settings.list_view_settings.save_listview_settings",
			"frappe.desk.doctype.number_card.number_card.get_cards_for_user",
			"frappe.desk.doctype.workspace.workspace.update_page",
			"frappe.email.doctype.email_account.email_account.get_append_to",
			"frappe.email.get_communication_doctype",
			"frappe.model.utils.user_settings.get",
			"frappe.model.utils.user_settings.save",
			"frappe.website.doctype.web_form.web_form.get_in_list_view_fields",
			"frappe.core.doctype.document_naming_settings.document_naming_settings.DocumentNamingSettings.get_options",
			"frappe.core.doctype.server_script.server_script.ServerScript.get_autocompletion_items",
		)
	},
	# ---- e-mail, newsletters, OAuth, recorder, login: not about CRM records
	**{
		path: NA("e-mail queue, newsletters, OAuth, login or the recorder: takes no CRM record")
		for path in (
			"frappe.email.doctype.auto_email_report.auto_email_report.download",
			"frappe.email.doctype.auto_email_report.auto_email_report.send_now",
			"frappe.email.doctype.email_group.email_group.add_subscribers",
			"frappe.email.doctype.email_queue.email_queue.send_now",
			"frappe.email.doctype.email_template.email_template.get_email_template",
			"frappe.email.doctype.newsletter.newsletter.newsletter_email_read",
			"frappe.email.email_body.get_email_html",
			"frappe.utils.csvutils.send_csv_to_client",
			"frappe.integrations.oauth2.approve",
			"frappe.integrations.oauth2.authorize",
			"frappe.integrations.oauth2.get_token",
			"frappe.integrations.oauth2.openid_profile",
			"frappe.integrations.oauth2.revoke_token",
			"frappe.integrations.doctype.dropbox_settings.dropbox_settings.dropbox_auth_finish",
			"frappe.integrations.doctype.ldap_settings.ldap_settings.login",
			"frappe.www.login.login_via_token",
			"frappe.recorder.start",
			"frappe.recorder.stop",
			"frappe.recorder.delete",
			"frappe.website.doctype.personal_data_deletion_request.personal_data_deletion_request.confirm_deletion",
		)
	},
	# ---- the app
	# website inquiries (simple_crm.integrations.web_to_lead): a guest's, about no record the caller names
	"simple_crm.api.web_to_lead.submit": NA(
		"a website inquiry: takes no record; a known person's inquiry lands on their record through the system, "
		"and the answer is the same for everyone (tests/test_channel_web_to_lead.py)"
	),
	"simple_crm.api.web_to_lead.accept": NA(
		"Frappe's web form endpoint: for web forms on CRM Lead a new website inquiry (a saved lead is never "
		"changed through it), for other web forms Frappe's own accept with its permission checks"
	),
	# administrators only: sales staff are refused whatever log row they name
	"simple_crm.api.web_to_lead.handle_again": once({"log": "x"}, expect="refused"),
	# SMS (simple_crm.integrations.sms): only to records the user can see, only at their own numbers
	"simple_crm.api.openapi.spec": NA(
		"the API description, the same file for everyone: no argument, no record"
	),
	"simple_crm.api.sms.options": NA("the SMS switch and limits of the settings: no record"),
	"simple_crm.api.sms.recipients": A(
		{"doctype": "{dt}", "name": "{dn}"}, doctypes=("CRM Lead", "CRM Client", "Contact"), expect="refused"
	),
	"simple_crm.api.sms.send": A(
		{"doctype": "{dt}", "name": "{dn}", "message": "x"},
		# the attacker's own record, the foreign record's number
		{"doctype": "{dt}", "name": "{own}", "message": "x", "phone": "{phone}"},
		doctypes=("CRM Lead", "CRM Client", "Contact"),
		expect="refused",
	),
	"simple_crm.api.sms.send_bulk": A(
		{"doctype": "{dt}", "names": ["{own}", "{dn}"], "message": "x"},
		doctypes=("CRM Lead", "CRM Client", "Contact"),
		expect="refused",
	),
	# Frappe's SMS to any number, replaced: a System Manager's only
	"simple_crm.api.sms.frappe_send_sms": once(
		{"receiver_list": ["+79161234567"], "msg": "x"}, expect="refused"
	),
	# telephony (simple_crm.integrations.telephony): the PBX's events name no record; the Call button acts only
	# about records the user can see
	"simple_crm.api.telephony.event": NA(
		"the PBX's call events: a guest's, signed with the channel's secret, about no record the caller names "
		"(tests/test_channel_telephony.py)"
	),
	"simple_crm.api.telephony.zadarma": NA(
		"Zadarma's call notifications: a guest's, signed with the API secret, about no record the caller names "
		"(tests/test_channel_telephony.py)"
	),
	"simple_crm.api.telephony.call_options": A(
		{"doctype": "{dt}", "name": "{dn}"},
		doctypes=("CRM Lead", "CRM Client", "Contact", "CRM Deal"),
		expect="refused",
	),
	"simple_crm.api.telephony.start_call": A(
		{"doctype": "{dt}", "name": "{dn}"},
		doctypes=("CRM Lead", "CRM Client", "Contact", "CRM Deal"),
		write=True,
		expect="refused",
	),
	"simple_crm.api.telephony.log_call": A(
		{"doctype": "{dt}", "name": "{dn}", "phone": "+79161234567", "topic": "x"},
		doctypes=("CRM Lead", "CRM Client", "Contact", "CRM Deal"),
		write=True,
		expect="refused",
	),
	"simple_crm.api.telephony.recording": A({"call": "{dn}"}, doctypes=("CRM Call",), expect="refused"),
	# the forms' Next Task: a task only about a record the user can see (simple_crm.api.task)
	"simple_crm.api.task.next_task": A(
		{"doctype": "{dt}", "name": "{dn}", "subject": "x"},
		doctypes=("CRM Lead", "CRM Client", "Contact", "CRM Deal"),
		write=True,
		expect="refused",
	),
	# the accounting exchange (simple_crm.integrations.exchange): the accounting system's user only (role CRM
	# Integration); a sales role is refused whatever records its batch names
	"simple_crm.api.exchange.counterparties": once(
		{"items": [{"external_id": "{dn:CRM Counterparty}", "full_name": "x", "client": "{dn:CRM Client}"}]},
		write=True,
		expect="refused",
	),
	"simple_crm.api.exchange.orders": once(
		{"items": [{"external_id": "{dn:CRM Order}", "amount": 1, "deal": "{dn:CRM Deal}"}]},
		write=True,
		expect="refused",
	),
	"simple_crm.api.exchange.payments": once(
		{"items": [{"order_external_id": "{dn:CRM Order}", "paid_amount": 1}]},
		write=True,
		expect="refused",
	),
	"simple_crm.api.exchange.changes": once({}, expect="refused"),
	# 1C exchange (simple_crm.integrations.commerceml): a guest method that checks its caller itself
	"simple_crm.api.commerceml.exchange": NA(
		"1C's exchange protocol: a guest method that authenticates the integration user itself (HTTP Basic with "
		"its API key and secret, then a session cookie) and answers the protocol's plain text; a sales "
		"manager's key, bad credentials and a missing session are refused (tests/test_commerceml.py)"
	),
	# Telegram (simple_crm.integrations.telegram): replies only from records the user can see
	"simple_crm.api.telegram.webhook": NA(
		"Telegram's updates: a guest's, with the webhook secret in its header, about no record the caller names "
		"(tests/test_channel_telegram.py)"
	),
	"simple_crm.api.telegram.reply": A(
		{"doctype": "{dt}", "name": "{dn}", "text": "x"},
		doctypes=("CRM Lead", "Contact"),
		write=True,
		expect="refused",
	),
	# an administrator's: the sales roles are refused
	"simple_crm.api.telegram.set_webhook": once({}, expect="refused"),
	"simple_crm.api.duplicates.find_duplicates": A(
		{"doctype": "{dt}", "name": "{own}", "phone": "{phone}", "email": "{email}"},
		{"doctype": "{dt}", "name": "{dn}"},
		doctypes=("CRM Lead", "CRM Client", "Contact", "CRM Counterparty"),
		discloses=("names",),
	),
	"simple_crm.api.duplicates.merge": A(
		{"doctype": "{dt}", "source": "{own}", "target": "{dn}"},
		{"doctype": "{dt}", "source": "{dn}", "target": "{own}"},
		doctypes=("CRM Lead", "CRM Client", "Contact", "CRM Counterparty"),
		write=True,
		destructive=True,
	),
	"simple_crm.api.lead.convert": A({"lead": "{dn:CRM Lead}"}, doctypes=(), write=True),
	"simple_crm.api.deal.pipeline_stages": once({"pipeline": "{dn:CRM Deal}"}),
	# the plan-vs-fact card: this month's figure of what the caller steers; its filters are not read
	"simple_crm.dashboards.plan_vs_fact": once({"filters": {"manager": "{owner}", "team": "{dn:CRM Deal}"}}),
	# the workspace's own cards count the caller's records under the row-level rules; their filters are not read
	**{
		f"simple_crm.dashboards.{card}": once(
			{"filters": {"assigned_to": "{owner}", "responsible": "{owner}"}}
		)
		for card in (
			"my_tasks_today",
			"my_overdue_tasks",
			"my_open_deals",
			"my_new_leads",
			"unassigned_new_leads",
		)
	},
	# the funnel chart: the funnel report's figures for what the caller sees, of the pipeline it names
	"simple_crm.dashboards.sales_funnel_chart": once(
		{"filters": {"pipeline": "Sales"}}, {"filters": {"pipeline": "{dn:CRM Deal}"}}
	),
	# the cards of a deals kanban: reportview.get's arguments (other doctypes are refused)
	"simple_crm.kanban.board_cards": A(*list_calls(base=REPORTVIEW), crafted=crafted_calls(base=REPORTVIEW)),
	# a workspace page with the cards and charts the caller may read
	"simple_crm.dashboards.get_desktop_page": once(
		{"page": json.dumps({"name": "Simple CRM", "title": "Simple CRM"})}
	),
	# a spreadsheet import's summary: the import's readers only (CRM administrators, System Managers)
	"simple_crm.api.data_import.summary": once({"data_import": "{dn:CRM Deal}"}, expect="refused"),
	"simple_crm.api.data_import.download_summary": once({"data_import": "{dn:CRM Deal}"}, expect="refused"),
	"simple_crm.api.handover.preview": once({"from_user": "{owner}"}),
	"simple_crm.api.handover.hand_over": once(
		{"from_user": "{owner}", "to_user": "{me}", "reason": "x"}, write=True
	),
	"simple_crm.permissions.search.get_count": A(
		{"doctype": "{dt}", "filters": {"name": "{dn}"}}, expect="falsy"
	),
	"simple_crm.permissions.search.global_search": A(
		{"text": "zq", "limit": 100}, {"text": "{dn}", "limit": 100}, doctypes=()
	),
	"simple_crm.permissions.search.search_visible": A(
		{"doctype": "{dt}", "txt": "", "searchfield": "name", "start": 0, "page_len": 500, "filters": {}},
		{"doctype": "{dt}", "txt": "zq", "searchfield": ONE_DEAL, "start": 0, "page_len": 500, "filters": {}},
		{
			"doctype": "{dt}",
			"txt": "",
			"searchfield": "name",
			"start": 0,
			"page_len": 500,
			"filters": {"name": "{dn}"},
		},
	),
}


# --- enumeration -------------------------------------------------------------------------------------


def _import_all(package_name: str) -> None:
	package = importlib.import_module(package_name)
	for module in pkgutil.walk_packages(package.__path__, f"{package_name}."):
		parts = module.name.split(".")
		if any(part.startswith("test") or part in SKIPPED_MODULE_PARTS for part in parts):
			continue
		try:
			importlib.import_module(module.name)
		except BaseException:  # a module needing an absent dependency or a site state: not reachable
			continue


def path_of(fn) -> str:
	return f"{fn.__module__}.{fn.__qualname__}"


def _selects(fn) -> bool:
	if fn.__module__.split(".")[0] == "simple_crm":
		return True
	try:
		parameters = inspect.signature(fn).parameters
	except (TypeError, ValueError):
		parameters = {}
	if SELECTING_PARAMETERS.intersection(parameters):
		return True
	try:
		source = inspect.getsource(fn)
	except (OSError, TypeError):
		return False
	return "form_dict" in source or "get_form_params" in source


def selected_methods() -> set[str]:
	"""The whitelisted methods of Frappe and the app that the suite must cover (see the module doc)."""
	for package_name in ("frappe", "simple_crm"):
		_import_all(package_name)
	found = {path_of(fn) for fn in frappe.whitelisted if _selects(fn)}
	return found | set(EXTRA_ENTRY_POINTS) | set(ALSO_SELECTED)


def override_targets() -> dict[str, str]:
	"""App functions that replace a Frappe method (override_whitelisted_methods): target -> original."""
	targets = {}
	for original, replacements in frappe.get_hooks("override_whitelisted_methods").items():
		for target in replacements:
			if target.startswith("simple_crm."):
				targets[target] = original
	return targets


def coverage() -> dict[str, Attack | NotApplicable]:
	"""COVERAGE with the app's replacements of Frappe methods attacked like the methods they replace."""
	table = dict(COVERAGE)
	for target, original in override_targets().items():
		if target not in table and original in table:
			table[target] = table[original]
	return table


def http_method(path: str, attack: Attack) -> str:
	if attack.http:
		return attack.http
	if path in EXTRA_ENTRY_POINTS:
		return "POST"
	fn = _function(path)
	allowed = frappe.allowed_http_methods_for_whitelisted_func.get(fn, ["POST"]) if fn else ["POST"]
	return "POST" if "POST" in allowed else "GET"


def _function(path: str):
	for fn in frappe.whitelisted:
		if path_of(fn) == path:
			return fn
	return None


def children_of(doctype: str) -> list[str]:
	return [child for child, (parent, _field) in CHILD_TABLES.items() if parent == doctype]
