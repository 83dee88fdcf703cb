"""The test site over HTTP on loopback, for the tests that drive a real browser or call it over HTTP.

`serve(site)` starts simple_crm.serve (the site as a production bench serves it: gunicorn with /assets and
/files, and Frappe's realtime server behind /socket.io, on 127.0.0.1 only) in a process of its own on a free
port and stops it, with its servers, on exit.
"""

import contextlib
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time

# gunicorn workers: enough for a page's parallel requests, few enough for a small test machine
WORKERS = 3


def free_port() -> int:
	with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
		sock.bind(("127.0.0.1", 0))
		return sock.getsockname()[1]


def realtime_answers(port: int) -> bool:
	"""Frappe's realtime server answers a socket.io handshake through the site's address."""
	conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
	conn.request("GET", "/socket.io/?EIO=4&transport=polling")
	response = conn.getresponse()
	ok = response.status == 200 and response.read().startswith(b"0{")
	conn.close()
	return ok


@contextlib.contextmanager
def serve(site: str, sites_path: str, seconds: float = 120, workers: int = WORKERS):
	"""The site on http://127.0.0.1:PORT in a process of its own; yields the base URL once the web and the
	realtime server both answer."""
	port = free_port()
	log = tempfile.TemporaryFile()
	process = subprocess.Popen(
		[sys.executable, "-m", "simple_crm.serve", site, str(port), "--workers", str(workers)],
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
				if conn.getresponse().status == 200 and realtime_answers(port):
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
			process.wait(timeout=60)
		except subprocess.TimeoutExpired:
			process.kill()
			process.wait()
		log.close()
