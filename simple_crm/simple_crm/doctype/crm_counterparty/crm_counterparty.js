// Copyright (c) 2026, simple_crm developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("CRM Counterparty", {
	refresh(frm) {
		simple_crm.show_duplicates(frm);
	},
});
