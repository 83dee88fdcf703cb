// Copyright (c) 2026, simple_crm developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("CRM Counterparty", {
	refresh(frm) {
		simple_crm.show_duplicates(frm);
		if (!frm.is_new()) {
			// everything about the counterparty on one page: deals, orders, payments, calls, tasks, complaints
			frm.add_custom_button(__("Client 360"), () =>
				frappe.set_route("query-report", "CRM Client 360", { counterparty: frm.doc.name })
			);
		}
	},
});
