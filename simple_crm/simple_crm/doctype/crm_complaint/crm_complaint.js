// Copyright (c) 2026, simple_crm developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("CRM Complaint", {
	setup(frm) {
		frm.set_query("category", () => ({ filters: { disabled: 0 } }));
		frm.set_query("deal", () => (frm.doc.client ? { filters: { client: frm.doc.client } } : {}));
		frm.set_query("crm_order", () => {
			const filters = {};
			if (frm.doc.client) filters.client = frm.doc.client;
			if (frm.doc.deal) filters.deal = frm.doc.deal;
			return { filters };
		});
		frm.set_query("contact", () =>
			frm.doc.client
				? {
						query: "frappe.contacts.doctype.contact.contact.contact_query",
						filters: { link_doctype: "CRM Client", link_name: frm.doc.client },
				  }
				: {}
		);
	},

	client(frm) {
		// the client's responsible manager works the complaint unless someone else is named (the server
		// does the same on save)
		if (frm.is_new() && frm.doc.client && !frm.doc.responsible) {
			frappe.db.get_value("CRM Client", frm.doc.client, "responsible").then(({ message }) => {
				if (message && message.responsible && !frm.doc.responsible) {
					frm.set_value("responsible", message.responsible);
				}
			});
		}
	},
});
