"""What happens to every new lead, whatever channel it came from, after its insert has committed.

Inserting a lead does only what must be in the request (validation, normalisation, the duplicate check, the
insert) and enqueues one job for the rest, once its transaction has committed (a rolled-back insert
enqueues nothing). The job, in one transaction:

1. distributes the lead: Frappe's Assignment Rules on CRM Lead (round robin, load balancing, set up in the
   Desk), which Frappe would otherwise run inside the insert, run here, as part of the lead's save as far
   as the assignment guard and the distribution are concerned (simple_crm.distribution): the assignee
   becomes responsible, exactly once;
2. makes the workflow actions Frappe would have made in the insert (the Workflow Action list);
3. makes one CRM Task "call back" for the lead's responsible manager, due `callback_minutes` after the lead
   arrived, and notifies the manager. While nobody is responsible, the task goes to a head of sales (of the
   team of whoever entered the lead, else the first team's) who hands the lead out. A lead already worked
   on (no longer New) by then needs no call-back and gets none.

Exactly once per lead: the mark `new-lead:<lead>` is written in the same transaction, so a job that runs
twice, or alongside `catch_up`, does nothing the second time. `catch_up` (every few minutes) does the work
for recent leads whose job was lost (a worker that was down, Redis unreachable at the insert).
"""

import functools

import frappe
from frappe import _
from frappe.automation.doctype.assignment_rule import assignment_rule
from frappe.query_builder.functions import Concat
from frappe.utils import add_to_date, escape_html, format_datetime, get_datetime, now_datetime
from frappe.workflow.doctype.workflow_action import workflow_action
from redis import exceptions as redis_exceptions

from simple_crm.automation.common import (
	MARK,
	JobRun,
	as_system,
	claim,
	desk_link,
	head_of_sales,
	heads_of_sales,
	in_language,
	notify,
	settings,
)
from simple_crm.permissions.assignments import record_save_finished, record_save_started

JOB = "new_leads"
# how far back catch_up looks for leads whose job was lost
CATCH_UP_HOURS = 24


def key_for(lead: str) -> str:
	return f"new-lead:{lead}"


# set on a lead being inserted: Frappe's Assignment Rules and workflow actions wait for the new-lead job
DEFER_FLAG = "crm_after_commit"


def before_lead_insert(doc, method=None) -> None:
	"""CRM Lead before_insert: what can wait for the job does not run in this request."""
	doc.flags[DEFER_FLAG] = True


# set while a spreadsheet import commits its rows in groups (simple_crm.integrations.spreadsheet_import): the
# group's new leads, which get one job between them once the group has committed
GROUP = "crm_new_lead_group"


def on_lead_insert(doc, method=None) -> None:
	"""CRM Lead after_insert: the rest is done by a job once this transaction commits."""
	group = getattr(frappe.local, GROUP, None)
	if group is not None:
		group.append(doc.name)
		return
	try:
		frappe.enqueue(
			"simple_crm.automation.new_leads.process_new_lead",
			queue="short",
			enqueue_after_commit=True,
			job_id=f"simple_crm:new-lead:{doc.name}",
			lead=doc.name,
		)
	except redis_exceptions.ConnectionError:
		# the lead is saved all the same; catch_up does its job within minutes
		frappe.log_error(title="simple_crm: new-lead job not queued")


def enqueue_group(leads: list[str]) -> None:
	"""One job for the new leads of an import's group of rows, queued once the group has committed."""
	if not leads:
		return
	try:
		frappe.enqueue(
			"simple_crm.automation.new_leads.process_new_leads",
			queue="short",
			enqueue_after_commit=True,
			leads=list(leads),
		)
	except redis_exceptions.ConnectionError:
		frappe.log_error(title="simple_crm: new-lead job not queued")


def process_new_leads(leads: list[str]) -> str:
	"""The job of an import's group of new leads: each lead's work in a transaction of its own."""
	run = JobRun(JOB)
	values = settings()
	for name in leads:
		with run.item(name):
			for what in handle_new_lead(name, values):
				run.count(what)
	return run.finish()


def process_new_lead(lead: str) -> str:
	"""The job of one new lead (committed by the worker with the job); returns its one-line summary."""
	run = JobRun(JOB, commit=False)
	for what in handle_new_lead(lead, settings()):
		run.count(what)
	return run.finish()


def catch_up() -> str:
	"""Recent leads whose new-lead job was lost get it done now."""
	run = JobRun(JOB)
	values = settings()
	lead = frappe.qb.DocType("CRM Lead")
	mark = frappe.qb.DocType(MARK)
	since = add_to_date(now_datetime(), hours=-CATCH_UP_HOURS)
	# received_on is indexed; the anti-join reads one mark per candidate by its primary key
	names = (
		frappe.qb.from_(lead)
		.left_join(mark)
		.on(mark.name == Concat("new-lead:", lead.name))
		.select(lead.name)
		.where((lead.received_on >= since) & mark.name.isnull())
		.orderby(lead.received_on)
		.limit(run.limit + 1)
		.run(pluck=True)
	)
	for name in run.take(names):
		with run.item(name):
			for what in handle_new_lead(name, values):
				run.count(what)
	return run.finish()


def handle_new_lead(lead_name: str, values: frappe._dict) -> list[str]:
	"""Distribute the lead, make its workflow actions and its call-back task, once; returns what was done."""
	if not frappe.db.exists("CRM Lead", lead_name):
		return ["lead gone"]
	if not claim(key_for(lead_name), JOB, "CRM Lead", lead_name):
		return ["done before"]
	done = []
	lead = frappe.get_doc("CRM Lead", lead_name)
	if distribute(lead):
		done.append("distributed")
	with as_system():
		workflow_action.process_workflow_actions(lead, "on_update")
	if values.callback_task_enabled:
		done.append(make_callback_task(lead_name, values))
	return done


def distribute(lead) -> bool:
	"""Frappe's Assignment Rules on the lead, as they would have run in its insert; True if one assigned it."""
	before = lead.responsible
	record_save_started(lead)
	try:
		with as_system():
			_frappe_apply_assignment_rules(lead)
	finally:
		record_save_finished(lead)
	return bool(lead.responsible and lead.responsible != before)


def make_callback_task(lead_name: str, values: frappe._dict) -> str:
	"""Make the call-back task of one lead unless it exists; returns what happened (for the summary)."""
	lead = frappe.db.get_value(
		"CRM Lead",
		lead_name,
		["name", "lead_name", "company_name", "status", "responsible", "received_on", "creation", "owner"],
		as_dict=True,
	)
	if lead.status != "New":
		return "already worked on"
	assignee = lead.responsible or head_for_unassigned(lead.owner)
	if not assignee:
		return "nobody to call back"
	arrived = get_datetime(lead.received_on or lead.creation)
	due = add_to_date(arrived, minutes=values.callback_minutes)
	who = lead.lead_name or lead.company_name or lead.name
	with in_language(assignee):
		subject = _("Call back: {0}").format(who)
		if lead.company_name and lead.lead_name:
			subject = _("Call back: {0} ({1})").format(lead.lead_name, lead.company_name)
		description = _("A new lead arrived at {0}. Call back by {1}.").format(
			format_datetime(arrived), format_datetime(due)
		)
		with as_system():
			task = frappe.get_doc(
				{
					"doctype": "CRM Task",
					"subject": subject[:140],
					"task_type": "Call",
					"priority": "High",
					"status": "Open",
					"assigned_to": assignee,
					"due_on": due,
					"reference_doctype": "CRM Lead",
					"reference_name": lead.name,
					"description": description,
				}
			).insert(ignore_permissions=True)
			notify(
				assignee,
				_("New lead {0}: call back by {1}").format(escape_html(who), format_datetime(due)),
				"{}<br><a href='{}'>{}</a>".format(
					escape_html(description),
					desk_link("CRM Lead", lead.name),
					_("Open the lead"),
				),
				"CRM Task",
				task.name,
			)
	return "call-back tasks"


def head_for_unassigned(entered_by: str | None) -> str | None:
	"""Who gets the call-back of a lead nobody is responsible for: the head of the team of whoever entered
	it, else the head of the first active team, else the first head of sales."""
	head = head_of_sales(entered_by) if entered_by and entered_by not in ("Guest", "Administrator") else None
	if head:
		return head
	first = frappe.get_all(
		"CRM Sales Team",
		filters={"disabled": 0, "head": ("is", "set")},
		fields=["head"],
		order_by="name asc",
		limit=1,
		pluck="head",
	)
	if first and frappe.db.get_value("User", first[0], "enabled"):
		return first[0]
	heads = heads_of_sales()
	return heads[0] if heads else None


# Frappe runs its Assignment Rules and workflow actions from the on_update hook of every doctype; a lead
# being inserted (DEFER_FLAG) leaves both to its new-lead job. The hooks are looked up by name at every
# save, and this module is imported by the lead's before_insert hook, before any on_update runs.
def _defer_for_new_leads() -> None:
	if getattr(assignment_rule.apply, "_crm_deferring", False):
		return
	frappe_apply = assignment_rule.apply
	frappe_process = workflow_action.process_workflow_actions

	@functools.wraps(frappe_apply)
	def apply(doc=None, method=None, doctype=None, name=None):
		if doc is not None and doc.flags.get(DEFER_FLAG):
			return
		return frappe_apply(doc, method, doctype, name)

	@functools.wraps(frappe_process)
	def process_workflow_actions(doc, state):
		if doc.flags.get(DEFER_FLAG) and state != "on_trash":
			return
		return frappe_process(doc, state)

	apply._crm_deferring = True
	apply._frappe = frappe_apply
	process_workflow_actions._frappe = frappe_process
	assignment_rule.apply = apply
	workflow_action.process_workflow_actions = process_workflow_actions


def _frappe_apply_assignment_rules(doc) -> None:
	getattr(assignment_rule.apply, "_frappe", assignment_rule.apply)(doc)


_defer_for_new_leads()
