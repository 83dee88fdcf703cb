"""Defences against a logged-in user who calls Frappe's and the app's endpoints directly with crafted
arguments (see each module)."""
