"""Recurring tasks: Frappe's Auto Repeat in the hands of sales people, without a way around the CRM's rules.

Frappe's Auto Repeat copies its reference record on schedule with ignore_permissions (as the scheduler,
Administrator), optionally e-mails every copy to any address, and renders its subject and message as
templates that may call `frappe.get_all` on any table. It checks nothing about who set it up: anyone
allowed to create an Auto Repeat could make copies of a colleague's record or have them e-mailed anywhere,
and its whitelisted functions open more doors (`update_reference` writes any reference with db_set,
`generate_message_preview` renders any template at once, `fetch_linked_contacts` on a crafted document
lists the e-mails of any record's contacts). The CRM's sales roles may use it (install.grant_role_permissions),
so here, for every user but the Administrator and the system at work:

- an Auto Repeat is listed and read only when its reference record is one the user can see
  (simple_crm.security.read_paths.REFERENCE_FIELDS);
- a user who does not see everything (simple_crm.permissions.roles.sees_everything) creates, changes and
  deletes Auto Repeats of CRM Tasks they may change only, never of another doctype
  (`check_auto_repeat`, before anything is validated or written; `auto_repeat_permission` for a stored
  Auto Repeat and for documents built from a request); and such a user has no copies e-mailed at all:
  the e-mail carries the whole copy as a print, and a list of addresses vetted against each task's
  readers would go stale as the task changes hands;
- in the subject and message, anyone but a System Manager writes no more template than `{{ doc.<field> }}`
  of the copy's own fields (Frappe's default message is one): a template runs with access to every
  table (`frappe.get_all` of e-mails queued for others, with their password reset links, included), in
  the scheduler's run and at once in the preview;
- `update_reference` and `generate_message_preview` are replaced (override_whitelisted_methods) by
  versions that apply the same rules.

Every refusal writes nothing and answers 403 over REST: a `RepeatNotPermittedError` with its reason, or,
from the permission hooks (a repeat of a record the user cannot see), Frappe's own PermissionError that
names nothing but what was sent.
"""

import re

import frappe
from frappe import _
from frappe.model import default_fields

from simple_crm.permissions import ROW_LEVEL_DOCTYPES, record_visible, sees_everything
from simple_crm.security.input import existing_doctype

AUTO_REPEAT = "Auto Repeat"
# the one doctype users who do not see everything may repeat
REPEATABLE_DOCTYPE = "CRM Task"
TEMPLATE_FIELDS = ("subject", "message")
# the template anyone may write: a field of the document, looked up, nothing called
FIELD_LOOKUP = re.compile(r"\{\{\s*doc\.([A-Za-z][A-Za-z0-9_]*)\s*\}\}")
# once the field lookups are taken out, no brace may be left: every other Jinja construct needs one
BRACES = ("{", "}")
READ_PTYPES = frozenset({"read", "select", "report", "print", "email", "export"})


class RepeatNotPermittedError(frappe.PermissionError):
	pass


def _refuse(message: str) -> None:
	frappe.throw(message, RepeatNotPermittedError, title=_("Not Permitted"))


def _acting_user() -> str | None:
	"""The user whose rights count, or None for the Administrator (the scheduler's runs included) and the
	system at work (install, migrate, patches)."""
	if frappe.flags.in_install or frappe.flags.in_migrate or frappe.flags.in_patch:
		return None
	user = frappe.session.user
	return None if user == "Administrator" else user


def may_use_templates(user: str) -> bool:
	return user == "Administrator" or "System Manager" in frappe.get_roles(user)


def may_repeat(doctype: str | None, name: str | None, user: str) -> bool:
	"""Whether `user`, who does not see everything, may set up or change a repeat of (doctype, name)."""
	if doctype != REPEATABLE_DOCTYPE or not name or not frappe.db.exists(doctype, name):
		return False
	# visible first, by a query that says nothing: Frappe's own check of a record adds a message naming it
	if not record_visible(doctype, str(name), user):
		return False
	return frappe.has_permission(doctype, "write", doc=name, user=user)


def _stored(doc) -> frappe._dict | None:
	"""The saved row of an Auto Repeat (None for a new one), read from the database, not from the request."""
	if doc.get("__islocal") or not doc.get("name"):
		return None
	return frappe.db.get_value(
		AUTO_REPEAT,
		doc.get("name"),
		["reference_doctype", "reference_document", *TEMPLATE_FIELDS],
		as_dict=True,
	)


# --- doc_events -------------------------------------------------------------------------------------------


def check_auto_repeat(doc, method=None) -> None:
	"""Auto Repeat before_validate: runs before Frappe's own validate, which already writes to the reference
	record (its `auto_repeat` field), so a refusal here leaves everything as it was."""
	user = _acting_user()
	if not user:
		return
	if not sees_everything(user):
		check_reference(doc.reference_doctype, doc.reference_document, user)
		if doc.notify_by_email:
			_refuse(
				_(
					"Copies of a repeated task are e-mailed only for users who see every record: turn off {0}"
				).format(frappe.bold(_("Notify by Email")))
			)
	if not may_use_templates(user):
		stored = _stored(doc) or {}
		changed = [f for f in TEMPLATE_FIELDS if (doc.get(f) or "") != (stored.get(f) or "")]
		check_field_lookups_only(doc.reference_doctype, *(doc.get(f) for f in changed))


def check_reference(doctype: str | None, name: str | None, user: str) -> None:
	"""The repeat of a user who does not see everything is of a CRM Task they may change, with a message
	that tells a colleague's task from one that does not exist no better than Frappe's lists do."""
	if not doctype or not name:
		_refuse(_("Choose the task to repeat"))
	if doctype != REPEATABLE_DOCTYPE:
		_refuse(
			_("Only tasks can be repeated: {0} cannot").format(frappe.bold(_(doctype))),
		)
	if not frappe.db.exists(doctype, name) or not record_visible(doctype, str(name), user):
		_refuse(
			_("{0} {1} is not one of the records you can see, so it cannot be repeated").format(
				_(doctype), frappe.bold(name)
			)
		)
	if not may_repeat(doctype, name, user):
		_refuse(_("You may repeat only tasks you can change, and {0} is not one").format(frappe.bold(name)))


def check_field_lookups_only(doctype: str | None, *texts: str | None) -> None:
	"""A subject or message of someone who may not write templates: plain text and `{{ doc.<field> }}`
	of `doctype`'s fields only."""
	fields = _lookup_fields(doctype)
	for text in texts:
		if not text:
			continue
		rest = FIELD_LOOKUP.sub("", text)
		if any(brace in rest for brace in BRACES) or not set(FIELD_LOOKUP.findall(text)) <= fields:
			_refuse(
				_(
					"Only a System Manager can put more than {0} in the subject or message of an Auto Repeat: "
					"a template is rendered with access to all data"
				).format(frappe.bold("{{ doc.fieldname }}"))
			)


def _lookup_fields(doctype: str | None) -> set[str]:
	if not doctype or not frappe.db.exists("DocType", doctype):
		return set()
	meta = frappe.get_meta(doctype)
	return {df.fieldname for df in meta.fields if df.fieldtype != "Password"} | set(default_fields)


# --- has_permission -----------------------------------------------------------------------------------------


def auto_repeat_permission(doc, ptype: str | None = None, user: str | None = None) -> bool | None:
	"""has_permission of Auto Repeat, beside read_paths.reference_permission: refuses (False) or leaves the
	decision to Frappe (None), never grants.

	For a user who does not see everything:
	- reading a document whose reference differs from the stored one, or that is not stored at all (a
	  form's `run_doc_method` builds one from what the client sends, and runs its methods after a read
	  check), needs the reference to be a CRM Task the user can see;
	- changing, deleting or sharing a stored Auto Repeat needs the right to change the task it repeats
	  (a new reference is then `check_auto_repeat`'s, which explains its refusals, as it does creating)."""
	user = user or frappe.session.user
	if user == "Administrator" or ptype == "create" or sees_everything(user):
		return None
	stored = _stored(doc)
	stored_reference = (stored.reference_doctype, stored.reference_document) if stored else None
	if ptype is None or ptype in READ_PTYPES:
		reference = (doc.get("reference_doctype"), doc.get("reference_document"))
		if reference == stored_reference or not reference[0]:
			return None
		if reference[0] != REPEATABLE_DOCTYPE or (
			reference[1] and not record_visible(reference[0], str(reference[1]), user)
		):
			return False
		return None
	if stored and not may_repeat(*stored_reference, user):
		return False
	return None


# --- replacements of whitelisted methods (override_whitelisted_methods) -----------------------------------


@frappe.whitelist(methods=["POST"])
def update_reference(docname: str, reference: str):
	"""`frappe.automation.doctype.auto_repeat.auto_repeat.update_reference`, which points an Auto Repeat at
	any record with db_set (no validation): the new reference must pass what a save would check."""
	doc = frappe.get_doc(AUTO_REPEAT, str(docname))
	doc.check_permission("write")
	user = _acting_user()
	if user and not sees_everything(user):
		check_reference(doc.reference_doctype, str(reference), user)
	doc.db_set("reference_document", str(reference))
	return "success"


@frappe.whitelist(methods=["GET", "POST"])
def generate_message_preview(
	reference_dt: str, reference_doc: str, message: str | None = None, subject: str | None = None
):
	"""`frappe.automation.doctype.auto_repeat.auto_repeat.generate_message_preview`, which renders any
	template at once (and `frappe.get_all` in it reads any table): anyone but a System Manager previews
	field lookups of a record they can see only, rendered as a string, never read as a template file."""
	from frappe.automation.doctype.auto_repeat import auto_repeat
	from frappe.utils.jinja import get_jenv
	from jinja2 import TemplateError

	existing_doctype(reference_dt, "reference_dt")
	user = frappe.session.user
	if may_use_templates(user):
		return auto_repeat.generate_message_preview(reference_dt, reference_doc, message, subject)
	frappe.has_permission(AUTO_REPEAT, "write", throw=True)
	check_field_lookups_only(reference_dt, message, subject)
	if reference_dt in ROW_LEVEL_DOCTYPES and not record_visible(reference_dt, str(reference_doc), user):
		_refuse(
			_("{0} {1} is not one of the records you can see").format(
				_(reference_dt), frappe.bold(reference_doc)
			)
		)
	doc = frappe.get_doc(reference_dt, reference_doc)
	doc.check_permission()

	def render(text: str) -> str:
		try:
			return get_jenv().from_string(text).render(doc=doc)
		except TemplateError:
			frappe.throw(_("The subject or message cannot be read as a template"), frappe.ValidationError)

	return {
		"message": render(message or ""),
		"subject": render(subject) if subject else _("Please add a subject to your email"),
	}
