// Copyright (c) 2026, simple_crm developers and contributors
// For license information, please see license.txt

frappe.query_reports["CRM Deal Amount per Stage"] = {
	filters: [
		{
			fieldname: "from_date",
			label: __("From Date"),
			fieldtype: "Date",
			default: frappe.datetime.year_start(),
			reqd: 1,
		},
		{
			fieldname: "to_date",
			label: __("To Date"),
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
		// the count opens the list of the open deals in the stage (the server URL-encodes the address)
		if (column.fieldname === "open_deals" && data && data.open_deals_link) {
			return `<a href="${data.open_deals_link}">${value}</a>`;
		}
		return value;
	},
};
