// Copyright (c) 2026, simple_crm developers and contributors
// For license information, please see license.txt

frappe.query_reports["CRM Overdue Tasks"] = {
	filters: [
		{
			fieldname: "as_of",
			label: __("As Of"),
			fieldtype: "Datetime",
			default: frappe.datetime.now_datetime(),
		},
		{
			fieldname: "manager",
			label: __("Manager"),
			fieldtype: "Link",
			options: "User",
		},
		{
			fieldname: "team",
			label: __("Team"),
			fieldtype: "Link",
			options: "CRM Sales Team",
		},
		{
			fieldname: "task_type",
			label: __("Task Type"),
			fieldtype: "Select",
			options: [
				"",
				{ value: "Call", label: __("Call", null, "CRM Task") },
				{ value: "Meeting", label: __("Meeting", null, "CRM Task") },
				{ value: "Email", label: __("Email", null, "CRM Task") },
				{ value: "Other", label: __("Other", null, "CRM Task") },
			],
		},
	],
	// a manager's row, and their tasks under it
	initial_depth: 1,

	formatter(value, row, column, data, default_formatter) {
		if (column.fieldname === "reference_doctype" && value) {
			value = __(value);
		}
		value = default_formatter(value, row, column, data);
		if (!data) {
			return value;
		}
		if (column.fieldname === "overdue_tasks" && data.tasks_link) {
			// all the manager's overdue tasks in the task list (which applies the user's own visibility)
			value = `<a href="${data.tasks_link}">${value}</a>`;
		}
		if (column.fieldname === "days_overdue" && data.days_overdue > 0) {
			value = `<span class="text-danger">${value}</span>`;
		}
		if (data.is_group) {
			value = `<b>${value}</b>`;
		}
		return value;
	},
};
