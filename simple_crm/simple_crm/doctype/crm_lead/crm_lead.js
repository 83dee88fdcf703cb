// Copyright (c) 2026, simple_crm developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("CRM Lead", {
	refresh(frm) {
		simple_crm.show_duplicates(frm);
	},

	// Disqualify (or any action into a lost state) asks for the reason first (public/js/lost_reason.js)
	before_workflow_action(frm) {
		return simple_crm.lost_reason.before_workflow_action(frm, (state) =>
			simple_crm.lost_reason.LEAD_STATES.includes(state)
		);
	},
});

// --- Lead conversion (simple_crm.api.lead.convert) ---------------------------------------------
frappe.ui.form.on("CRM Lead", {
	refresh(frm) {
		if (
			frm.is_new() ||
			frm.doc.client ||
			["Converted", "Disqualified"].includes(frm.doc.status)
		) {
			return;
		}
		frm.add_custom_button(__("Convert"), () => simple_crm_convert_lead(frm)).addClass(
			"btn-primary"
		);
	},
});

function simple_crm_convert_lead(frm) {
	const dialog = new frappe.ui.Dialog({
		title: __("Convert Lead"),
		fields: [
			{
				fieldname: "client_type",
				fieldtype: "Select",
				label: __("Client Type"),
				options: [
					{ value: "Organisation", label: __("Organisation") },
					{ value: "Individual", label: __("Individual") },
				],
				default: frm.doc.company_name ? "Organisation" : "Individual",
				reqd: 1,
			},
			{
				fieldname: "existing_client",
				fieldtype: "Link",
				options: "CRM Client",
				label: __("Existing Client"),
				description: __(
					"Leave empty to create a new client (or to reuse the one with the same phone or e-mail)"
				),
			},
			{ fieldtype: "Section Break" },
			{
				fieldname: "create_deal",
				fieldtype: "Check",
				label: __("Create a Deal"),
				default: 1,
			},
			{
				fieldname: "deal_amount",
				fieldtype: "Currency",
				label: __("Deal Amount"),
				depends_on: "create_deal",
			},
		],
		primary_action_label: __("Convert"),
		primary_action(values) {
			const args = {
				lead: frm.doc.name,
				client_type: values.client_type,
				create_deal: values.create_deal ? 1 : 0,
			};
			if (values.existing_client) args.existing_client = values.existing_client;
			if (values.create_deal && values.deal_amount) args.deal_amount = values.deal_amount;
			frappe
				.call({
					method: "simple_crm.api.lead.convert",
					type: "POST",
					args: args,
					freeze: true,
					freeze_message: __("Converting..."),
				})
				.then((r) => {
					dialog.hide();
					frm.reload_doc();
					simple_crm_show_conversion(r.message || {});
				});
		},
	});
	dialog.show();
}

// what the lead became, each record a link by its name (the message stays until the user closes it)
function simple_crm_show_conversion(result) {
	const records = [
		["CRM Client", result.client, __("Client")],
		["Contact", result.contact, __("Contact Person")],
		["CRM Deal", result.deal, __("Deal")],
	].filter(([, name]) => name);
	Promise.all(
		records.map(([doctype, name]) =>
			frappe.utils.fetch_link_title(doctype, name).then((title) => title || name)
		)
	).then((titles) => {
		const items = records.map(([doctype, name, label], i) => {
			const link = frappe.utils.get_form_link(
				doctype,
				name,
				true,
				frappe.utils.escape_html(titles[i])
			);
			return `<li class="conversion-result" data-doctype="${doctype}">${label}: ${link}</li>`;
		});
		frappe.msgprint({
			title: __("Lead Converted"),
			message: `<p>${__("The lead became:")}</p><ul>${items.join("")}</ul>`,
			indicator: "green",
		});
	});
}
