"""One site's Desk over HTTP on loopback only, with /assets and /files as `bench serve` serves them.

`bench serve` listens on every interface; the setup command and the browser tests serve the site with this
instead. From the bench's `sites` directory:

	../env/bin/python -m simple_crm.serve SITE PORT
"""

import os
import sys


def application(site: str, sites_path: str):
	import frappe.app

	frappe.app._site = site
	frappe.app._sites_path = sites_path
	# Frappe's own wrapping for `bench serve`: /assets from sites/assets, /files from the site's public files
	return frappe.app.application_with_statics()


def main() -> None:
	from werkzeug.serving import make_server

	site, port = sys.argv[1], int(sys.argv[2])
	server = make_server("127.0.0.1", port, application(site, os.getcwd()), threaded=True)
	server.serve_forever()


if __name__ == "__main__":
	main()
