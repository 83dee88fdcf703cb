// The "Call" button on the forms of leads, clients, contacts and deals (loaded through doctype_js in
// hooks.py). Where the PBX can ring the manager first (click-to-call), the button starts the call; otherwise
// it opens a dialog to log the call. The server checks that the user can see the record either way
// (simple_crm.api.telephony).
frappe.provide("simple_crm.telephony");

simple_crm.telephony.DOCTYPES = ["CRM Lead", "CRM Client", "Contact", "CRM Deal"];

simple_crm.telephony.add_button = function (frm) {
	// a contact that belongs to a system user is not a CRM contact
	if (frm.is_new() || (frm.doctype === "Contact" && frm.doc.user)) return;
	frm.add_custom_button(__("Make a Call"), () => simple_crm.telephony.call(frm));
	// a call made from a mobile phone or taken elsewhere is logged by hand
	frm.add_custom_button(__("Log Call"), () => simple_crm.telephony.log(frm));
};

simple_crm.telephony.options = function (frm) {
	return frappe
		.call({
			method: "simple_crm.api.telephony.call_options",
			type: "GET",
			args: { doctype: frm.doctype, name: frm.doc.name },
		})
		.then((r) => r.message || { phones: [], click_to_call: false });
};

simple_crm.telephony.log = function (frm) {
	simple_crm.telephony.options(frm).then((options) => {
		simple_crm.telephony.log_dialog(frm, options.phones);
	});
};

// without the PBX the number is handed to the device (a softphone, a paired mobile) and the call logged after
simple_crm.telephony.dial = function (frm, phones) {
	simple_crm.telephony.choose_phone(phones, (phone) => {
		const link = document.createElement("a");
		link.href = "tel:" + phone.replace(/[^0-9+]/g, "");
		link.click();
		const chosen = phones.filter((p) => p.phone === phone);
		simple_crm.telephony.log_dialog(frm, chosen.length ? chosen : phones);
	});
};

simple_crm.telephony.call = function (frm) {
	frappe
		.call({
			method: "simple_crm.api.telephony.call_options",
			type: "GET",
			args: { doctype: frm.doctype, name: frm.doc.name },
		})
		.then((r) => {
			const options = r.message || { phones: [], click_to_call: false };
			if (options.click_to_call && options.phones.length) {
				simple_crm.telephony.choose_phone(options.phones, (phone) =>
					simple_crm.telephony.start(frm, phone)
				);
			} else if (options.phones.length) {
				simple_crm.telephony.dial(frm, options.phones);
			} else {
				simple_crm.telephony.log_dialog(frm, options.phones);
			}
		});
};

simple_crm.telephony.phone_label = function (p) {
	return `${p.phone} (${p.label})`;
};

simple_crm.telephony.choose_phone = function (phones, then) {
	if (phones.length === 1) {
		then(phones[0].phone);
		return;
	}
	frappe.prompt(
		[
			{
				fieldname: "phone",
				fieldtype: "Select",
				label: __("Phone Number"),
				reqd: 1,
				options: phones.map((p) => ({
					value: p.phone,
					label: simple_crm.telephony.phone_label(p),
				})),
				default: phones[0].phone,
			},
		],
		(values) => then(values.phone),
		__("Which number?"),
		__("Call")
	);
};

simple_crm.telephony.start = function (frm, phone) {
	frappe
		.call({
			method: "simple_crm.api.telephony.start_call",
			args: { doctype: frm.doctype, name: frm.doc.name, phone: phone },
			freeze: true,
		})
		.then(() => {
			frappe.show_alert({
				message: __("Calling {0}: your phone rings first", [frappe.utils.escape_html(phone)]),
				indicator: "green",
			});
		});
};

simple_crm.telephony.log_dialog = function (frm, phones) {
	const dialog = new frappe.ui.Dialog({
		title: __("Log Call"),
		fields: [
			{
				fieldname: "phone",
				fieldtype: "Autocomplete",
				label: __("Phone Number"),
				reqd: 1,
				options: phones.map((p) => ({
					value: p.phone,
					label: simple_crm.telephony.phone_label(p),
				})),
				default: phones.length ? phones[0].phone : "",
			},
			{
				fieldname: "direction",
				fieldtype: "Select",
				label: __("Direction"),
				options: [
					{ value: "Outbound", label: __("Outbound") },
					{ value: "Inbound", label: __("Inbound") },
				],
				default: "Outbound",
			},
			{
				fieldname: "call_status",
				fieldtype: "Select",
				label: __("Status"),
				options: [
					{ value: "Answered", label: __("Answered") },
					{ value: "Missed", label: __("Missed") },
				],
				default: "Answered",
			},
			{ fieldname: "cb_call", fieldtype: "Column Break" },
			{
				fieldname: "duration",
				fieldtype: "Duration",
				label: __("Duration"),
				hide_days: 1,
				depends_on: "eval:doc.call_status === 'Answered'",
			},
			{ fieldname: "topic", fieldtype: "Data", label: __("Topic") },
			{ fieldname: "result", fieldtype: "Data", label: __("Result") },
			{ fieldname: "sb_comment", fieldtype: "Section Break" },
			{ fieldname: "comment", fieldtype: "Small Text", label: __("Comment") },
		],
		primary_action_label: __("Log Call"),
		primary_action(values) {
			frappe
				.call({
					method: "simple_crm.api.telephony.log_call",
					args: {
						doctype: frm.doctype,
						name: frm.doc.name,
						phone: values.phone,
						direction: values.direction,
						call_status: values.call_status,
						duration: values.call_status === "Answered" ? values.duration || 0 : 0,
						topic: values.topic,
						result: values.result,
						comment: values.comment,
					},
					freeze: true,
				})
				.then((r) => {
					dialog.hide();
					frappe.show_alert({
						message: __("Call {0} logged", [r.message]),
						indicator: "green",
					});
					frm.reload_doc();
				});
		},
	});
	dialog.show();
};

// the same file is loaded with each of the four forms: the handlers are registered once
if (!simple_crm.telephony.registered) {
	simple_crm.telephony.registered = true;
	for (const doctype of simple_crm.telephony.DOCTYPES) {
		frappe.ui.form.on(doctype, { refresh: simple_crm.telephony.add_button });
	}
}
