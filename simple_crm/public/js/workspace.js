// The workspace's number cards and charts come with its page (simple_crm.dashboards.get_desktop_page puts
// them in `locals`, marked): each widget takes its record from there instead of asking for it, so a card
// needs one request (its number) instead of two, one after the other; a chart reads it again once drawn (for
// its "last synced" line), and takes it from there as well. Each mark is used once, and on a workspace only:
// opening the record later (its form) loads it as usual.
(() => {
	const on_workspace = (doctype, name, mark) => {
		const doc = locals[doctype] && name && locals[doctype][name];
		if (!doc || !doc[mark] || frappe.get_route()[0] !== "Workspaces") return null;
		delete doc[mark];
		return doc;
	};
	const with_doc = frappe.model.with_doc;
	frappe.model.with_doc = function (doctype, name, callback) {
		const doc = on_workspace(doctype, name, "__workspace_widget");
		if (!doc) return with_doc.apply(this, arguments);
		if (doctype === "Dashboard Chart") doc.__workspace_chart = 1;
		callback && callback(name);
		return Promise.resolve(doc);
	};
	const get_doc = frappe.db.get_doc;
	frappe.db.get_doc = function (doctype, name) {
		const doc = on_workspace(doctype, name, "__workspace_chart");
		return doc ? Promise.resolve(doc) : get_doc.apply(this, arguments);
	};
})();

// The scripts of the page's custom chart sources come with the page too (`crm_chart_sources`): loaded before the
// widgets are drawn, each chart asks for its data at once instead of first asking for its source's script.
(() => {
	frappe.provide("frappe.dashboards.chart_sources");
	const call = frappe.call;
	frappe.call = function (opts) {
		const request = call.apply(this, arguments);
		const method = typeof opts === "string" ? opts : opts && opts.method;
		if (method !== "frappe.desk.desktop.get_desktop_page") return request;
		return request.then((r) => {
			const sources = (r && r.message && r.message.crm_chart_sources) || {};
			Object.keys(sources).forEach((source) => {
				if (!frappe.dashboards.chart_sources[source]) frappe.dom.eval(sources[source]);
			});
			return r;
		});
	};
})();
