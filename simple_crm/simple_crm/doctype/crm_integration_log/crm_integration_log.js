// A website inquiry that could not be handled (Failed) is handled again once its cause is fixed
// (administrators).
const WEBSITE_CHANNELS = ["Website API", "Web Form"];

frappe.ui.form.on("CRM Integration Log", {
	refresh(frm) {
		const { status, channel, direction, inquiry } = frm.doc;
		const may = frappe.user.has_role("System Manager") || frappe.user.has_role("CRM Administrator");
		const website = direction === "Inbound" && WEBSITE_CHANNELS.includes(channel) && inquiry;
		if (!may || !website || status !== "Failed") {
			return;
		}
		frm.add_custom_button(__("Handle Again"), () =>
			frappe
				.call({
					method: "simple_crm.api.web_to_lead.handle_again",
					args: { log: frm.doc.name },
					freeze: true,
				})
				.then(() => {
					frappe.show_alert({
						message: __("The inquiry is queued to be handled again"),
						indicator: "blue",
					});
					frm.reload_doc();
				})
		);
	},
});
