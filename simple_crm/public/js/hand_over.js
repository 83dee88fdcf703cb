// Desk dialog: hand all open work of one user over to another.
frappe.provide("simple_crm");

simple_crm.hand_over_dialog = function (defaults = {}) {
	const dialog = new frappe.ui.Dialog({
		title: __("Hand Over Work"),
		fields: [
			{
				fieldname: "from_user",
				fieldtype: "Link",
				options: "User",
				label: __("From"),
				reqd: 1,
				default: defaults.from_user,
				onchange() {
					const user = dialog.get_value("from_user");
					if (!user) return;
					frappe
						.call({
							method: "simple_crm.api.handover.preview",
							args: { from_user: user },
							type: "GET",
						})
						.then((r) => {
							const c = r.message || {};
							dialog.set_df_property(
								"summary",
								"options",
								`<p class="text-muted">${__(
									"Open leads: {0}, deals: {1} (+{2} co-managed), tasks: {3}, clients: {4}",
									[c.leads, c.deals, c.co_managed_deals, c.tasks, c.clients]
								)}</p>`
							);
						});
				},
			},
			{ fieldname: "to_user", fieldtype: "Link", options: "User", label: __("To"), reqd: 1 },
			{ fieldname: "reason", fieldtype: "Small Text", label: __("Reason") },
			{ fieldname: "summary", fieldtype: "HTML" },
		],
		primary_action_label: __("Hand Over"),
		primary_action(values) {
			frappe
				.call({ method: "simple_crm.api.handover.hand_over", args: values, freeze: true })
				.then((r) => {
					dialog.hide();
					const m = r.message;
					// a large hand-over is only queued: its record shows the progress and, at the end, the counts
					const link = frappe.utils.get_form_link("CRM Hand Over", m.name, true);
					if (m.status !== "Completed") {
						frappe.msgprint({
							title: __("Hand-over in the background"),
							indicator: "blue",
							message: __(
								"{0} records are handed over in the background ({1}). Both users get a notification when it is done; the record shows how far it got.",
								[m.records_to_move, link]
							),
						});
						return;
					}
					frappe.msgprint(
						__("Moved {0} leads, {1} deals, {2} tasks and {3} clients ({4})", [
							m.leads,
							m.deals,
							m.tasks,
							m.clients,
							m.name,
						])
					);
				});
		},
	});
	dialog.show();
	return dialog;
};
