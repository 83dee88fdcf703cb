"""Unit tests for simple_crm.utils.identifiers (plain pytest, no Frappe)."""

import random

import pytest

from simple_crm.utils.identifiers import (
	CORR_ACCOUNT_PREFIX,
	ERROR_CODES,
	IDENTIFIERS,
	KPP_PATTERN,
	IdentifierError,
	make_bik,
	make_corr_account,
	make_inn,
	make_kpp,
	make_ogrn,
	make_ogrnip,
	make_settlement_account,
	validate_bik,
	validate_corr_account,
	validate_inn,
	validate_kpp,
	validate_ogrn,
	validate_ogrnip,
	validate_settlement_account,
)

# Real, published requisites (each also checked by these tests).
SBER = {
	"inn": "7707083893",
	"kpp": "773601001",
	"ogrn": "1027700132195",
	"bik": "044525225",
	"corr_account": "30101810400000000225",
}
YANDEX = {"inn": "7736207543", "kpp": "770401001", "ogrn": "1027700229193"}

INN_ORGANISATIONS = [
	SBER["inn"],
	YANDEX["inn"],
	"7710140679",  # T-Bank (Tinkoff)
	"7702070139",  # VTB
	"7728168971",  # Alfa-Bank
	"7744001497",  # Gazprombank
	"7830002293",  # the example of the Russian Wikipedia article on INN
]
INN_INDIVIDUALS = ["500100732259"]  # the example of the Russian Wikipedia article on INN
OGRNS = [
	SBER["ogrn"],
	YANDEX["ogrn"],
	"1027739642281",  # T-Bank (Tinkoff)
	"1027739609391",  # VTB
	"1027700067328",  # Alfa-Bank
]
# Gazprombank's OGRN: its first 12 digits give remainder 10, so the check digit is 0 (see the test
# on the weakness of the mod 11 mod 10 rule below).
OGRN_WITH_REMAINDER_10 = "1027700167110"
OGRNIPS = ["304500116000157"]  # the example of the Russian Wikipedia article on OGRNIP
KPPS = [SBER["kpp"], YANDEX["kpp"]]
BANKS = [  # (BIK, correspondent account)
	(SBER["bik"], SBER["corr_account"]),
	("044525974", "30101810145250000974"),  # T-Bank (Tinkoff)
	("044525187", "30101810700000000187"),  # VTB
	("044525593", "30101810200000000593"),  # Alfa-Bank
	("044525823", "30101810200000000823"),  # Gazprombank
	("044030827", "30101810200000000827"),
]
# A settlement account and BIK pair known to pass the Bank of Russia control key.
SETTLEMENT_ACCOUNTS = [("40702810900000002851", "044030827")]

SEED = 20240601
ROUNDS = 300


def mutations(value: str, position: int) -> list[str]:
	"""`value` with the digit at `position` replaced by each of the 9 other digits."""
	return [value[:position] + d + value[position + 1 :] for d in "0123456789" if d != value[position]]


def single_digit_cases(values: list[str]) -> list[tuple[str, int]]:
	return [(value, position) for value in values for position in range(len(value))]


def raises(func, *args, **kwargs) -> IdentifierError:
	with pytest.raises(IdentifierError) as exc:
		func(*args, **kwargs)
	return exc.value


def passes(func, *args, **kwargs) -> bool:
	try:
		func(*args, **kwargs)
	except IdentifierError:
		return False
	return True


# --- IdentifierError -------------------------------------------------------------------------


def test_identifier_error_is_a_value_error():
	err = raises(validate_inn, "")
	assert isinstance(err, ValueError)
	assert err.identifier == "inn"
	assert err.code == "empty"
	assert err.params == {}


def test_identifier_error_str_names_identifier_and_code():
	err = IdentifierError("bik", "length", {"expected": 9, "actual": 8})
	assert "bik" in str(err)
	assert "length" in str(err)
	assert err.params == {"expected": 9, "actual": 8}


def test_constants():
	assert IDENTIFIERS == ("inn", "kpp", "ogrn", "ogrnip", "bik", "account", "corr_account")
	assert ERROR_CODES == ("empty", "not_digits", "length", "checksum", "format", "bik_mismatch")


# --- INN -------------------------------------------------------------------------------------


@pytest.mark.parametrize("inn", INN_ORGANISATIONS)
def test_inn_organisation_valid(inn):
	assert validate_inn(inn) == inn
	assert validate_inn(inn, "organisation") == inn
	assert validate_inn(inn, kind=None) == inn


@pytest.mark.parametrize("inn", INN_INDIVIDUALS)
def test_inn_individual_valid(inn):
	assert validate_inn(inn) == inn
	assert validate_inn(inn, "individual") == inn


@pytest.mark.parametrize(
	"raw",
	[
		" 7707083893 ",
		"7707 083 893",
		"7707-083-893",
		"77 07 08 38 93",
		"7707\u00a0083\u00a0893",
		"7707\u2013083893",
	],
)
def test_inn_separators_are_stripped(raw):
	assert validate_inn(raw) == "7707083893"


@pytest.mark.parametrize("value,position", single_digit_cases(INN_ORGANISATIONS + INN_INDIVIDUALS))
def test_inn_every_single_digit_change_fails(value, position):
	for mutated in mutations(value, position):
		err = raises(validate_inn, mutated)
		assert (err.identifier, err.code) == ("inn", "checksum")
		assert err.params == {"kind": "organisation" if len(value) == 10 else "individual"}


@pytest.mark.parametrize("raw", ["", "   ", None, "-", " - -\u00a0"])
def test_inn_empty(raw):
	err = raises(validate_inn, raw)
	assert (err.identifier, err.code, err.params) == ("inn", "empty", {})


@pytest.mark.parametrize(
	"raw,chars",
	[
		("77O7083893", "O"),  # Latin O for zero
		("7707O8З893", "OЗ"),  # Latin O, Cyrillic Ze for three
		("ИНН7707083893", "ИН"),
		("7707.083.893", "."),
		("+7707083893", "+"),
		("\u0667707083893", "\u0667"),  # Arabic-Indic seven
		("\uff17707083893", "\uff17"),  # full-width seven
		("77070838９3", "９"),
	],
)
def test_inn_not_digits(raw, chars):
	err = raises(validate_inn, raw)
	assert (err.identifier, err.code) == ("inn", "not_digits")
	assert err.params == {"chars": "".join(sorted(chars))}


@pytest.mark.parametrize("length", [1, 5, 9, 11, 13, 15, 20])
def test_inn_wrong_length(length):
	err = raises(validate_inn, "7" * length)
	assert (err.identifier, err.code) == ("inn", "length")
	assert err.params == {"expected": [10, 12], "actual": length}


def test_inn_kind_restricts_length():
	err = raises(validate_inn, INN_INDIVIDUALS[0], "organisation")
	assert (err.code, err.params) == ("length", {"expected": 10, "actual": 12})
	err = raises(validate_inn, SBER["inn"], kind="individual")
	assert (err.code, err.params) == ("length", {"expected": 12, "actual": 10})


@pytest.mark.parametrize("kind", ["organization", "legal", "ИП", ""])
def test_inn_unknown_kind_is_a_programming_error(kind):
	with pytest.raises(ValueError) as exc:
		validate_inn(SBER["inn"], kind)
	assert not isinstance(exc.value, IdentifierError)


def test_inn_checksum_is_checked_before_kind_is_reported():
	err = raises(validate_inn, "7707083894", "organisation")
	assert (err.code, err.params) == ("checksum", {"kind": "organisation"})


# --- KPP -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kpp", [*KPPS, "773643001", "7736AB001", "77365A001", "7736A5001", "0000ZZ000"])
def test_kpp_valid(kpp):
	assert validate_kpp(kpp) == kpp


@pytest.mark.parametrize(
	"raw,expected",
	[
		("7736ab001", "7736AB001"),
		("7736aB001", "7736AB001"),
		(" 773601001 ", "773601001"),
		("7736 01 001", "773601001"),
		("7736-01-001", "773601001"),
	],
)
def test_kpp_is_cleaned_and_upper_cased(raw, expected):
	assert validate_kpp(raw) == expected


@pytest.mark.parametrize("raw", ["", "  ", None, "--"])
def test_kpp_empty(raw):
	err = raises(validate_kpp, raw)
	assert (err.identifier, err.code, err.params) == ("kpp", "empty", {})


@pytest.mark.parametrize("raw", ["77360100", "7736010011", "7736", "7736AB0011"])
def test_kpp_wrong_length(raw):
	err = raises(validate_kpp, raw)
	assert (err.identifier, err.code) == ("kpp", "length")
	assert err.params == {"expected": 9, "actual": len(raw)}


@pytest.mark.parametrize(
	"raw",
	[
		"A73601001",  # letter in the tax office code
		"773A01001",
		"7736010A1",  # letter in the serial number
		"77360100Z",
		"7736АБ001",  # Cyrillic letters in the reason code
		"7736А1001",  # Cyrillic A
		"7736_1001",
		"7736.1001",
		"7736\u0661\u0662001",  # Arabic-Indic digits in the reason code
	],
)
def test_kpp_format(raw):
	err = raises(validate_kpp, raw)
	assert (err.identifier, err.code) == ("kpp", "format")
	assert err.params == {"pattern": KPP_PATTERN}


# --- OGRN / OGRNIP ---------------------------------------------------------------------------


@pytest.mark.parametrize("ogrn", [*OGRNS, OGRN_WITH_REMAINDER_10])
def test_ogrn_valid(ogrn):
	assert validate_ogrn(ogrn) == ogrn
	assert validate_ogrn(ogrn, "organisation") == ogrn


@pytest.mark.parametrize("ogrnip", OGRNIPS)
def test_ogrnip_valid(ogrnip):
	assert validate_ogrnip(ogrnip) == ogrnip
	assert validate_ogrn(ogrnip) == ogrnip
	assert validate_ogrn(ogrnip, "individual") == ogrnip


@pytest.mark.parametrize(
	"raw", ["1027700132195 ", "1 02 77 00 13219 5", "1-02-77-00-132195", "1027700\u00a0132195"]
)
def test_ogrn_separators_are_stripped(raw):
	assert validate_ogrn(raw) == SBER["ogrn"]


@pytest.mark.parametrize("value,position", single_digit_cases(OGRNS))
def test_ogrn_every_single_digit_change_fails(value, position):
	for mutated in mutations(value, position):
		err = raises(validate_ogrn, mutated)
		assert (err.identifier, err.code, err.params) == ("ogrn", "checksum", {})


@pytest.mark.parametrize("value,position", single_digit_cases(OGRNIPS))
def test_ogrnip_every_single_digit_change_fails(value, position):
	for mutated in mutations(value, position):
		err = raises(validate_ogrnip, mutated)
		assert (err.identifier, err.code) == ("ogrnip", "checksum")
		err = raises(validate_ogrn, mutated)
		assert (err.identifier, err.code) == ("ogrnip", "checksum")


@pytest.mark.parametrize(
	"body,remainder",
	[
		("32177460000012", 2),  # mod 11 would give 8
		("31677460000001", 10),  # remainder 10 -> check digit 0 (mod 11 would give 2)
		("30450011600015", 7),
	],
)
def test_ogrnip_check_digit_is_body_mod_13_mod_10(body, remainder):
	assert int(body) % 13 == remainder
	check = str(remainder % 10)
	assert validate_ogrnip(body + check) == body + check
	for wrong in "0123456789".replace(check, ""):
		assert not passes(validate_ogrnip, body + wrong)


@pytest.mark.parametrize(
	"body,remainder",
	[
		("102770013219", 5),  # Sberbank: mod 13 would give 3
		("102770022919", 3),  # Yandex: mod 13 would give 5
		("102770016711", 10),  # Gazprombank: remainder 10 -> check digit 0
	],
)
def test_ogrn_check_digit_is_body_mod_11_mod_10(body, remainder):
	assert int(body) % 11 == remainder
	check = str(remainder % 10)
	assert validate_ogrn(body + check) == body + check
	for wrong in "0123456789".replace(check, ""):
		assert not passes(validate_ogrn, body + wrong)


def test_ogrn_check_digit_rule_cannot_catch_every_error():
	"""(body mod 11) mod 10 maps remainders 0 and 10 to the same check digit 0: for a body with remainder
	10, some single-digit changes give remainder 0 and still pass. This is the official rule, kept as is."""
	value = OGRN_WITH_REMAINDER_10
	assert int(value[:12]) % 11 == 10
	undetected = [m for p in range(12) for m in mutations(value, p) if passes(validate_ogrn, m)]
	assert undetected
	assert all(int(m[:12]) % 11 == 0 for m in undetected)
	# the check digit itself is always protected
	assert not any(passes(validate_ogrn, m) for m in mutations(value, 12))


@pytest.mark.parametrize("raw", ["", " ", None, "-"])
def test_ogrn_empty(raw):
	err = raises(validate_ogrn, raw)
	assert (err.identifier, err.code) == ("ogrn", "empty")
	err = raises(validate_ogrnip, raw)
	assert (err.identifier, err.code) == ("ogrnip", "empty")
	err = raises(validate_ogrn, raw, "individual")
	assert (err.identifier, err.code) == ("ogrnip", "empty")


@pytest.mark.parametrize(
	"raw", ["1O27700132195", "ОГРН1027700132195", "102770013219.5", "1027700132195\u0665"]
)
def test_ogrn_not_digits(raw):
	err = raises(validate_ogrn, raw)
	assert (err.identifier, err.code) == ("ogrn", "not_digits")
	err = raises(validate_ogrnip, raw)
	assert (err.identifier, err.code) == ("ogrnip", "not_digits")


@pytest.mark.parametrize("length", [1, 12, 14, 16, 20])
def test_ogrn_wrong_length(length):
	err = raises(validate_ogrn, "1" * length)
	assert (err.identifier, err.code, err.params) == (
		"ogrn",
		"length",
		{"expected": [13, 15], "actual": length},
	)


@pytest.mark.parametrize("length", [1, 12, 13, 14, 16])
def test_ogrnip_wrong_length(length):
	err = raises(validate_ogrnip, "3" * length)
	assert (err.identifier, err.code, err.params) == ("ogrnip", "length", {"expected": 15, "actual": length})


def test_ogrn_kind_restricts_length():
	err = raises(validate_ogrn, OGRNIPS[0], "organisation")
	assert (err.identifier, err.code, err.params) == ("ogrn", "length", {"expected": 13, "actual": 15})
	err = raises(validate_ogrn, SBER["ogrn"], kind="individual")
	assert (err.identifier, err.code, err.params) == ("ogrnip", "length", {"expected": 15, "actual": 13})


def test_ogrnip_is_not_accepted_as_ogrn_and_back():
	assert not passes(validate_ogrnip, SBER["ogrn"])
	assert not passes(validate_ogrn, OGRNIPS[0], "organisation")


@pytest.mark.parametrize("kind", ["organization", "ip", ""])
def test_ogrn_unknown_kind_is_a_programming_error(kind):
	with pytest.raises(ValueError) as exc:
		validate_ogrn(SBER["ogrn"], kind)
	assert not isinstance(exc.value, IdentifierError)


# --- BIK -------------------------------------------------------------------------------------


@pytest.mark.parametrize("bik", [bik for bik, _ in BANKS])
def test_bik_valid(bik):
	assert validate_bik(bik) == bik


@pytest.mark.parametrize("raw", [" 044525225", "04 45 25 225", "04-4525-225", "044\u00a0525\u00a0225"])
def test_bik_separators_are_stripped(raw):
	assert validate_bik(raw) == SBER["bik"]


@pytest.mark.parametrize("raw", ["", "   ", None])
def test_bik_empty(raw):
	err = raises(validate_bik, raw)
	assert (err.identifier, err.code, err.params) == ("bik", "empty", {})


@pytest.mark.parametrize("raw", ["O44525225", "БИК044525225", "04452522S", "044.525.225"])
def test_bik_not_digits(raw):
	err = raises(validate_bik, raw)
	assert (err.identifier, err.code) == ("bik", "not_digits")


@pytest.mark.parametrize("raw", ["04452522", "0445252250", "4525225", "044525225044525225"])
def test_bik_wrong_length(raw):
	err = raises(validate_bik, raw)
	assert (err.identifier, err.code, err.params) == ("bik", "length", {"expected": 9, "actual": len(raw)})


# --- settlement account ----------------------------------------------------------------------


@pytest.mark.parametrize("account,bik", SETTLEMENT_ACCOUNTS)
def test_settlement_account_valid(account, bik):
	assert validate_settlement_account(account, bik) == account


@pytest.mark.parametrize(
	"raw", ["40702 810 9 0000 0002851", "40702-810-9-0000-0002851", " 40702810900000002851 "]
)
def test_settlement_account_separators_are_stripped(raw):
	assert validate_settlement_account(raw, "044 030 827") == "40702810900000002851"


@pytest.mark.parametrize("value,position", single_digit_cases([SETTLEMENT_ACCOUNTS[0][0]]))
def test_settlement_account_every_single_digit_change_fails(value, position):
	bik = SETTLEMENT_ACCOUNTS[0][1]
	for mutated in mutations(value, position):
		err = raises(validate_settlement_account, mutated, bik)
		assert (err.identifier, err.code) == ("account", "bik_mismatch")
		assert err.params == {"bik": bik, "check": "control_key"}


@pytest.mark.parametrize("position", [6, 7, 8])
def test_settlement_account_fails_with_another_bank(position):
	account, bik = SETTLEMENT_ACCOUNTS[0]
	for other_bik in mutations(bik, position):
		err = raises(validate_settlement_account, account, other_bik)
		assert (err.identifier, err.code) == ("account", "bik_mismatch")


@pytest.mark.parametrize("position", range(6))
def test_settlement_account_key_uses_only_the_last_three_bik_digits(position):
	account, bik = SETTLEMENT_ACCOUNTS[0]
	for other_bik in mutations(bik, position):
		assert validate_settlement_account(account, other_bik) == account


@pytest.mark.parametrize("raw", ["", " ", None])
def test_settlement_account_empty(raw):
	err = raises(validate_settlement_account, raw, SBER["bik"])
	assert (err.identifier, err.code) == ("account", "empty")


@pytest.mark.parametrize(
	"raw", ["4070281090000000285I", "р/с 40702810900000002851", "40702.810.9.0000.0002851"]
)
def test_settlement_account_not_digits(raw):
	err = raises(validate_settlement_account, raw, "044030827")
	assert (err.identifier, err.code) == ("account", "not_digits")


@pytest.mark.parametrize("length", [1, 19, 21, 23])
def test_settlement_account_wrong_length(length):
	err = raises(validate_settlement_account, "4" * length, SBER["bik"])
	assert (err.identifier, err.code, err.params) == ("account", "length", {"expected": 20, "actual": length})


@pytest.mark.parametrize(
	"bik,code", [("", "empty"), (None, "empty"), ("04452522", "length"), ("04452522x", "not_digits")]
)
def test_settlement_account_with_bad_bik_reports_the_bik(bik, code):
	err = raises(validate_settlement_account, SETTLEMENT_ACCOUNTS[0][0], bik)
	assert (err.identifier, err.code) == ("bik", code)


# --- correspondent account -------------------------------------------------------------------


@pytest.mark.parametrize("bik,account", BANKS)
def test_corr_account_valid(bik, account):
	assert validate_corr_account(account, bik) == account


@pytest.mark.parametrize(
	"raw", ["30101 810 4 0000 0000 225", "30101-810-4-00000000-225", "30101810400000000225 "]
)
def test_corr_account_separators_are_stripped(raw):
	assert validate_corr_account(raw, SBER["bik"]) == SBER["corr_account"]


@pytest.mark.parametrize("value,position", single_digit_cases([SBER["corr_account"], BANKS[1][1]]))
def test_corr_account_every_single_digit_change_fails(value, position):
	bik = dict((acc, b) for b, acc in BANKS)[value]
	for mutated in mutations(value, position):
		err = raises(validate_corr_account, mutated, bik)
		assert err.identifier == "corr_account"
		if position < len(CORR_ACCOUNT_PREFIX):
			assert (err.code, err.params) == ("format", {"prefix": CORR_ACCOUNT_PREFIX})
		elif position >= 17:
			assert (err.code, err.params) == ("bik_mismatch", {"bik": bik, "check": "suffix"})
		else:
			assert (err.code, err.params) == ("bik_mismatch", {"bik": bik, "check": "control_key"})


@pytest.mark.parametrize("position", [4, 5])
def test_corr_account_key_uses_bik_digits_5_and_6(position):
	bik, account = BANKS[0]
	for other_bik in mutations(bik, position):
		err = raises(validate_corr_account, account, other_bik)
		assert (err.code, err.params) == ("bik_mismatch", {"bik": other_bik, "check": "control_key"})


@pytest.mark.parametrize("position", [0, 1, 2, 3])
def test_corr_account_ignores_bik_digits_1_to_4(position):
	bik, account = BANKS[0]
	for other_bik in mutations(bik, position):
		assert validate_corr_account(account, other_bik) == account


def test_corr_account_of_another_bank_fails():
	err = raises(validate_corr_account, SBER["corr_account"], "044525974")
	assert (err.code, err.params) == ("bik_mismatch", {"bik": "044525974", "check": "suffix"})


def test_settlement_account_is_not_a_corr_account():
	account, bik = SETTLEMENT_ACCOUNTS[0]
	err = raises(validate_corr_account, account, bik)
	assert (err.identifier, err.code, err.params) == ("corr_account", "format", {"prefix": "30101"})


@pytest.mark.parametrize("raw", ["", "  ", None])
def test_corr_account_empty(raw):
	err = raises(validate_corr_account, raw, SBER["bik"])
	assert (err.identifier, err.code) == ("corr_account", "empty")


@pytest.mark.parametrize("raw", ["3010181040000000022S", "к/с 30101810400000000225"])
def test_corr_account_not_digits(raw):
	err = raises(validate_corr_account, raw, SBER["bik"])
	assert (err.identifier, err.code) == ("corr_account", "not_digits")


@pytest.mark.parametrize("length", [5, 19, 21])
def test_corr_account_wrong_length(length):
	err = raises(validate_corr_account, SBER["corr_account"][:length].ljust(length, "0"), SBER["bik"])
	assert (err.identifier, err.code, err.params) == (
		"corr_account",
		"length",
		{"expected": 20, "actual": length},
	)


@pytest.mark.parametrize("bik,code", [("", "empty"), ("0445252", "length"), ("O44525225", "not_digits")])
def test_corr_account_with_bad_bik_reports_the_bik(bik, code):
	err = raises(validate_corr_account, SBER["corr_account"], bik)
	assert (err.identifier, err.code) == ("bik", code)


# --- generators ------------------------------------------------------------------------------


@pytest.fixture
def rng():
	return random.Random(SEED)


def test_make_inn_organisation(rng):
	for _ in range(ROUNDS):
		inn = make_inn(rng, "organisation")
		assert len(inn) == 10
		assert validate_inn(inn, "organisation") == inn


def test_make_inn_individual(rng):
	for _ in range(ROUNDS):
		inn = make_inn(rng, "individual")
		assert len(inn) == 12
		assert validate_inn(inn, "individual") == inn


def test_make_inn_defaults_to_organisation(rng):
	assert len(make_inn(rng)) == 10


def test_make_inn_unknown_kind(rng):
	with pytest.raises(ValueError):
		make_inn(rng, "organization")


def test_make_ogrn(rng):
	for _ in range(ROUNDS):
		ogrn = make_ogrn(rng)
		assert len(ogrn) == 13
		assert ogrn[0] in "15"
		assert validate_ogrn(ogrn, "organisation") == ogrn


def test_make_ogrnip(rng):
	for _ in range(ROUNDS):
		ogrnip = make_ogrnip(rng)
		assert len(ogrnip) == 15
		assert ogrnip[0] == "3"
		assert validate_ogrnip(ogrnip) == ogrnip
		assert validate_ogrn(ogrnip) == ogrnip


def test_make_kpp(rng):
	for _ in range(ROUNDS):
		kpp = make_kpp(rng)
		assert validate_kpp(kpp) == kpp


def test_make_kpp_takes_the_tax_office_from_the_inn(rng):
	for _ in range(ROUNDS):
		inn = make_inn(rng, "organisation")
		kpp = make_kpp(rng, inn)
		assert kpp[:4] == inn[:4]
		assert validate_kpp(kpp) == kpp
	assert make_kpp(rng, SBER["inn"]).startswith("7707")


def test_make_kpp_rejects_a_bad_inn(rng):
	err = raises(make_kpp, rng, "7707083894")
	assert (err.identifier, err.code) == ("inn", "checksum")


def test_make_bik(rng):
	for _ in range(ROUNDS):
		bik = make_bik(rng)
		assert validate_bik(bik) == bik
		assert bik.startswith("04")
		assert 50 <= int(bik[-3:]) <= 999


def test_make_settlement_account(rng):
	for _ in range(ROUNDS):
		bik = make_bik(rng)
		account = make_settlement_account(rng, bik)
		assert len(account) == 20
		assert account[5:8] == "810"
		assert validate_settlement_account(account, bik) == account


def test_make_settlement_account_for_real_banks(rng):
	for bik, _ in BANKS:
		account = make_settlement_account(rng, bik)
		assert validate_settlement_account(account, bik) == account


def test_make_settlement_account_rejects_a_bad_bik(rng):
	err = raises(make_settlement_account, rng, "12345")
	assert (err.identifier, err.code) == ("bik", "length")


def test_make_corr_account(rng):
	for _ in range(ROUNDS):
		bik = make_bik(rng)
		account = make_corr_account(bik)
		assert account.startswith("30101810")
		assert account.endswith(bik[-3:])
		assert validate_corr_account(account, bik) == account


def test_make_corr_account_reproduces_a_real_one():
	# T-Bank's correspondent account follows the 30101 810 K DDDD 0000 NNN layout exactly.
	assert make_corr_account("044525974") == "30101810145250000974"


@pytest.mark.parametrize("bik", [bik for bik, _ in BANKS])
def test_make_corr_account_for_real_banks(bik):
	assert validate_corr_account(make_corr_account(bik), bik)


def test_generators_are_deterministic():
	def batch(seed: int) -> list[str]:
		r = random.Random(seed)
		bik = make_bik(r)
		inn = make_inn(r)
		return [
			inn,
			make_inn(r, "individual"),
			make_kpp(r, inn),
			make_ogrn(r),
			make_ogrnip(r),
			bik,
			make_settlement_account(r, bik),
			make_corr_account(bik),
		]

	assert batch(1) == batch(1)
	assert batch(1) != batch(2)


def test_generated_values_are_varied(rng):
	assert len({make_inn(rng) for _ in range(100)}) > 95
	assert len({make_settlement_account(rng, SBER["bik"]) for _ in range(100)}) > 95


# --- properties over generated values --------------------------------------------------------


def test_generated_values_survive_separators(rng):
	for _ in range(ROUNDS // 3):
		inn = make_inn(rng, rng.choice(("organisation", "individual")))
		assert validate_inn(f" {inn[:4]} {inn[4:]}-") == inn
		bik = make_bik(rng)
		account = make_settlement_account(rng, bik)
		spaced = f"{account[:5]} {account[5:8]} {account[8]} {account[9:]}"
		assert validate_settlement_account(spaced, f"{bik[:3]}-{bik[3:]}") == account


def test_inn12_and_accounts_catch_every_single_digit_error(rng):
	"""Two INN-12 check digits, and the 7-1-3 account key, catch every single-digit change."""
	for _ in range(ROUNDS // 3):
		inn = make_inn(rng, "individual")
		bik = make_bik(rng)
		account = make_settlement_account(rng, bik)
		corr = make_corr_account(bik)
		for position in range(12):
			assert not any(passes(validate_inn, m) for m in mutations(inn, position))
		for position in range(20):
			assert not any(passes(validate_settlement_account, m, bik) for m in mutations(account, position))
			assert not any(passes(validate_corr_account, m, bik) for m in mutations(corr, position))


@pytest.mark.parametrize(
	"make,validate",
	[
		(lambda r: make_inn(r, "organisation"), validate_inn),
		(make_ogrn, validate_ogrn),
		(make_ogrnip, validate_ogrnip),
	],
	ids=["inn10", "ogrn", "ogrnip"],
)
def test_single_check_digit_lets_at_most_one_change_per_position_through(rng, make, validate):
	"""With (sum mod 11|13) mod 10, at most one of the 9 other digits at a position can still pass,
	and never at the check digit."""
	for _ in range(ROUNDS // 3):
		value = make(rng)
		for position in range(len(value) - 1):
			assert sum(passes(validate, m) for m in mutations(value, position)) <= 1
		assert not any(passes(validate, m) for m in mutations(value, len(value) - 1))
