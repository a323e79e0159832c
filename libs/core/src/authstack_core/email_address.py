"""One rule for email addresses: what is accepted, how it is stored, and how two are compared.

An address is stored as ``normalize_email`` returns it, and two addresses are the same account
when their ``email_key`` values are equal. SQL compares with ``lower(x COLLATE "C")``, which
lowercases ASCII letters only, whatever the database's locale; ``email_key`` is its Python twin.
A locale-aware ``lower()`` is what let ``victim@gmaİl.com`` (U+0130) match ``victim@gmail.com``:
under most locales it folds ``İ`` to a plain ``i``.
"""

from __future__ import annotations

import unicodedata

import idna

# RFC 5321 limits the local part to 64 octets; the whole field keeps the contract's 256.
MAX_LOCAL_LENGTH = 64
MAX_LENGTH = 256

# Control (Cc), format (Cf: zero-width space/joiners, BOM, bidi overrides), surrogate,
# private-use and unassigned code points, and every separator (spaces, line and paragraph
# separators): none of them belongs in an address, and most are invisible.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})
# Characters that render as nothing (or as a blank) but sit in other categories: the
# default-ignorable combining grapheme joiner and variation selectors, the Hangul fillers, the
# Khmer inherent vowels, and the blank Braille pattern.
_INVISIBLE = frozenset(
    [
        *(0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x2800, 0x3164, 0xFFA0),
        *range(0x180B, 0x1810),
        *range(0xFE00, 0xFE10),
        *range(0xE0100, 0xE01F0),
    ]
)
# Outside a quoted local part (which we do not accept) these are syntax, not address characters.
_SPECIALS = frozenset('"<>()[],;:\\@')


class EmailError(ValueError):
    """The text is not an address we accept; the message says why, without echoing it back."""


def _check_characters(text: str) -> None:
    for char in text:
        code = ord(char)
        if unicodedata.category(char) in _REFUSED_CATEGORIES or code in _INVISIBLE:
            raise EmailError(
                f"must not contain control, invisible or space characters (found U+{code:04X})"
            )


def _normalize_domain(domain: str) -> str:
    if not domain or "." not in domain or domain.startswith(".") or domain.endswith("."):
        raise EmailError("the domain must be a dotted name such as example.com")
    try:
        ascii_form = idna.encode(domain, uts46=True, transitional=False, std3_rules=True)
    except idna.IDNAError as exc:
        raise EmailError(f"the domain is not a valid internationalised name ({exc})") from None
    if domain.isascii() and "xn--" not in domain.lower():
        # ASCII domains keep the case they were typed in (the contract echoes it back); the
        # comparison rule folds ASCII case anyway.
        if ascii_form.decode("ascii") != domain.lower():
            raise EmailError("the domain is not a valid host name")
        return domain
    # UTS-46 maps a Unicode domain to one lowercase form, and a punycode (xn--) spelling is
    # decoded to the same form, so each internationalised domain has exactly one spelling.
    return str(idna.decode(ascii_form))


def normalize_email(raw: str) -> str:
    """The stored form of ``raw``: NFKC, no invisible characters, its domain in UTS-46 form.

    The local part keeps its case. Surrounding whitespace (a trailing newline included) is
    refused, not stripped, so no look-alike spelling ever reaches an account. Raise EmailError.
    """
    if len(raw) > MAX_LENGTH:
        raise EmailError(f"must be at most {MAX_LENGTH} characters")
    _check_characters(raw)
    # NFKC folds compatibility forms (fullwidth letters, a fullwidth @) into the plain ones.
    text = unicodedata.normalize("NFKC", raw)
    _check_characters(text)
    local, at, domain = text.rpartition("@")
    if not at or not local:
        raise EmailError("must look like name@example.com")
    if len(local) > MAX_LOCAL_LENGTH:
        raise EmailError(f"the part before @ must be at most {MAX_LOCAL_LENGTH} characters")
    if any(c in _SPECIALS for c in local) or any(c in _SPECIALS for c in domain):
        raise EmailError("must not contain quotes, brackets, spaces or any of , ; : \\ < > @")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise EmailError("the part before @ must not start or end with a dot or hold two dots")
    result = f"{local}@{_normalize_domain(domain)}"
    if len(result) > MAX_LENGTH:
        raise EmailError(f"must be at most {MAX_LENGTH} characters")
    return result


def with_ascii_domain(address: str) -> str:
    """``address`` with an internationalised domain in its ASCII (A-label) form, as a mail
    header without SMTPUTF8 must spell it. Raise ValueError (idna.IDNAError) for a domain that
    has none."""
    local, at, domain = address.rpartition("@")
    if domain.isascii():
        return address
    return f"{local}{at}{idna.encode(domain, uts46=True).decode('ascii')}"


def ascii_lower(text: str) -> str:
    """Lowercase A-Z only: what PostgreSQL's ``lower(text COLLATE "C")`` does."""
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def email_key(email: str) -> str:
    """The comparison key of a stored address: equal keys are the same address."""
    return ascii_lower(email)
