// Copyright (c) 2026, simple_crm developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("CRM Deal", {
	setup(frm) {
		frm.set_query("pipeline", () => ({ filters: { disabled: 0 } }));
		frm.set_query("counterparty", () => ({ filters: { client: frm.doc.client || "" } }));
		frm.set_query("lost_reason", () => ({
			filters: { disabled: 0, applies_to: ["in", ["Lead and Deal", "Deal"]] },
		}));
		frm.set_query("product", "items", () => ({ filters: { disabled: 0 } }));
		frm.set_query("user", "co_managers", () => ({
			filters: {
				enabled: 1,
				user_type: "System User",
				name: ["!=", frm.doc.responsible || ""],
			},
		}));
		frm.set_query("contact", "contacts", () =>
			frm.doc.client
				? {
						query: "frappe.contacts.doctype.contact.contact.contact_query",
						filters: { link_doctype: "CRM Client", link_name: frm.doc.client },
				  }
				: {}
		);
	},

	refresh(frm) {
		simple_crm_deal.load_stages(frm);
	},

	// an action into a lost stage asks for the reason first (public/js/lost_reason.js)
	before_workflow_action(frm) {
		return simple_crm_deal.load_stages(frm).then(() =>
			simple_crm.lost_reason.before_workflow_action(frm, (stage) =>
				(frm.simple_crm_stages || []).some(
					(s) => s.stage_name === stage && s.stage_type === "Lost"
				)
			)
		);
	},

	pipeline(frm) {
		simple_crm_deal.load_stages(frm).then(() => {
			const names = frm.simple_crm_stages.map((s) => s.stage_name);
			if (!names.includes(frm.doc.stage)) {
				const first = frm.simple_crm_stages.find((s) => s.stage_type === "Open");
				frm.set_value("stage", first ? first.stage_name : "");
			}
		});
	},

	stage(frm) {
		// the server does the same on save; shown at once here
		const stage = (frm.simple_crm_stages || []).find((s) => s.stage_name === frm.doc.stage);
		if (stage) {
			frm.set_value("stage_type", stage.stage_type);
			frm.set_value("probability", stage.probability);
		}
	},

	client(frm) {
		if (frm.doc.counterparty) frm.set_value("counterparty", "");
	},
});

frappe.ui.form.on("CRM Deal Item", {
	qty: (frm, cdt, cdn) => simple_crm_deal.update_item(frm, cdt, cdn),
	rate: (frm, cdt, cdn) => simple_crm_deal.update_item(frm, cdt, cdn),
	discount_percentage: (frm, cdt, cdn) => simple_crm_deal.update_item(frm, cdt, cdn),
	items_remove: (frm) => simple_crm_deal.update_totals(frm),
});

const num = (value) => parseFloat(value) || 0;

const simple_crm_deal = {
	load_stages(frm) {
		if (!frm.doc.pipeline) {
			frm.simple_crm_stages = [];
			return Promise.resolve();
		}
		return frappe
			.call({
				method: "simple_crm.api.deal.pipeline_stages",
				type: "GET",
				args: { pipeline: frm.doc.pipeline },
			})
			.then((r) => {
				frm.simple_crm_stages = r.message || [];
				// only the stages of the deal's own pipeline are offered
				frm.set_df_property(
					"stage",
					"options",
					frm.simple_crm_stages.map((s) => s.stage_name)
				);
			});
	},

	update_item(frm, cdt, cdn) {
		const row = frappe.get_doc(cdt, cdn);
		const amount = num(row.qty) * num(row.rate) * (1 - num(row.discount_percentage) / 100);
		frappe.model.set_value(cdt, cdn, "amount", amount);
		simple_crm_deal.update_totals(frm);
	},

	update_totals(frm) {
		const previous_total = num(frm.doc.items_total);
		const total = (frm.doc.items || []).reduce((sum, row) => sum + num(row.amount), 0);
		frm.set_value("items_total", total);
		if (!num(frm.doc.amount) || num(frm.doc.amount) === previous_total) {
			frm.set_value("amount", total);
		}
	},
};
