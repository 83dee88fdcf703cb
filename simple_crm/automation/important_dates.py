"""A task ahead of every birthday and important date, for the manager responsible, once a year.

The dates watched:

- birthdays of contact persons (Contact's Birthday, `crm_birthday`), except the contact of an individual
  client with the client's own birthday (the same person: the client's task is enough);
- birthdays of individual clients (CRM Client.birthday; an organisation's dates are its Important Dates);
- a client's Important Dates marked Remind (foundation day, contract date...).

Every night, each date whose next anniversary falls within the next `important_date_days_ahead` days, today
included, gets one CRM Task: "Birthday: Анна Петрова on 01.03.2035" (a call) or "Contract Date: ООО Вектор
on 01.03.2035" (other dates), due on the anniversary day at `DUE_TIME`, about the contact or client, written
by the system and assigned to:

- for a contact, its own responsible manager, else the responsible manager of the client it works for;
- for a client, its responsible manager;
- a responsible manager who has been disabled (left the company) is replaced by the head of their team.

A date nobody (enabled) is responsible for gets no task: a task for an arbitrary head of sales would land
outside anybody's clients. It is counted in the run's summary ("nobody responsible") and gets its task on a
later run within the window once someone is made responsible.

A date born on 29 February is celebrated on 28 February in other years. A date that lies in the future (a
contract date next year) is first reminded of when it comes. Once per date and year: the mark
`important_dates:<kind>:<record>:<anniversary>` is committed with the task, so a second run, or a run
after a crash half-way, makes no task twice; a date moved to another day within the year gets a task for
the new day. A run makes at most the batch size of tasks, the nearest dates first; the rest come next run.
"""

import datetime
import hashlib

import frappe
from frappe import _
from frappe.utils import add_days, cint, formatdate, getdate, nowdate

from simple_crm.automation.common import (
	JobRun,
	as_system,
	claim,
	claimed_keys,
	head_of_sales,
	in_language,
	settings,
)

JOB = "important_dates"
# the time of day the task is due on the anniversary (a greeting call within working hours)
DUE_TIME = "10:00:00"
# more days ahead than a year would only find the same dates again
MAX_DAYS_AHEAD = 366
BIRTHDAY = "Birthday"
SUBJECT_LENGTH = 140


class Occasion(frappe._dict):
	"""One date to remind of: kind, doctype and name of the record, label (name of the person or
	client), date (as stored), anniversary (the day it falls on this time), date_type, description,
	people (responsible managers in order of preference)."""


def create_important_date_tasks() -> str:
	"""The nightly job (see the module's docstring); returns its one-line summary."""
	run = JobRun(JOB)
	values = settings()
	if not values.important_dates_enabled:
		return run.finish()
	today = getdate(nowdate())
	days_ahead = min(max(0, cint(values.important_date_days_ahead)), MAX_DAYS_AHEAD)
	window = anniversaries(today, days_ahead)
	occasions = [*contact_birthdays(window), *client_birthdays(window), *client_dates(window)]
	done = claimed_keys([o.key for o in occasions])
	pending = [o for o in occasions if o.key not in done]
	assignees = responsible_users(pending)
	due = []
	for occasion in pending:
		occasion.assignee = assignees.get(occasion.key)
		if occasion.assignee:
			due.append(occasion)
		else:
			run.count("nobody responsible")
	due.sort(key=lambda o: (o.anniversary, o.kind, o.name))
	with as_system():
		for occasion in run.take(due):
			with run.item(occasion.key):
				if claim(occasion.key, JOB, occasion.doctype, occasion.name, occasion.assignee):
					make_task(occasion)
					run.count("tasks created")
	return run.finish()


# --- which dates -----------------------------------------------------------------------------------------


def anniversaries(today: datetime.date, days_ahead: int) -> dict[int, datetime.date]:
	"""{month * 100 + day: the day within the window it falls on}, for today and the next `days_ahead` days;
	29 February falls on 28 February in a year without it."""
	window: dict[int, datetime.date] = {}
	for offset in range(days_ahead + 1):
		day = add_days(today, offset)
		window.setdefault(day.month * 100 + day.day, day)
		if day.month == 2 and day.day == 28 and not is_leap(day.year):
			window.setdefault(229, day)
	return window


def is_leap(year: int) -> bool:
	return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def occasion_on(window: dict[int, datetime.date], date) -> datetime.date | None:
	"""The anniversary of `date` within the window, if any; never before the date itself."""
	if not date:
		return None
	date = getdate(date)
	anniversary = window.get(date.month * 100 + date.day)
	if not anniversary or anniversary < date:
		return None
	return anniversary


def contact_birthdays(window: dict[int, datetime.date]) -> list[Occasion]:
	"""Birthdays of contacts within the window, with the contact's and its clients' responsible managers."""
	rows = frappe.db.sql(
		"""
		select c.name, c.full_name, c.first_name, c.last_name, c.crm_birthday as date, c.crm_responsible,
			(select cl.responsible
				from `tabDynamic Link` l join `tabCRM Client` cl on cl.name = l.link_name
				where l.parenttype = 'Contact' and l.parent = c.name and l.link_doctype = 'CRM Client'
					and ifnull(cl.responsible, '') != ''
				order by l.idx limit 1) as client_responsible
		from `tabContact` c
		where c.crm_birthday is not null and month(c.crm_birthday) * 100 + day(c.crm_birthday) in %(days)s
			and not exists (
				select 1 from `tabDynamic Link` l join `tabCRM Client` cl on cl.name = l.link_name
				where l.parenttype = 'Contact' and l.parent = c.name and l.link_doctype = 'CRM Client'
					and cl.client_type = 'Individual' and cl.birthday = c.crm_birthday
			)
		""",
		{"days": tuple(window)},
		as_dict=True,
	)
	occasions = []
	for row in rows:
		anniversary = occasion_on(window, row.date)
		if anniversary:
			label = row.full_name or " ".join(p for p in (row.first_name, row.last_name) if p) or row.name
			occasions.append(
				occasion(
					"birthday",
					"Contact",
					row.name,
					label,
					row.date,
					anniversary,
					BIRTHDAY,
					people=(row.crm_responsible, row.client_responsible),
				)
			)
	return occasions


def client_birthdays(window: dict[int, datetime.date]) -> list[Occasion]:
	rows = frappe.db.sql(
		"""
		select name, client_name, birthday as date, responsible
		from `tabCRM Client`
		where client_type = 'Individual' and birthday is not null
			and month(birthday) * 100 + day(birthday) in %(days)s
		""",
		{"days": tuple(window)},
		as_dict=True,
	)
	occasions = []
	for row in rows:
		anniversary = occasion_on(window, row.date)
		if anniversary:
			occasions.append(
				occasion(
					"birthday",
					"CRM Client",
					row.name,
					row.client_name or row.name,
					row.date,
					anniversary,
					BIRTHDAY,
					people=(row.responsible,),
				)
			)
	return occasions


def client_dates(window: dict[int, datetime.date]) -> list[Occasion]:
	"""A client's Important Dates marked Remind within the window."""
	rows = frappe.db.sql(
		"""
		select d.name as row_name, d.date_type, d.date, d.description,
			c.name, c.client_name, c.responsible
		from `tabCRM Important Date` d
		join `tabCRM Client` c on c.name = d.parent
		where d.parenttype = 'CRM Client' and d.parentfield = 'important_dates' and d.remind = 1
			and d.date is not null and month(d.date) * 100 + day(d.date) in %(days)s
		""",
		{"days": tuple(window)},
		as_dict=True,
	)
	occasions = []
	for row in rows:
		anniversary = occasion_on(window, row.date)
		if anniversary:
			occasions.append(
				occasion(
					f"date:{row.row_name}",
					"CRM Client",
					row.name,
					row.client_name or row.name,
					row.date,
					anniversary,
					row.date_type,
					description=row.description,
					people=(row.responsible,),
				)
			)
	return occasions


def occasion(kind, doctype, name, label, date, anniversary, date_type, description=None, people=()):
	return Occasion(
		kind=kind,
		doctype=doctype,
		name=name,
		label=label,
		date=getdate(date),
		anniversary=anniversary,
		date_type=date_type,
		description=description,
		people=[p for p in people if p],
		key=key_for(kind, doctype, name, anniversary),
	)


def key_for(kind: str, doctype: str, name: str, anniversary: datetime.date) -> str:
	"""The mark of one date's task in one year: `important_dates:<kind>:<record>:<anniversary>`. A record
	name too long for a mark (a contact's, up to 140 characters) is replaced by its digest."""
	record = f"{doctype}:{name}" if kind == "birthday" else name
	key = f"{JOB}:{kind}:{record}:{anniversary.isoformat()}"
	if len(key) > 140:
		digest = hashlib.sha1(record.encode()).hexdigest()
		key = f"{JOB}:{kind[:40]}:{digest}:{anniversary.isoformat()}"
	return key


# --- who ---------------------------------------------------------------------------------------------------


def responsible_users(occasions: list[Occasion]) -> dict[str, str]:
	"""{occasion key: the user the task is for}: the first enabled responsible manager, else the head of
	the team of the first responsible manager who has one; occasions nobody is responsible for are left
	out."""
	people = {p for o in occasions for p in o.people}
	enabled = set(
		frappe.get_all("User", filters={"name": ("in", list(people)), "enabled": 1}, pluck="name")
		if people
		else []
	)
	heads: dict[str, str | None] = {}

	def head(user: str) -> str | None:
		if user not in heads:
			found = head_of_sales(user)
			heads[user] = found if found and frappe.db.get_value("User", found, "enabled") else None
		return heads[user]

	chosen = {}
	for o in occasions:
		user = next((p for p in o.people if p in enabled), None) or next(
			(h for h in map(head, o.people) if h), None
		)
		if user:
			chosen[o.key] = user
	return chosen


# --- the task ----------------------------------------------------------------------------------------------


def make_task(o: Occasion) -> str:
	"""The task of one occasion, for `o.assignee`, in the assignee's language."""
	with in_language(o.assignee):
		task = frappe.get_doc(
			{
				"doctype": "CRM Task",
				"subject": subject_for(o),
				"task_type": "Call" if o.date_type == BIRTHDAY else "Other",
				"assigned_to": o.assignee,
				"due_on": f"{o.anniversary.isoformat()} {DUE_TIME}",
				"reference_doctype": o.doctype,
				"reference_name": o.name,
				"description": frappe.utils.escape_html(o.description) if o.description else None,
			}
		)
	task.insert(ignore_permissions=True)
	return task.name


def subject_for(o: Occasion) -> str:
	""" "Birthday: {name} on {day}" or "{date type}: {client} on {day}", in the current language; a name too
	long for the subject is cut, the day is kept."""
	day = formatdate(o.anniversary)

	def subject(label: str) -> str:
		if o.kind == "birthday":
			return _("Birthday: {0} on {1}").format(label, day)
		return _("{0}: {1} on {2}").format(_(o.date_type), label, day)

	text = subject(o.label)
	excess = len(text) - SUBJECT_LENGTH
	if excess > 0:
		text = subject(o.label[: max(1, len(o.label) - excess - 1)] + "…")
	return text
