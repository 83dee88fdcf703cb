"""Phone number parsing and normalisation to E.164 (pure Python, no Frappe).

Problems are reported as `PhoneError` with a machine-readable `code`; the Frappe layer
(`simple_crm.validation`) turns the codes into translated messages.
"""

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

__all__ = [
	"ERROR_CODES",
	"PhoneError",
	"PhoneNumber",
	"digits_only",
	"is_phone_like",
	"is_supported_region",
	"normalize_phone",
	"parse_phone",
]

ERROR_CODES = ("empty", "not_a_number", "invalid")

# An extension at the end of the input: "доб. 123", "(доб. 123)", "вн. 12", "ext 12", "ext.12",
# "x12", "#12", ";ext=12" (RFC 3966). The marker is matched case-insensitively.
_EXTENSION_RE = re.compile(
	r"""
	[\s,;]*\(?\s*
	(?:добавочный|доб|внутренний|внутр|вн|extension|extn|ext|x|\#)
	\s*[.:=]*\s*
	(?P<ext>[0-9]{1,10})
	\s*\)?\s*$
	""",
	re.IGNORECASE | re.VERBOSE,
)
_TEL_URI_RE = re.compile(r"^\s*tel:", re.IGNORECASE)

# Besides digits and whitespace, the only characters a phone number may be written with.
_PUNCTUATION = frozenset("+()[]-./~\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0b\uff08\uff09\uff0d\uff0e\uff0f")


class PhoneError(ValueError):
	"""A phone number that cannot be normalised; `code` is one of `ERROR_CODES`."""

	def __init__(self, code: str, raw: str | None):
		self.code = code
		self.raw = raw
		super().__init__(f"{code}: {raw!r}")


@dataclass(frozen=True)
class PhoneNumber:
	"""A parsed, valid phone number. The formatted strings never include the extension."""

	e164: str
	extension: str | None
	country_code: int
	national: str
	international: str


def digits_only(value: str | None) -> str:
	"""The digits of `value` in order, as ASCII 0-9 (full-width and other decimal digits converted)."""
	if not value:
		return ""
	return "".join(str(unicodedata.decimal(ch)) for ch in value if ch.isdecimal())


def _split_extension(text: str) -> tuple[str, str | None]:
	match = _EXTENSION_RE.search(text)
	if not match:
		return text, None
	return text[: match.start()], match.group("ext")


def _has_only_phone_chars(text: str) -> bool:
	return all(ch.isdecimal() or ch.isspace() or ch in _PUNCTUATION for ch in text)


def is_phone_like(value: str | None, min_digits: int = 5) -> bool:
	"""True if `value` is written like a phone number: digits, spaces and phone punctuation only
	(an optional leading "+" and a trailing extension allowed), with at least `min_digits` digits.

	Meant for telling a phone number from a name in search boxes and imports; it does not validate.
	"""
	if not value or not value.strip():
		return False
	main, _ext = _split_extension(_TEL_URI_RE.sub("", value))
	main = main.strip()
	if not main or not _has_only_phone_chars(main):
		return False
	rest = main.lstrip("+\uff0b")
	if "+" in rest or "\uff0b" in rest:
		return False
	return len(digits_only(main)) >= min_digits


def is_supported_region(region: str | None) -> bool:
	"""True if `region` is a two-letter region code known to phonenumbers (e.g. "RU", "KZ")."""
	return bool(region) and region.strip().upper() in phonenumbers.SUPPORTED_REGIONS


def parse_phone(raw: str | None, region: str = "RU") -> PhoneNumber:
	"""Parse `raw` as written by a person; numbers without "+" are read as numbers of `region`.

	Raises `PhoneError` ("empty", "not_a_number", "invalid"), or a plain `ValueError` if `region` is
	not a region phonenumbers knows (a configuration error, not a user error).
	"""
	region_code = (region or "").strip().upper() or None
	if region_code is not None and region_code not in phonenumbers.SUPPORTED_REGIONS:
		raise ValueError(f"unknown phone region {region!r}")
	if raw is None or not raw.strip():
		raise PhoneError("empty", raw)

	main, extension = _split_extension(_TEL_URI_RE.sub("", raw))
	if not main.strip() or not _has_only_phone_chars(main):
		raise PhoneError("not_a_number", raw)

	try:
		number = phonenumbers.parse(main, region_code)
	except NumberParseException as e:
		if e.error_type == NumberParseException.NOT_A_NUMBER:
			raise PhoneError("not_a_number", raw)
		# INVALID_COUNTRY_CODE, TOO_SHORT_AFTER_IDD, TOO_SHORT_NSN, TOO_LONG: digits, but no number
		raise PhoneError("invalid", raw)

	if not phonenumbers.is_valid_number(number):
		raise PhoneError("invalid", raw)

	extension = extension or number.extension or None
	number.extension = None  # the formatted forms below leave the extension out
	return PhoneNumber(
		e164=phonenumbers.format_number(number, PhoneNumberFormat.E164),
		extension=extension,
		country_code=number.country_code,
		national=phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL),
		international=phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL),
	)


def normalize_phone(raw: str | None, region: str = "RU") -> str:
	"""E.164 form of `raw` ("+79123456789"), without any extension; see `parse_phone`."""
	return parse_phone(raw, region).e164
