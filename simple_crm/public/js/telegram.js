// Telegram: "Reply in Telegram" on the forms of leads and contacts that have a chat with the company's bot,
// and "Set Webhook" in Simple CRM Settings (simple_crm.integrations.telegram).
frappe.provide("simple_crm.telegram");

simple_crm.telegram.add_reply_button = function (frm, chat_field) {
	if (frm.is_new() || !frm.doc[chat_field]) return;
	frm.add_custom_button(__("Reply in Telegram"), () => simple_crm.telegram.reply(frm));
};

simple_crm.telegram.reply = function (frm) {
	const dialog = new frappe.ui.Dialog({
		title: __("Reply in Telegram"),
		fields: [
			{
				fieldname: "text",
				fieldtype: "Small Text",
				label: __("Message"),
				reqd: 1,
				description: __("Sent as plain text, at most 4096 characters."),
			},
		],
		primary_action_label: __("Send"),
		primary_action(values) {
			frappe
				.call({
					method: "simple_crm.api.telegram.reply",
					args: { doctype: frm.doctype, name: frm.doc.name, text: values.text },
					freeze: true,
				})
				.then(() => {
					dialog.hide();
					frappe.show_alert({ message: __("The reply is on its way"), indicator: "green" });
					frm.reload_doc();
				});
		},
	});
	dialog.show();
};

frappe.ui.form.on("CRM Lead", {
	refresh(frm) {
		simple_crm.telegram.add_reply_button(frm, "telegram_chat_id");
	},
});

frappe.ui.form.on("Contact", {
	refresh(frm) {
		simple_crm.telegram.add_reply_button(frm, "crm_telegram_chat_id");
	},
});

frappe.ui.form.on("Simple CRM Settings", {
	telegram_set_webhook(frm) {
		if (frm.is_dirty()) {
			frappe.msgprint(__("Save the settings first."));
			return;
		}
		frappe
			.call({ method: "simple_crm.api.telegram.set_webhook", freeze: true })
			.then((r) => {
				frappe.msgprint(
					__("Telegram sends the bot's messages to {0}", [
						frappe.utils.escape_html((r.message || {}).url || ""),
					])
				);
				frm.reload_doc();
			});
	},
});
