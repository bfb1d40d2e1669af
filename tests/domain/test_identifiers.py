"""USCC, region codes and phone numbers: tables of valid and wrong inputs."""

from __future__ import annotations

import pytest

from domain.common import ValidationError
from domain.identifiers import (
    is_within_region,
    make_uscc,
    org_code_check_character,
    parent_region,
    region_ancestors,
    region_level,
    region_range,
    synthetic_uscc,
    uscc_check_character,
    validate_phone,
    validate_region_code,
    validate_uscc,
)

# Real USCCs published online (python-stdnum's test data and others), one of each kind: companies
# (91), sole traders (92), a public institution (12), organisation codes old and new (MA…).
REAL_USCCS = [
    "91350100M000100Y43",
    "91110000600037341L",
    "91110000710926094P",
    "121200004013590816",
    "12440600MB2C07549J",
    "91120224064012553U",
    "91152201078371135X",
    "9131012056010553X5",
    "91310115MA1K3BTP2B",
    "913101145852519045",
    "91340600MA2PBM9HXD",
    "91420684MA4927PJ7B",
    "9144030071526726XG",
    "91620105L015101280",
    "92340602MA2PBMEM24",
    "92340603MA2PBN17X5",
    "92340621MA2PBKRXXG",
]


def independent_check_character(first17: str) -> str:
    """GB 32100-2015 written a second way: weight 3**i mod 31, check = -sum mod 31."""
    charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    total = sum(charset.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return charset[-total % 31]


class TestUscc:
    @pytest.mark.parametrize("code", REAL_USCCS)
    def test_real_codes_are_valid(self, code: str) -> None:
        assert validate_uscc("uscc", code) == code
        assert uscc_check_character(code[:17]) == independent_check_character(code[:17])

    @pytest.mark.parametrize(
        ("given", "canonical"),
        [
            ("91110000600037341l", "91110000600037341L"),
            ("  91110000600037341L ", "91110000600037341L"),
            ("９１１１００００６０００３７３４１Ｌ", "91110000600037341L"),  # full-width input
        ],
    )
    def test_case_space_and_full_width_are_normalised(self, given: str, canonical: str) -> None:
        assert validate_uscc("uscc", given) == canonical

    @pytest.mark.parametrize(
        ("code", "rule"),
        [
            ("9111000060003734", "uscc_format"),  # too short
            ("91110000600037341LL", "uscc_format"),  # too long
            ("91110000600037341I", "uscc_format"),  # I is never used
            ("9111000060003O341L", "uscc_format"),  # O is never used
            ("91110000S00037341L", "uscc_format"),  # S is never used
            ("91110000600037-41L", "uscc_format"),
            ("B1110000600037341L", "uscc_registration_authority"),
            ("94110000600037341L", "uscc_org_type"),  # 工商 has types 1, 2, 3
            ("9111A000600037341L", "uscc_region"),
            ("91990000600037341L", "uscc_region"),  # no province 99
            ("91110000600037341N", "uscc_check_character"),
            ("91110000100000000G", "uscc_check_character"),
            ("91110000600037351L", "uscc_check_character"),  # one digit mistyped
        ],
    )
    def test_wrong_codes_are_refused_naming_the_rule(self, code: str, rule: str) -> None:
        with pytest.raises(ValidationError) as refused:
            validate_uscc("uscc", code)
        assert (refused.value.field, refused.value.rule) == ("uscc", rule)

    def test_a_correct_check_character_over_a_bad_organisation_code_is_refused(self) -> None:
        # Given an organisation code whose own (GB 11714) check character is wrong
        body = "91110000" + "60003734" + "2"
        assert org_code_check_character("60003734") == "1"
        # When the 18th character is computed so that it alone would pass
        code = body + uscc_check_character(body)
        # Then the organisation code check still refuses it
        with pytest.raises(ValidationError) as refused:
            validate_uscc("uscc", code)
        assert refused.value.rule == "uscc_org_code_check"

    def test_org_code_check_character_values(self) -> None:
        assert org_code_check_character("60003734") == "1"  # 91110000 600037341 L
        assert org_code_check_character("56010553") == "X"  # 91310120 56010553X 5
        assert org_code_check_character("L0151012") == "8"  # 91620105 L01510128 0

    def test_make_uscc_appends_check_characters(self) -> None:
        assert make_uscc("91110000600037341") == "91110000600037341L"
        assert make_uscc("9111000060003734") == "91110000600037341L"
        with pytest.raises(ValueError, match="prefix"):
            make_uscc("9111000060003734I")

    def test_synthetic_codes_are_valid_and_distinct(self) -> None:
        codes = {synthetic_uscc("419001", n) for n in range(500)}
        assert len(codes) == 500
        assert all(validate_uscc("uscc", c) == c for c in codes)
        assert synthetic_uscc("419001", 1, kind="92").startswith("92419001MA")


class TestRegionCodes:
    @pytest.mark.parametrize(
        ("code", "level", "parent"),
        [
            ("410000", "province", None),
            ("331000", "city", "330000"),
            ("330481", "county", "330400"),
            ("419001", "county", "410000"),  # 济源: a county the province administers directly
            ("419001005", "town", "419001"),  # 玉泉街道
            ("110101", "county", "110100"),
            ("110100", "city", "110000"),
            ("441900003", "town", "441900"),  # 东莞: a city without counties
            ("220173", "county", "220100"),
            ("810000", "province", None),
        ],
    )
    def test_valid_codes_their_level_and_parent(
        self, code: str, level: str, parent: str | None
    ) -> None:
        assert validate_region_code("regionCode", code) == code
        assert region_level(code) == level
        assert parent_region(code) == parent

    @pytest.mark.parametrize(
        ("code", "rule"),
        [
            ("41900", "region_format"),
            ("4190011", "region_format"),
            ("41900100A", "region_format"),
            ("", "region_format"),
            ("990000", "region_province"),
            ("000000", "region_province"),
            ("720000", "region_province"),
            ("410001", "region_structure"),  # a county under no city
            ("410000001", "region_structure"),  # a town under a province
            ("419001000", "region_structure"),
        ],
    )
    def test_wrong_codes_are_refused_naming_the_rule(self, code: str, rule: str) -> None:
        with pytest.raises(ValidationError) as refused:
            validate_region_code("regionCode", code)
        assert (refused.value.field, refused.value.rule) == ("regionCode", rule)

    @pytest.mark.parametrize(
        ("code", "ancestors"),
        [
            ("419001005", ("419001", "410000")),
            ("330481", ("330400", "330000")),
            ("110101", ("110100", "110000")),
            ("441900003", ("441900", "440000")),
            ("410000", ()),
        ],
    )
    def test_ancestors_run_up_to_the_province(self, code: str, ancestors: tuple[str, ...]) -> None:
        assert region_ancestors(code) == ancestors

    @pytest.mark.parametrize(
        ("code", "scope", "within"),
        [
            ("419001005", "419001", True),
            ("419001005", "410000", True),
            ("419001", "419001", True),
            ("330481", "331000", False),
            ("410000", "419001", False),
        ],
    )
    def test_within_a_scope(self, code: str, scope: str, within: bool) -> None:
        assert is_within_region(code, scope) is within


class TestPhone:
    @pytest.mark.parametrize(
        ("given", "canonical"),
        [
            ("13912345678", "13912345678"),
            ("139 1234 5678", "13912345678"),
            ("+86 139-1234-5678", "13912345678"),
            ("１３９１２３４５６７８", "13912345678"),
            ("0391-6631234", "0391-6631234"),
            ("(0391) 6631234", "0391-6631234"),
            ("0391 663 1234", "0391-6631234"),
            ("010-62345678", "010-62345678"),
            ("0571-87654321", "0571-87654321"),
            ("0391-6631234-8012", "0391-6631234-8012"),
            ("0391-6631234转8012", "0391-6631234-8012"),
            ("12345", "12345"),
            ("400-810-8888", "4008108888"),
        ],
    )
    def test_valid_numbers_are_canonical(self, given: str, canonical: str) -> None:
        assert validate_phone("contactPhone", given) == canonical

    @pytest.mark.parametrize(
        "given", ["", "1391234567", "139123456789", "12345678", "0391-123", "10391-6631234", "电话"]
    )
    def test_wrong_numbers_are_refused(self, given: str) -> None:
        with pytest.raises(ValidationError) as refused:
            validate_phone("contactPhone", given)
        assert (refused.value.field, refused.value.rule) == ("contactPhone", "phone_format")


@pytest.mark.parametrize(
    ("scope", "code", "inside"),
    [
        ("410000", "419001", True),  # a province-administered county is in its province
        ("410000", "419001001", True),
        ("411300", "411302", True),
        ("441900", "441900003", True),  # a city without counties
        ("419001", "419001001", True),
        ("419001", "419002", False),
        ("411300", "411400", False),
        ("410000", "420000", False),
    ],
)
def test_region_range_matches_the_subtree(scope: str, code: str, inside: bool) -> None:
    # Given a scope's index range, when a code is compared with it,
    # then it lies inside exactly when the tree says it is in the subtree.
    low, high = region_range(scope)
    assert (low <= code < high) is inside
    assert is_within_region(code, scope) is inside
