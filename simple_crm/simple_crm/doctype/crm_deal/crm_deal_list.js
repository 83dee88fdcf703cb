// Copyright (c) 2026, simple_crm developers and contributors
// For license information, please see license.txt

frappe.listview_settings["CRM Deal"] = {
	add_fields: ["stage", "stage_type"],
	get_indicator(doc) {
		const colour = { Won: "green", Lost: "red" }[doc.stage_type] || "blue";
		return [__(doc.stage), colour, `stage,=,${doc.stage}`];
	},
};
