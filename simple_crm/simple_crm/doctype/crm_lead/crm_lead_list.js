// Copyright (c) 2026, simple_crm developers and contributors
// For license information, please see license.txt

const SIMPLE_CRM_LEAD_STATUS_COLOURS = {
	New: "blue",
	"In Progress": "orange",
	Qualified: "purple",
	Converted: "green",
	Disqualified: "red",
};

frappe.listview_settings["CRM Lead"] = {
	add_fields: ["status"],
	// the title is the link to the record: its code takes room from the columns people read
	hide_name_column: true,
	formatters: {
		// people by their names, not their e-mail addresses (public/js/people.js)
		responsible: (value) => simple_crm.people.formatter(value),
	},
	get_indicator(doc) {
		const colour = SIMPLE_CRM_LEAD_STATUS_COLOURS[doc.status] || "gray";
		return [__(doc.status, null, "CRM Lead"), colour, `status,=,${doc.status}`];
	},
};
