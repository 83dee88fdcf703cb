"""Writes into records the user cannot see, through the side doors that do not save the record itself.

Saving a CRM record goes through `has_permission` (simple_crm.permissions) and is refused when the record
is not one the user can see. Frappe also writes *about* a record without saving it, and checks less there:

- a like (`frappe.desk.like.toggle_like`) writes `_liked_by` with `frappe.db.set_value` and a "Liked"
  comment, and checks nothing;
- tags (`frappe.desk.doctype.tag.tag.add_tag`, `add_tags`, `remove_tag`) write `_user_tags` first and check
  write permission afterwards, in a way that turns the refusal into an IndexError (a 500);
- an attachment (`upload_file`, `frappe.client.attach_file`, `POST /api/resource/File`) needs only the
  right to create files: `upload_file` asks for write permission on the record and ignores the answer;
- `Tag Link` rows (role All may create them) and `Document Follow` rows (any Desk user, for any user:
  the follower then gets the record's changes by e-mail) point at any record;
- a rename with merge (`frappe.client.rename_doc`, `frappe.model.rename_doc.update_document_title`) checks
  write permission on the record renamed and nothing on the record merged into, which receives every link,
  assignment and attachment of the other and a comment.

Here: the like and tag endpoints are replaced (override_whitelisted_methods) by versions that first check
that the user may read (like) or change (tags) the record; and doc_events refuse a File, Tag Link, Comment
or Document Follow pointing at a row-level record the user cannot see, and a merge into a record the user
may not change.
Every refusal is a `ForeignRecordError`, a PermissionError: REST answers 403 and nothing is written.
"""

import json

import frappe
from frappe import _

from simple_crm.permissions import ROW_LEVEL_DOCTYPES, record_visible
from simple_crm.security.input import existing_doctype, json_argument

# comments a person adds through the Desk (Frappe's own notes on a record, Info, Edit, Assigned..., are
# written by the system on behalf of whoever triggered them and stay out of this)
USER_COMMENT_TYPES = frozenset({"Comment", "Like", "Attachment"})


class ForeignRecordError(frappe.PermissionError):
	pass


def refuse_unless_visible(doctype: str | None, name: str | None, user: str | None = None) -> None:
	"""Refuse when (doctype, name) is a row-level record `user` (default: the session user) cannot see.

	The message names only what the caller sent: the record's title or owner is not theirs to learn, and
	"cannot see" does not tell a record that exists from one that does not."""
	if not doctype or not name or doctype not in ROW_LEVEL_DOCTYPES:
		return
	if record_visible(doctype, str(name), user):
		return
	frappe.throw(
		_("{0} {1} is not one of the records you can see, so it cannot be changed").format(
			_(doctype), frappe.bold(name)
		),
		ForeignRecordError,
		title=_("Not Permitted"),
	)


def refuse_unless_writable(doctype: str, name: str) -> None:
	"""The record must be visible and writable for the session user (what saving it would require)."""
	refuse_unless_visible(doctype, name)
	frappe.has_permission(doctype, "write", name, throw=True)


def _acting_user() -> str | None:
	"""The user whose rights count, or None when the system is at work (install, migrate, patches)."""
	if frappe.flags.in_install or frappe.flags.in_migrate or frappe.flags.in_patch:
		return None
	user = frappe.session.user
	return None if user == "Administrator" else user


def _pointer_changed(doc, *fieldnames: str) -> bool:
	if doc.is_new():
		return True
	return any(doc.has_value_changed(fieldname) for fieldname in fieldnames)


# --- doc_events -------------------------------------------------------------------------------------------


def check_file(doc, method=None) -> None:
	"""File (validate): attached only to records the uploader can see. Frappe's own code attaching files
	for a record it is working on (flags.ignore_permissions) is left alone; a guest's upload (allowed by
	the System Settings, and saved with ignore_permissions) is not."""
	user = _acting_user()
	if not user or (doc.flags.ignore_permissions and user != "Guest"):
		return
	if _pointer_changed(doc, "attached_to_doctype", "attached_to_name"):
		refuse_unless_visible(doc.attached_to_doctype, doc.attached_to_name)


def check_tag_link(doc, method=None) -> None:
	"""Tag Link (validate): Frappe writes these itself (with ignore_permissions) after its write check."""
	if doc.flags.ignore_permissions or not _acting_user():
		return
	if _pointer_changed(doc, "document_type", "document_name"):
		refuse_unless_visible(doc.document_type, doc.document_name)


def check_comment(doc, method=None) -> None:
	"""Comment (validate): a comment, like or attachment note is added only to a record the user sees.

	Checked even when inserted with ignore_permissions, which is how Frappe inserts all of them."""
	if doc.comment_type not in USER_COMMENT_TYPES or not _acting_user():
		return
	if _pointer_changed(doc, "reference_doctype", "reference_name"):
		refuse_unless_visible(doc.reference_doctype, doc.reference_name)


def check_document_follow(doc, method=None) -> None:
	"""Document Follow (validate): the follower receives the record's changes by e-mail, so both the user
	who asks and the follower must see it."""
	if not _acting_user() or not _pointer_changed(doc, "ref_doctype", "ref_docname", "user"):
		return
	if not doc.flags.ignore_permissions:
		refuse_unless_visible(doc.ref_doctype, doc.ref_docname)
	refuse_unless_visible(doc.ref_doctype, doc.ref_docname, doc.user)


def check_rename_target(doc, method=None, old: str | None = None, new: str | None = None, merge=False):
	"""before_rename of the row-level doctypes: a record is merged only into one the user may change.

	Frappe checks write permission on the record being renamed only; the target of a merge receives its
	links, assignments, attachments and a comment, and so must be the user's to change as well."""
	if frappe.utils.sbool(merge) and new and _acting_user():
		refuse_unless_writable(doc.doctype, new)


# --- replacements of whitelisted methods (override_whitelisted_methods) -----------------------------------


@frappe.whitelist(methods=["POST"])
def toggle_like(doctype: str, name: str, add: str = "No"):
	"""frappe.desk.like.toggle_like, for records the user can read (Frappe checks nothing)."""
	from frappe.desk.like import toggle_like as frappe_toggle_like

	existing_doctype(doctype)
	refuse_unless_visible(doctype, name)
	frappe.has_permission(doctype, "read", name, throw=True)
	return frappe_toggle_like(doctype, name, add)


@frappe.whitelist(methods=["POST"])
def add_tag(tag: str, dt: str, dn: str, color: str | None = None):
	"""frappe.desk.doctype.tag.tag.add_tag, with the write check first."""
	from frappe.desk.doctype.tag import tag as tags

	existing_doctype(dt, "dt")
	refuse_unless_writable(dt, dn)
	return tags.add_tag(tag, dt, dn, color)


@frappe.whitelist(methods=["POST"])
def add_tags(tags: str | list, dt: str, docs: str | list, color: str | None = None):
	"""frappe.desk.doctype.tag.tag.add_tags, with the write check first on every record."""
	from frappe.desk.doctype.tag import tag as tag_module

	existing_doctype(dt, "dt")
	tags = json_argument(tags, "tags", list)
	docs = json_argument(docs, "docs", list)
	for name in docs:
		refuse_unless_writable(dt, name)
	return tag_module.add_tags(json.dumps(tags), dt, json.dumps(docs), color)


@frappe.whitelist(methods=["POST"])
def remove_tag(tag: str, dt: str, dn: str):
	"""frappe.desk.doctype.tag.tag.remove_tag, with the write check first."""
	from frappe.desk.doctype.tag import tag as tags

	existing_doctype(dt, "dt")
	refuse_unless_writable(dt, dn)
	return tags.remove_tag(tag, dt, dn)
