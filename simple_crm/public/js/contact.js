// Contact form additions of simple_crm (loaded through doctype_js in hooks.py).
frappe.ui.form.on("Contact", {
	refresh(frm) {
		if (!frm.doc.user) simple_crm.show_duplicates(frm);
	},
});
