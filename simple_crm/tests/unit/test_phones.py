"""Unit tests for simple_crm.utils.phones (plain pytest, no Frappe)."""

import dataclasses

import pytest

from simple_crm.utils.phones import (
	ERROR_CODES,
	MAX_INPUT_LENGTH,
	PhoneError,
	PhoneNumber,
	digits_only,
	is_phone_like,
	is_supported_region,
	normalize_phone,
	parse_phone,
)

MOBILE = "+79123456789"
MOSCOW = "+74951234567"

MOBILE_FORMS = [
	"8 (912) 345-67-89",
	"+7 912 345 67 89",
	"9123456789",
	"8-912-345-67-89",
	"89123456789",
	"7 912 345 67 89",
	"79123456789",
	"+79123456789",
	"+7 (912) 345-67-89",
	"+7-912-345-67-89",
	"8 912 345 67 89",
	"8(912)3456789",
	"  8 (912) 345-67-89  ",
	"8.912.345.67.89",
	"8 912 345\u201367\u201389",  # en dashes
	"8\u00a0912\u00a0345\u00a067\u00a089",  # no-break spaces
	"\uff18\uff19\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19",  # full-width digits
	"tel:+7-912-345-67-89",
]

MOSCOW_FORMS = [
	"(495) 123-45-67",
	"8 (495) 123-45-67",
	"+7 (495) 123-45-67",
	"+7 495 123 45 67",
	"4951234567",
	"84951234567",
	"74951234567",
	"[495] 123 45 67",
]

CITY_NUMBERS = [
	("(495) 123-45-67", "+74951234567"),
	("8 (812) 123-45-67", "+78121234567"),
	("8 (843) 123-45-67", "+78431234567"),
	("(383) 123-45-67", "+73831234567"),
	("8 800 555 35 35", "+78005553535"),
]

# Real, published numbers that are valid in the phonenumbers 8.13.13 metadata.
FOREIGN_NUMBERS = [
	("+44 20 7946 0958", "+442079460958", 44),  # London (Ofcom's range for drama)
	("+44 20 7930 4832", "+442079304832", 44),  # London
	("+1 212 555 0123", "+12125550123", 1),  # New York
	("+1 202 456 1414", "+12024561414", 1),  # Washington
	("+33 1 42 68 53 00", "+33142685300", 33),  # Paris
	("+375 17 222 22 22", "+375172222222", 375),  # Minsk
	("+86 10 6552 9988", "+861065529988", 86),  # Beijing
	("+7 727 258 34 34", "+77272583434", 7),  # Almaty: Kazakhstan shares +7
	("8 10 44 20 7946 0958", "+442079460958", 44),  # dialled from Russia with the 8~10 prefix
]

ALL_VALID_INPUTS = (
	MOBILE_FORMS + MOSCOW_FORMS + [raw for raw, _ in CITY_NUMBERS] + [raw for raw, _, _ in FOREIGN_NUMBERS]
)


# --- equivalent forms -------------------------------------------------------------------------


@pytest.mark.parametrize("raw", MOBILE_FORMS)
def test_mobile_forms_normalise_to_one_e164(raw):
	assert normalize_phone(raw) == MOBILE


@pytest.mark.parametrize("raw", MOSCOW_FORMS)
def test_city_forms_normalise_to_one_e164(raw):
	assert normalize_phone(raw) == MOSCOW


@pytest.mark.parametrize("raw,expected", CITY_NUMBERS)
def test_city_numbers(raw, expected):
	assert normalize_phone(raw) == expected


def test_region_defaults_to_ru():
	assert normalize_phone("89123456789") == normalize_phone("89123456789", "RU") == MOBILE


@pytest.mark.parametrize("raw,expected,country_code", FOREIGN_NUMBERS)
def test_foreign_numbers_keep_their_country(raw, expected, country_code):
	number = parse_phone(raw)
	assert number.e164 == expected
	assert number.country_code == country_code


@pytest.mark.parametrize(
	"raw,region,expected",
	[
		("020 7946 0958", "GB", "+442079460958"),
		("020 7946 0958", "gb", "+442079460958"),
		("(212) 555-0123", "US", "+12125550123"),
		("8 (727) 258-34-34", "KZ", "+77272583434"),
		("8 017 222-22-22", "BY", "+375172222222"),
		("+7 912 345 67 89", "US", MOBILE),  # a "+" number ignores the region
		("+44 20 7946 0958", "", "+442079460958"),
	],
)
def test_region_argument(raw, region, expected):
	assert normalize_phone(raw, region) == expected


def test_national_number_without_region_is_invalid():
	with pytest.raises(PhoneError) as exc:
		normalize_phone("89123456789", "")
	assert exc.value.code == "invalid"


@pytest.mark.parametrize("region", ["XX", "Russia", "ZZ"])
def test_unknown_region_is_a_configuration_error(region):
	with pytest.raises(ValueError) as exc:
		normalize_phone("89123456789", region)
	assert not isinstance(exc.value, PhoneError)


@pytest.mark.parametrize("region,expected", [("RU", True), ("ru", True), (" kz ", True), ("GB", True)])
def test_is_supported_region_true(region, expected):
	assert is_supported_region(region) is expected


@pytest.mark.parametrize("region", ["XX", "", "  ", None, "RUS", "001"])
def test_is_supported_region_false(region):
	assert is_supported_region(region) is False


# --- parse_phone result ----------------------------------------------------------------------


def test_parse_phone_fields_ru_mobile():
	number = parse_phone("8 (912) 345-67-89")
	assert number == PhoneNumber(
		e164=MOBILE,
		extension=None,
		country_code=7,
		national="8 (912) 345-67-89",
		international="+7 912 345-67-89",
	)


def test_parse_phone_fields_ru_city():
	number = parse_phone("(495) 123-45-67")
	assert number.e164 == MOSCOW
	assert number.country_code == 7
	assert number.national == "8 (495) 123-45-67"
	assert number.international == "+7 495 123-45-67"


def test_parse_phone_fields_foreign():
	number = parse_phone("+44 20 7946 0958")
	assert number.country_code == 44
	assert number.national == "020 7946 0958"
	assert number.international == "+44 20 7946 0958"


def test_phone_number_is_frozen():
	number = parse_phone(MOBILE)
	with pytest.raises(dataclasses.FrozenInstanceError):
		number.e164 = "+70000000000"


# --- extensions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
	"raw,extension",
	[
		("+7 912 345 67 89 доб. 123", "123"),
		("+7 912 345 67 89 доб 123", "123"),
		("+7 912 345 67 89 доб.123", "123"),
		("+7 912 345 67 89 Доб. 123", "123"),
		("+7 912 345 67 89 ДОБ. 123", "123"),
		("+7 912 345 67 89, доб. 45", "45"),
		("+7 912 345 67 89 добавочный 7", "7"),
		("+7 912 345 67 89 вн. 12", "12"),
		("+7 912 345 67 89 (доб. 123)", "123"),
		("+7 912 345 67 89 ext 12", "12"),
		("+7 912 345 67 89 ext. 12", "12"),
		("+7 912 345 67 89 EXT12", "12"),
		("+7 912 345 67 89 extension 12", "12"),
		("+7 912 345 67 89 x12", "12"),
		("+7 912 345 67 89 x 12", "12"),
		("+7 912 345 67 89 #12", "12"),
		("89123456789#12", "12"),
		("tel:+7-912-345-67-89;ext=123", "123"),
		("+7 912 345 67 89 ~12", "12"),  # found by phonenumbers itself
		("+7 912 345 67 89; доб: 12", "12"),
		("+7 912 345 67 89 (вн. 12)", "12"),
		("+7 912 345 67 89 внутр. 12", "12"),
		("+7 912 345 67 89 extn 12", "12"),
		("+7 912 345 67 89 доб. 1234567890", "1234567890"),
	],
)
def test_extensions_are_split_off(raw, extension):
	number = parse_phone(raw)
	assert number.extension == extension
	assert number.e164 == MOBILE
	assert normalize_phone(raw) == MOBILE


def test_city_number_with_extension():
	number = parse_phone("8 (495) 123-45-67 доб. 1234")
	assert number.e164 == MOSCOW
	assert number.extension == "1234"


@pytest.mark.parametrize("raw", ["8 (912) 345-67-89 доб. 5", "8 (912) 345-67-89 ~5"])
def test_formatted_forms_leave_the_extension_out(raw):
	number = parse_phone(raw)
	assert number.extension == "5"
	assert number.e164 == MOBILE
	assert number.national == "8 (912) 345-67-89"
	assert number.international == "+7 912 345-67-89"


@pytest.mark.parametrize("raw", MOBILE_FORMS)
def test_no_extension_gives_none(raw):
	assert parse_phone(raw).extension is None


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["", "   ", "\t\n", "\u00a0", None])
def test_empty(raw):
	with pytest.raises(PhoneError) as exc:
		normalize_phone(raw)
	assert exc.value.code == "empty"
	assert exc.value.raw == raw


@pytest.mark.parametrize(
	"raw",
	[
		"abc",
		"Иван",
		"+",
		"---",
		"()",
		"1",
		"abc 89123456789",
		"8912345678a",
		"8 912 ПЕТРОВ",
		"+7 912 345 67 89 (Иван)",
		"89123456789, 89123456780",
		"доб. 123",
		"8 (912) 345-67-89 доб.",
		"8 (912) 345-67-89 x",
		"89123456789#",
		"89123456789 доб. 12345678901",  # extensions have at most 10 digits
		"ivan@example.com",
		"tel:",
	],
)
def test_not_a_number(raw):
	with pytest.raises(PhoneError) as exc:
		normalize_phone(raw)
	assert exc.value.code == "not_a_number"
	assert exc.value.raw == raw


@pytest.mark.parametrize(
	"raw",
	[
		"12",
		"+7 000",
		"123",
		"+7 912 345 67 8",  # one digit short
		"+7 912 345 67 890",  # one digit too many
		"8 (912) 345-67-8",
		"8 (912) 345-67-890",
		"+7 012 345 67 89",  # no such range
		"+999 1234567",  # no such country code
		"+8 912 345 67 89",
		"+44 20 7946",
		"000000000000",
		"1" * 30,
	],
)
def test_invalid(raw):
	with pytest.raises(PhoneError) as exc:
		normalize_phone(raw)
	assert exc.value.code == "invalid"
	assert exc.value.raw == raw


@pytest.mark.parametrize(
	"raw",
	[
		"8 912 345 67 89" + " " * MAX_INPUT_LENGTH,
		"8" * (MAX_INPUT_LENGTH + 1),
		"+7 912 345 67 89 доб. " + "(" * MAX_INPUT_LENGTH + "1",
	],
)
def test_overlong_input_is_not_a_number(raw):
	with pytest.raises(PhoneError) as exc:
		normalize_phone(raw)
	assert exc.value.code == "not_a_number"
	assert is_phone_like(raw) is False


@pytest.mark.parametrize(
	"raw,code",
	[
		("8" + " " * 200 + "y", "not_a_number"),
		("8" + " " * 200 + "доб. 1", "not_a_number"),
		("(" * 200 + "доб. 1", "not_a_number"),
		("8 912 345 67 89" + " " * 200 + "доб. 1", None),
	],
)
def test_long_runs_of_separators(raw, code):
	if code is None:
		assert parse_phone(raw).extension == "1"
		return
	with pytest.raises(PhoneError) as exc:
		normalize_phone(raw)
	assert exc.value.code == code


def test_phone_error_is_a_value_error_with_code_and_raw():
	with pytest.raises(ValueError) as exc:
		parse_phone("abc")
	err = exc.value
	assert isinstance(err, PhoneError)
	assert err.code == "not_a_number"
	assert err.raw == "abc"
	assert err.code in ERROR_CODES


def test_phone_error_raw_is_the_untouched_input():
	raw = "  +7 000  доб. 12 "
	with pytest.raises(PhoneError) as exc:
		parse_phone(raw)
	assert exc.value.raw == raw
	assert exc.value.code == "invalid"


def test_error_codes():
	assert ERROR_CODES == ("empty", "not_a_number", "invalid")


# --- idempotence -----------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ALL_VALID_INPUTS)
def test_normalising_e164_is_idempotent(raw):
	e164 = normalize_phone(raw)
	assert normalize_phone(e164) == e164
	assert normalize_phone(e164, "US") == e164


@pytest.mark.parametrize("raw", ALL_VALID_INPUTS)
def test_formatted_forms_normalise_back(raw):
	number = parse_phone(raw)
	assert normalize_phone(number.international) == number.e164
	assert number.e164.startswith(f"+{number.country_code}")
	assert number.e164 == "+" + digits_only(number.e164)


def test_ru_national_form_normalises_back():
	number = parse_phone("+7 912 345 67 89")
	assert normalize_phone(number.national) == number.e164


# --- digits_only -----------------------------------------------------------------------------


@pytest.mark.parametrize(
	"value,expected",
	[
		("8 (912) 345-67-89", "89123456789"),
		("+7 912 345 67 89", "79123456789"),
		("+79123456789", "79123456789"),
		("abc", ""),
		("", ""),
		(None, ""),
		("a1b2c3", "123"),
		("доб. 12", "12"),
		("\uff18\uff19", "89"),  # full-width digits
		("\u0668\u0669", "89"),  # Arabic-Indic digits
		("\u00b2\u00b3", ""),  # superscripts are not decimal digits
	],
)
def test_digits_only(value, expected):
	assert digits_only(value) == expected


# --- is_phone_like ---------------------------------------------------------------------------


@pytest.mark.parametrize(
	"value",
	[
		*MOBILE_FORMS,
		"8 (495) 123-45-67 доб. 12",
		"+44 20 7946 0958",
		"12345",
		"912-34",
		"+7 000 00",  # phone-like, though not a valid number
	],
)
def test_is_phone_like_true(value):
	assert is_phone_like(value) is True


@pytest.mark.parametrize(
	"value",
	[
		"",
		"   ",
		None,
		"Иван Петров",
		"ООО Ромашка 1234567",
		"ivan@example.com",
		"1234",  # fewer than 5 digits
		"12-34",
		"7+7 123456",  # "+" only at the start
		"ИНН 7707083893",
		"abc",
		"---",
	],
)
def test_is_phone_like_false(value):
	assert is_phone_like(value) is False


def test_is_phone_like_min_digits():
	assert is_phone_like("1234", min_digits=4) is True
	assert is_phone_like("89123456789", min_digits=12) is False
