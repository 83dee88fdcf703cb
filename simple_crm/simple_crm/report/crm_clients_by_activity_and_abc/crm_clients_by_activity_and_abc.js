// Copyright (c) 2026, simple_crm developers and contributors
// For license information, please see license.txt

frappe.query_reports["CRM Clients by Activity and ABC"] = {
	filters: [
		{
			fieldname: "view",
			label: __("View"),
			fieldtype: "Select",
			options: [
				{ value: "Matrix", label: __("Matrix") },
				{ value: "Sleeping Clients", label: __("Sleeping Clients") },
			],
			default: "Matrix",
			reqd: 1,
		},
		{
			fieldname: "measure",
			label: __("Measure"),
			fieldtype: "Select",
			options: [
				{ value: "Clients", label: __("Clients") },
				{ value: "Turnover", label: __("Turnover, 12 Months") },
				{ value: "Won Revenue", label: __("Won Revenue, 12 Months") },
			],
			default: "Clients",
			depends_on: "eval:doc.view == 'Matrix'",
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
			fieldname: "segment",
			label: __("Segment"),
			fieldtype: "Link",
			options: "CRM Client Segment",
		},
		{
			fieldname: "activity_level",
			label: __("Activity Level"),
			fieldtype: "Select",
			options: [
				"",
				{ value: "Active", label: __("Active", null, "CRM Client") },
				{ value: "Sleeping", label: __("Sleeping", null, "CRM Client") },
				{ value: "Lost", label: __("Lost", null, "CRM Client") },
				{ value: "Not Computed", label: __("Not Computed") },
			],
		},
		{
			fieldname: "abc_class",
			label: __("ABC Class"),
			fieldtype: "Select",
			options: ["", "A", "B", "C", { value: "Not Classified", label: __("Not Classified") }],
		},
	],

	formatter(value, row, column, data, default_formatter) {
		value = default_formatter(value, row, column, data);
		if (!data) {
			return value;
		}
		const link = data.links && data.links[column.fieldname];
		if (link) {
			// the clients of the cell in the client list (which applies the user's own visibility)
			value = `<a href="${link}">${value}</a>`;
		}
		if (data.is_total) {
			value = `<b>${value}</b>`;
		}
		return value;
	},
};
