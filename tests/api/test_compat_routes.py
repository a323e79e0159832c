"""The SDK's housekeeping routes: POST /check-version and POST /check-feature-support."""

from __future__ import annotations

import httpx
import pytest

from tests.api.helpers import assert_known_error


@pytest.mark.parametrize(
    ("version", "severe"),
    [
        ("2.8.108", None),  # the SDK the scenarios run
        ("2.8.102", None),
        ("2.8.56", True),  # below the line's security floor
        ("2.7.9", True),
        ("1.0.0", True),
        ("2.9.0", False),  # newer than this server has been tested with
        ("3.0.0", False),
        ("not-a-version", True),
        ("2.8", True),
    ],
)
def test_check_version_answers_by_the_sdk_line(
    http: httpx.Client, version: str, severe: bool | None
) -> None:
    r = http.post("/api/v1/check-version", json={"clientVersion": version})
    assert r.status_code == 200, r.text
    body = r.json()
    if severe is None:
        assert body == {"upToDate": True}
    else:
        assert body["upToDate"] is False
        assert body["severe"] is severe
        assert version in body["error"]


def test_check_version_needs_a_client_version(http: httpx.Client) -> None:
    assert_known_error(http.post("/api/v1/check-version", json={}), "SCHEMA_ERROR", 400)
    assert_known_error(
        http.post("/api/v1/check-version", json={"clientVersion": 2}), "SCHEMA_ERROR", 400
    )


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"feature_name": "rsc-handler-signIn"}, "rsc-handler-signIn is not yet supported."),
        ({"name": "x"}, "This feature is not yet supported."),
        (None, "This feature is not yet supported."),
        ([1, 2], "This feature is not yet supported."),
    ],
)
def test_check_feature_support_answers_text(http: httpx.Client, body: object, text: str) -> None:
    r = http.post("/api/v1/check-feature-support", json=body)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    assert r.text == text


def test_check_feature_support_without_a_body(http: httpx.Client) -> None:
    r = http.post("/api/v1/check-feature-support")
    assert r.status_code == 200, r.text
    assert r.text == "This feature is not yet supported."
