frappe.listview_settings["CRM Hand Over"] = {
	add_fields: ["status"],
	get_indicator(doc) {
		// a large hand-over runs in the background: Queued, In Progress, then Completed (or Failed)
		const colors = { Queued: "blue", "In Progress": "orange", Completed: "green", Failed: "red" };
		const status = doc.status || "Completed";
		return [__(status), colors[status] || "gray", `status,=,${status}`];
	},
	onload(listview) {
		listview.page.set_primary_action(__("Hand Over Work"), () => simple_crm.hand_over_dialog());
	},
};
