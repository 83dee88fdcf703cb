// Copyright (c) 2026, simple_crm developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("CRM Pipeline Stage", {
	stage_type(frm, cdt, cdn) {
		// the server applies the same defaults when the probability is left empty
		const row = frappe.get_doc(cdt, cdn);
		if (row.stage_type === "Won") frappe.model.set_value(cdt, cdn, "probability", 100);
		if (row.stage_type === "Lost") frappe.model.set_value(cdt, cdn, "probability", 0);
	},
});
