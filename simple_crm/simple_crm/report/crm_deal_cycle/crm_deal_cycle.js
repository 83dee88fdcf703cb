// Copyright (c) 2026, simple_crm developers and contributors
// For license information, please see license.txt

frappe.query_reports["CRM Deal Cycle"] = {
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
			fieldname: "group_by",
			label: __("Group By"),
			fieldtype: "Select",
			options: ["Pipeline", "Manager"],
			default: "Pipeline",
		},
		{
			fieldname: "pipeline",
			label: __("Pipeline"),
			fieldtype: "Link",
			options: "CRM Pipeline",
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
		// the count opens the list of the won deals behind it (the server URL-encodes the address)
		if (column.fieldname === "deals" && data && data.deals_link) {
			return `<a href="${data.deals_link}">${value}</a>`;
		}
		return value;
	},
};
