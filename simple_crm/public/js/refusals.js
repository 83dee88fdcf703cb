// A request the server refused with a message (HTTP 417: a won deal without an amount, a wrong phone) has
// shown the user that message. Frappe's workflow action, like other callers of frappe.xcall that add no catch,
// then leaves the rejected promise unhandled, and the browser reports an uncaught error with no text. Such a
// rejection is handled here: it is the refusal the user is already reading. Any other rejection (a script's
// own error) is left to the browser.
frappe.provide("simple_crm.refusals");

simple_crm.refusals.is_shown_refusal = function (reason) {
	// frappe.xcall rejects with the answer's `message`, which a refusal has none of; the answer itself is
	// frappe.last_response, which carries the refusal's exception name and the messages shown
	const last = frappe.last_response;
	return reason === undefined && !!(last && last.exc_type && last._server_messages);
};

window.addEventListener("unhandledrejection", (event) => {
	if (simple_crm.refusals.is_shown_refusal(event.reason)) {
		event.preventDefault();
	}
});
