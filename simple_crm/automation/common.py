"""What every automation job shares: its settings, doing a thing once, telling people, logging a run.

- `settings()` reads Simple CRM Settings with the doctype's defaults standing in for values a site has
  never saved (a site that migrated to a version with a new switch gets the switch's default).
- `claim(key, ...)` records, in the job's own transaction, that the action named `key` has been done: it
  returns False when it already was (by an earlier run or by a run going on at the same time, which
  waits on the row until the other commits). An action and its claim are committed together, so a job
  that crashes half-way leaves each action either done and claimed or neither, and the next run goes
  on from there.
- `notify()` makes Frappe notifications (bell icon), which also go out as e-mails through the Email
  Queue to users who have e-mail notifications on; the text is in the recipient's language.
- `JobRun` bounds a run (at most the batch size of records, the rest next run), commits after each record
  and writes a one-line summary to the log file and to the Scheduled Job Log of the run.
"""

from contextlib import contextmanager

import frappe
from frappe import _
from frappe.utils import cint, flt, get_url_to_form, now_datetime
from frappe.utils.data import cast_fieldtype

from simple_crm.permissions.roles import HEAD_OF_SALES

SETTINGS = "Simple CRM Settings"
MARK = "CRM Automation Mark"
# the user the jobs act as: the tasks they make are written by the system, not by a person
SYSTEM_USER = "Administrator"


def settings() -> frappe._dict:
	"""The settings, every field present: a value never saved takes the field's default.

	Read with one plain query (every public request of the channels reads them; Frappe's get_singles_dict
	builds and checks its query each time) and cast as get_singles_dict(cast=True) casts."""
	meta = frappe.get_meta(SETTINGS)
	stored = dict(frappe.db.sql("select field, value from `tabSingles` where doctype = %s", SETTINGS))
	values = frappe._dict()
	for df in meta.fields:
		if df.fieldtype in ("Section Break", "Column Break", "Tab Break"):
			continue
		if df.fieldname in stored:
			value = cast_fieldtype(df.fieldtype, stored[df.fieldname], show_warning=False)
		else:
			value = df.default
		if df.fieldtype in ("Check", "Int"):
			value = cint(value)
		elif df.fieldtype in ("Float", "Percent", "Currency"):
			value = flt(value)
		values[df.fieldname] = value
	return values


def batch_size() -> int:
	return max(1, cint(settings().automation_batch_size) or 500)


def claim(
	key: str,
	job: str,
	reference_doctype: str | None = None,
	reference_name: str | None = None,
	user: str | None = None,
) -> bool:
	"""Mark the action `key` as done in this transaction; False when it was done before."""
	if len(key) > 140:
		raise ValueError(f"automation key longer than 140 characters: {key}")
	frappe.db.sql(
		"""insert ignore into `tabCRM Automation Mark`
			(name, job, marked_on, reference_doctype, reference_name, user,
			creation, modified, owner, modified_by, docstatus, idx)
		values (%(key)s, %(job)s, %(now)s, %(rdt)s, %(rdn)s, %(user)s, %(now)s, %(now)s, %(owner)s,
			%(owner)s, 0, 0)""",
		{
			"key": key,
			"job": job,
			"now": now_datetime(),
			"rdt": reference_doctype,
			"rdn": reference_name,
			"user": user,
			"owner": SYSTEM_USER,
		},
	)
	return bool(frappe.db._cursor.rowcount)


def claimed(key: str) -> bool:
	return bool(frappe.db.exists(MARK, key))


def claimed_keys(keys: list[str]) -> set[str]:
	"""Which of `keys` have been claimed (one query)."""
	if not keys:
		return set()
	return set(frappe.get_all(MARK, filters={"name": ("in", list(keys))}, pluck="name"))


def head_of_sales(user: str | None) -> str | None:
	"""The head of the (first active) team `user` belongs to or leads; None outside every team."""
	if not user:
		return None
	team = frappe.qb.DocType("CRM Sales Team")
	member = frappe.qb.DocType("CRM Sales Team Member")
	led = frappe.get_all("CRM Sales Team", filters={"head": user, "disabled": 0}, pluck="head", limit=1)
	if led:
		return led[0]
	rows = (
		frappe.qb.from_(member)
		.join(team)
		.on(member.parent == team.name)
		.select(team.head)
		.where(
			(member.user == user)
			& (member.parenttype == "CRM Sales Team")
			& (team.disabled == 0)
			& team.head.isnotnull()
		)
		.orderby(team.name)
		.limit(1)
		.run(pluck=True)
	)
	return rows[0] if rows else None


def heads_of_sales() -> list[str]:
	"""Enabled users with the head of sales role."""
	return _enabled_users_with_role(HEAD_OF_SALES)


def _enabled_users_with_role(role: str) -> list[str]:
	has_role = frappe.qb.DocType("Has Role")
	user = frappe.qb.DocType("User")
	return (
		frappe.qb.from_(has_role)
		.join(user)
		.on(has_role.parent == user.name)
		.select(user.name)
		.distinct()
		.where(
			(has_role.role == role)
			& (has_role.parenttype == "User")
			& (user.enabled == 1)
			& (user.user_type == "System User")
		)
		.orderby(user.name)
		.run(pluck=True)
	)


def users_with_role(role: str) -> list[str]:
	return _enabled_users_with_role(role)


def user_language(user: str) -> str:
	return frappe.db.get_value("User", user, "language") or frappe.db.get_default("lang") or "en"


@contextmanager
def in_language(user: str):
	"""Translate (`_()`) into `user`'s language inside the block."""
	previous = getattr(frappe.local, "lang", None)
	frappe.local.lang = user_language(user)
	try:
		yield frappe.local.lang
	finally:
		frappe.local.lang = previous


def outgoing_email_ready() -> bool:
	"""Whether the site has an outgoing e-mail account to queue mail through. While e-mails are muted, Frappe
	answers a site without one with a stand-in account that has no address, on which queuing an e-mail fails:
	that is no account either."""
	from frappe.email.doctype.email_account.email_account import EmailAccount

	account = EmailAccount.find_outgoing(_raise_error=False)
	return bool(account and account.get("email_id"))


def desk_link(doctype: str, name: str) -> str:
	"""An absolute link to the record's form in the Desk."""
	return get_url_to_form(doctype, name)


def notify(
	user: str,
	subject: str,
	message: str = "",
	reference_doctype: str | None = None,
	reference_name: str | None = None,
) -> None:
	"""Tell `user`: a Frappe notification (the Desk's bell) and, unless the user switched e-mail
	notifications off in their Notification Settings, the same as an e-mail through the Email Queue.
	`subject` and `message` are already in the user's language (render them inside `in_language(user)`)."""
	from frappe.desk.doctype.notification_log.notification_log import make_notification_logs
	from frappe.desk.doctype.notification_settings.notification_settings import (
		is_email_notifications_enabled,
	)

	if not user or user == "Guest":
		return
	address, enabled = frappe.db.get_value("User", user, ["email", "enabled"]) or (None, 0)
	if not enabled:
		return
	make_notification_logs(
		{
			"type": "Alert",
			"document_type": reference_doctype,
			"document_name": reference_name,
			"subject": subject,
			"email_content": message,
			"from_user": SYSTEM_USER,
		},
		[user],
	)
	# Frappe e-mails no "Alert" notification: the jobs' notices are worth an e-mail, so it is sent here (on
	# a site with an outgoing e-mail account)
	if address and is_email_notifications_enabled(user) and outgoing_email_ready():
		link = desk_link(reference_doctype, reference_name) if reference_doctype and reference_name else ""
		body = message or subject
		if link and link not in body:
			body += f"<p><a href='{link}'>{frappe.utils.escape_html(_(reference_doctype))} {reference_name}</a></p>"
		try:
			frappe.sendmail(
				recipients=[address],
				subject=frappe.utils.strip_html(subject),
				message=body,
				reference_doctype=reference_doctype,
				reference_name=reference_name,
				delayed=True,
			)
		except frappe.OutgoingEmailError:
			# no outgoing e-mail account on the site: the notification in the Desk still stands
			frappe.clear_last_message()
			frappe.log_error(title="simple_crm: notification e-mail not queued")


@contextmanager
def as_system():
	"""Run the block as the system user (the jobs' tasks and notifications are made by the system)."""
	previous = frappe.session.user
	frappe.set_user(SYSTEM_USER)
	try:
		yield
	finally:
		frappe.set_user(previous)


class JobRun:
	"""One run of a job: counts what it did, commits after each record, logs one line at the end.

	run = JobRun("lead_sla")
	for name in run.take(candidates):      # at most the batch size
	    with run.item(name):               # commit on success, roll back and count on failure
	        ...
	        run.count("escalated")
	run.finish()
	"""

	def __init__(self, job: str, commit: bool = True):
		self.job = job
		self.commit = commit
		self.counts: dict[str, int] = {}
		self.failed: list[str] = []
		self.limit = batch_size()
		self.more = False

	def take(self, items: list) -> list:
		items = list(items)
		self.more = len(items) > self.limit
		return items[: self.limit]

	def count(self, what: str, n: int = 1) -> None:
		self.counts[what] = self.counts.get(what, 0) + n

	@contextmanager
	def item(self, name: str):
		savepoint = "crm_automation_item"
		if not self.commit:
			frappe.db.savepoint(savepoint)
		try:
			yield
		except Exception:
			if self.commit:
				frappe.db.rollback()
			else:
				frappe.db.rollback(save_point=savepoint)
			self.failed.append(name)
			frappe.log_error(title=f"simple_crm {self.job}: {name}", reference_doctype=None)
		else:
			if self.commit:
				frappe.db.commit()

	def summary(self) -> str:
		parts = [f"{what}: {n}" for what, n in sorted(self.counts.items())] or ["nothing to do"]
		if self.failed:
			parts.append(f"failed: {len(self.failed)} ({', '.join(self.failed[:5])})")
		if self.more:
			parts.append("more left for the next run")
		return f"{self.job}: " + ", ".join(parts)

	def finish(self) -> str:
		line = self.summary()
		frappe.logger("simple_crm.automation").info(line)
		_note_on_scheduled_job_log(line)
		if self.commit:
			frappe.db.commit()
		return line


def _note_on_scheduled_job_log(line: str) -> None:
	"""Write the summary on the Scheduled Job Log of the run going on (when the scheduler started it)."""
	job = getattr(frappe.local, "job", None) or {}
	method = (job.get("kwargs") or {}).get("job_type") if isinstance(job, dict) else None
	if not method:
		return
	job_type = frappe.db.get_value("Scheduled Job Type", {"method": method}, "name")
	if not job_type:
		return
	log = frappe.get_all(
		"Scheduled Job Log",
		filters={"scheduled_job_type": job_type, "status": "Start"},
		order_by="creation desc",
		limit=1,
		pluck="name",
	)
	if log:
		frappe.db.set_value("Scheduled Job Log", log[0], "details", line, update_modified=False)
