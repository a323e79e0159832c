"""Admin query errors: which ClickHouse messages an admin may read, and the refusal they become."""

from __future__ import annotations

import re

GENERIC_MESSAGE = "Error during execution of this query."

# Errors about the admin's own query text, types or limits: their message tells the admin what to
# fix and says nothing about the server. Everything else (ACCESS_DENIED, UNKNOWN_TABLE,
# UNKNOWN_DATABASE, BAD_ARGUMENTS, cluster and network errors, ...) may reveal what exists outside
# the project's views or how the server is set up, so it becomes GENERIC_MESSAGE.
SAFE_CODES = frozenset(
    {
        6,  # CANNOT_PARSE_TEXT
        26,  # CANNOT_PARSE_QUOTED_STRING
        27,  # CANNOT_PARSE_INPUT_ASSERTION_FAILED
        34,  # TOO_MANY_ARGUMENTS_FOR_FUNCTION
        35,  # TOO_FEW_ARGUMENTS_FOR_FUNCTION
        38,  # CANNOT_PARSE_DATE
        41,  # CANNOT_PARSE_DATETIME
        42,  # NUMBER_OF_ARGUMENTS_DOESNT_MATCH
        43,  # ILLEGAL_TYPE_OF_ARGUMENT
        44,  # ILLEGAL_COLUMN
        46,  # UNKNOWN_FUNCTION
        47,  # UNKNOWN_IDENTIFIER
        50,  # UNKNOWN_TYPE
        53,  # TYPE_MISMATCH
        62,  # SYNTAX_ERROR
        69,  # ARGUMENT_OUT_OF_BOUND
        70,  # CANNOT_CONVERT_TYPE
        72,  # CANNOT_PARSE_NUMBER
        128,  # TOO_LARGE_ARRAY_SIZE
        131,  # TOO_LARGE_STRING_SIZE
        153,  # ILLEGAL_DIVISION
        158,  # TOO_MANY_ROWS
        159,  # TIMEOUT_EXCEEDED
        160,  # TOO_SLOW
        164,  # READONLY
        179,  # MULTIPLE_EXPRESSIONS_FOR_ALIAS
        184,  # ILLEGAL_AGGREGATION
        190,  # SIZES_OF_ARRAYS_DONT_MATCH
        215,  # NOT_AN_AGGREGATE
        241,  # MEMORY_LIMIT_EXCEEDED
        321,  # VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
        352,  # AMBIGUOUS_COLUMN_NAME
        386,  # NO_COMMON_TYPE
        395,  # FUNCTION_THROW_IF_VALUE_IS_NON_ZERO
        396,  # TOO_MANY_ROWS_OR_BYTES
        407,  # DECIMAL_OVERFLOW
        456,  # UNKNOWN_QUERY_PARAMETER
        457,  # BAD_QUERY_PARAMETER
        636,  # CANNOT_EXTRACT_TABLE_STRUCTURE
    }
)

# clickhouse-connect wraps a server's answer: "Received ClickHouse exception, code: 62, server
# response: Code: 62. DB::Exception: ... (version 25.8.1.1) (for url http://host:8123)".
_WRAPPER = r"Received ClickHouse exception, code: (\d+), server response:\s*"
_CODE = re.compile(rf"^\s*(?:{_WRAPPER}|Code:\s*(\d+)\.)")
_PREFIX = re.compile(
    r"^\s*(?:Received ClickHouse exception, code: \d+, server response:\s*)?"
    r"(?:Code:\s*\d+\.\s*)?(?:DB::\w*Exception:\s*)?"
)
# Where the engine's own detail starts: everything after it is for operators, not admins.
_TRAILERS = re.compile(
    r"(?:Stack trace|\s*\(version \d[^)]*\)|\s*\(for url [^)]*\))", re.IGNORECASE
)
# An absolute file path (not the host part of a URL, not a division).
_PATH = re.compile(r"(?<![\w:/.])/(?:[\w.@+~-]+/)+[\w.@+~-]*")
MAX_MESSAGE_CHARS = 1000


def error_code(message: str) -> int | None:
    """The ClickHouse error code a message starts with (``Code: 62. ...``, or a server's answer
    as clickhouse-connect words it), if any."""
    found = _CODE.match(message)
    return int(found.group(1) or found.group(2)) if found else None


def safe_message(code: int | None, message: str) -> str:
    """The text an admin may see for a ClickHouse error, from an embedded engine or a server.

    Harmless codes keep their message, without the ``Code: N. DB::Exception:`` prefixes, the
    ``(version ...)`` suffix, stack traces and file paths; any other code gives GENERIC_MESSAGE.
    """
    if code is None:
        code = error_code(message)
    if code not in SAFE_CODES:
        return GENERIC_MESSAGE
    text = message
    while True:  # a wrapped message repeats the prefix: "Code: 164. DB::Exception: Code: 164."
        stripped = _PREFIX.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    trailer = _TRAILERS.search(text)
    if trailer:
        text = text[: trailer.start()]
    text = _PATH.sub("<path>", text).strip()
    if not text:
        return GENERIC_MESSAGE
    return text[:MAX_MESSAGE_CHARS]


class QueryRefused(Exception):  # noqa: N818 (the name is the contract with the routes)
    """An admin query that did not run to a result; ``message`` is safe to show to the admin."""

    def __init__(self, message: str = GENERIC_MESSAGE) -> None:
        super().__init__(message)
        self.message = message

    @classmethod
    def from_clickhouse(cls, code: int | None, message: str) -> QueryRefused:
        """The refusal for a ClickHouse error, with only what ``safe_message`` keeps."""
        return cls(safe_message(code, message))
