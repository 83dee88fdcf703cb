// Copyright (c) 2026, simple_crm developers and contributors
// For license information, please see license.txt

frappe.query_reports["CRM Duplicates"] = {
	filters: [
		{
			fieldname: "kind",
			label: __("Matched On"),
			fieldtype: "Select",
			options: ["", "Phone", "Email", "INN"],
		},
		{
			fieldname: "doctype",
			label: __("Record Type"),
			fieldtype: "Select",
			options: ["", "CRM Lead", "CRM Client", "CRM Counterparty", "Contact"],
		},
	],
};
