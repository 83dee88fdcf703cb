"""Lead SLA: a lead still New after `lead_sla_minutes` is escalated to the head of sales.

Every few minutes the job takes the leads that arrived more than the SLA ago (and within the last
`LOOK_BACK_DAYS`, so an old backlog imported as New does not flood the heads) and are still New, nobody
having started work on them. For each, once:

- the head of sales of the responsible manager's team (for a lead nobody is responsible for, the head who
  distributes leads, see new_leads.head_for_unassigned) is notified;
- when "Reassign Within the Team" is on, the lead goes to another member of the same team: the next one
  after the current manager in the team's list (Round Robin) or the one with the fewest open leads (Least
  Busy); the current manager's open assignments of the lead are closed, its open tasks follow it, and both
  managers are notified. A lead nobody is responsible for is reassigned the same way from the head's team.

Each lead is escalated once (the mark `sla:<lead>`), committed with its escalation.
"""

import frappe
from frappe import _
from frappe.query_builder.functions import Concat
from frappe.utils import add_to_date, escape_html, format_datetime, get_datetime, get_fullname, now_datetime

from simple_crm.automation.common import (
	MARK,
	JobRun,
	as_system,
	claim,
	desk_link,
	head_of_sales,
	in_language,
	notify,
	settings,
)
from simple_crm.automation.new_leads import head_for_unassigned
from simple_crm.constants import ASSIGNMENT_OPEN, OPEN_LEAD_STATUSES, OPEN_TASK_STATUSES

JOB = "lead_sla"
LOOK_BACK_DAYS = 7
ROUND_ROBIN = "Round Robin"
LEAST_BUSY = "Least Busy"


def key_for(lead: str) -> str:
	return f"sla:{lead}"


def escalate_overdue_leads() -> str:
	run = JobRun(JOB)
	values = settings()
	if not values.lead_sla_enabled:
		return run.finish()
	now = now_datetime()
	deadline = add_to_date(now, minutes=-values.lead_sla_minutes)
	lead = frappe.qb.DocType("CRM Lead")
	mark = frappe.qb.DocType(MARK)
	names = (
		frappe.qb.from_(lead)
		.left_join(mark)
		.on(mark.name == Concat("sla:", lead.name))
		.select(lead.name)
		.where(
			(lead.status == "New")
			& (lead.received_on <= deadline)
			& (lead.received_on >= add_to_date(now, days=-LOOK_BACK_DAYS))
			& mark.name.isnull()
		)
		.orderby(lead.received_on)
		.limit(run.limit + 1)
		.run(pluck=True)
	)
	for name in run.take(names):
		with run.item(name):
			for what in escalate(name, values):
				run.count(what)
	return run.finish()


def escalate(lead_name: str, values: frappe._dict) -> list[str]:
	"""Escalate one lead (once); returns what was done, for the summary."""
	lead = frappe.get_doc("CRM Lead", lead_name)
	if lead.status != "New":
		return []
	current = lead.responsible
	head = head_of_sales(current) if current else head_for_unassigned(lead.owner)
	if not claim(key_for(lead.name), JOB, "CRM Lead", lead.name, head):
		return []
	done = []
	waited = int((now_datetime() - get_datetime(lead.received_on)).total_seconds() // 60)
	successor = None
	if values.lead_sla_reassign:
		successor = pick_successor(head, current, values.lead_sla_reassign_rule)
		if successor:
			reassign(lead, current, successor)
			done.append("reassigned")
	if head:
		with in_language(head):
			subject = _("Lead {0} has had no response for {1} minutes").format(
				escape_html(lead.lead_name or lead.company_name or lead.name), waited
			)
			lines = [
				_("Received: {0}").format(format_datetime(lead.received_on)),
				_("Responsible: {0}").format(get_fullname(current) if current else _("nobody")),
			]
			if successor:
				lines.append(_("Reassigned to {0}").format(get_fullname(successor)))
			lines.append(f"<a href='{desk_link('CRM Lead', lead.name)}'>{_('Open the lead')}</a>")
			notify(head, subject, "<br>".join(lines), "CRM Lead", lead.name)
		done.append("escalated")
	else:
		done.append("no head of sales to escalate to")
	return done


def team_members(head: str | None) -> list[str]:
	"""Enabled members of the active teams `head` leads, in the teams' order."""
	if not head:
		return []
	team = frappe.qb.DocType("CRM Sales Team")
	member = frappe.qb.DocType("CRM Sales Team Member")
	user = frappe.qb.DocType("User")
	rows = (
		frappe.qb.from_(member)
		.join(team)
		.on(member.parent == team.name)
		.join(user)
		.on(user.name == member.user)
		.select(member.user)
		.where(
			(team.head == head)
			& (team.disabled == 0)
			& (member.parenttype == "CRM Sales Team")
			& (user.enabled == 1)
		)
		.orderby(team.name)
		.orderby(member.idx)
		.run(pluck=True)
	)
	seen = []
	for row in rows:
		if row not in seen:
			seen.append(row)
	return seen


def pick_successor(head: str | None, current: str | None, rule: str) -> str | None:
	"""Another member of the team: the next after `current` (Round Robin) or the least busy one."""
	members = [m for m in team_members(head) if m != current]
	if not members:
		return None
	if rule == LEAST_BUSY:
		counts = dict(
			frappe.get_all(
				"CRM Lead",
				filters={"responsible": ("in", members), "status": ("in", OPEN_LEAD_STATUSES)},
				fields=["responsible", "count(*) as n"],
				group_by="responsible",
				as_list=True,
			)
		)
		return min(members, key=lambda m: (counts.get(m, 0), members.index(m)))
	everyone = team_members(head)
	if current in everyone:
		start = everyone.index(current) + 1
		ordered = everyone[start:] + everyone[:start]
		return next(m for m in ordered if m != current)
	return members[0]


def reassign(lead, current: str | None, successor: str) -> None:
	"""Hand the lead to `successor`: responsible, open assignments and open tasks move, both are told."""
	from frappe.desk.form.assign_to import remove as unassign

	with as_system():
		lead.responsible = successor
		lead.flags.ignore_permissions = True
		lead.flags.ignore_duplicates = True
		lead.save()
		if current:
			if frappe.db.exists(
				"ToDo",
				{
					"reference_type": "CRM Lead",
					"reference_name": lead.name,
					"allocated_to": current,
					"status": ASSIGNMENT_OPEN,
				},
			):
				unassign("CRM Lead", lead.name, current, ignore_permissions=True)
			for task in frappe.get_all(
				"CRM Task",
				filters={
					"reference_doctype": "CRM Lead",
					"reference_name": lead.name,
					"assigned_to": current,
					"status": ("in", OPEN_TASK_STATUSES),
				},
				pluck="name",
			):
				doc = frappe.get_doc("CRM Task", task)
				doc.assigned_to = successor
				doc.flags.ignore_permissions = True
				doc.save()
		lead.add_comment(
			"Info",
			_("Reassigned from {0} to {1}: no response within the lead SLA").format(
				get_fullname(current) if current else _("nobody"), get_fullname(successor)
			),
		)
	who = escape_html(lead.lead_name or lead.company_name or lead.name)
	with in_language(successor):
		notify(
			successor,
			_("Lead {0} is now yours: it has had no response yet").format(who),
			f"<a href='{desk_link('CRM Lead', lead.name)}'>{_('Open the lead')}</a>",
			"CRM Lead",
			lead.name,
		)
	if current:
		with in_language(current):
			notify(
				current,
				_("Lead {0} was given to {1}: no response within the SLA").format(
					who, get_fullname(successor)
				),
				"",
				"CRM Lead",
				lead.name,
			)
