// Send SMS: a button on the forms of contacts, leads and clients, and an action on their lists for the
// records ticked there. The server checks everything again (simple_crm.api.sms); messages are queued and
// sent in the background, their fate is in the CRM Integration Log.
frappe.provide("simple_crm.sms");

simple_crm.sms.DOCTYPES = ["Contact", "CRM Lead", "CRM Client"];

// how many SMS a text takes (the server counts the same way: simple_crm.integrations.sms.sms_parts)
simple_crm.sms.GSM7 =
	"@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿" +
	"abcdefghijklmnopqrstuvwxyzäöñüà";
simple_crm.sms.GSM7_EXTENDED = "^{}\\[~]|€\f";

simple_crm.sms.parts = function (text) {
	const chars = Array.from(text || "");
	let length, single, part;
	if (
		chars.every(
			(ch) => simple_crm.sms.GSM7.includes(ch) || simple_crm.sms.GSM7_EXTENDED.includes(ch)
		)
	) {
		length = chars.reduce(
			(n, ch) => n + (simple_crm.sms.GSM7_EXTENDED.includes(ch) ? 2 : 1),
			0
		);
		single = 160;
		part = 153;
	} else {
		length = (text || "").length; // UTF-16 units, as UCS-2 counts them
		single = 70;
		part = 67;
	}
	return length <= single ? 1 : Math.ceil(length / part);
};

simple_crm.sms.message_field = function (max_parts) {
	return {
		fieldname: "message",
		fieldtype: "Small Text",
		label: __("Message"),
		reqd: 1,
		description: __("At most {0} SMS parts", [max_parts]),
	};
};

simple_crm.sms.count_parts = function (dialog, max_parts) {
	const field = dialog.fields_dict.message;
	const update = () => {
		const text = (field.get_value() || "").trim();
		const parts = text ? simple_crm.sms.parts(text) : 0;
		field.set_description(
			__("{0} characters, {1} of at most {2} SMS parts", [text.length, parts, max_parts])
		);
	};
	field.$input && field.$input.on("input", update);
};

simple_crm.sms.show_form_dialog = function (frm) {
	frappe
		.call({
			method: "simple_crm.api.sms.recipients",
			args: { doctype: frm.doctype, name: frm.doc.name },
			type: "GET",
		})
		.then((r) => {
			const info = r.message;
			if (!info.enabled) {
				frappe.msgprint(__("Sending SMS is switched off"));
				return;
			}
			if (!info.phones.length) {
				frappe.msgprint(__("{0} has no mobile number", [frm.doc.name]));
				return;
			}
			const dialog = new frappe.ui.Dialog({
				title: __("Send SMS"),
				fields: [
					{
						fieldname: "phone",
						fieldtype: "Select",
						label: __("Number"),
						options: info.phones,
						default: info.phones[0],
						reqd: 1,
					},
					simple_crm.sms.message_field(info.max_parts),
				],
				primary_action_label: __("Send"),
				primary_action(values) {
					frappe
						.call({
							method: "simple_crm.api.sms.send",
							args: {
								doctype: frm.doctype,
								name: frm.doc.name,
								phone: values.phone,
								message: values.message,
							},
							freeze: true,
						})
						.then(() => {
							dialog.hide();
							frappe.show_alert({ message: __("SMS queued"), indicator: "green" });
						});
				},
			});
			dialog.show();
			simple_crm.sms.count_parts(dialog, info.max_parts);
		});
};

simple_crm.sms.show_list_dialog = function (listview) {
	const names = listview.get_checked_items(true);
	if (!names.length) {
		frappe.msgprint(__("Tick the records to send the SMS to"));
		return;
	}
	frappe.call({ method: "simple_crm.api.sms.options", type: "GET" }).then((r) => {
		const info = r.message;
		if (!info.enabled) {
			frappe.msgprint(__("Sending SMS is switched off"));
			return;
		}
		if (names.length > info.bulk_limit) {
			frappe.msgprint(
				__("At most {0} records can get an SMS in one go; {1} were chosen", [
					info.bulk_limit,
					names.length,
				])
			);
			return;
		}
		const dialog = new frappe.ui.Dialog({
			title: __("Send SMS to {0} records", [names.length]),
			fields: [simple_crm.sms.message_field(info.max_parts)],
			primary_action_label: __("Send"),
			primary_action(values) {
				frappe
					.call({
						method: "simple_crm.api.sms.send_bulk",
						args: { doctype: listview.doctype, names: names, message: values.message },
						freeze: true,
					})
					.then((r) => {
						dialog.hide();
						const result = r.message;
						let text = __("SMS queued: {0}", [result.queued]);
						if (result.skipped.length) {
							const skipped = result.skipped
								.map(
									(s) =>
										`${frappe.utils.escape_html(
											s.name
										)} (${frappe.utils.escape_html(s.reason)})`
								)
								.join(", ");
							text += `<br>${__("Skipped")}: ${skipped}`;
						}
						frappe.msgprint(text);
					});
			},
		});
		dialog.show();
		simple_crm.sms.count_parts(dialog, info.max_parts);
	});
};

simple_crm.sms.DOCTYPES.forEach((doctype) => {
	frappe.ui.form.on(doctype, {
		refresh(frm) {
			if (frm.is_new() || (doctype === "Contact" && frm.doc.user)) return;
			frm.add_custom_button(
				__("Send SMS"),
				() => simple_crm.sms.show_form_dialog(frm),
				__("Actions")
			);
		},
	});
});

// the lists' Actions menu (each doctype's own list settings stay as they are)
if (frappe.views && frappe.views.ListView && !frappe.views.ListView.prototype._simple_crm_sms) {
	const frappe_actions = frappe.views.ListView.prototype.get_actions_menu_items;
	frappe.views.ListView.prototype.get_actions_menu_items = function () {
		const items = frappe_actions.call(this);
		if (simple_crm.sms.DOCTYPES.includes(this.doctype)) {
			items.push({
				label: __("Send SMS"),
				action: () => simple_crm.sms.show_list_dialog(this),
				standard: false,
			});
		}
		return items;
	};
	frappe.views.ListView.prototype._simple_crm_sms = true;
}
