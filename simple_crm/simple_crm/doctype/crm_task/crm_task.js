// Copyright (c) 2026, simple_crm developers and contributors
// For license information, please see license.txt

// the records a task can be about; the server checks the same list (CRM Task.REFERENCE_DOCTYPES)
const SIMPLE_CRM_TASK_REFERENCES = [
	"CRM Lead",
	"CRM Client",
	"CRM Counterparty",
	"CRM Deal",
	"Contact",
	"CRM Call",
];

frappe.ui.form.on("CRM Task", {
	setup(frm) {
		frm.set_query("reference_doctype", () => ({
			filters: { name: ["in", SIMPLE_CRM_TASK_REFERENCES] },
		}));
		frm.set_query("assigned_to", () => ({
			filters: { enabled: 1, user_type: "System User" },
		}));
	},

	refresh(frm) {
		if (!frm.is_new() && frm.doc.status !== "Done" && frm.doc.status !== "Cancelled") {
			frm.add_custom_button(__("Mark Done"), () => {
				frm.set_value("status", "Done");
				frm.save();
			});
		}
	},

	reference_doctype(frm) {
		frm.set_value("reference_name", "");
	},

	status(frm) {
		frm.toggle_reqd(
			"result",
			frm.doc.status === "Done" && ["Call", "Meeting"].includes(frm.doc.task_type)
		);
	},

	task_type(frm) {
		frm.trigger("status");
	},
});
