// Copyright (c) 2026, simple_crm developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("CRM Order", {
	setup(frm) {
		frm.set_query("deal", () =>
			frm.doc.client ? { filters: { client: frm.doc.client } } : {}
		);
		frm.set_query("counterparty", () => ({ filters: { client: frm.doc.client || "" } }));
	},
});
