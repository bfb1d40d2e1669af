"""National identifiers the system checks: the enterprise's USCC, region codes, phone numbers.

- USCC (统一社会信用代码), GB 32100-2015: 18 characters from ``0-9 A-H J-N P-R T-U W-Y`` (no I,
  O, Z, S, V): registration authority (1), organisation type (1), the registering authority's
  region code (6 digits), the subject identification code — an organisation code per GB 11714
  with its own check character — (9), and a check character over the first 17 (1).
- Region codes (行政区划代码), GB/T 2260: province 2 + city 2 + county 2 digits; a town or
  street (乡镇/街道, GB/T 10114) extends its county with 3 more digits. Counties directly under a
  province (省直辖县级行政区划, e.g. 济源 419001) have city part ``90`` and hang off the province.

Every refusal is a :class:`~domain.common.ValidationError` naming the field and the rule.
"""

from __future__ import annotations

import re
import unicodedata
from types import MappingProxyType
from typing import Final

from domain.common import ValidationError

__all__ = [
    "PROVINCES",
    "REGISTRATION_AUTHORITIES",
    "USCC_CHARSET",
    "RegionLevel",
    "is_within_region",
    "make_uscc",
    "org_code_check_character",
    "parent_region",
    "region_ancestors",
    "region_level",
    "region_prefix",
    "region_range",
    "synthetic_uscc",
    "uscc_check_character",
    "validate_phone",
    "validate_region_code",
    "validate_uscc",
]

# --- USCC --------------------------------------------------------------------------------------

#: The 31 characters of GB 32100-2015; a character's value is its index.
USCC_CHARSET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE: Final = {c: i for i, c in enumerate(USCC_CHARSET)}
#: Weight of position i is 3**i mod 31.
_USCC_WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
#: GB 11714-1997: the organisation code's body uses 0-9 and A-Z (A = 10 … Z = 35).
_ORG_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)
_NOT_USED: Final = frozenset("IOZSV")

#: Registration authority (登记管理部门) → (name, {organisation type code: name}),
#: GB 32100-2015 Annex A.
REGISTRATION_AUTHORITIES: Final = MappingProxyType(
    {
        "1": (
            "机构编制",
            {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"},
        ),
        "2": ("外交", {"1": "外国常驻新闻机构", "9": "其他"}),
        "3": (
            "司法行政",
            {
                "1": "律师执业机构",
                "2": "公证处",
                "3": "基层法律服务所",
                "4": "司法鉴定机构",
                "5": "仲裁委员会",
                "9": "其他",
            },
        ),
        "4": ("文化", {"1": "外国在华文化中心", "9": "其他"}),
        "5": ("民政", {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"}),
        "6": (
            "旅游",
            {
                "1": "外国旅游部门常驻代表机构",
                "2": "港澳台地区旅游部门常驻内地（大陆）代表机构",
                "9": "其他",
            },
        ),
        "7": ("宗教", {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"}),
        "8": ("工会", {"1": "基层工会", "9": "其他"}),
        "9": ("工商（市场监管）", {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"}),
        "A": ("中央军委改革和编制办公室", {"1": "军队事业单位", "9": "其他"}),
        "N": (
            "农业",
            {
                "1": "组级集体经济组织",
                "2": "村级集体经济组织",
                "3": "乡镇级集体经济组织",
                "9": "其他",
            },
        ),
        "Y": ("其他", {"1": "其他"}),
    }
)
#: Region part of a USCC registered by a national authority (国家 = 100000).
_NATIONAL_REGISTRY: Final = "100000"


def uscc_check_character(first17: str) -> str:
    """The 18th character of a USCC whose first 17 characters are given (GB 32100-2015)."""
    total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def _org_value(c: str) -> int:
    return int(c) if c.isdigit() else ord(c) - ord("A") + 10


def org_code_check_character(body8: str) -> str:
    """The 9th character of an organisation code whose first 8 are given (GB 11714-1997)."""
    total = sum(_org_value(c) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def validate_uscc(field: str, value: str) -> str:
    """The USCC in its canonical form (upper case, half-width), or a ValidationError.

    Rules: ``uscc_format`` (length, characters), ``uscc_registration_authority``,
    ``uscc_org_type``, ``uscc_region``, ``uscc_check_character`` (the 18th),
    ``uscc_org_code_check`` (the 17th, GB 11714).
    """
    if not isinstance(value, str):
        raise ValidationError(field, "uscc_format", "must be text")
    code = unicodedata.normalize("NFKC", value).strip().upper()
    if len(code) != 18:
        raise ValidationError(
            field, "uscc_format", f"must be 18 characters, got {len(code)} ('{code}')"
        )
    for position, c in enumerate(code, start=1):
        if c in _USCC_VALUE:
            continue
        why = "is never used in a USCC" if c in _NOT_USED else "is not allowed"
        raise ValidationError(
            field, "uscc_format", f"character {position} '{c}' {why} (0-9, A-Y without I O S V Z)"
        )
    authority = REGISTRATION_AUTHORITIES.get(code[0])
    if authority is None:
        raise ValidationError(
            field,
            "uscc_registration_authority",
            f"'{code[0]}' is not a registration authority code "
            f"({', '.join(REGISTRATION_AUTHORITIES)})",
        )
    authority_name, types = authority
    if code[1] not in types:
        raise ValidationError(
            field,
            "uscc_org_type",
            f"'{code[1]}' is not an organisation type of {authority_name} ({', '.join(types)})",
        )
    region = code[2:8]
    if not region.isdigit() or (region != _NATIONAL_REGISTRY and region[:2] not in PROVINCES):
        raise ValidationError(
            field, "uscc_region", f"characters 3-8 '{region}' are not a GB/T 2260 region code"
        )
    expected = uscc_check_character(code[:17])
    if code[17] != expected:
        raise ValidationError(
            field,
            "uscc_check_character",
            f"check character is '{code[17]}' but GB 32100-2015 gives '{expected}' "
            "(a character was probably mistyped)",
        )
    org_check = org_code_check_character(code[8:16])
    if code[16] != org_check:
        raise ValidationError(
            field,
            "uscc_org_code_check",
            f"organisation code '{code[8:17]}' ends in '{code[16]}' but GB 11714 gives "
            f"'{org_check}'",
        )
    return code


def make_uscc(prefix: str) -> str:
    """A valid USCC from its first 17 characters (the 18th is appended), or from its first 16
    (the organisation code's check character is computed too). For tests and the simulator."""
    prefix = prefix.upper()
    if len(prefix) == 16:
        prefix += org_code_check_character(prefix[8:16])
    if len(prefix) != 17 or any(c not in _USCC_VALUE for c in prefix):
        raise ValueError(f"a USCC prefix is 16 or 17 characters of {USCC_CHARSET}: {prefix!r}")
    code = prefix + uscc_check_character(prefix)
    validate_uscc("uscc", code)
    return code


def synthetic_uscc(region_code: str, serial: int, *, kind: str = "91") -> str:
    """A deterministic, valid USCC for demo data: ``kind`` (authority + type), the region, and an
    organisation code ``MA`` + ``serial`` in base 31 (as market regulators assign since 2015)."""
    if not 0 <= serial < 31**6:
        raise ValueError(f"serial {serial} out of range")
    digits = []
    for _ in range(6):
        serial, rest = divmod(serial, 31)
        digits.append(USCC_CHARSET[rest])
    return make_uscc(f"{kind}{region_code}MA{''.join(reversed(digits))}")


# --- Region codes -------------------------------------------------------------------------------

#: Provinces, autonomous regions, municipalities and SARs of GB/T 2260.
PROVINCES: Final = MappingProxyType(
    {
        "11": "北京市",
        "12": "天津市",
        "13": "河北省",
        "14": "山西省",
        "15": "内蒙古自治区",
        "21": "辽宁省",
        "22": "吉林省",
        "23": "黑龙江省",
        "31": "上海市",
        "32": "江苏省",
        "33": "浙江省",
        "34": "安徽省",
        "35": "福建省",
        "36": "江西省",
        "37": "山东省",
        "41": "河南省",
        "42": "湖北省",
        "43": "湖南省",
        "44": "广东省",
        "45": "广西壮族自治区",
        "46": "海南省",
        "50": "重庆市",
        "51": "四川省",
        "52": "贵州省",
        "53": "云南省",
        "54": "西藏自治区",
        "61": "陕西省",
        "62": "甘肃省",
        "63": "青海省",
        "64": "宁夏回族自治区",
        "65": "新疆维吾尔自治区",
        "71": "台湾省",
        "81": "香港特别行政区",
        "82": "澳门特别行政区",
    }
)
#: City part of the counties a province administers directly (省直辖县级行政区划).
_PROVINCE_ADMINISTERED = "90"


class RegionLevel:
    """The four levels of the region tree (plain strings, stored as such in events)."""

    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    TOWN = "town"
    LABELS: Final = MappingProxyType(
        {"province": "省级", "city": "地级", "county": "县级", "town": "乡级（乡镇、街道）"}
    )


_REGION = re.compile(r"\d{6}(\d{3})?")


def validate_region_code(field: str, value: str) -> str:
    """A structurally valid GB/T 2260 code (6 digits) or town/street code (9 digits).

    Rules: ``region_format``, ``region_province`` (not a province of GB/T 2260),
    ``region_structure`` (e.g. a county under no city, or town part ``000``).
    Whether the directory knows the code is a separate check (``unknown_region``).
    """
    if not isinstance(value, str):
        raise ValidationError(field, "region_format", "must be text")
    code = value.strip()
    if not _REGION.fullmatch(code):
        raise ValidationError(
            field, "region_format", f"'{code}' must be 6 digits (GB/T 2260) or 9 (town/street)"
        )
    if code[:2] not in PROVINCES:
        raise ValidationError(
            field, "region_province", f"'{code[:2]}' in '{code}' is not a GB/T 2260 province"
        )
    city, county = code[2:4], code[4:6]
    if city == "00" and county != "00":
        raise ValidationError(
            field, "region_structure", f"'{code}' names a county ({county}) under no city"
        )
    if len(code) == 9:
        if city == "00":
            raise ValidationError(
                field, "region_structure", f"town '{code}' must extend a city or county code"
            )
        if code[6:] == "000":
            raise ValidationError(field, "region_structure", f"town part of '{code}' is 000")
    return code


def region_level(code: str) -> str:
    """The level of a (valid) code: province, city, county or town."""
    if len(code) == 9:
        return RegionLevel.TOWN
    if code[4:6] != "00":
        return RegionLevel.COUNTY
    if code[2:4] != "00":
        return RegionLevel.CITY
    return RegionLevel.PROVINCE


def parent_region(code: str) -> str | None:
    """The region directly above a (valid) code; None for a province.

    A town hangs off its county (or, in a city without counties such as 东莞 441900, off the
    city); a county off its city, except a province-administered one (济源 419001 → 410000).
    """
    level = region_level(code)
    if level == RegionLevel.TOWN:
        return code[:6]
    if level == RegionLevel.COUNTY:
        if code[2:4] == _PROVINCE_ADMINISTERED:
            return code[:2] + "0000"
        return code[:4] + "00"
    if level == RegionLevel.CITY:
        return code[:2] + "0000"
    return None


def region_ancestors(code: str) -> tuple[str, ...]:
    """Every region above a (valid) code, nearest first, ending with its province."""
    ancestors: list[str] = []
    parent = parent_region(code)
    while parent is not None:
        ancestors.append(parent)
        parent = parent_region(parent)
    return tuple(ancestors)


def is_within_region(code: str, scope: str) -> bool:
    """Whether ``code`` is ``scope`` or lies in its subtree."""
    return code == scope or scope in region_ancestors(code)


# --- Phone numbers ------------------------------------------------------------------------------

_MOBILE = re.compile(r"(?:86)?(1[3-9]\d{9})")
_SERVICE = re.compile(r"1\d{4}|[48]00\d{7}")
_EXTENSION = re.compile(r"(.+?)\s*(?:ext\.?|x|转|分机|#)\s*(\d{1,6})", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s\-()（）]+")


def validate_phone(field: str, value: str) -> str:
    """A mainland phone number in a canonical form, or ValidationError (rule ``phone_format``).

    Mobile → 11 digits (``13912345678``); landline → ``0391-6631234``, with an extension
    ``0391-6631234-8012``; government and service lines (``12345``, ``400…``) as digits.
    Spaces, hyphens, brackets, a ``+86`` prefix and full-width digits are accepted on input.
    """
    if not isinstance(value, str):
        raise ValidationError(field, "phone_format", "must be text")
    raw = unicodedata.normalize("NFKC", value).strip()
    main, extension = raw, ""
    if written := _EXTENSION.fullmatch(raw):
        main, extension = written.group(1), written.group(2)
    else:
        parts = [p for p in _SEPARATORS.split(raw) if p]
        if len(parts) == 3 and len(parts[2]) <= 6 and _landline("".join(parts[:2])):
            main, extension = "".join(parts[:2]), parts[2]
    digits = _SEPARATORS.sub("", main).removeprefix("+86").removeprefix("0086")
    if not extension:
        if mobile := _MOBILE.fullmatch(digits):
            return mobile.group(1)
        if _SERVICE.fullmatch(digits):
            return digits
    landline = _landline(digits)
    if landline is not None:
        return f"{landline}-{extension}" if extension else landline
    raise ValidationError(
        field,
        "phone_format",
        f"'{raw}' is not a mobile number (11 digits, 13…19) nor a landline (area code "
        "010/02x or 0xxx, then 7-8 digits)",
    )


def _landline(digits: str) -> str | None:
    """``area-number`` when the digits are an area code and a local number."""
    if not re.fullmatch(r"0\d{9,11}", digits):
        return None
    # Three-digit area codes are 010 and 02x; every other area code has four digits.
    cut = 3 if digits.startswith(("010", "02")) else 4
    area, number = digits[:cut], digits[cut:]
    if not re.fullmatch(r"[2-9]\d{6,7}", number):
        return None
    return f"{area}-{number}"


def region_prefix(code: str) -> str:
    """The leading digits every code in ``code``'s subtree starts with (its significant prefix).

    Province ``410000`` → ``41``; city ``411300`` → ``4113``; county ``419001`` → ``419001``;
    town ``419001001`` → itself (a 9-digit code ending ``000`` is its county). A
    province-administered county (``4190xx``) hangs off its province, whose prefix it shares, so
    prefix matching equals :func:`is_within_region`. Accepts 2-, 4-, 6- and 9-digit codes (a
    prefix is its own prefix); raises ``ValueError`` for anything else. The one implementation:
    the API's scopes and the read side's subtree filters both use it.
    """
    if not isinstance(code, str) or not code.isascii() or not code.isdigit():
        raise ValueError(f"not a region code or scope: {code!r} (2, 4, 6 or 9 digits)")
    if len(code) not in (2, 4, 6, 9):
        raise ValueError(f"not a region code or scope: {code!r} (2, 4, 6 or 9 digits)")
    if code[:2] == "00":
        raise ValueError(f"not a region code: {code!r} (no province 00)")
    if len(code) == 9:
        if not code.endswith("000"):
            return code
        code = code[:6]
    if len(code) == 6:
        if code.endswith("0000"):
            return code[:2]
        if code.endswith("00"):
            return code[:4]
    return code


def region_range(scope: str) -> tuple[str, str]:
    """``(low, high)`` such that a code is in ``scope``'s subtree iff ``low <= code < high``.

    Lets SQL use an ordinary index for subtree filters on both stores (no LIKE).
    """
    prefix = region_prefix(scope)
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)
