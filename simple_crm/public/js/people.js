// People by their names, not their e-mail addresses: lists and the deals kanban show the responsible manager or
// the assignee by the full name the Desk already has for every user (frappe.boot.user_info), with no request.
frappe.provide("simple_crm.people");

simple_crm.people.full_name = function (user) {
	if (!user) return "";
	const info = frappe.boot.user_info && frappe.boot.user_info[user];
	return (info && info.fullname) || user;
};

// A list column formatter: the name, escaped, with the address as its tooltip.
simple_crm.people.formatter = function (user) {
	if (!user) return "";
	const esc = frappe.utils.escape_html;
	return `<span title="${esc(user)}">${esc(simple_crm.people.full_name(user))}</span>`;
};
