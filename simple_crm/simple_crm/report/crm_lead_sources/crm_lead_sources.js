// Copyright (c) 2026, simple_crm developers and contributors
// For license information, please see license.txt

frappe.query_reports["CRM Lead Sources"] = {
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
			fieldname: "group_by",
			label: __("Group By"),
			fieldtype: "Select",
			options: ["", "UTM Source", "UTM Medium", "UTM Campaign"],
		},
	],
	formatter(value, row, column, data, default_formatter) {
		value = default_formatter(value, row, column, data);
		// the counts open the lists of the leads behind them (the server URL-encodes the address)
		const link = data && data[`${column.fieldname}_link`];
		if (link && ["leads", "converted"].includes(column.fieldname)) {
			return `<a href="${link}">${value}</a>`;
		}
		return value;
	},
};
