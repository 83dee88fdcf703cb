# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

"""Overdue tasks per manager: open tasks (Open, In Progress) whose due time has passed.

A row per manager (the task's `assigned_to`; tasks assigned to nobody form a group of their own) with how
many overdue tasks they have and the oldest one's due time, and under it their overdue tasks, oldest first:
subject, type, the record the task is about, the due time and how many calendar days ago that was. Managers
come in the order of their oldest overdue task. "Overdue" is judged at the as-of moment (now by default), so
the report also answers "what was overdue last Monday morning" for tasks still open.

At most TASKS_PER_MANAGER tasks are listed under a manager; the manager's row counts them all and links to
the task list with all of them. Counts come from one GROUP BY and the listed tasks from one window query, both
over the open tasks the user may see (the row-level condition of CRM Task) read from the (status, due_on,
assigned_to, author) index alone.
"""

import datetime

import frappe
from frappe import _
from frappe.utils import date_diff, get_datetime, now_datetime

from simple_crm.constants import OPEN_TASK_STATUSES
from simple_crm.report_filters import (
	ReportFilterError,
	SQLConditions,
	choice,
	list_link,
	responsible_users,
	visible,
)

TASK = "CRM Task"
TASKS_PER_MANAGER = 100

# the manager a task counts under (nobody for an empty value)
MANAGER = "nullif(`tabCRM Task`.`assigned_to`, '')"
# Grouping by the manager's name, a long text column compared by its collation, costs several times more
# than reading the tasks: the groups are keyed by the name's CRC32 instead. The lowest and highest name in a
# group tell when two managers share a CRC32; then the report groups by the names themselves.
HASHED = f"crc32({MANAGER})"

SUMMARY_SQL = """
select {key} as manager_key, min({manager}) as assigned_to, max({manager}) as other_assigned_to,
	count(*) as tasks, min(`tabCRM Task`.`due_on`) as oldest
from `tabCRM Task`
where {conditions}
group by manager_key
"""

# the oldest tasks of each manager, ranked in the (status, due_on, assigned_to, author) index alone; their
# details are read by name afterwards
LISTED_SQL = """
select name
from (
	select `tabCRM Task`.`name`,
		row_number() over (partition by {key} order by `tabCRM Task`.`due_on`, `tabCRM Task`.`name`) as place
	from `tabCRM Task`
	where {conditions}
) ranked
where place <= %(per_manager)s
"""


def execute(filters: dict | None = None):
	filters = frappe._dict(filters or {})
	as_of = as_of_moment(filters)
	conditions = SQLConditions()
	conditions.add(
		"`tabCRM Task`.`status` in %(open)s and `tabCRM Task`.`due_on` < %(as_of)s",
		open=OPEN_TASK_STATUSES,
		as_of=as_of,
	)
	conditions.add_in("`tabCRM Task`.`assigned_to`", "managers", responsible_users(filters))
	if filters.get("task_type"):
		types = tuple(o for o in (frappe.get_meta(TASK).get_options("task_type") or "").split("\n") if o)
		task_type = choice(filters, "task_type", _("Task Type"), types, "")
		conditions.add("`tabCRM Task`.`task_type` = %(task_type)s", task_type=task_type)
	conditions.add(visible(TASK))

	key = HASHED
	groups = summary(key, conditions)
	if any(g.assigned_to != g.other_assigned_to for g in groups):
		key = MANAGER  # two managers share a CRC32
		groups = summary(key, conditions)
	tasks = listed_tasks(key, conditions)
	groups.sort(key=lambda g: (g.oldest, g.assigned_to or ""))
	names = full_names([g.assigned_to for g in groups if g.assigned_to])
	data = get_data(groups, tasks, names, as_of, filters)
	message = None
	if any(g.tasks > TASKS_PER_MANAGER for g in groups):
		message = _(
			"At most {0} tasks are listed per manager, the oldest; the number in a manager's row opens all of them."
		).format(TASKS_PER_MANAGER)
	return get_columns(), data, message, get_chart(groups, names), get_summary(groups, as_of)


def summary(key: str, conditions: SQLConditions) -> list[frappe._dict]:
	query = SUMMARY_SQL.format(key=key, manager=MANAGER, conditions=conditions.sql())
	return frappe.db.sql(query, conditions.values, as_dict=True)


def listed_tasks(key: str, conditions: SQLConditions) -> list[frappe._dict]:
	"""At most TASKS_PER_MANAGER overdue tasks of each manager, the oldest, oldest first."""
	query = LISTED_SQL.format(key=key, conditions=conditions.sql())
	names = frappe.db.sql(query, {**conditions.values, "per_manager": TASKS_PER_MANAGER}, pluck=True)
	if not names:
		return []
	task = frappe.qb.DocType(TASK)
	return (
		frappe.qb.from_(task)
		.select(
			task.name,
			task.subject,
			task.task_type,
			task.priority,
			task.assigned_to,
			task.due_on,
			task.reference_doctype,
			task.reference_name,
		)
		.where(task.name.isin(names))
		.orderby(task.due_on)
		.orderby(task.name)
		.run(as_dict=True)
	)


def full_names(users: list[str]) -> dict[str, str]:
	if not users:
		return {}
	rows = frappe.get_all("User", filters={"name": ("in", sorted(set(users)))}, fields=["name", "full_name"])
	return {row.name: row.full_name for row in rows}


def as_of_moment(filters) -> datetime.datetime:
	value = filters.get("as_of")
	if not value:
		return now_datetime()
	try:
		return get_datetime(value)
	except Exception:
		frappe.throw(
			_("{0} must be a date and time like 2026-01-31 18:00:00, got {1}").format(
				_("As Of"), frappe.bold(str(value)[:40])
			),
			ReportFilterError,
			title=_("Invalid Filter"),
		)


def get_columns() -> list[dict]:
	return [
		{"fieldname": "title", "label": _("Manager / Task"), "fieldtype": "Data", "width": 260},
		{"fieldname": "task", "label": _("Task"), "fieldtype": "Link", "options": TASK, "width": 150},
		{"fieldname": "manager", "label": _("Manager"), "fieldtype": "Link", "options": "User", "width": 190},
		{"fieldname": "task_type", "label": _("Task Type"), "fieldtype": "Data", "width": 90},
		{"fieldname": "priority", "label": _("Priority"), "fieldtype": "Data", "width": 90},
		# the record's doctype as text: a Link to DocType would make Frappe check the user's permission to
		# read DocType itself, which CRM users do not have
		{"fieldname": "reference_doctype", "label": _("Record Type"), "fieldtype": "Data", "width": 120},
		{
			"fieldname": "reference_name",
			"label": _("Record"),
			"fieldtype": "Dynamic Link",
			"options": "reference_doctype",
			"width": 160,
		},
		{"fieldname": "due_on", "label": _("Due"), "fieldtype": "Datetime", "width": 160},
		{"fieldname": "days_overdue", "label": _("Days Overdue"), "fieldtype": "Int", "width": 110},
		{"fieldname": "overdue_tasks", "label": _("Overdue Tasks"), "fieldtype": "Int", "width": 120},
	]


def get_data(groups, tasks, names: dict, as_of, filters) -> list[dict]:
	by_manager: dict[str | None, list] = {}
	for task in tasks:
		by_manager.setdefault(task.assigned_to or None, []).append(task)
	task_type = filters.get("task_type") or None
	data = []
	for group in groups:
		manager = group.assigned_to
		data.append(
			{
				"title": manager_label(manager, names),
				"manager": manager,
				"due_on": group.oldest,
				"days_overdue": date_diff(as_of, group.oldest),
				"overdue_tasks": group.tasks,
				"indent": 0,
				"is_group": 1,
				"tasks_link": list_link(
					TASK,
					{
						"assigned_to": manager or ["is", "not set"],
						"status": ["in", list(OPEN_TASK_STATUSES)],
						"due_on": ["<", str(as_of)],
						"task_type": task_type,
					},
				),
			}
		)
		for task in by_manager.get(manager, []):
			data.append(
				{
					"title": task.subject,
					"task": task.name,
					"manager": manager,
					"task_type": _(task.task_type, context=TASK) if task.task_type else None,
					"priority": _(task.priority, context=TASK) if task.priority else None,
					"reference_doctype": task.reference_doctype,
					"reference_name": task.reference_name,
					"due_on": task.due_on,
					"days_overdue": date_diff(as_of, task.due_on),
					"indent": 1,
				}
			)
	return data


def get_chart(groups, names: dict) -> dict | None:
	if not groups:
		return None
	ranked = sorted(groups, key=lambda g: (-g.tasks, manager_label(g.assigned_to, names)))
	return {
		"data": {
			"labels": [manager_label(g.assigned_to, names) for g in ranked],
			"datasets": [{"name": _("Overdue Tasks"), "values": [g.tasks for g in ranked]}],
		},
		"type": "bar",
		"colors": ["#e24c4c"],
	}


def get_summary(groups, as_of) -> list[dict]:
	total = sum(g.tasks for g in groups)
	oldest = min((g.oldest for g in groups), default=None)
	return [
		{
			"value": total,
			"label": _("Overdue Tasks"),
			"datatype": "Int",
			"indicator": "Red" if total else "Green",
		},
		{"value": sum(1 for g in groups if g.assigned_to), "label": _("Managers"), "datatype": "Int"},
		{
			"value": date_diff(as_of, oldest) if oldest else 0,
			"label": _("Oldest, Days Overdue"),
			"datatype": "Int",
		},
	]


def manager_label(manager: str | None, names: dict) -> str:
	return (names.get(manager) or manager) if manager else _("Not assigned")
