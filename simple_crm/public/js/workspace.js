// The workspace's number cards and charts come with its page (simple_crm.dashboards.get_desktop_page puts
// them in `locals`, marked): each widget takes its record from there instead of asking for it, so a card
// needs one request (its number) instead of two, one after the other. The mark is used once, and on a
// workspace only: opening the record later (its form) loads it as usual.
(() => {
	const with_doc = frappe.model.with_doc;
	frappe.model.with_doc = function (doctype, name, callback) {
		const doc = locals[doctype] && name && locals[doctype][name];
		if (doc && doc.__workspace_widget && frappe.get_route()[0] === "Workspaces") {
			delete doc.__workspace_widget;
			callback && callback(name);
			return Promise.resolve(doc);
		}
		return with_doc.apply(this, arguments);
	};
})();
