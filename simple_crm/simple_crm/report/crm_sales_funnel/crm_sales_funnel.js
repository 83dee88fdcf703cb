// Copyright (c) 2026, simple_crm developers and contributors
// For license information, please see license.txt

frappe.query_reports["CRM Sales Funnel"] = {
	filters: [
		{
			fieldname: "from_date",
			label: __("Created From"),
			fieldtype: "Date",
			default: frappe.datetime.year_start(),
			reqd: 1,
		},
		{
			fieldname: "to_date",
			label: __("Created To"),
			fieldtype: "Date",
			default: frappe.datetime.get_today(),
			reqd: 1,
		},
		{
			fieldname: "pipeline",
			label: __("Pipeline"),
			fieldtype: "Link",
			options: "CRM Pipeline",
			description: __("The default pipeline when empty"),
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
		// the count opens the list of the deals standing in the stage (the server URL-encodes the address)
		if (column.fieldname === "in_stage_now" && data && data.in_stage_now_link) {
			return `<a href="${data.in_stage_now_link}">${value}</a>`;
		}
		if (column.fieldname === "stage_label" && data && data.stage_type !== "Open") {
			return `<b>${value}</b>`;
		}
		return value;
	},
};
