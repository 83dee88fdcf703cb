// Copyright (c) 2026, simple_crm developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("CRM Pipeline Stage", {
	form_render(frm, cdt, cdn) {
		add_stage_rule_pickers(frm, cdn);
	},
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

// A stage's rules are picked from lists, in the user's language, instead of typed: the CRM's roles and the deal's
// fields that can be required, as the server lists them (simple_crm.stage_rules.rule_choices, sent with the
// form). A role or field already in the rule stays in the list; anything else can still be typed, the server
// checks both ways alike.
const stage_rule_pickers = {
	allowed_roles: __("Choose Roles"),
	required_fields: __("Choose Fields"),
};

function add_stage_rule_pickers(frm, cdn) {
	const grid_row = frm.fields_dict.stages.grid.grid_rows_by_docname[cdn];
	const fields = grid_row && grid_row.grid_form && grid_row.grid_form.fields_dict;
	if (!fields) return;
	for (const [fieldname, label] of Object.entries(stage_rule_pickers)) {
		const field = fields[fieldname];
		if (!field || field.$wrapper.find(".stage-rule-picker").length) continue;
		$(`<button type="button" class="btn btn-xs btn-default stage-rule-picker">
				${frappe.utils.escape_html(label)}</button>`)
			.appendTo(field.$wrapper)
			.on("click", () => pick_stage_rule(frm, cdn, fieldname, label));
	}
}

function pick_stage_rule(frm, cdn, fieldname, label) {
	const row = locals["CRM Pipeline Stage"][cdn];
	const chosen = (row[fieldname] || "")
		.split(/[\n,;]/)
		.map((item) => item.trim())
		.filter(Boolean);
	const offered = ((frm.doc.__onload || {}).stage_rule_choices || {})[fieldname] || [];
	const names = [...new Set([...offered, ...chosen])];
	const dialog = new frappe.ui.Dialog({
		title: label,
		fields: [
			{
				fieldtype: "MultiCheck",
				fieldname: "chosen",
				columns: 2,
				options: names.map((name) => ({
					label: stage_rule_words[fieldname](name),
					value: name,
					checked: chosen.includes(name),
				})),
			},
		],
		primary_action_label: __("Apply"),
		primary_action(values) {
			frappe.model.set_value(row.doctype, cdn, fieldname, (values.chosen || []).join("\n"));
			dialog.hide();
		},
	});
	// Frappe closes the open row of a grid whenever a dialog closes: the stage's row stays open
	dialog.onhide = () => {
		const grid_row = frm.fields_dict.stages.grid.grid_rows_by_docname[cdn];
		if (grid_row) grid_row.toggle_view(true);
	};
	dialog.show();
}
