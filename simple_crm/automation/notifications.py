"""Messages to clients when a record's status changes, as Frappe Notifications an administrator runs.

The app ships examples, switched off: Setup > Notification lists them, and an administrator edits the
wording, the condition and the recipients in the Desk and ticks Enabled. Frappe sends them from the record's
own save (its `Value Change` and `New` events), so they hold for the Desk, REST, imports with e-mails on and
the web form alike. The texts are in Russian, with the record's fields in Jinja.

- A deal is won: a thank-you e-mail to the deal's contact person. A deal has no e-mail field of its own, so
  the address is found by a Jinja recipient (Notification > Recipients > CC): the primary contact's e-mail,
  else the client's. Frappe puts template recipients in CC, so the letter goes out with the client in CC
  and nobody in To.
- A lead arrives with an e-mail: a confirmation to that address (the lead's E-mail field).
- A lead arrives with a mobile number: the same confirmation by SMS, through Frappe's SMS Settings (a deal has
  no phone field an SMS notification could read, so the SMS example is the lead's).

`seed_example_notifications` (after every migrate) creates each example once: a changed one is never
overwritten, and one an administrator deleted is not brought back (the creation is marked in CRM Automation
Mark).
"""

import frappe

from simple_crm.automation.common import claim, claimed
from simple_crm.constants import APP_MODULE

JOB = "notification_examples"

DEAL_WON = "Сделка выиграна: благодарность клиенту"
LEAD_RECEIVED = "Лид получен: подтверждение по e-mail"
LEAD_RECEIVED_SMS = "Лид получен: подтверждение по SMS"

# the address of a deal's contact person: the primary contact's e-mail, else the client's (one line, or
# nothing: Frappe reads a template recipient as addresses separated by commas or new lines)
DEAL_CONTACT_EMAIL = """{%- set ns = namespace(email="") -%}
{%- for row in doc.contacts if row.is_primary and not ns.email -%}
{%- set ns.email = frappe.db.get_value("Contact", row.contact, "email_id") or "" -%}
{%- endfor -%}
{%- if not ns.email and doc.client -%}
{%- set ns.email = frappe.db.get_value("CRM Client", doc.client, "email") or "" -%}
{%- endif -%}
{{ ns.email }}"""

DEAL_WON_MESSAGE = """{%- set primary = doc.contacts | selectattr("is_primary") | list -%}
<p>Здравствуйте{% if primary and primary[0].full_name %}, {{ primary[0].full_name }}{% endif %}!</p>
<p>Благодарим вас за доверие и за выбор нашей компании. Мы рады сообщить, что сделка
«{{ doc.deal_name }}» успешно согласована{% if doc.amount %} на сумму
{{ frappe.utils.fmt_money(doc.amount, currency=doc.currency) }}{% endif %}.</p>
<p>Ваш менеджер свяжется с вами, чтобы обсудить дальнейшие шаги. Если у вас есть вопросы, просто ответьте
на это письмо.</p>
<p>С уважением,<br>{{ frappe.get_fullname(doc.responsible) if doc.responsible else "команда продаж" }}</p>
"""

LEAD_RECEIVED_MESSAGE = """<p>Здравствуйте{% if doc.lead_name %}, {{ doc.lead_name }}{% endif %}!</p>
<p>Спасибо за обращение{% if doc.company_name %} от компании «{{ doc.company_name }}»{% endif %}. Мы получили
вашу заявку{% if doc.interest %} («{{ doc.interest }}»){% endif %}, и менеджер свяжется с вами в ближайшее
рабочее время.</p>
<p>Номер вашей заявки: {{ doc.name }}.</p>
<p>С уважением,<br>команда продаж</p>
"""

LEAD_RECEIVED_SMS_MESSAGE = (
	"Здравствуйте{% if doc.lead_name %}, {{ doc.lead_name }}{% endif %}! Спасибо за заявку {{ doc.name }}, "
	"менеджер свяжется с вами в ближайшее время."
)

EXAMPLES = (
	{
		"name": DEAL_WON,
		"document_type": "CRM Deal",
		"event": "Value Change",
		"value_changed": "stage_type",
		"condition": 'doc.stage_type == "Won"',
		"channel": "Email",
		"subject": "Спасибо за сотрудничество: {{ doc.deal_name }}",
		"message_type": "HTML",
		"message": DEAL_WON_MESSAGE,
		"recipients": [{"cc": DEAL_CONTACT_EMAIL}],
	},
	{
		"name": LEAD_RECEIVED,
		"document_type": "CRM Lead",
		"event": "New",
		"condition": "doc.email",
		"channel": "Email",
		"subject": "Мы получили вашу заявку {{ doc.name }}",
		"message_type": "HTML",
		"message": LEAD_RECEIVED_MESSAGE,
		"recipients": [{"receiver_by_document_field": "email"}],
	},
	{
		"name": LEAD_RECEIVED_SMS,
		"document_type": "CRM Lead",
		"event": "New",
		"condition": "doc.mobile_no_normalized",
		"channel": "SMS",
		"message_type": "Plain Text",
		"message": LEAD_RECEIVED_SMS_MESSAGE,
		"recipients": [{"receiver_by_document_field": "mobile_no_normalized"}],
	},
)


def key_for(name: str) -> str:
	return f"notification-example:{name}"


def seed_example_notifications() -> list[str]:
	"""Create the example Notifications that were never created on this site, disabled; returns their names."""
	made = []
	for example in EXAMPLES:
		key = key_for(example["name"])
		if claimed(key):
			continue  # created before: edited, switched on or deleted since, it is the administrator's
		if not frappe.db.exists("Notification", example["name"]):
			frappe.get_doc(
				{"doctype": "Notification", "enabled": 0, "is_standard": 0, "module": APP_MODULE, **example}
			).insert(ignore_permissions=True)
			made.append(example["name"])
		# no reference to the Notification: a mark linking to it would stop the administrator deleting it
		claim(key, JOB)
	return made
