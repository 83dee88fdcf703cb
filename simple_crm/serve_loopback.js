// Frappe's realtime server (apps/frappe/socketio.js) listens on a bare port, that is on every interface.
// simple_crm.serve loads this first (node --require) so that a server given only a port listens on
// 127.0.0.1: the realtime server is reached through simple_crm.serve's single loopback address, as nginx
// reaches it in production.
const net = require("net");

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
	const bare_port =
		typeof args[0] === "number" || (typeof args[0] === "string" && /^\d+$/.test(args[0]));
	if (bare_port && typeof args[1] !== "string") {
		args.splice(1, 0, "127.0.0.1");
	}
	return listen.apply(this, args);
};
