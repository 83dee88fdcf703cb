"""Heavy reads on the site's MariaDB read replica, when it has one (README: "Scaling out").

Frappe v15 runs the functions marked `@frappe.read_only()` on a second connection, to the replica, when
the site config has `read_from_replica` (with `replica_host`, `replica_db_port`): query reports and their
exports (`frappe.desk.query_report.run`, `export_query`), Report Builder's lists, counts and exports
(`frappe.desk.reportview.get`, `get_count`, `export_query`), the sidebar's group-by stats and prepared
reports in the background. `frappe.connect_replica` swaps `frappe.db` for the replica's connection and the
decorator swaps the primary back when the function returns. Everything else (forms, saves, REST) stays on
the primary.

Frappe leaves two gaps, closed here:

- An error logged during such a read is written where `frappe.db` points, the replica, which refuses it
  (MariaDB error 1290, answered as a 500): a report that stops on a bad filter logs a "Report Error" first,
  so the user got a 500 instead of the report's message. Here an error logged while `frappe.db` is the
  replica is deferred (`frappe.log_error(..., defer_insert=True)`: kept in Redis, saved on the primary by
  the scheduler's `frappe.deferred_insert.save_to_db`, as Frappe does in its read-only maintenance mode).
  Frappe's other writes there already go to the primary (`frappe.write_only()`: the Access Log of an
  export) or to Redis (user settings).
- A replica that cannot be reached fails every such read (error 2003, a 500). Here the read runs on the
  primary instead, the failure is logged once (Error Log "Read replica unreachable"), and the replica is
  not tried again for `replica_retry_after` seconds (site config, default 30).

Frappe offers no hook there: `frappe.connect_replica` and `frappe.log_error` are wrapped once per process
(`install`, from the `before_request` and `before_job` hooks); the wrappers call Frappe's own functions.
"""

import frappe
import pymysql

# Redis key (per site) of a replica that could not be reached, kept for replica_retry_after seconds
UNREACHABLE_KEY = "simple_crm:replica_unreachable"
DEFAULT_RETRY_AFTER = 30


def install() -> None:
	"""Wrap `frappe.connect_replica` and `frappe.log_error` once per process (idempotent)."""
	if getattr(frappe.connect_replica, "_crm_wrapped", False):
		return
	frappe_connect_replica = frappe.connect_replica
	frappe_log_error = frappe.log_error

	def connect_replica() -> bool:
		if frappe.cache.get_value(UNREACHABLE_KEY, expires=True):
			return False
		if not frappe_connect_replica():
			return False
		try:
			frappe.local.replica_db.connect()
		except pymysql.MySQLError as error:
			back_to_primary()
			mark_unreachable(error)
			return False
		return True

	def log_error(*args, **kwargs):
		if reading_replica():
			kwargs["defer_insert"] = True
		return frappe_log_error(*args, **kwargs)

	connect_replica._crm_wrapped = True
	# frappe.read_only() and Frappe's maintenance mode look the function up in the module when they run, and
	# callers write frappe.log_error(...)
	frappe.connect_replica = connect_replica
	frappe.log_error = log_error


def before_request():
	install()


def before_job(*args, **kwargs):
	install()


def back_to_primary() -> None:
	"""Undo `frappe.connect_replica`: the primary's connection is `frappe.db` again."""
	frappe.local.db = frappe.local.primary_db
	del frappe.local.replica_db
	del frappe.local.primary_db


def mark_unreachable(error: Exception) -> None:
	retry_after = frappe.utils.cint(frappe.conf.get("replica_retry_after") or DEFAULT_RETRY_AFTER)
	frappe.cache.set_value(UNREACHABLE_KEY, 1, expires_in_sec=max(retry_after, 1))
	frappe.log_error(
		"Read replica unreachable",
		f"{frappe.conf.replica_host}:{frappe.conf.replica_db_port}: {error}\n"
		f"Reads run on the primary; the replica is tried again in {retry_after} s.",
		defer_insert=True,
	)


def reading_replica() -> bool:
	"""Whether `frappe.db` is the replica's connection now (inside a `frappe.read_only()` function)."""
	replica = getattr(frappe.local, "replica_db", None)
	return replica is not None and getattr(frappe.local, "db", None) is replica


def forget_unreachable() -> None:
	"""Try the replica again at the next read (after it was brought back)."""
	frappe.cache.delete_value(UNREACHABLE_KEY)
