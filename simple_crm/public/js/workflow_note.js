// The Workflow form of the deals' workflow says where its stages are edited: the Pipeline form keeps its states
// and the moves between them (simple_crm.workflows.sync_deal_workflow). Loaded through doctype_js in hooks.py.
frappe.ui.form.on("Workflow", {
	refresh(frm) {
		if (frm.is_new() || frm.doc.document_type !== "CRM Deal" || frm.doc.workflow_state_field !== "stage") {
			return;
		}
		frappe.db.get_list("CRM Pipeline", { fields: ["name"], order_by: "is_default desc, name asc" }).then(
			(rows) => {
				if (!rows.length) return;
				const links = rows
					.map((row) => {
						const url = frappe.utils.get_form_link("CRM Pipeline", row.name);
						return `<a href="${url}">${frappe.utils.escape_html(__(row.name))}</a>`;
					})
					.join(", ");
				frm.set_intro(
					__(
						"This workflow is kept by pipeline {0}: edit stages, their order, who may move a deal into each stage and the fields it needs there on the pipeline's form. Transitions with other conditions or actions added here stay.",
						[links]
					),
					"blue"
				);
			}
		);
	},
});
