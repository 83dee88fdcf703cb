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

// A stage's rules are kept as Frappe's names (roles, CRM Deal fields) and typed in either language; the grid
// shows them in the user's.
const stage_rule_words = {
	allowed_roles: (name) => __(name),
	required_fields: (name) => __(frappe.meta.get_label("CRM Deal", name) || name),
};

function format_stage_rules(frm) {
	// the docfield of the doctype and its copies per row (Frappe copies a row's docfields when it renders it)
	const copies = Object.values(frappe.meta.docfield_copy["CRM Pipeline Stage"] || {});
	const map = frappe.meta.docfield_map["CRM Pipeline Stage"] || {};
	for (const [fieldname, word] of Object.entries(stage_rule_words)) {
		const formatter = (value) =>
			frappe.utils.escape_html(
				(value || "")
					.split("\n")
					.filter(Boolean)
					.map(word)
					.join(", ")
			);
		for (const fields of [map, ...copies]) {
			if (fields[fieldname]) fields[fieldname].formatter = formatter;
		}
	}
	frm.refresh_field("stages");
}

frappe.ui.form.on("CRM Pipeline", {
	setup(frm) {
		frappe.model.with_doctype("CRM Deal", () => format_stage_rules(frm));
	},
	refresh(frm) {
		format_stage_rules(frm);
		frm.set_intro(
			__(
				"The stages of this pipeline are the sales process: their order, probability and type, who may move a deal into each stage and what must be filled before. Saving the pipeline updates the deals' workflow and kanban board."
			),
			"blue"
		);
	},
});
