"""Side doors to a record the user cannot see: child rows read by name, notifications of others, and
whitelisted methods of Frappe that look records up without the row-level rules.

- **Child rows.** Frappe checks a child row (`GET /api/resource/CRM Deal Item/<row>`, `PUT`, `DELETE`,
  `frappe.client.get` of a child doctype) in `frappe.permissions.has_child_permission`, which asks for
  the permission on the parent *doctype* only: for a row loaded by itself `parent_doc` is None, so the
  parent record is never checked, and the `has_permission` hooks of a child doctype are never asked (the
  hooks are read only for the doctype being checked, after the child branch has returned). So a sales
  manager read a colleague's deal items with their amounts, contact phones and e-mails, bank accounts,
  and deleted them (202). Here `child_permission` is the `has_permission` hook of the row-level child
  doctypes (False when the row's parent is a row-level record the user cannot see), and
  `has_child_permission` is wrapped once per process (`install`, from the `before_request` and
  `before_job` hooks) so that Frappe asks the child doctype's own hooks after its own check; the wrapper
  only ever adds refusals. Refused, a read answers 403 with Frappe's plain message, a change "Insufficient
  Permission for <child doctype>", a delete "User not allowed to delete <child doctype>: <row>": none of
  them names the parent.
- **Notification Log.** Frappe filters the list to the user's own notifications but has no
  `has_permission`: any notification, naming a colleague's record, was read by its name.
  `notification_permission` keeps a notification to the user it was written for (as the list does).
- **Whitelisted methods** (override_whitelisted_methods in hooks.py): `frappe.client.get` with `filters`
  loaded the first match of any record and answered 403 naming it (an oracle for any field); the SMS
  dialog's `get_contact_number` read any contact's phone; `get_tags` listed every tag, including those
  only on records the user cannot see; `add_attachments` copied any file onto the user's record;
  `unzip_file` checked nothing; `unfollow_document` answered 403 naming the follow row. Each replacement
  looks records up as `frappe.get_list` gives them to the user, and answers for one the user cannot see
  as for one that does not exist.
- **Discussions.** `submit_discussion` saves topics and replies with ignore_permissions on any record;
  `check_discussion_topic` / `check_discussion_reply` (validate) refuse those about a record the user
  cannot see, whatever path saves them.
"""

import frappe
from frappe import _

from simple_crm.permissions import ROW_LEVEL_DOCTYPES, record_visible
from simple_crm.security.foreign_writes import refuse_unless_visible, refuse_unless_writable
from simple_crm.security.input import existing_doctype


class FileNotVisibleError(frappe.PermissionError):
	pass


# --- child rows -------------------------------------------------------------------------------------------


def child_permission(doc, ptype: str | None = None, user: str | None = None) -> bool | None:
	"""has_permission of the row-level child doctypes: a row of a row-level record the user cannot see is
	refused (False); otherwise the decision is left to Frappe (None, never True: Frappe stops at the first
	hook that answers)."""
	parenttype, parent = doc.get("parenttype"), doc.get("parent")
	if parenttype not in ROW_LEVEL_DOCTYPES or not parent:
		return None
	user = user or frappe.session.user
	if record_visible(parenttype, str(parent), user):
		return None
	# a row sent for a parent that does not exist is left to Frappe (it fails on the parent itself)
	return False if frappe.db.exists(parenttype, parent) else None


def install() -> None:
	"""Make Frappe ask a child doctype's own has_permission hooks (idempotent, once per process)."""
	import frappe.permissions as permissions

	if getattr(permissions.has_child_permission, "_crm_asks_child_hooks", False):
		return
	frappe_has_child_permission = permissions.has_child_permission

	def has_child_permission(
		child_doctype,
		ptype="read",
		child_doc=None,
		user=None,
		raise_exception=True,
		parent_doctype=None,
		*,
		debug=False,
	) -> bool:
		allowed = frappe_has_child_permission(
			child_doctype, ptype, child_doc, user, raise_exception, parent_doctype, debug=debug
		)
		if not allowed or not child_doc:
			return allowed
		if not isinstance(child_doc, str) and getattr(child_doc, "parent_doc", None):
			return allowed  # loaded with its parent: Frappe has checked the parent record itself
		return _child_hooks_allow(child_doctype, child_doc, ptype, user or frappe.session.user)

	has_child_permission._crm_asks_child_hooks = True
	permissions.has_child_permission = has_child_permission


def _child_hooks_allow(child_doctype: str, child_doc, ptype: str, user: str) -> bool:
	methods = frappe.get_hooks("has_permission").get(child_doctype, [])
	if not methods:
		return True
	if isinstance(child_doc, str):
		row = frappe.db.get_value(child_doctype, child_doc, ("name", "parent", "parenttype"), as_dict=True)
		if not row:
			return True
		child_doc = frappe._dict(row, doctype=child_doctype)
	for method in reversed(methods):
		answer = frappe.call(method, doc=child_doc, ptype=ptype, user=user)
		if answer is not None:
			return bool(answer)
	return True


def before_request():
	install()


def before_job(*args, **kwargs):
	install()


# --- notifications ----------------------------------------------------------------------------------------


def notification_permission(doc, ptype: str | None = None, user: str | None = None) -> bool | None:
	"""has_permission of Notification Log: a notification is its recipient's only, as Frappe's own list
	condition has it (the Administrator is let through by Frappe before any hook)."""
	if doc.get("__islocal") or not doc.get("name"):
		return None
	return None if doc.get("for_user") == (user or frappe.session.user) else False


# --- replacements of whitelisted methods (override_whitelisted_methods) -----------------------------------


@frappe.whitelist()
def get(doctype: str, name: str | int | None = None, filters=None, parent: str | None = None):
	"""`frappe.client.get`. Given `filters`, Frappe loads the first match whoever it belongs to and then
	refuses it by name; here the match is looked up as `frappe.get_list` gives records to the user, and a
	match the user cannot see is answered like no match."""
	from frappe import client

	existing_doctype(doctype)
	if not name and filters is not None and not frappe.get_meta(doctype).issingle:
		parsed = frappe.parse_json(filters)
		found = frappe.get_list(
			doctype, filters=parsed, parent_doctype=parent, pluck="name", limit_page_length=1
		)
		if not found:
			frappe.throw(_("{0} {1} not found").format(_(doctype), parsed), frappe.DoesNotExistError)
		return client.get(doctype, name=found[0], parent=parent)
	return client.get(doctype, name=name, filters=filters, parent=parent)


@frappe.whitelist()
def get_contact_number(contact_name: str, ref_doctype: str, ref_name: str) -> str:
	"""`frappe.core.doctype.sms_settings.sms_settings.get_contact_number` (the SMS dialog): the contact and
	the record it is asked for must be ones the user can see; otherwise no number, as for no match."""
	from frappe.core.doctype.sms_settings import sms_settings

	if not record_visible("Contact", contact_name):
		return ""
	if ref_doctype in ROW_LEVEL_DOCTYPES and not record_visible(ref_doctype, ref_name):
		return ""
	return sms_settings.get_contact_number(contact_name, ref_doctype, ref_name)


@frappe.whitelist()
def get_tags(doctype: str, txt: str = "") -> list[str]:
	"""`frappe.desk.doctype.tag.tag.get_tags` (the tag box's suggestions): the tags on the records the user
	lists, not every tag of the site (a tag used only on a colleague's record tells about it)."""
	txt = txt or ""
	tags = frappe.get_list(
		"Tag Link",
		filters=[["tag", "like", f"%{txt}%"]],
		fields=["tag"],
		distinct=True,
		order_by="tag asc",
		limit_page_length=0,
	)
	return sorted({row.tag for row in tags if row.tag and txt.casefold() in row.tag.casefold()})


@frappe.whitelist(methods=["POST"])
def add_attachments(doctype: str, name: str, attachments: str | list):
	"""`frappe.utils.file_manager.add_attachments` (attach files already on the site to a record): the
	record must be the user's to change and every file one they may read. Frappe copies any file."""
	from frappe.utils import file_manager

	existing_doctype(doctype)
	refuse_unless_writable(doctype, name)
	if isinstance(attachments, str):
		attachments = frappe.parse_json(attachments)
	if not isinstance(attachments, list):
		frappe.throw(_("Attachments must be a list of files"), frappe.ValidationError)
	for attachment in attachments:
		if isinstance(attachment, str) and not _file_readable(attachment):
			frappe.throw(
				_("Only files you can see can be attached"), FileNotVisibleError, title=_("Not Permitted")
			)
	return file_manager.add_attachments(doctype, name, attachments)


def _file_readable(name: str) -> bool:
	if not frappe.db.exists("File", name):
		return False
	return frappe.has_permission("File", "read", doc=frappe.get_doc("File", name))


@frappe.whitelist(methods=["POST"])
def unzip_file(name: str):
	"""`frappe.core.api.file.unzip_file`: the file must be the user's to change (Frappe checks nothing and
	answers with the file's name). Refused, the message is Frappe's, naming no file."""
	file = frappe.get_doc("File", name)
	file.check_permission("write")
	return file.unzip()


@frappe.whitelist(methods=["POST"])
def unfollow_document(doctype: str, doc_name: str, user: str) -> int:
	"""`frappe.desk.form.document_follow.unfollow_document`: the follow is looked up as the user lists
	follows, so one about a record the user cannot see is answered like none (0) and stays."""
	follows = frappe.get_list(
		"Document Follow",
		filters={"ref_doctype": doctype, "ref_docname": doc_name, "user": user},
		pluck="name",
		limit_page_length=1,
	)
	if not follows:
		return 0
	frappe.delete_doc("Document Follow", follows[0])
	return 1


# --- doc_events -------------------------------------------------------------------------------------------


def _acting() -> bool:
	"""Whether a user's rights count (not during install, migrate or patches, nor for the Administrator)."""
	if frappe.flags.in_install or frappe.flags.in_migrate or frappe.flags.in_patch:
		return False
	return frappe.session.user != "Administrator"


def check_discussion_topic(doc, method=None) -> None:
	"""Discussion Topic (validate): a discussion is opened only on a record the user can see (Frappe's
	`submit_discussion` saves it with ignore_permissions, on any record)."""
	if _acting() and (doc.is_new() or doc.has_value_changed("reference_docname")):
		refuse_unless_visible(doc.reference_doctype, doc.reference_docname)


def check_discussion_reply(doc, method=None) -> None:
	"""Discussion Reply (validate): a reply is written only into a discussion of a record the user can see."""
	if not _acting() or not doc.topic:
		return
	topic = frappe.db.get_value(
		"Discussion Topic", doc.topic, ["reference_doctype", "reference_docname"], as_dict=True
	)
	if topic and topic.reference_doctype in ROW_LEVEL_DOCTYPES:
		if not record_visible(topic.reference_doctype, topic.reference_docname):
			frappe.throw(
				_("This discussion is about a record you cannot see, so it cannot be written to"),
				frappe.PermissionError,
				title=_("Not Permitted"),
			)
