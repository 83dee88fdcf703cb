// A large hand-over runs in the background: the form shows how far it got and runs a stopped one again.
frappe.ui.form.on("CRM Hand Over", {
	refresh(frm) {
		const { status, records_done, records_to_move } = frm.doc;
		if (status === "Queued" || status === "In Progress") {
			frm.dashboard.show_progress(
				__("Hand-over"),
				records_to_move ? (100 * records_done) / records_to_move : 0,
				__("{0} of {1} records handled", [records_done, records_to_move])
			);
		}
		if (status !== "Completed" && !frm.is_new()) {
			frm.add_custom_button(__("Run Again"), () =>
				frm.call({ method: "resume", doc: frm.doc, freeze: true }).then(() => {
					frappe.show_alert({ message: __("The hand-over is queued again"), indicator: "blue" });
					frm.reload_doc();
				})
			);
		}
	},
});
