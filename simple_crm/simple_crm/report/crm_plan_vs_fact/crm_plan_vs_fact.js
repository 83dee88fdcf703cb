// Copyright (c) 2026, simple_crm developers and contributors
// For license information, please see license.txt

frappe.query_reports["CRM Plan vs Fact"] = {
	filters: [
		{
			fieldname: "from_date",
			label: __("From Month"),
			fieldtype: "Date",
			default: frappe.datetime.year_start(),
			reqd: 1,
		},
		{
			fieldname: "to_date",
			label: __("To Month"),
			fieldtype: "Date",
			default: frappe.datetime.year_end(),
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
		{
			fieldname: "pipeline",
			label: __("Pipeline"),
			fieldtype: "Link",
			options: "CRM Pipeline",
		},
	],
	formatter(value, row, column, data, default_formatter) {
		value = default_formatter(value, row, column, data);
		if (!data) {
			return value;
		}
		// the plan opens the targets behind it, the fact the won deals (the server URL-encodes the address)
		const link = {
			planned_amount: data.targets_link,
			planned_deals: data.targets_link,
			won_amount: data.deals_link,
			won_deals: data.deals_link,
		}[column.fieldname];
		if (link && value) {
			value = `<a href="${link}">${value}</a>`;
		}
		if (data.is_team) {
			value = `<b>${value}</b>`;
		}
		return value;
	},
};
