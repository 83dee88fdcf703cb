"""Large hand-overs in the background.

A hand-over of `background_hand_over_threshold` records or more (Simple CRM Settings) would hold the request
(and the records' rows) for minutes. The request checks who may hand what over (simple_crm.handover), writes
the `CRM Hand Over` record with status Queued and the names of the records to move (its plan), and `queue`
enqueues `run` on the long queue once that commits. The job runs as the user who asked, with the rights a
hand-over has (`assignments.handing_over`), and:

1. moves the plan in chunks of `automation_batch_size` records, in the plan's order; each chunk is committed
   together with the record's progress (how many of the plan are handled, which records moved), so a run
   that dies half-way leaves every record either moved and counted or neither, and the next run goes on
   where the progress says. A record that is no longer the user's open work (closed, or given to someone
   else since the request) is left where it is and listed as skipped;
2. moves the user's open assignments (ToDo) the same way, a chunk at a time;
3. marks the record Completed and notifies both users (and whoever asked, if someone else), in their
   languages, in one transaction: a second run finds it Completed and does nothing.

A run that fails marks the record Failed with the error; `resume` (the form's Run Again button) queues it
again.
"""

import json

import frappe
from frappe import _
from frappe.utils import cint, get_fullname, now_datetime
from frappe.utils.background_jobs import is_job_enqueued

from simple_crm import handover
from simple_crm.automation.common import JobRun, batch_size, desk_link, in_language, notify
from simple_crm.handover import COMPLETED, DOCTYPE, FAILED, IN_PROGRESS, MOVE_ORDER, QUEUED
from simple_crm.permissions import assignments

JOB = "hand_over"
METHOD = "simple_crm.automation.hand_over.run"
# the long queue's timeout (1500 s) is for ordinary jobs; a hand-over may take longer, about this per record
SECONDS_PER_RECORD = 2
MIN_TIMEOUT = 1500


def job_id(record: str) -> str:
	return f"simple_crm:hand-over:{record}"


def queue(from_user: str, to_user: str, reason: str | None, work: dict[str, list[str]]):
	"""Record a checked hand-over as Queued with its plan and enqueue its job for after the commit; returns
	the record."""
	record = frappe.get_doc(
		{
			"doctype": DOCTYPE,
			"from_user": from_user,
			"to_user": to_user,
			"reason": reason,
			"status": QUEUED,
			"requested_by": frappe.session.user,
			"records_to_move": handover.records_in(work),
			"records_done": 0,
			**handover.counts({}),
			"plan": json.dumps(work, indent=1, ensure_ascii=False),
		}
	)
	record.insert(ignore_permissions=True)
	enqueue(record.name, record.records_to_move)
	return record


def enqueue(record: str, records: int) -> None:
	frappe.enqueue(
		METHOD,
		queue="long",
		timeout=max(MIN_TIMEOUT, SECONDS_PER_RECORD * cint(records)),
		enqueue_after_commit=True,
		job_id=job_id(record),
		deduplicate=True,
		hand_over=record,
	)


def is_running(record: str) -> bool:
	"""Whether the job of `record` is waiting in the queue or running."""
	return is_job_enqueued(job_id(record))


def resume(record: str) -> None:
	"""Queue a hand-over that failed or whose job was lost again; the caller's right to hand over the work
	is checked as for a new one."""
	doc = frappe.get_doc(DOCTYPE, record)
	handover.check_may_hand_over(doc.from_user, doc.to_user)
	if doc.status == COMPLETED:
		frappe.throw(_("Hand-over {0} is already completed").format(doc.name), handover.HandOverError)
	if is_running(doc.name):
		frappe.throw(_("Hand-over {0} is already queued or running").format(doc.name), handover.HandOverError)
	doc.db_set({"status": QUEUED, "error": None})
	enqueue(doc.name, doc.records_to_move)


def run(hand_over: str) -> str:
	"""The job: move what is left of the plan of `hand_over`, then complete it; returns the summary line."""
	job = JobRun(JOB)
	if frappe.db.get_value(DOCTYPE, hand_over, "status") in (None, COMPLETED):
		return job.finish()
	try:
		with assignments.handing_over():
			if not start(hand_over):
				return job.finish()  # another run completed it meanwhile
			while move_next_chunk(hand_over, job):
				pass
			while move_next_assignments(hand_over, job):
				pass
			complete(hand_over, job)
	except Exception as e:
		frappe.db.rollback()
		fail(hand_over, e)
		job.failed.append(hand_over)
		job.finish()
		raise
	return job.finish()


def locked(record: str):
	"""The record, its row locked until this chunk commits (two runs of one hand-over take turns)."""
	return frappe.get_doc(DOCTYPE, record, for_update=True)


def start(record: str) -> bool:
	doc = locked(record)
	if doc.status == COMPLETED:
		frappe.db.rollback()
		return False
	# the users were checked when it was requested; the successor may have been disabled since
	handover.validate_users(doc.from_user, doc.to_user)
	doc.db_set({"status": IN_PROGRESS, "error": None})
	frappe.db.commit()
	return True


def plan_of(doc) -> list[tuple[str, str]]:
	"""(kind, name) of every record to move, in the order they move."""
	plan = json.loads(doc.plan or "{}")
	return [(kind, name) for kind in MOVE_ORDER for name in plan.get(kind) or ()]


def progress_of(doc) -> dict[str, list[str]]:
	"""What moved so far, in the format of an immediate hand-over's details (plus what was skipped)."""
	details = json.loads(doc.details or "{}")
	kinds = (*json.loads(doc.plan or "{}").keys(), "assignments", "skipped")
	return {kind: list(details.get(kind) or ()) for kind in kinds}


def save_progress(doc, progress: dict[str, list[str]], handled: int) -> None:
	if not progress.get("skipped"):
		progress = {kind: names for kind, names in progress.items() if kind != "skipped"}
	doc.db_set(
		{
			**handover.counts(progress),
			"records_done": handled,
			"details": json.dumps(progress, indent=1, ensure_ascii=False),
		},
		notify=True,
	)


def move_next_chunk(record: str, job: JobRun) -> bool:
	"""Move the next chunk of the plan and commit it with the progress; False when the plan is done."""
	doc = locked(record)
	plan = plan_of(doc)
	done = cint(doc.records_done)
	chunk = plan[done : done + batch_size()]
	if not chunk or doc.status == COMPLETED:
		frappe.db.rollback()
		return False
	progress = progress_of(doc)
	# the timeline line in the language of whoever asked, as an immediate hand-over writes it
	with in_language(doc.requested_by or doc.owner):
		note = handover.hand_over_note(doc.from_user, doc.to_user, doc.reason)
	for kind, name in chunk:
		if handover.move(kind, name, doc.from_user, doc.to_user, note):
			progress[kind].append(name)
			job.count(kind)
		else:
			progress["skipped"].append(f"{handover.doctype_of(kind)} {name}")
			job.count("skipped")
	save_progress(doc, progress, done + len(chunk))
	frappe.db.commit()
	return done + len(chunk) < len(plan)


def move_next_assignments(record: str, job: JobRun) -> bool:
	"""Move a chunk of the user's open assignments and commit it; False when none is left."""
	doc = locked(record)
	if doc.status == COMPLETED:
		frappe.db.rollback()
		return False
	size = batch_size()
	moved = handover.reassign_todos(doc.from_user, doc.to_user, limit=size)
	if not moved:
		frappe.db.rollback()
		return False
	progress = progress_of(doc)
	progress["assignments"].extend(moved)
	job.count("assignments", len(moved))
	save_progress(doc, progress, cint(doc.records_done))
	frappe.db.commit()
	return len(moved) == size


def complete(record: str, job: JobRun) -> None:
	"""Completed, and everyone concerned told, in one transaction (once: a run that waited on the lock finds
	it Completed)."""
	doc = locked(record)
	if doc.status == COMPLETED:
		frappe.db.rollback()
		return
	doc.db_set({"status": COMPLETED, "handed_over_on": now_datetime()}, notify=True)
	for user in {doc.from_user, doc.to_user, doc.requested_by} - {None, "", "Administrator"}:
		with in_language(user):
			subject = completed_subject(doc, user)
			link = desk_link(DOCTYPE, doc.name)
			label = _("Open the hand-over")
			message = f"<a href='{link}'>{label}</a>"
			if doc.reason:
				message = f"{frappe.utils.escape_html(doc.reason)}<br>{message}"
			notify(user, subject, message, DOCTYPE, doc.name)
	job.count("completed")
	frappe.db.commit()


def completed_subject(doc, user: str) -> str:
	"""The notification of a completed hand-over, as `user` reads it (translated by the caller's language)."""
	what = _("{0} leads, {1} deals, {2} tasks, {3} clients").format(
		doc.leads_moved, doc.deals_moved, doc.tasks_moved, doc.clients_moved
	)
	if user == doc.to_user:
		return _("The work of {0} is now yours: {1}").format(get_fullname(doc.from_user), what)
	if user == doc.from_user:
		return _("Your work has been handed over to {0}: {1}").format(get_fullname(doc.to_user), what)
	return _("The work of {0} has been handed over to {1}: {2}").format(
		get_fullname(doc.from_user), get_fullname(doc.to_user), what
	)


def fail(record: str, error: Exception) -> None:
	"""Failed, with the error: the record shows it and the form offers to run it again."""
	frappe.log_error(title=f"simple_crm {JOB}: {record}", reference_doctype=DOCTYPE, reference_name=record)
	message = str(error) or error.__class__.__name__
	if frappe.db.exists(DOCTYPE, record):
		frappe.db.set_value(DOCTYPE, record, {"status": FAILED, "error": message[:1000]})
	frappe.db.commit()
