"""The channels through which inquiries arrive and messages leave, one module per channel; their public
endpoints are thin functions in simple_crm/api/. What they share (reading a hostile request safely,
signatures, the CRM Integration Log of everything received and sent) is in `common`; their settings are
on the Channels tab of Simple CRM Settings."""
