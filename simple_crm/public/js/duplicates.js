// Inline duplicate warning on the forms of leads, clients, counterparties and contacts.
frappe.provide("simple_crm");

simple_crm.show_duplicates = function (frm) {
	if (frm.is_new()) return;
	// a form refreshed twice in a row (a save does) asks twice: only the last answer is shown, once
	const asked = (frm.simple_crm_duplicates_asked = (frm.simple_crm_duplicates_asked || 0) + 1);
	const name = frm.doc.name;
	frappe
		.call({
			method: "simple_crm.api.duplicates.find_duplicates",
			args: { doctype: frm.doctype, name: frm.doc.name },
			type: "GET",
		})
		.then((r) => {
			if (asked !== frm.simple_crm_duplicates_asked || frm.doc.name !== name) return;
			const matches = r.message || [];
			if (!matches.length) return;
			const items = matches.map((m) => {
				// a record the user may not open is neither named nor linked
				let label = __("a record you cannot see");
				if (m.readable) {
					const href = `/app/${frappe.router.slug(m.doctype)}/${encodeURIComponent(m.name)}`;
					label = `<a href="${href}">${frappe.utils.escape_html(m.title || m.name)}</a>`;
				}
				const on = m.matched_on
					.map((p) => `${__(p.kind)} ${frappe.utils.escape_html(p.value)}`)
					.join(", ");
				const who = m.responsible
					? ` — ${frappe.utils.escape_html(m.responsible_name || m.responsible)}`
					: "";
				return `${__(m.doctype)} ${label} (${on})${who}`;
			});
			frm.dashboard.set_headline_alert(
				`${__("Possible duplicates:")} ${items.join("; ")}`,
				"orange"
			);
		});
};
