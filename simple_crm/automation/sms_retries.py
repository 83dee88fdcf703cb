"""The scheduled half of the SMS channel (simple_crm.integrations.sms).

- `retry_failed_sends` (every minute): sends the queued messages that are due: retries whose backoff has
  passed, and first sends whose job was lost (a worker that was down, Redis unreachable at the request). A
  message is sent only while its log row is locked and still Queued, so a run beside the request's own job,
  or a second run, sends nothing twice.
- `check_delivery` (every five minutes): asks SMS.ru how the sent messages are doing (`sms/status`) and marks
  them Delivered or Failed; the older a message, the less often it is asked about, and not after three days.

Both are bounded (at most the automation batch size of messages per run, the rest next run), commit per
gateway request and leave their one-line summary. Switched off with the channel (Simple CRM Settings > SMS).
"""

from simple_crm.automation.common import JobRun
from simple_crm.integrations import sms


def retry_failed_sends() -> str:
	run = JobRun(sms.RETRY_JOB)
	sms.send_due(run)
	return run.finish()


def check_delivery() -> str:
	run = JobRun(sms.DELIVERY_JOB)
	sms.check_delivery(run)
	return run.finish()
