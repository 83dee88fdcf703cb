// Copyright (c) 2026, simple_crm developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("CRM Call", {
	setup(frm) {
		frm.set_query("deal", () =>
			frm.doc.client ? { filters: { client: frm.doc.client } } : {}
		);
		frm.set_query("contact", () =>
			frm.doc.client
				? {
						query: "frappe.contacts.doctype.contact.contact.contact_query",
						filters: { link_doctype: "CRM Client", link_name: frm.doc.client },
				  }
				: {}
		);
	},

	refresh(frm) {
		if (!frm.is_new()) {
			frm.add_custom_button(__("New Task"), () => {
				frappe.new_doc("CRM Task", {
					reference_doctype: "CRM Call",
					reference_name: frm.doc.name,
					task_type: "Call",
				});
			});
		}
	},

	call_status(frm) {
		if (frm.doc.call_status === "Missed") frm.set_value("duration", 0);
	},
});
