"""A small HTTP load generator for the benchmark suite (standard library only, no Frappe).

It runs in its own process, started by `simple_crm.benchmarks.suite`, so the clients never share an
interpreter (or a GIL) with the server's workers or with the harness:

    python -m simple_crm.benchmarks.http_load < job.json > result.json

The job is one JSON object:

    {"host": "127.0.0.1", "port": 8123, "site": "SITE", "clients": 4,
     "method": "POST", "path": "/api/resource/ToDo",
     "body": "{\"description\": \"bench-{run}-{n}\"}",  # optional, see below
     "n_base": 0,
     "headers": {"Authorization": "token key:secret"},
     "requests": 200, "seconds": 30, "warmup": 2, "run": "ab12cd"}

Every client keeps one keep-alive connection; the first `warmup` requests of each client are not
measured. In the body, {run} is replaced by `run`, {n} by a number unique to each request of the job,
and {n9} by nine digits unique to each request ((n_base + n) mod 10^9, for phone numbers). The run
stops after `requests` measured requests or `seconds`, whichever comes first. The result holds the latencies of the successful measured requests in milliseconds, the error count with
the first few error texts, and the wall time of the measured part.
"""

import http.client
import itertools
import json
import sys
import threading
import time


def run(job: dict) -> dict:
	counter = itertools.count()
	lock = threading.Lock()
	latencies: list[float] = []
	errors: list[str] = []
	error_count = 0
	issued = 0
	limit = int(job["requests"])
	warmup = int(job.get("warmup", 0))
	headers = {
		"Host": job["site"],
		"Accept": "application/json",
		"Content-Type": "application/json",
		**job.get("headers", {}),
	}
	body_template = job.get("body")
	run_tag = job.get("run", "")
	n_base = int(job.get("n_base", 0))
	started = threading.Event()
	ready = threading.Barrier(int(job["clients"]) + 1)
	window: dict[str, float] = {}

	def body_for(n: int) -> bytes | None:
		if body_template is None:
			return None
		phone = f"{(n_base + n) % 10**9:09d}"
		return body_template.replace("{run}", run_tag).replace("{n9}", phone).replace("{n}", str(n)).encode()

	def send(conn: http.client.HTTPConnection) -> tuple[int, bytes, float]:
		n = next(counter)
		began = time.perf_counter()
		conn.request(job["method"], job["path"], body=body_for(n), headers=headers)
		response = conn.getresponse()
		data = response.read()
		return response.status, data, (time.perf_counter() - began) * 1000

	def client() -> None:
		nonlocal error_count, issued
		conn = http.client.HTTPConnection(job["host"], int(job["port"]), timeout=120)
		try:
			for _ in range(warmup):
				send(conn)
		except Exception as e:
			with lock:
				error_count += 1
				errors.append(f"warmup: {e!r}")
		ready.wait()
		started.wait()
		while True:
			with lock:
				if issued >= limit or time.perf_counter() > window["deadline"]:
					break
				issued += 1
			try:
				status, data, ms = send(conn)
			except Exception as e:
				conn.close()
				conn = http.client.HTTPConnection(job["host"], int(job["port"]), timeout=120)
				status, data, ms = 0, repr(e).encode(), 0.0
			with lock:
				if status == 200:
					latencies.append(ms)
				else:
					error_count += 1
					if len(errors) < 5:
						errors.append(f"{status}: {data[:300].decode(errors='replace')}")
		conn.close()

	threads = [threading.Thread(target=client, daemon=True) for _ in range(int(job["clients"]))]
	for thread in threads:
		thread.start()
	ready.wait()
	window["start"] = time.perf_counter()
	window["deadline"] = window["start"] + float(job["seconds"])
	started.set()
	for thread in threads:
		thread.join()
	return {
		"latencies_ms": latencies,
		"errors": error_count,
		"error_samples": errors,
		"wall_s": time.perf_counter() - window["start"],
	}


if __name__ == "__main__":
	json.dump(run(json.load(sys.stdin)), sys.stdout)
