"""A call-back task for every new lead, whatever channel it came from.

A lead's insert only enqueues a job, and only once its transaction has committed (a rolled-back insert
enqueues nothing), so inserting a lead stays fast and the job sees the lead as committed. The job makes one
CRM Task "call back" for the lead's responsible manager, due `callback_minutes` after the lead arrived,
and notifies the manager. While nobody is responsible for the lead, the task goes to a head of sales (of the
team of whoever entered the lead, else the first team's) who hands the lead out.

Exactly one task per lead: the task and the mark `callback:<lead>` are written in one transaction, so a job
that runs twice, or concurrently with `catch_up`, makes nothing the second time. `catch_up` (every few
minutes) gives their task to recent leads whose job was lost (a worker that was down, a Redis restart).
A lead already worked on (no longer New) by the time the job runs needs no call-back and gets none.
"""

import frappe
from frappe import _
from frappe.query_builder.functions import Concat
from frappe.utils import add_to_date, format_datetime, get_datetime, now_datetime

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

JOB = "new_leads"
# how far back catch_up looks for leads without their call-back task
CATCH_UP_HOURS = 24


def key_for(lead: str) -> str:
	return f"callback:{lead}"


def on_lead_insert(doc, method=None) -> None:
	"""CRM Lead after_insert: the call-back task is made by a job once this transaction commits."""
	frappe.enqueue(
		"simple_crm.automation.new_leads.process_new_lead",
		queue="short",
		enqueue_after_commit=True,
		job_id=f"simple_crm:new-lead:{doc.name}",
		lead=doc.name,
	)


def process_new_lead(lead: str) -> str:
	"""The job of one new lead; returns its one-line summary."""
	run = JobRun(JOB)
	values = settings()
	if values.callback_task_enabled:
		with run.item(lead):
			run.count(make_callback_task(lead, values))
	return run.finish()


def catch_up() -> str:
	"""Recent New leads that have no call-back task yet (their job was lost) get one now."""
	run = JobRun(JOB)
	values = settings()
	if not values.callback_task_enabled:
		return run.finish()
	lead = frappe.qb.DocType("CRM Lead")
	mark = frappe.qb.DocType(MARK)
	since = add_to_date(now_datetime(), hours=-CATCH_UP_HOURS)
	# received_on is indexed; the anti-join reads one mark per candidate by its primary key
	names = (
		frappe.qb.from_(lead)
		.left_join(mark)
		.on(mark.name == Concat("callback:", lead.name))
		.select(lead.name)
		.where((lead.received_on >= since) & (lead.status == "New") & mark.name.isnull())
		.orderby(lead.received_on)
		.limit(run.limit + 1)
		.run(pluck=True)
	)
	for name in run.take(names):
		with run.item(name):
			run.count(make_callback_task(name, values))
	return run.finish()


def make_callback_task(lead_name: str, values: frappe._dict) -> str:
	"""Make the call-back task of one lead unless it exists; returns what happened (for the summary)."""
	lead = frappe.db.get_value(
		"CRM Lead",
		lead_name,
		["name", "lead_name", "company_name", "status", "responsible", "received_on", "creation", "owner"],
		as_dict=True,
	)
	if not lead:
		return "lead gone"
	if lead.status != "New":
		return "already worked on"
	assignee = lead.responsible or head_for_unassigned(lead.owner)
	if not assignee:
		return "nobody to call back"
	if not claim(key_for(lead.name), JOB, "CRM Lead", lead.name, assignee):
		return "task existed"
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
				_("New lead {0}: call back by {1}").format(who, format_datetime(due)),
				"{0}<br><a href='{1}'>{2}</a>".format(
					frappe.utils.escape_html(description),
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
