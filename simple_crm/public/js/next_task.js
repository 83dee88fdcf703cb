// "Next Task" on the forms of leads, clients, contacts and deals (loaded through doctype_js in hooks.py): a
// dialog that plans the next step about the record, assigned to the user unless they pick a colleague. The
// server checks that the user can see the record (simple_crm.api.task.next_task).
frappe.provide("simple_crm.next_task");

simple_crm.next_task.DOCTYPES = ["CRM Lead", "CRM Client", "Contact", "CRM Deal"];

simple_crm.next_task.add_button = function (frm) {
	if (frm.is_new() || (frm.doctype === "Contact" && frm.doc.user)) return;
	frm.add_custom_button(__("Next Task"), () => simple_crm.next_task.dialog(frm));
};

// tomorrow at ten, the time most call-backs are planned for
simple_crm.next_task.default_due = function () {
	const due = moment().add(1, "days").set({ hour: 10, minute: 0, second: 0 });
	return due.format("YYYY-MM-DD HH:mm:ss");
};

simple_crm.next_task.dialog = function (frm) {
	const dialog = new frappe.ui.Dialog({
		title: __("Next Task"),
		fields: [
			{
				fieldname: "subject",
				fieldtype: "Data",
				label: __("Subject"),
				reqd: 1,
				default: __("Call back"),
			},
			{
				fieldname: "task_type",
				fieldtype: "Select",
				label: __("Task Type"),
				options: ["Call", "Meeting", "Email", "Other"].map((value) => ({
					value: value,
					label: __(value),
				})),
				default: "Call",
			},
			{ fieldname: "cb_task", fieldtype: "Column Break" },
			{
				fieldname: "due_on",
				fieldtype: "Datetime",
				label: __("Due"),
				reqd: 1,
				default: simple_crm.next_task.default_due(),
			},
			{
				fieldname: "assigned_to",
				fieldtype: "Link",
				options: "User",
				label: __("Assigned To"),
				default: frappe.session.user,
				get_query: () => ({ filters: { user_type: "System User", enabled: 1 } }),
			},
			{ fieldname: "sb_task", fieldtype: "Section Break" },
			{ fieldname: "description", fieldtype: "Small Text", label: __("Description") },
		],
		primary_action_label: __("Create Task"),
		primary_action(values) {
			frappe
				.call({
					method: "simple_crm.api.task.next_task",
					args: {
						doctype: frm.doctype,
						name: frm.doc.name,
						subject: values.subject,
						task_type: values.task_type,
						due_on: values.due_on,
						assigned_to: values.assigned_to || frappe.session.user,
						description: values.description,
					},
					freeze: true,
				})
				.then((r) => {
					dialog.hide();
					frappe.show_alert({
						message: __("Task {0} created", [
							`<a href="/app/crm-task/${encodeURIComponent(
								r.message
							)}">${frappe.utils.escape_html(values.subject)}</a>`,
						]),
						indicator: "green",
					});
					frm.reload_doc();
				});
		},
	});
	dialog.show();
	return dialog;
};

// the same file is loaded with each of the four forms: the handlers are registered once
if (!simple_crm.next_task.registered) {
	simple_crm.next_task.registered = true;
	for (const doctype of simple_crm.next_task.DOCTYPES) {
		frappe.ui.form.on(doctype, { refresh: simple_crm.next_task.add_button });
	}
}
