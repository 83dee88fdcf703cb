// Copyright (c) 2026, simple_crm developers and contributors
// For license information, please see license.txt

frappe.query_reports["CRM Client 360"] = {
	filters: [
		{
			fieldname: "client",
			label: __("Client"),
			fieldtype: "Link",
			options: "CRM Client",
			on_change() {
				const client = frappe.query_report.get_filter_value("client");
				const counterparty = frappe.query_report.get_filter_value("counterparty");
				// a client and a counterparty that is not its own would be refused: picking a client clears it
				if (client && counterparty) {
					frappe.query_report.set_filter_value("counterparty", "");
				} else {
					frappe.query_report.refresh();
				}
			},
		},
		{
			fieldname: "counterparty",
			label: __("Counterparty"),
			fieldtype: "Link",
			options: "CRM Counterparty",
			get_query() {
				const client = frappe.query_report.get_filter_value("client");
				return client ? { filters: { client } } : {};
			},
		},
	],
	formatter(value, row, column, data, default_formatter) {
		value = default_formatter(value, row, column, data);
		if (data && data.is_section) {
			if (column.fieldname === "description" && data.list_link) {
				return `<a href="${data.list_link}"><b>${value}</b></a>`;
			}
			return `<b>${value}</b>`;
		}
		if (data && column.fieldname === "description") {
			return `<span style="padding-left: 1.5em">${value}</span>`;
		}
		return value;
	},
};
