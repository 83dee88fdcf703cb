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
	"MAX_INPUT_LENGTH",
	"PhoneError",
	"PhoneNumber",
	"digits_only",
	"is_phone_like",
	"is_supported_region",
	"normalize_phone",
	"parse_phone",
]

ERROR_CODES = ("empty", "not_a_number", "invalid")

# Markers of an extension at the end of the input, compared in lower case, longest first:
# "доб. 123", "(доб. 123)", "вн. 12", "ext 12", "ext.12", "x12", "#12", ";ext=12" (RFC 3966).
_EXTENSION_MARKERS = ("добавочный", "внутренний", "extension", "внутр", "extn", "доб", "ext", "вн", "x", "#")
_MAX_EXTENSION_DIGITS = 10
# Longer input is not a phone number (phonenumbers refuses more than 250 characters too).
MAX_INPUT_LENGTH = 250
_TEL_URI_RE = re.compile(r"^\s*tel:", re.IGNORECASE)

# Besides digits and whitespace, the only characters a phone number may be written with.
_PUNCTUATION = frozenset(
	"+()[]-./~\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0b\uff08\uff09\uff0d\uff0e\uff0f"
)


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


def _rstrip(text: str, chars: str = "") -> str:
	"""`text` without trailing whitespace and `chars` (a linear scan, unlike a `[...]*$` regex)."""
	end = len(text)
	while end and (text[end - 1].isspace() or text[end - 1] in chars):
		end -= 1
	return text[:end]


def _split_extension(text: str) -> tuple[str, str | None]:
	"""Split "<number> [,;] [(] <marker> [.:=] <digits> [)]" into the number and the digits."""
	rest = _rstrip(text, ")")
	start = len(rest)
	while start and "0" <= rest[start - 1] <= "9":
		start -= 1
	extension = rest[start:]
	if not 1 <= len(extension) <= _MAX_EXTENSION_DIGITS:
		return text, None
	rest = _rstrip(rest[:start], ".:=")
	lowered = rest.lower()
	for marker in _EXTENSION_MARKERS:
		if lowered.endswith(marker):
			return _rstrip(rest[: len(rest) - len(marker)], "(,;"), extension
	return text, None


def _has_only_phone_chars(text: str) -> bool:
	return all(ch.isdecimal() or ch.isspace() or ch in _PUNCTUATION for ch in text)


def is_phone_like(value: str | None, min_digits: int = 5) -> bool:
	"""True if `value` is written like a phone number: digits, spaces and phone punctuation only
	(an optional leading "+" and a trailing extension allowed), with at least `min_digits` digits.

	Meant for telling a phone number from a name in search boxes and imports; it does not validate.
	"""
	if not value or not value.strip() or len(value) > MAX_INPUT_LENGTH:
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
	if len(raw) > MAX_INPUT_LENGTH:
		raise PhoneError("not_a_number", raw)

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
