// Copyright (c) 2026, simple_crm developers and contributors
// For license information, please see license.txt

frappe.query_reports["CRM Lead Conversion"] = {
	filters: [
		{
			fieldname: "from_date",
			label: __("From Date"),
			fieldtype: "Date",
			default: frappe.datetime.add_months(frappe.datetime.month_start(), -11),
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
			fieldname: "source",
			label: __("Source"),
			fieldtype: "Link",
			options: "CRM Lead Source",
		},
		{
			fieldname: "channel",
			label: __("Channel"),
			fieldtype: "Select",
			options: [
				"",
				{ value: "Website", label: __("Website", null, "CRM Lead") },
				{ value: "Phone", label: __("Phone", null, "CRM Lead") },
				{ value: "Email", label: __("Email", null, "CRM Lead") },
				{ value: "Messenger", label: __("Messenger", null, "CRM Lead") },
				{ value: "Social", label: __("Social", null, "CRM Lead") },
				{ value: "Referral", label: __("Referral", null, "CRM Lead") },
				{ value: "Exhibition", label: __("Exhibition", null, "CRM Lead") },
				{ value: "Other", label: __("Other", null, "CRM Lead") },
			],
		},
	],

	formatter(value, row, column, data, default_formatter) {
		value = default_formatter(value, row, column, data);
		if (!data) {
			return value;
		}
		if (column.fieldname === "leads" && data.leads_link) {
			// the leads of the row in the list (which applies the user's own visibility)
			value = `<a href="${data.leads_link}">${value}</a>`;
		}
		if (column.fieldname === "sla_breaches" && data.sla_breaches) {
			value = `<span class="text-danger">${value}</span>`;
		}
		if (data.is_total) {
			value = `<b>${value}</b>`;
		}
		return value;
	},
};
