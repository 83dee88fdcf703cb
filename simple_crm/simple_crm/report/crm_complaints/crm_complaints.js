// Copyright (c) 2026, simple_crm developers and contributors
// For license information, please see license.txt

frappe.query_reports["CRM Complaints"] = {
	filters: [
		{
			fieldname: "from_date",
			label: __("From Date"),
			fieldtype: "Date",
			reqd: 1,
			default: frappe.datetime.add_months(frappe.datetime.get_today(), -12),
		},
		{
			fieldname: "to_date",
			label: __("To Date"),
			fieldtype: "Date",
			reqd: 1,
			default: frappe.datetime.get_today(),
		},
		{
			fieldname: "group_by",
			label: __("Group By"),
			fieldtype: "Select",
			reqd: 1,
			default: "Category",
			options: [
				{ value: "Category", label: __("Category") },
				{ value: "Client", label: __("Client") },
				{ value: "Manager", label: __("Manager") },
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
		{
			fieldname: "category",
			label: __("Category"),
			fieldtype: "Link",
			options: "CRM Complaint Category",
		},
		{
			fieldname: "status",
			label: __("Status"),
			fieldtype: "Select",
			options: [
				{ value: "", label: "" },
				{ value: "Registered", label: __("Registered") },
				{ value: "In Work", label: __("In Work") },
				{ value: "Resolved", label: __("Resolved") },
				{ value: "Rejected", label: __("Rejected") },
			],
		},
	],

	formatter(value, row, column, data, default_formatter) {
		value = default_formatter(value, row, column, data);
		// a count opens the list of the complaints behind it (the server URL-encodes the address)
		const link = data && data[column.fieldname] ? data[`${column.fieldname}_link`] : null;
		return link ? `<a href="${link}">${value}</a>` : value;
	},
};
