// Copyright (c) 2026, simple_crm developers and contributors
// For license information, please see license.txt

frappe.provide("simple_crm.task_list");

frappe.listview_settings["CRM Task"] = {
	add_fields: ["status", "due_on", "reference_doctype", "reference_name", "assigned_to"],
	// the title is the link to the record: its code takes room from the columns people read
	hide_name_column: true,
	get_indicator(doc) {
		if (doc.status === "Done") return [__("Done"), "green", "status,=,Done"];
		if (doc.status === "Cancelled") return [__("Cancelled"), "gray", "status,=,Cancelled"];
		if (
			doc.due_on &&
			frappe.datetime.get_diff(doc.due_on, frappe.datetime.now_datetime()) < 0
		) {
			return [__("Overdue"), "red", "status,!=,Done"];
		}
		return [
			__(doc.status),
			doc.status === "Open" ? "orange" : "blue",
			`status,=,${doc.status}`,
		];
	},
	formatters: {
		// people by their names, not their e-mail addresses (public/js/people.js)
		assigned_to: (value) => simple_crm.people.formatter(value),
		// the record the task is about by its kind and title ("Сделка: Поставка станков")
		reference_name: (value, df, doc) => simple_crm.task_list.reference(value, doc),
	},
	refresh(listview) {
		simple_crm.task_list.load_titles(listview);
	},
};

simple_crm.task_list.reference = function (name, doc) {
	if (!name || !doc.reference_doctype) return "";
	const esc = frappe.utils.escape_html;
	const title = frappe.utils.get_link_title(doc.reference_doctype, name) || name;
	const route = `/app/${frappe.router.slug(doc.reference_doctype)}/${encodeURIComponent(name)}`;
	return `<a href="${route}" title="${esc(name)}">${esc(__(doc.reference_doctype))}: ${esc(
		title
	)}</a>`;
};

// The titles of the records on the page, one list request per kind of record, as the user lists them (a
// record she cannot see keeps its name); the rows are drawn again once they are known.
simple_crm.task_list.load_titles = function (listview) {
	const wanted = {};
	(listview.data || []).forEach((row) => {
		if (!row.reference_doctype || !row.reference_name) return;
		if (frappe.utils.get_link_title(row.reference_doctype, row.reference_name)) return;
		(wanted[row.reference_doctype] = wanted[row.reference_doctype] || []).push(row.reference_name);
	});
	const requests = Object.entries(wanted).map(([doctype, names]) =>
		frappe.model.with_doctype(doctype).then(() => {
			const title_field = frappe.get_meta(doctype).title_field;
			if (!title_field) return;
			return frappe
				.xcall("frappe.client.get_list", {
					doctype,
					fields: ["name", title_field],
					filters: { name: ["in", names] },
					limit_page_length: names.length,
				})
				.then((rows) =>
					rows.forEach((row) => {
						if (row[title_field])
							frappe.utils.add_link_title(doctype, row.name, row[title_field]);
					})
				);
		})
	);
	if (requests.length) Promise.all(requests).then(() => listview.render());
};
