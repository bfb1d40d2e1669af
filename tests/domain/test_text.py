"""Free text is checked in the domain, whoever sends it (API, CLI, simulator, import): no
control characters but tab, line feed and carriage return, no lone surrogates."""

from __future__ import annotations

import pytest

from domain.common import ValidationError, optional_text, require_text


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("停车\x00难", "U+0000"),
        ("bell\x07", "U+0007"),
        ("esc\x1b[31m", "U+001B"),
        ("del\x7f", "U+007F"),
        ("lone \ud800 surrogate", "U+D800"),
    ],
)
def test_control_characters_and_lone_surrogates_are_refused(text: str, named: str) -> None:
    with pytest.raises(ValidationError) as refused:
        require_text("description", text)
    assert refused.value.field == "description"
    assert refused.value.rule == "characters"
    assert named in str(refused.value)
    with pytest.raises(ValidationError):
        optional_text("summary", text)


def test_tabs_and_line_breaks_are_ordinary_text() -> None:
    assert require_text("description", " 一行\t二行\r\n三行 ") == "一行\t二行\r\n三行"
