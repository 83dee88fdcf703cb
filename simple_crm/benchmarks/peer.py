"""The peer CRM's side of the benchmark: users and API tokens on a site running frappe/crm, and the
clean-up of what the suite inserted there.

The suite is connected to the simple_crm site; it runs this module as a separate process connected to the
peer site (same bench, same gunicorn, told apart by the Host header):

    ../env/bin/python -m simple_crm.benchmarks.peer --site PEER_SITE setup      # prints JSON tokens
    ../env/bin/python -m simple_crm.benchmarks.peer --site PEER_SITE teardown   # prints what it removed

The peer's user `bench.peer.manager@bench.invalid` is kept between runs (without an API key).
The peer is measured as it installs, with no assignment rule of its own: a lead inserted over REST as
Administrator and as a user with its "Sales User" role, beside a ToDo insert on the same site.
"""

import argparse
import json
import sys

import frappe

DOMAIN = "bench.invalid"
PEER_MANAGER = f"bench.peer.manager@{DOMAIN}"
PATTERN = f"bench-%@{DOMAIN}"
STATE_KEY = "simple_crm_benchmark_peer_admin_key_created"


def lead_body() -> str:
	return json.dumps(
		{
			"first_name": "Bench Lead {n}",
			"organization": "ООО Бенч {n}",
			"mobile_no": "+79{n9}",
			"email": "bench-{run}-{n}@" + DOMAIN,
		},
		ensure_ascii=False,
	)


def _token(user: str) -> str:
	from frappe.utils.password import get_decrypted_password

	doc = frappe.get_doc("User", user)
	if user == "Administrator" and doc.api_key:
		secret = get_decrypted_password("User", user, "api_secret", raise_exception=False)
		if secret:
			return f"token {doc.api_key}:{secret}"
	if user == "Administrator":
		frappe.cache.set_value(STATE_KEY, 1)
	doc.api_key = frappe.generate_hash(length=15)
	secret = frappe.generate_hash(length=15)
	doc.api_secret = secret
	doc.flags.ignore_permissions = True
	doc.save()
	return f"token {doc.api_key}:{secret}"


def set_up() -> dict:
	if "crm" not in frappe.get_installed_apps():
		raise SystemExit(f"{frappe.local.site} does not run frappe/crm")
	if not frappe.db.exists("User", PEER_MANAGER):
		frappe.get_doc(
			{
				"doctype": "User",
				"email": PEER_MANAGER,
				"first_name": "Bench Peer Manager",
				"send_welcome_email": 0,
				"user_type": "System User",
				"roles": [{"role": "Sales User"}],
			}
		).insert(ignore_permissions=True)
	tokens = {"admin": _token("Administrator"), "manager": _token(PEER_MANAGER)}
	frappe.db.commit()
	return {"site": frappe.local.site, "tokens": tokens, "crm": frappe.get_attr("crm.__version__")}


def tear_down() -> dict:
	leads = frappe.get_all("CRM Lead", filters={"email": ("like", PATTERN)}, pluck="name")
	for name in leads:
		frappe.delete_doc("CRM Lead", name, ignore_permissions=True, force=True, delete_permanently=True)
	todos = frappe.db.count("ToDo", {"description": ("like", PATTERN)})
	frappe.db.delete("ToDo", {"description": ("like", PATTERN)})
	# the peer user stays for the next run: on a peer site whose only System Manager is Administrator,
	# Frappe refuses to delete (or disable) any user; its API key is dropped
	if frappe.db.exists("User", PEER_MANAGER):
		frappe.db.set_value("User", PEER_MANAGER, "api_key", None, update_modified=False)
		frappe.db.delete("__Auth", {"doctype": "User", "name": PEER_MANAGER, "fieldname": "api_secret"})
	if frappe.cache.get_value(STATE_KEY):
		frappe.db.set_value("User", "Administrator", "api_key", None, update_modified=False)
		frappe.db.delete("__Auth", {"doctype": "User", "name": "Administrator", "fieldname": "api_secret"})
		frappe.cache.delete_value(STATE_KEY)
	frappe.db.after_commit.reset()
	frappe.db.commit()
	return {"leads": len(leads), "todos": todos}


def main(argv: list[str] | None = None) -> None:
	parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
	parser.add_argument("--site", required=True)
	parser.add_argument("--sites-path", default=".")
	parser.add_argument("action", choices=("setup", "teardown"))
	args = parser.parse_args(argv)
	frappe.init(site=args.site, sites_path=args.sites_path)
	frappe.connect()
	try:
		frappe.set_user("Administrator")
		result = set_up() if args.action == "setup" else tear_down()
	finally:
		frappe.destroy()
	json.dump(result, sys.stdout)


if __name__ == "__main__":
	main()
