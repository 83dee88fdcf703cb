"""Russian business identifiers (ИНН, КПП, ОГРН, ОГРНИП, БИК, bank accounts) and their control rules.

Pure Python, no Frappe. Each `validate_*` returns the cleaned value or raises `IdentifierError`
with machine-readable `identifier`, `code` and `params`; `simple_crm.validation` words them.
The `make_*` generators build valid values for demo data and tests.
"""

import random
import re

__all__ = [
	"ERROR_CODES",
	"IDENTIFIERS",
	"KINDS",
	"IdentifierError",
	"make_bik",
	"make_corr_account",
	"make_inn",
	"make_kpp",
	"make_ogrn",
	"make_ogrnip",
	"make_settlement_account",
	"validate_bik",
	"validate_corr_account",
	"validate_inn",
	"validate_kpp",
	"validate_ogrn",
	"validate_ogrnip",
	"validate_settlement_account",
]

IDENTIFIERS = ("inn", "kpp", "ogrn", "ogrnip", "bik", "account", "corr_account")
ERROR_CODES = ("empty", "not_digits", "length", "checksum", "format", "bik_mismatch")
KINDS = ("organisation", "individual")

KPP_PATTERN = r"^[0-9]{4}[0-9A-Z]{2}[0-9]{3}$"
CORR_ACCOUNT_PREFIX = "30101"

_KPP_RE = re.compile(KPP_PATTERN)
# Separators people type inside identifiers: any whitespace and hyphens/dashes.
_SEPARATORS_RE = re.compile(r"[\s\-\u2010\u2011\u2012\u2013\u2014\u2015\u2212]+")

_INN10_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS_1 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS_2 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
# Bank of Russia account key: weights 7, 1, 3 repeated over the 23-digit control string.
_ACCOUNT_WEIGHTS = (7, 1, 3) * 7 + (7, 1)
_ACCOUNT_KEY_INDEX = 8  # the 9th digit of an account is its control key


class IdentifierError(ValueError):
	"""An identifier failing its rules: `identifier` in `IDENTIFIERS`, `code` in `ERROR_CODES`."""

	def __init__(self, identifier: str, code: str, params: dict | None = None):
		self.identifier = identifier
		self.code = code
		self.params = params or {}
		super().__init__(f"{identifier}: {code} {self.params}" if self.params else f"{identifier}: {code}")


# --- cleaning --------------------------------------------------------------------------------


def _strip_separators(value: str | None) -> str:
	return _SEPARATORS_RE.sub("", value or "")


def _is_ascii_digits(value: str) -> bool:
	return value.isascii() and value.isdigit()


def _clean_digits(value: str | None, identifier: str, lengths: tuple[int, ...]) -> str:
	"""Strip separators; check that the rest is non-empty, digits only and of one of `lengths`."""
	cleaned = _strip_separators(value)
	if not cleaned:
		raise IdentifierError(identifier, "empty")
	if not _is_ascii_digits(cleaned):
		bad = "".join(sorted({ch for ch in cleaned if not ("0" <= ch <= "9")}))
		raise IdentifierError(identifier, "not_digits", {"chars": bad})
	if len(cleaned) not in lengths:
		expected = lengths[0] if len(lengths) == 1 else list(lengths)
		raise IdentifierError(identifier, "length", {"expected": expected, "actual": len(cleaned)})
	return cleaned


def _check_kind(kind: str | None) -> None:
	if kind is not None and kind not in KINDS:
		raise ValueError(f"kind must be None, 'organisation' or 'individual', not {kind!r}")


# --- check digits ----------------------------------------------------------------------------


def _weighted_mod11(digits: str, weights: tuple[int, ...]) -> str:
	return str(sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11 % 10)


def _inn_check_digits(body: str) -> str:
	"""Check digits for an INN body: 9 digits -> 1 check digit, 10 digits -> 2 check digits."""
	if len(body) == 9:
		return _weighted_mod11(body, _INN10_WEIGHTS)
	first = _weighted_mod11(body, _INN12_WEIGHTS_1)
	return first + _weighted_mod11(body + first, _INN12_WEIGHTS_2)


def _ogrn_check_digit(body: str) -> str:
	"""OGRN (12-digit body): body mod 11 mod 10; OGRNIP (14-digit body): body mod 13 mod 10."""
	modulus = 11 if len(body) == 12 else 13
	return str(int(body) % modulus % 10)


def _account_control_sum(control: str) -> int:
	"""Lowest digit of the sum of the lowest digits of digit*weight over a 23-digit control string."""
	return sum(int(d) * w % 10 for d, w in zip(control, _ACCOUNT_WEIGHTS, strict=True)) % 10


def _settlement_prefix(bik: str) -> str:
	"""Conditional number of a credit institution: the last 3 digits of its BIK."""
	return bik[-3:]


def _corr_prefix(bik: str) -> str:
	"""Conditional number of the Bank of Russia division: "0" + digits 5-6 of the BIK."""
	return "0" + bik[4:6]


def _with_account_key(prefix: str, account: str) -> str:
	"""`account` with its 9th digit replaced by the control key that makes it pass for `prefix`."""
	zeroed = account[:_ACCOUNT_KEY_INDEX] + "0" + account[_ACCOUNT_KEY_INDEX + 1 :]
	key = _account_control_sum(prefix + zeroed) * 3 % 10
	return zeroed[:_ACCOUNT_KEY_INDEX] + str(key) + zeroed[_ACCOUNT_KEY_INDEX + 1 :]


# --- validators ------------------------------------------------------------------------------


def validate_inn(value: str | None, kind: str | None = None) -> str:
	"""Clean and check an INN: 10 digits for an organisation, 12 for an individual (ИП)."""
	_check_kind(kind)
	lengths = {None: (10, 12), "organisation": (10,), "individual": (12,)}[kind]
	inn = _clean_digits(value, "inn", lengths)
	body_length = 9 if len(inn) == 10 else 10
	if _inn_check_digits(inn[:body_length]) != inn[body_length:]:
		raise IdentifierError("inn", "checksum", {"kind": "organisation" if len(inn) == 10 else "individual"})
	return inn


def validate_kpp(value: str | None) -> str:
	"""Clean (no separators, upper case) and check a KPP: NNNN PP NNN, P a digit or a Latin A-Z."""
	kpp = _strip_separators(value).upper()
	if not kpp:
		raise IdentifierError("kpp", "empty")
	if len(kpp) != 9:
		raise IdentifierError("kpp", "length", {"expected": 9, "actual": len(kpp)})
	if not _KPP_RE.match(kpp):
		raise IdentifierError("kpp", "format", {"pattern": KPP_PATTERN})
	return kpp


def validate_ogrn(value: str | None, kind: str | None = None) -> str:
	"""Clean and check an OGRN (13 digits, organisation) or OGRNIP (15 digits, individual)."""
	_check_kind(kind)
	if kind == "individual":
		return validate_ogrnip(value)
	lengths = (13,) if kind == "organisation" else (13, 15)
	ogrn = _clean_digits(value, "ogrn", lengths)
	if _ogrn_check_digit(ogrn[:-1]) != ogrn[-1]:
		raise IdentifierError("ogrn" if len(ogrn) == 13 else "ogrnip", "checksum")
	return ogrn


def validate_ogrnip(value: str | None) -> str:
	"""Clean and check an OGRNIP: 15 digits, the last one (first 14 mod 13) mod 10."""
	ogrnip = _clean_digits(value, "ogrnip", (15,))
	if _ogrn_check_digit(ogrnip[:-1]) != ogrnip[-1]:
		raise IdentifierError("ogrnip", "checksum")
	return ogrnip


def validate_bik(value: str | None) -> str:
	"""Clean and check a BIK: 9 digits (it has no check digit)."""
	return _clean_digits(value, "bik", (9,))


def validate_settlement_account(account: str | None, bik: str | None) -> str:
	"""Clean and check a settlement account (20 digits) against the control key of its bank's BIK.

	A bad `bik` raises its own `IdentifierError` with identifier "bik".
	"""
	bik = validate_bik(bik)
	account = _clean_digits(account, "account", (20,))
	if _account_control_sum(_settlement_prefix(bik) + account) != 0:
		raise IdentifierError("account", "bik_mismatch", {"bik": bik, "check": "control_key"})
	return account


def validate_corr_account(account: str | None, bik: str | None) -> str:
	"""Clean and check a correspondent account: 20 digits, "30101…", ending in the BIK's last 3 digits,
	control key over "0" + BIK digits 5-6 + account. A bad `bik` raises with identifier "bik".
	"""
	bik = validate_bik(bik)
	account = _clean_digits(account, "corr_account", (20,))
	if not account.startswith(CORR_ACCOUNT_PREFIX):
		raise IdentifierError("corr_account", "format", {"prefix": CORR_ACCOUNT_PREFIX})
	if account[-3:] != bik[-3:]:
		raise IdentifierError("corr_account", "bik_mismatch", {"bik": bik, "check": "suffix"})
	if _account_control_sum(_corr_prefix(bik) + account) != 0:
		raise IdentifierError("corr_account", "bik_mismatch", {"bik": bik, "check": "control_key"})
	return account


# --- generators (demo data, tests) -----------------------------------------------------------


def _digits(rng: random.Random, count: int) -> str:
	return "".join(str(rng.randrange(10)) for _ in range(count))


def _two_digits(rng: random.Random, low: int = 1, high: int = 99) -> str:
	return f"{rng.randint(low, high):02d}"


def make_inn(rng: random.Random, kind: str = "organisation") -> str:
	"""A valid INN: 10 digits for kind "organisation", 12 for "individual"."""
	if kind not in KINDS:
		raise ValueError(f"kind must be 'organisation' or 'individual', not {kind!r}")
	# region code + tax office code + record number
	body = _two_digits(rng) + _two_digits(rng) + _digits(rng, 5 if kind == "organisation" else 6)
	return body + _inn_check_digits(body)


def make_ogrn(rng: random.Random) -> str:
	"""A valid 13-digit OGRN: sign (1 or 5), year, region, record number, check digit."""
	body = rng.choice("15") + _two_digits(rng, 2, 24) + _two_digits(rng) + _digits(rng, 7)
	return body + _ogrn_check_digit(body)


def make_ogrnip(rng: random.Random) -> str:
	"""A valid 15-digit OGRNIP: sign 3, year, region, record number, check digit."""
	body = "3" + _two_digits(rng, 4, 24) + _two_digits(rng) + _digits(rng, 9)
	return body + _ogrn_check_digit(body)


def make_kpp(rng: random.Random, inn: str | None = None) -> str:
	"""A valid KPP; with an organisation's `inn`, its tax office code is the INN's first 4 digits."""
	office = validate_inn(inn)[:4] if inn else _two_digits(rng) + _two_digits(rng)
	reason = rng.choice(("01", "01", "01", "01", "02", "43", "45", "50", "51"))
	return office + reason + f"{rng.randint(1, 9):03d}"


def make_bik(rng: random.Random) -> str:
	"""A valid BIK of a credit institution: 04, territory, division, bank number 050-999."""
	return "04" + _two_digits(rng) + _two_digits(rng, 0, 99) + f"{rng.randint(50, 999):03d}"


def make_settlement_account(rng: random.Random, bik: str) -> str:
	"""A valid rouble settlement account (40702/40802/…, 810) for a bank with this `bik`."""
	bik = validate_bik(bik)
	account = rng.choice(("40702", "40702", "40701", "40703", "40802")) + "810" + "0" + _digits(rng, 11)
	return _with_account_key(_settlement_prefix(bik), account)


def make_corr_account(bik: str) -> str:
	"""The correspondent account (30101 810 K DDDD 0000 NNN) that goes with `bik`."""
	bik = validate_bik(bik)
	account = CORR_ACCOUNT_PREFIX + "810" + "0" + bik[2:6] + "0000" + bik[-3:]
	return _with_account_key(_corr_prefix(bik), account)
