// Copyright (c) 2026, simple_crm developers and contributors
// For license information, please see license.txt

frappe.query_reports["CRM Changes in 24 Hours"] = {
	filters: [
		{
			fieldname: "period_end",
			label: __("Period End"),
			fieldtype: "Datetime",
			default: frappe.datetime.now_datetime(),
			description: __("The report lists the 24 hours up to this moment"),
		},
		{
			fieldname: "event_type",
			label: __("Event Type"),
			fieldtype: "Select",
			options: [
				"",
				{ value: "New Lead", label: __("New Lead") },
				{ value: "Deal Won", label: __("Deal Won") },
				{ value: "Deal Lost", label: __("Deal Lost") },
				{ value: "Stage Move", label: __("Stage Move") },
				{ value: "Overdue Task", label: __("Overdue Task") },
			],
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
		if (column.fieldname === "event") {
			const colour = {
				"New Lead": "blue",
				"Deal Won": "green",
				"Deal Lost": "red",
				"Stage Move": "gray",
				"Overdue Task": "orange",
			}[data.event_type];
			value = `<span class="indicator-pill ${colour || "gray"}">${value}</span>`;
		}
		return value;
	},
};
