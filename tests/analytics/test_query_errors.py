"""safe_message: what an admin may read of a ClickHouse error, from chdb or a server."""

from __future__ import annotations

import pytest

from authstack_core.analytics.query_errors import GENERIC_MESSAGE, QueryRefused, safe_message


def test_a_nested_readonly_error_keeps_its_text_without_prefixes_or_version() -> None:
    raw = (
        "Code: 164. DB::Exception: Code: 164. DB::Exception: Cannot modify 'readonly' setting "
        "in readonly mode. (READONLY) (version 26.9.2.1). (READONLY)"
    )
    assert (
        safe_message(None, raw) == "Cannot modify 'readonly' setting in readonly mode. (READONLY)"
    )


def test_paths_and_stack_traces_are_removed() -> None:
    raw = (
        "Code: 62. DB::Exception: Syntax error near /var/lib/clickhouse/store/abc/data.bin: "
        "failed. Stack trace:\n0. DB::Exception::Exception() @ 0x1"
    )
    message = safe_message(62, raw)
    assert "/var/lib" not in message
    assert "Stack trace" not in message
    assert message.startswith("Syntax error near <path>")


def test_urls_are_not_mistaken_for_paths() -> None:
    raw = (
        "Code: 47. DB::Exception: Unknown identifier 'a/b' in http://x.test/y. (UNKNOWN_IDENTIFIER)"
    )
    assert "http://x.test/y" in safe_message(47, raw)


@pytest.mark.parametrize(
    ("code", "raw"),
    [
        (60, "Code: 60. DB::Exception: Unknown table expression identifier 'analytics_internal.x'"),
        (81, "Code: 81. DB::Exception: Database analytics_internal does not exist."),
        (497, "Code: 497. DB::Exception: limited: Not enough privileges."),
        (36, "Code: 36. DB::Exception: Bucket name length is out of bounds."),
        (None, "Connection refused"),
    ],
)
def test_other_errors_become_the_generic_message(code: int | None, raw: str) -> None:
    assert safe_message(code, raw) == GENERIC_MESSAGE


def test_the_code_is_read_from_the_message_when_not_given() -> None:
    raw = "Code: 159. DB::Exception: Timeout exceeded: elapsed 1000 ms. (TIMEOUT_EXCEEDED)"
    assert safe_message(None, raw).startswith("Timeout exceeded")
    assert QueryRefused.from_clickhouse(None, raw).message.startswith("Timeout exceeded")


def test_a_servers_answer_loses_the_clients_wrapper_and_the_servers_url() -> None:
    raw = (
        "Received ClickHouse exception, code: 62, server response: Code: 62. DB::Exception: "
        "Syntax error: failed at position 1 (SELEC). (SYNTAX_ERROR) (version 25.8.1.1) "
        "(for url http://clickhouse.internal:8123)"
    )
    assert safe_message(None, raw) == "Syntax error: failed at position 1 (SELEC). (SYNTAX_ERROR)"
    without_version = raw.replace(" (version 25.8.1.1)", "")
    assert "clickhouse.internal" not in safe_message(62, without_version)
