"""One site over HTTP on loopback, as `bench serve` serves it (Frappe's application with /assets and /files),
for the tests that drive a real browser. `bench serve` itself listens on every interface; this listens on
127.0.0.1 only.

	cd ~/frappe-bench/sites && ../env/bin/python -m simple_crm.tests.web_server SITE PORT

`serve(site)` starts it in a process of its own on a free port and stops it on exit.
"""

import contextlib
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time


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


def free_port() -> int:
	with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
		sock.bind(("127.0.0.1", 0))
		return sock.getsockname()[1]


@contextlib.contextmanager
def serve(site: str, sites_path: str, seconds: float = 60):
	"""The site on http://127.0.0.1:PORT in a process of its own; yields the base URL."""
	port = free_port()
	log = tempfile.TemporaryFile()
	process = subprocess.Popen(
		[sys.executable, "-m", "simple_crm.tests.web_server", site, str(port)],
		cwd=sites_path,
		stdout=log,
		stderr=subprocess.STDOUT,
	)
	try:
		deadline = time.monotonic() + seconds
		while True:
			if process.poll() is not None:
				log.seek(0)
				raise AssertionError(f"the web server exited:\n{log.read().decode(errors='replace')[-3000:]}")
			try:
				conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
				conn.request("GET", "/api/method/ping")
				if conn.getresponse().status == 200:
					conn.close()
					break
			except OSError:
				pass
			if time.monotonic() > deadline:
				raise AssertionError(f"the web server did not answer within {seconds} s")
			time.sleep(0.3)
		yield f"http://127.0.0.1:{port}"
	finally:
		process.terminate()
		try:
			process.wait(timeout=20)
		except subprocess.TimeoutExpired:
			process.kill()
			process.wait()
		log.close()


if __name__ == "__main__":
	main()
