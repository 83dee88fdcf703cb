// Copyright (c) 2026, simple_crm developers and contributors
// For license information, please see license.txt

frappe.listview_settings["CRM Task"] = {
	add_fields: ["status", "due_on"],
	get_indicator(doc) {
		if (doc.status === "Done") return [__("Done"), "green", "status,=,Done"];
		if (doc.status === "Cancelled") return [__("Cancelled"), "gray", "status,=,Cancelled"];
		if (
			doc.due_on &&
			frappe.datetime.get_diff(doc.due_on, frappe.datetime.now_datetime()) < 0
		) {
			return [__("Overdue"), "red", "status,!=,Done"];
		}
		return [
			__(doc.status),
			doc.status === "Open" ? "orange" : "blue",
			`status,=,${doc.status}`,
		];
	},
};
