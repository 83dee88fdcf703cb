"""Every report of the app for one year, as a sales manager, a head of sales and a director.

Each report runs through `frappe.desk.query_report.run` (the Desk's and REST's path: permission checks,
the report, Frappe's column and row post-processing), `runs` times per user after one warm-up run, for the
year up to today; the Client 360 page for the client with the most deals of the manager, the others with
their default filters beside the period. The floor is Frappe's own "ToDo" script report run as the same
user (its `execute`: open ToDos through `frappe.get_list`), the same kind of work on a bare doctype.

The users are those of the generated dataset when there is one (the sales manager responsible for the
most deals, and the head of their team), so the reports read a manager's real year; the director is the
suite's own. On a site without generated data the suite's own manager and head stand in.
"""

import statistics
import time

import frappe
from frappe.utils import add_days, today

from simple_crm.permissions.roles import HEAD_OF_SALES, SALES_MANAGER

YEAR_FILTERS = ("from_date", "to_date")


def app_reports() -> list[str]:
	return frappe.get_all(
		"Report",
		filters={"module": "Simple CRM", "is_standard": "Yes", "disabled": 0},
		pluck="name",
		order_by="name",
	)


def busiest_manager() -> str | None:
	"""The sales manager (not a head) responsible for the most deals, read from the responsible index."""
	heads = set(
		frappe.get_all("Has Role", filters={"role": HEAD_OF_SALES, "parenttype": "User"}, pluck="parent")
	)
	managers = (
		set(frappe.get_all("Has Role", filters={"role": SALES_MANAGER, "parenttype": "User"}, pluck="parent"))
		- heads
	)
	if not managers:
		return None
	rows = frappe.db.sql(
		"""select `responsible`, count(*) as deals from `tabCRM Deal`
		where `responsible` in %(managers)s group by `responsible` order by deals desc limit 1""",
		{"managers": tuple(managers)},
		as_dict=True,
	)
	return rows[0].responsible if rows and rows[0].deals else None


def head_of(user: str) -> str | None:
	team = frappe.db.sql(
		"""select `team`.`head` from `tabCRM Sales Team` `team`
		join `tabCRM Sales Team Member` `member` on `member`.`parent` = `team`.`name`
		where `member`.`parenttype` = 'CRM Sales Team' and `member`.`user` = %s and `team`.`disabled` = 0
		limit 1""",
		user,
	)
	return team[0][0] if team else None


def users(fallback: dict[str, str]) -> dict[str, str]:
	"""label -> user: the busiest generated manager and their head, else the suite's own."""
	manager = busiest_manager()
	head = head_of(manager) if manager else None
	if not (manager and head):
		manager, head = fallback["manager"], fallback["head"]
	return {"sales manager": manager, "head of sales": head, "director": fallback["director"]}


def filters_for(report: str, manager: str) -> dict | None:
	year = {"from_date": add_days(today(), -365), "to_date": today()}
	if report == "CRM Client 360":
		client = frappe.db.sql(
			"""select `client` from `tabCRM Deal` where `responsible` = %s and `client` is not null
			group by `client` order by count(*) desc limit 1""",
			manager,
		)
		return {"client": client[0][0]} if client else None  # a manager without deals: no page to show
	if report == "CRM Complaints":
		return {**year, "group_by": "Category"}
	return year


def timed(fn, runs: int) -> dict:
	latencies = []
	errors = []
	for attempt in range(runs + 1):  # the first is a warm-up (caches, meta), not counted
		started = time.perf_counter()
		try:
			fn()
		except Exception as error:
			errors.append(f"{type(error).__name__}: {error}"[:200])
			frappe.db.rollback()
		if attempt:
			latencies.append((time.perf_counter() - started) * 1000)
	median = statistics.median(latencies)
	figures = {
		"n": len(latencies),
		"median_ms": round(median, 1),
		"p95_ms": round(sorted(latencies)[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))], 1),
		"req_s": round(1000 / median, 2) if median else None,
		"errors": len(errors),
	}
	if errors:
		figures["error_samples"] = errors[:1]
	return figures


def as_user(user: str, fn):
	def call():
		frappe.set_user(user)
		try:
			return fn()
		finally:
			frappe.set_user("Administrator")

	return call


def time_reports(fallback: dict[str, str], runs: int = 5, progress=None) -> list[dict]:
	from frappe.desk.query_report import run
	from frappe.desk.report.todo.todo import execute as todo_report

	rows = []
	who = users(fallback)
	manager = who["sales manager"]
	for label, user in who.items():
		floor = timed(as_user(user, lambda: todo_report({})), runs)
		for report in app_reports():
			frappe.set_user(user)
			permitted = frappe.get_doc("Report", report).is_permitted()
			frappe.set_user("Administrator")
			if not permitted:
				continue  # not one of this role's reports (the duplicates report is an administrator's)
			filters = filters_for(report, manager)
			if filters is None:
				continue
			value = timed(
				as_user(
					user,
					lambda report=report, filters=filters: run(
						report, filters=filters, ignore_prepared_report=True
					),
				),
				runs,
			)
			row = {
				"operation": f"report {report.removeprefix('CRM ')}"[:38],
				"user": label,
				"clients": 1,
				"value": value,
				"floor": floor,
				"ratio_median": round(value["median_ms"] / floor["median_ms"], 2)
				if floor["median_ms"]
				else None,
				"ratio_p95": round(value["p95_ms"] / floor["p95_ms"], 2) if floor["p95_ms"] else None,
				"report": report,
				"as_user": user,
			}
			rows.append(row)
			if progress:
				progress(row)
	return rows
