"""The one email rule: what is refused, the stored form, and the comparison key."""

from __future__ import annotations

import psycopg
import pytest

from authstack_core.email_address import EmailError, ascii_lower, email_key, normalize_email
from tests.factories import ADMIN_URL


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("a1@example.com\n", "U+000A"),  # the trailing newline a `$` regex let through
        ("\na1@example.com", "U+000A"),
        (" a1@example.com", "U+0020"),
        ("a1@example.com\r", "U+000D"),
        ("a1@exam\x00ple.com", "U+0000"),
        ("a\u200b1@example.com", "U+200B"),  # zero-width space
        ("a1\u200d@example.com", "U+200D"),  # zero-width joiner
        ("\ufeffa1@example.com", "U+FEFF"),  # byte-order mark
        ("a1@example.com\u202e", "U+202E"),  # right-to-left override
        ("a1@exa\u00admple.com", "U+00AD"),  # soft hyphen
        ("a\u00a01@example.com", "U+00A0"),  # no-break space
        ("a\u034f1@example.com", "U+034F"),  # combining grapheme joiner
        ("a1\ufe0f@example.com", "U+FE0F"),  # variation selector
        ("a\u31641@example.com", "U+3164"),  # Hangul filler
        ("a1@example.com\u2028", "U+2028"),  # line separator
        ("a1@exa\U000e0001mple.com", "U+E0001"),  # language tag
        ("a1@example.com\ue000", "U+E000"),  # private use
    ],
)
def test_control_invisible_and_space_characters_are_refused(raw: str, why: str) -> None:
    with pytest.raises(EmailError, match=why.replace("+", r"\+")):
        normalize_email(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "no-at-sign.example.com",
        "@example.com",
        "a@",
        "a@localhost",
        "a@b@example.com",
        "a@example.com.",
        'a"b@example.com',
        "a<b@example.com",
        ".a@example.com",
        "a..b@example.com",
        "a@exa_mple.com",
        "a@-example.com",
        "x" * 65 + "@example.com",
        "a@" + "b" * 250 + ".com",
    ],
)
def test_malformed_addresses_are_refused(raw: str) -> None:
    with pytest.raises(EmailError):
        normalize_email(raw)


def _fullwidth(text: str) -> str:
    """The fullwidth look-alikes (U+FF01-FF5E) of printable ASCII text."""
    return "".join(chr(ord(c) + 0xFEE0) for c in text)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("VICTIM@Gmail.com", "VICTIM@Gmail.com"),  # ASCII keeps its case; the key folds it
        (_fullwidth("ada@example") + ".com", "ada@example.com"),  # fullwidth folds under NFKC
        ("x@MÜLLER.de", "x@müller.de"),  # a Unicode domain has one (UTS-46, lowercase) spelling
        ("x@xn--mller-kva.de", "x@müller.de"),  # and its punycode spelling is the same address
        ("x@mu\u0308ller.de", "x@müller.de"),  # a decomposed ü composes
        ("Zoë@example.com", "Zoë@example.com"),  # the local part keeps its case
    ],
)
def test_stored_form(raw: str, stored: str) -> None:
    assert normalize_email(raw) == stored
    assert normalize_email(stored) == stored  # normalising twice changes nothing


def test_dotted_capital_i_is_not_a_plain_i() -> None:
    """The attack of the issue: 'victim@gmaİl.com' must never compare equal to the victim."""
    stored = normalize_email("victim@gmaİl.com")
    assert email_key(stored) != email_key("victim@gmail.com")
    assert email_key(normalize_email("VICTIM@GMAIL.COM")) == email_key("victim@gmail.com")


def test_key_folds_ascii_case_only() -> None:
    assert ascii_lower("AbC-İ-Ä-ß") == "abc-İ-Ä-ß"
    assert email_key("Ada@Example.COM") == "ada@example.com"
    assert email_key("ÄDA@example.com") != email_key("äda@example.com")


def test_sql_rule_matches_the_python_key() -> None:
    """lower(x COLLATE "C") in PostgreSQL is exactly email_key, whatever the database locale."""
    samples = ["VICTIM@Gmail.com", "victim@gmaİl.com", "ÄDA@Example.com", "Zoë@XN--MLLER-KVA.de"]
    with psycopg.connect(ADMIN_URL) as conn:
        for sample in samples:
            row = conn.execute('SELECT lower(%s::text COLLATE "C")', (sample,)).fetchone()
            assert row is not None
            assert row[0] == email_key(sample)
