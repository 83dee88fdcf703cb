"""The standard exchange of 1C (1C:Trade Management and other configurations with "exchange with a website")
with the CRM: CommerceML 2 files over 1C's HTTP exchange protocol, so a stock 1C is pointed at the CRM's URL
without any code of its own.

- `protocol`: the modes of `type=sale` (checkauth, init, file, import, query, success), the session and the
  uploaded files;
- `reader`: the uploaded XML (windows-1251 or UTF-8, alone or zipped) read safely and mapped to the accounting
  exchange's counterparty and order items, which `simple_crm.integrations.exchange` upserts;
- `query`: the CRM's new counterparties, clients and orders as CommerceML for 1C, marked delivered on success.

The endpoint is `simple_crm.api.commerceml.exchange`; the README ("1C (CommerceML)") says how to set 1C up.
"""
