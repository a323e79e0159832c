"""The offline list of common passwords that new passwords are checked against (NIST 800-63B).

The list ships inside the package (``data/common_passwords.txt.gz``: SecLists' 100,000 most common
passwords, lower-cased, only those 8 to 70 characters long; ``scripts/build_common_passwords.py``
regenerates it and names its source and licence). It is read once, on first use, into a
frozenset (about 38,000 entries, a few megabytes).
"""

from __future__ import annotations

import gzip
from functools import cache
from importlib.resources import files


@cache
def common_passwords() -> frozenset[str]:
    raw = files("authstack_core").joinpath("data/common_passwords.txt.gz").read_bytes()
    return frozenset(word for word in gzip.decompress(raw).decode("utf-8").split("\n") if word)


def is_common_password(password: str) -> bool:
    """Whether ``password`` (compared case-insensitively) is on the list."""
    return password.lower() in common_passwords()
