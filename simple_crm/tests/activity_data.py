"""A fixed month of sales activity in March 2037 for the per-manager report tests (manager activity, meetings
per won deal), made as Administrator through the controllers; the tests roll it back.

Team A: head_a, sales1, sales2; team B: head_b, sales3 (simple_crm.tests.sales_org). The tests run with the
clock frozen at NOW and report on PERIOD. What is made, by manager (outside the period or not counted in
brackets):

calls (started_at, direction, status, seconds)
    sales1  C1 03-02 10:00 Inbound Answered 120, C2 03-05 11:00 Outbound Answered 300,
            C3 03-10 09:00 Inbound Missed 0, [C4 02-28 23:59 Outbound Answered 60], [C5 04-01 00:00 Inbound
            Answered 50]
    sales3  C6 03-15 14:00 Outbound Answered 600, C7 03-31 23:59 Inbound Missed 0
    nobody  [C8 03-03 12:00 Inbound Missed: no manager]
deals won (won_on, amount; meetings done about the deal)
    sales1  D1 03-05 100,000 (M1 done 03-04, M2 done 02-15; [an open meeting], [a call task done 03-06]),
            D6 03-06 20,000 (none), D8 03-07 5,000 (none), [D4 02-28 999 with a meeting], [D5 lost 03-10
            with a meeting]
    sales2  D2 03-12 50,000 (M3, held and done by sales1 on 03-11)
    sales3  D3 03-18 30,000 (M4 done 03-18, M5 done 03-16), D7 03-19 10,000 (M6 03-19, M7 03-17)
other tasks
    sales1  T4 Open due 03-10 (overdue), [T5 In Progress due 03-25: not due yet at NOW],
            [T6 Open due 02-20: due before the period], [T7 Cancelled due 03-05]
    sales2  T8 Open due 03-19 18:00 (overdue)
e-mails (Communication)
    sales1  E1 sent by sales1's address about D1 on 03-03; [E3 received about D1], [E4 sent about no
            record], [E5 sent about D1 on 02-28]
    sales2  E2 sent from a shared address (no user) written by sales2 about sales2's lead on 03-08
    sales3  E6 sent by sales3's address about D3 on 03-18
"""

from datetime import datetime

import frappe

from simple_crm.tests import factories
from simple_crm.tests.sales_org import email

NOW = datetime(2037, 3, 20, 12, 0)
PERIOD = {"from_date": "2037-03-01", "to_date": "2037-03-31"}
SHARED_MAILBOX = "sales-desk@example.com"


def call(manager, started, direction, status, seconds):
	return factories.make_call(
		manager=email(manager) if manager else None,
		started_at=started,
		direction=direction,
		call_status=status,
		duration=seconds,
	).name


def won_deal(test, manager, day, amount):
	"""A deal of `manager` won on `day` (the controller sets won_on to the day of the move)."""
	with test.freeze_time(day.replace(hour=9)):
		client = factories.make_client(responsible=email(manager))
		deal = factories.make_deal(client.name, responsible=email(manager), amount=amount)
	with test.freeze_time(day.replace(hour=10)):
		deal.reload()
		deal.stage = "Won"
		deal.save()
	assert str(deal.won_on) == day.date().isoformat(), deal.won_on
	return deal.name


def lost_deal(test, manager, day):
	with test.freeze_time(day.replace(hour=9)):
		client = factories.make_client(responsible=email(manager))
		deal = factories.make_deal(client.name, responsible=email(manager), amount=1000)
	with test.freeze_time(day.replace(hour=10)):
		deal.reload()
		deal.stage = "Lost"
		deal.lost_reason = "Price Too High"
		deal.save()
	return deal.name


def task(assignee, task_type="Other", status="Open", due=None, completed=None, deal=None):
	values = {
		"assigned_to": email(assignee),
		"task_type": task_type,
		"status": status,
		"due_on": due or completed,
	}
	if status == "Done":
		values.update(completed_on=completed, result="Обсудили условия")
	if deal:
		values.update(reference_doctype="CRM Deal", reference_name=deal)
	return factories.make_task(**values).name


def mail(owner, sender, when, reference=None, sent=True):
	doc = frappe.get_doc(
		{
			"doctype": "Communication",
			"communication_type": "Communication",
			"communication_medium": "Email",
			"sent_or_received": "Sent" if sent else "Received",
			"sender": sender,
			"recipients": "client@example.com",
			"subject": "Коммерческое предложение",
			"content": "Добрый день!",
			"communication_date": when,
			"reference_doctype": reference[0] if reference else None,
			"reference_name": reference[1] if reference else None,
		}
	)
	doc.insert(ignore_permissions=True)
	if owner != "Administrator":
		# Frappe makes whoever inserts a new document its owner: the e-mail was written by `owner`
		frappe.db.set_value("Communication", doc.name, "owner", email(owner), update_modified=False)
	return doc.name


def make_activity(test) -> dict[str, str]:
	"""The month above; returns the records by their names in the docstring."""
	r: dict[str, str] = {}
	r["C1"] = call("sales1", datetime(2037, 3, 2, 10), "Inbound", "Answered", 120)
	r["C2"] = call("sales1", datetime(2037, 3, 5, 11), "Outbound", "Answered", 300)
	r["C3"] = call("sales1", datetime(2037, 3, 10, 9), "Inbound", "Missed", 0)
	r["C4"] = call("sales1", datetime(2037, 2, 28, 23, 59), "Outbound", "Answered", 60)
	r["C5"] = call("sales1", datetime(2037, 4, 1, 0, 0), "Inbound", "Answered", 50)
	r["C6"] = call("sales3", datetime(2037, 3, 15, 14), "Outbound", "Answered", 600)
	r["C7"] = call("sales3", datetime(2037, 3, 31, 23, 59), "Inbound", "Missed", 0)
	r["C8"] = call(None, datetime(2037, 3, 3, 12), "Inbound", "Missed", 0)

	r["D1"] = won_deal(test, "sales1", datetime(2037, 3, 5), 100_000)
	r["D6"] = won_deal(test, "sales1", datetime(2037, 3, 6), 20_000)
	r["D8"] = won_deal(test, "sales1", datetime(2037, 3, 7), 5_000)
	r["D4"] = won_deal(test, "sales1", datetime(2037, 2, 28), 999)
	r["D5"] = lost_deal(test, "sales1", datetime(2037, 3, 10))
	r["D2"] = won_deal(test, "sales2", datetime(2037, 3, 12), 50_000)
	r["D3"] = won_deal(test, "sales3", datetime(2037, 3, 18), 30_000)
	r["D7"] = won_deal(test, "sales3", datetime(2037, 3, 19), 10_000)

	r["M1"] = task("sales1", "Meeting", "Done", completed=datetime(2037, 3, 4, 10), deal=r["D1"])
	r["M2"] = task("sales1", "Meeting", "Done", completed=datetime(2037, 2, 15, 10), deal=r["D1"])
	r["open meeting"] = task("sales1", "Meeting", "Open", due=datetime(2037, 3, 25, 10), deal=r["D1"])
	r["call task"] = task("sales1", "Call", "Done", completed=datetime(2037, 3, 6, 15), deal=r["D1"])
	r["D4 meeting"] = task("sales1", "Meeting", "Done", completed=datetime(2037, 2, 20, 10), deal=r["D4"])
	r["D5 meeting"] = task("sales1", "Meeting", "Done", completed=datetime(2037, 2, 21, 10), deal=r["D5"])
	r["M3"] = task("sales1", "Meeting", "Done", completed=datetime(2037, 3, 11, 10), deal=r["D2"])
	r["M4"] = task("sales3", "Meeting", "Done", completed=datetime(2037, 3, 18, 9), deal=r["D3"])
	r["M5"] = task("sales3", "Meeting", "Done", completed=datetime(2037, 3, 16, 9), deal=r["D3"])
	r["M6"] = task("sales3", "Meeting", "Done", completed=datetime(2037, 3, 19, 9), deal=r["D7"])
	r["M7"] = task("sales3", "Meeting", "Done", completed=datetime(2037, 3, 17, 9), deal=r["D7"])

	r["T4"] = task("sales1", due=datetime(2037, 3, 10, 10))
	r["T5"] = task("sales1", status="In Progress", due=datetime(2037, 3, 25, 10))
	r["T6"] = task("sales1", due=datetime(2037, 2, 20, 10))
	r["T7"] = task("sales1", status="Cancelled", due=datetime(2037, 3, 5, 10))
	r["T8"] = task("sales2", due=datetime(2037, 3, 19, 18))

	lead = factories.make_lead(responsible=email("sales2")).name
	r["lead"] = lead
	r["E1"] = mail("Administrator", email("sales1"), datetime(2037, 3, 3, 10), ("CRM Deal", r["D1"]))
	r["E2"] = mail("sales2", SHARED_MAILBOX, datetime(2037, 3, 8, 10), ("CRM Lead", lead))
	r["E3"] = mail(
		"sales1", "client@example.com", datetime(2037, 3, 4, 10), ("CRM Deal", r["D1"]), sent=False
	)
	r["E4"] = mail("sales1", email("sales1"), datetime(2037, 3, 4, 11))
	r["E5"] = mail("sales1", email("sales1"), datetime(2037, 2, 28, 10), ("CRM Deal", r["D1"]))
	r["E6"] = mail("Administrator", email("sales3"), datetime(2037, 3, 18, 10), ("CRM Deal", r["D3"]))
	return r
