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
	get_indicator(doc) {
		const colour = SIMPLE_CRM_LEAD_STATUS_COLOURS[doc.status] || "gray";
		return [__(doc.status, null, "CRM Lead"), colour, `status,=,${doc.status}`];
	},
};
