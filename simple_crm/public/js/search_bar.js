// The Desk's search bar shows records by their titles (a client's name, not "CL-00042"), with the fields they
// were found by, and offers the leads, clients, contacts, counterparties and deals matching what is typed
// (a phone in any form, an e-mail, an INN, a name) right in its drop-down. The server answers both under the
// row-level rules (simple_crm.permissions.search.global_search).
frappe.provide("simple_crm.search_bar");

simple_crm.search_bar.MIN_CHARS = 3;
simple_crm.search_bar.SUGGESTIONS = 8;

simple_crm.search_bar.fetch = function (text, start, limit, doctype) {
	return frappe
		.call({
			method: "frappe.utils.global_search.search",
			type: "GET",
			args: { text: text, start: start || 0, limit: limit || 20, doctype: doctype || "" },
		})
		.then((r) => r.message || []);
};

// "Label : value ||| Label : value" (Frappe's index and the CRM's rows alike) as "Label: value · ..."
simple_crm.search_bar.description = function (content) {
	return (content || "")
		.split(" ||| ")
		.slice(0, 4)
		.map((part) => part.replace(" &&& ", ": ").replace(" : ", ": "))
		.filter((part) => part.trim())
		.map((part) => frappe.utils.escape_html(part))
		.join(" · ");
};

simple_crm.search_bar.result_sets = function (rows) {
	const sets = [];
	for (const row of rows) {
		let set = sets.find((s) => s.title === row.doctype);
		if (!set) {
			set = { title: row.doctype, results: [], fetch_type: "Global" };
			sets.push(set);
		}
		const result = {
			label: frappe.utils.escape_html(row.title || row.name),
			value: row.name,
			description: simple_crm.search_bar.description(row.content),
			route: ["Form", row.doctype, row.name],
		};
		if (row.image || row.image === null) result.image = row.image;
		set.results.push(result);
	}
	return sets;
};

// the search dialog ("Search for ...") reads its results through this function
frappe.search.utils.get_global_results = function (keywords, start, limit, doctype = "") {
	return simple_crm.search_bar
		.fetch(keywords, start, limit, doctype)
		.then((rows) => simple_crm.search_bar.result_sets(rows));
};

// the drop-down of the navbar's search field: the records matching the text, below Frappe's own entries
simple_crm.search_bar.suggest = function (input) {
	const awesomplete = input.awesomplete;
	const text = (input.value || "").trim();
	if (!awesomplete || text.length < simple_crm.search_bar.MIN_CHARS || text.startsWith("#")) return;
	simple_crm.search_bar.fetch(text, 0, simple_crm.search_bar.SUGGESTIONS).then((rows) => {
		// the user typed on meanwhile: these answer an older text
		if ((input.value || "").trim() !== text || !rows.length) return;
		const known = new Set(awesomplete._list.map((item) => item.value));
		const records = rows
			.map((row) => ({
				label: `<span class="text-muted">${__(row.doctype)}:</span> ${frappe.utils.escape_html(
					row.title || row.name
				)}`,
				value: `${__(row.doctype)}: ${row.title || row.name} (${row.name})`,
				description: simple_crm.search_bar.description(row.content),
				route: ["Form", row.doctype, row.name],
				index: 90,
			}))
			.filter((item) => !known.has(item.value));
		if (!records.length) return;
		awesomplete.list = awesomplete._list.concat(records);
		awesomplete.evaluate();
	});
};

$(document).on(
	"input",
	"#navbar-search",
	frappe.utils.debounce((e) => simple_crm.search_bar.suggest(e.target), 300)
);
