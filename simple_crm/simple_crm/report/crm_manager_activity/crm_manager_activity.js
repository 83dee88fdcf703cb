// Copyright (c) 2026, simple_crm developers and contributors
// For license information, please see license.txt

frappe.query_reports["CRM Manager Activity"] = {
	filters: [
		{
			fieldname: "from_date",
			label: __("From Date"),
			fieldtype: "Date",
			default: frappe.datetime.month_start(),
			reqd: 1,
		},
		{
			fieldname: "to_date",
			label: __("To Date"),
			fieldtype: "Date",
			default: frappe.datetime.month_end(),
			reqd: 1,
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
	],

	formatter(value, row, column, data, default_formatter) {
		value = default_formatter(value, row, column, data);
		if (!data) {
			return value;
		}
		const link = data.links && data.links[column.fieldname];
		if (link && data[column.fieldname]) {
			// the records the number counts, in their list (which applies the user's own visibility)
			value = `<a href="${link}">${value}</a>`;
		}
		if (data.sales_without_calls && !data.is_total && column.fieldname === "manager_name") {
			const hint = __("Won deals without calls or meetings in the period");
			value = `<span class="indicator-pill red" title="${hint}">${value}</span>`;
		}
		if (column.fieldname === "tasks_overdue" && data.tasks_overdue && !data.is_total) {
			value = `<span class="text-danger">${value}</span>`;
		}
		if (data.is_total) {
			value = `<b>${value}</b>`;
		}
		return value;
	},
};
