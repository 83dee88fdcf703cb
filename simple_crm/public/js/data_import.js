// The Data Import form, for imports of the CRM's records: Russian templates with sample rows, and the
// summary of what each row became (simple_crm.integrations.spreadsheet_import)

const CRM_IMPORT_TEMPLATES = {
	"CRM Lead": "crm_lead",
	"CRM Client": "crm_client",
	Contact: "contact",
	"CRM Counterparty": "crm_counterparty",
};

frappe.ui.form.on("Data Import", {
	refresh(frm) {
		const template = CRM_IMPORT_TEMPLATES[frm.doc.reference_doctype];
		if (!template) return;
		frm.add_custom_button(__("Template with Sample Rows"), () => {
			window.open(`/assets/simple_crm/import_templates/${template}.csv`);
		});
		if (!frm.is_new() && frm.doc.status !== "Pending") {
			frm.add_custom_button(__("Import Summary"), () => show_crm_import_summary(frm));
		}
	},
});

function show_crm_import_summary(frm) {
	frappe
		.xcall("simple_crm.api.data_import.summary", { data_import: frm.doc.name })
		.then((summary) => {
			const counts = Object.entries(summary.counts)
				.map(([outcome, count]) => `<tr><td>${__(outcome, null, "Import Row Outcome")}</td><td class="text-right">${count}</td></tr>`)
				.join("");
			const failed = summary.rows
				.filter((row) => !row.record)
				.slice(0, 50)
				.map(
					(row) =>
						`<tr><td>${row.rows.join(", ")}</td><td>${__(row.outcome, null, "Import Row Outcome")}</td><td>${frappe.utils.escape_html(
							row.reason
						)}</td></tr>`
				)
				.join("");
			const dialog = new frappe.ui.Dialog({
				title: __("Import Summary"),
				size: "large",
				fields: [{ fieldtype: "HTML", fieldname: "summary" }],
				primary_action_label: __("Download"),
				primary_action() {
					window.open(
						"/api/method/simple_crm.api.data_import.download_summary?data_import=" +
							encodeURIComponent(frm.doc.name)
					);
				},
			});
			dialog.fields_dict.summary.$wrapper.html(`
				<table class="table table-bordered"><tbody>${counts}</tbody></table>
				${
					failed
						? `<p>${__("Rows not imported")}:</p>
						<table class="table table-bordered"><thead><tr><th>${__("Row")}</th><th>${__(
								"Outcome"
						  )}</th><th>${__("Reason")}</th></tr></thead><tbody>${failed}</tbody></table>`
						: ""
				}`);
			dialog.show();
		});
}
