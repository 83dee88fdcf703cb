"""One site's Desk on loopback, served as a production bench serves it, behind a single address.

A production bench runs gunicorn for the web and Frappe's realtime (socket.io) server in node, with nginx in
front serving /assets and /files and forwarding /socket.io to the realtime server. Without nginx, this
module does the same on 127.0.0.1 only (`bench serve` listens on every interface and starts no realtime
server, so notifications, assignment pop-ups and live list updates never reach the browser):

- gunicorn (as bench's supervisor template starts it: sync workers, `-t 120 --graceful-timeout 30
  --preload`) serves the site with its /assets and /files on an internal loopback port;
- node runs the bench's `apps/frappe/socketio.js` on another one, kept on loopback by `serve_loopback.js`;
- this process listens on 127.0.0.1:PORT and forwards /socket.io/ (long polling and WebSocket) to the
  realtime server with the headers bench's nginx adds (the site's name, the origin), and every other request
  to gunicorn, one request per upstream connection.

When gunicorn or the realtime server stops, so does the rest, with an error; SIGTERM or SIGINT stops all
three. From the bench's `sites` directory:

	../env/bin/python -m simple_crm.serve SITE PORT [--workers N]
"""

import argparse
import asyncio
import contextlib
import ctypes
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

LOOPBACK = "127.0.0.1"
REALTIME_PATH = b"/socket.io/"
HEAD_LIMIT = 64 * 1024
CHUNK = 64 * 1024
START_SECONDS = 90
# request headers the forwarder sets itself (hop-by-hop ones, and who asked, as nginx's proxy_set_header)
HOP_HEADERS = (
	b"connection",
	b"keep-alive",
	b"proxy-connection",
	b"x-forwarded-for",
	b"x-forwarded-proto",
	b"x-frappe-site-name",
)


def wsgi(site: str):
	"""The site's WSGI application with /assets and /files (gunicorn's factory; the working directory is the
	bench's sites directory)."""
	import frappe.app

	frappe.app._site = site
	frappe.app._sites_path = os.getcwd()
	# Frappe's own wrapping for `bench serve`: /assets from sites/assets, /files from the site's public files
	return frappe.app.application_with_statics()


def free_port() -> int:
	return free_ports(1)[0]


def free_ports(count: int, avoid: tuple[int, ...] = ()) -> list[int]:
	"""`count` different free loopback ports, none of `avoid` (the public port, free until it is bound): the
	sockets stay open until all are chosen, so the system cannot hand the same port out twice."""
	with contextlib.ExitStack() as stack:
		ports: list[int] = []
		while len(ports) < count:
			sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
			sock.bind((LOOPBACK, 0))
			port = sock.getsockname()[1]
			if port not in avoid:
				ports.append(port)
		return ports


def default_workers(sites_path: str) -> int:
	"""bench's `gunicorn_workers` of common_site_config.json, else its own default (2 x CPUs + 1)."""
	with contextlib.suppress(OSError, ValueError):
		with open(os.path.join(sites_path, "common_site_config.json")) as f:
			workers = json.load(f).get("gunicorn_workers")
		if workers:
			return int(workers)
	return 2 * (os.cpu_count() or 1) + 1


def _die_with_parent() -> None:
	"""Children get SIGTERM when this process dies, even by SIGKILL (Linux), so none is left behind."""
	with contextlib.suppress(OSError, AttributeError):
		ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_gunicorn(site: str, port: int, workers: int) -> subprocess.Popen:
	return subprocess.Popen(
		[
			os.path.join(os.path.dirname(sys.executable), "gunicorn"),
			"-b",
			f"{LOOPBACK}:{port}",
			"-w",
			str(workers),
			"-t",
			"120",
			"--graceful-timeout",
			"30",
			"--preload",
			f"simple_crm.serve:wsgi({site!r})",
		],
		preexec_fn=_die_with_parent,
	)


def start_realtime(port: int, bench_path: str) -> subprocess.Popen:
	node = shutil.which("node")
	if not node:
		raise SystemExit("node is required for Frappe's realtime server (see README: Prerequisites)")
	env = {
		**os.environ,
		"FRAPPE_BENCH_ROOT": bench_path,
		"FRAPPE_SOCKETIO_PORT": str(port),
	}
	return subprocess.Popen(
		[
			node,
			"--require",
			os.path.join(os.path.dirname(os.path.abspath(__file__)), "serve_loopback.js"),
			os.path.join(bench_path, "apps", "frappe", "socketio.js"),
		],
		cwd=bench_path,
		env=env,
		preexec_fn=_die_with_parent,
	)


def wait_ready(site: str, web_port: int, realtime_port: int, processes: list[subprocess.Popen]) -> None:
	"""Until gunicorn answers ping for the site and the realtime server accepts connections."""
	deadline = time.monotonic() + START_SECONDS
	pending = {"web": web_port, "realtime": realtime_port}
	while pending:
		if any(p.poll() is not None for p in processes):
			raise SystemExit("a server stopped while starting (see the output above)")
		if time.monotonic() > deadline:
			raise SystemExit(f"{', '.join(pending)} did not start within {START_SECONDS} s")
		if "web" in pending and _pings(site, web_port):
			del pending["web"]
		if "realtime" in pending and _accepts(realtime_port):
			del pending["realtime"]
		time.sleep(0.3)


def _pings(site: str, port: int) -> bool:
	try:
		conn = http.client.HTTPConnection(LOOPBACK, port, timeout=5)
		conn.request("GET", "/api/method/ping", headers={"Host": site})
		return conn.getresponse().status == 200
	except OSError:
		return False


def _accepts(port: int) -> bool:
	with socket.socket() as sock:
		sock.settimeout(1)
		return sock.connect_ex((LOOPBACK, port)) == 0


# --- the forwarder (nginx's part) ---------------------------------------------------------------------


def route(path: bytes, web_port: int, realtime_port: int) -> int:
	return realtime_port if path.startswith(REALTIME_PATH) else web_port


def forwarded_head(head: bytes, client_ip: str, site: str) -> tuple[bytes, bytes]:
	"""The request's head as sent upstream, and its path. A WebSocket upgrade keeps its Connection header;
	any other request asks the upstream to close after answering, so each connection carries one request and
	the next one is routed afresh."""
	lines = head.rstrip(b"\r\n").split(b"\r\n")
	request_line, headers = lines[0], lines[1:]
	names = [h.split(b":", 1)[0].strip().lower() for h in headers]
	parts = request_line.split(b" ")
	path = parts[1] if len(parts) == 3 else b"/"
	kept = [h for h, n in zip(headers, names, strict=True) if n not in HOP_HEADERS]
	if b"upgrade" in names:
		kept += [h for h, n in zip(headers, names, strict=True) if n == b"connection"]
	else:
		kept.append(b"Connection: close")
	kept += [b"X-Forwarded-For: " + client_ip.encode(), b"X-Forwarded-Proto: http"]
	if path.startswith(REALTIME_PATH):
		kept += realtime_headers(dict(zip(names, headers, strict=True)), site)
	return request_line + b"\r\n" + b"\r\n".join(kept) + b"\r\n\r\n", path


def realtime_headers(headers: dict[bytes, bytes], site: str) -> list[bytes]:
	"""What nginx adds for the realtime server: the site, and an Origin where the browser sent none (it sends
	none with a same-origin GET, and the realtime server refuses a connection whose origin is not its host's).
	An Origin the browser did send is kept, so a page of another origin is still refused."""
	added = [b"X-Frappe-Site-Name: " + site.encode()]
	if b"origin" not in headers and b"host" in headers:
		host = headers[b"host"].split(b":", 1)[1].strip()
		added.append(b"Origin: http://" + host)
	return added


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
	with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
		while data := await reader.read(CHUNK):
			writer.write(data)
			await writer.drain()


def _answer(writer: asyncio.StreamWriter, status: str) -> None:
	writer.write(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())


async def forward(reader, writer, site: str, web_port: int, realtime_port: int) -> None:
	upstream_writer = None
	try:
		try:
			head = await reader.readuntil(b"\r\n\r\n")
		except asyncio.LimitOverrunError:
			_answer(writer, "431 Request Header Fields Too Large")
			return
		except (asyncio.IncompleteReadError, ConnectionError):
			return
		peer = writer.get_extra_info("peername") or (LOOPBACK, 0)
		head, path = forwarded_head(head, peer[0], site)
		try:
			upstream_reader, upstream_writer = await asyncio.open_connection(
				LOOPBACK, route(path, web_port, realtime_port)
			)
		except OSError:
			_answer(writer, "502 Bad Gateway")
			return
		upstream_writer.write(head)
		to_upstream = asyncio.ensure_future(_pipe(reader, upstream_writer))
		# the answer ends when the upstream closes (it was asked to; a WebSocket ends when either side does)
		to_client = asyncio.ensure_future(_pipe(upstream_reader, writer))
		await asyncio.wait((to_upstream, to_client), return_when=asyncio.FIRST_COMPLETED)
		if to_upstream.done() and not to_client.done():
			# the browser is done sending: an HTTP answer may still be on its way, a closed WebSocket is over
			with contextlib.suppress(OSError):
				if upstream_writer.can_write_eof():
					upstream_writer.write_eof()
			await to_client
		to_upstream.cancel()
	finally:
		for w in (upstream_writer, writer):
			if w is not None:
				w.close()


async def run_forwarder(site: str, port: int, web_port: int, realtime_port: int, processes: list):
	server = await asyncio.start_server(
		lambda r, w: forward(r, w, site, web_port, realtime_port), LOOPBACK, port, limit=HEAD_LIMIT
	)
	stop = asyncio.Event()
	loop = asyncio.get_running_loop()
	for sig in (signal.SIGTERM, signal.SIGINT):
		loop.add_signal_handler(sig, stop.set)
	async with server:
		while not stop.is_set():
			if any(p.poll() is not None for p in processes):
				return 1
			with contextlib.suppress(asyncio.TimeoutError):
				await asyncio.wait_for(stop.wait(), 1)
	return 0


def stop_all(processes: list[subprocess.Popen]) -> None:
	for p in processes:
		if p.poll() is None:
			p.terminate()
	for p in processes:
		try:
			p.wait(timeout=35)
		except subprocess.TimeoutExpired:
			p.kill()
			p.wait()


def main() -> None:
	parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
	parser.add_argument("site")
	parser.add_argument("port", type=int)
	parser.add_argument("--workers", type=int, help="gunicorn workers (default: bench's gunicorn_workers)")
	args = parser.parse_args()

	sites_path = os.getcwd()
	bench_path = os.path.dirname(sites_path)
	web_port, realtime_port = free_ports(2, avoid=(args.port,))
	processes = [
		start_gunicorn(args.site, web_port, args.workers or default_workers(sites_path)),
		start_realtime(realtime_port, bench_path),
	]
	try:
		wait_ready(args.site, web_port, realtime_port, processes)
		print(
			f"simple_crm.serve: http://{LOOPBACK}:{args.port} (gunicorn on {web_port}, realtime on {realtime_port})",
			flush=True,
		)
		code = asyncio.run(run_forwarder(args.site, args.port, web_port, realtime_port, processes))
	finally:
		stop_all(processes)
	if code:
		raise SystemExit("gunicorn or the realtime server stopped (see the output above)")


if __name__ == "__main__":
	main()
