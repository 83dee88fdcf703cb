frappe.listview_settings["CRM Hand Over"] = {
	onload(listview) {
		listview.page.set_primary_action(__("Hand Over Work"), () => simple_crm.hand_over_dialog());
	},
};
