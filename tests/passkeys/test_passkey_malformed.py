"""Whatever a client posts to the passkey routes, the answer is a 4xx in the contract's format:
SCHEMA_ERROR for a body of the wrong shape, PASSKEY_*_FAILED for WebAuthn data that is not."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.api.helpers import as_user, assert_known_error, sign_up
from tests.conftest import ApiServer, Project, create_project
from tests.passkeys.authenticator import SoftAuthenticator, b64url
from tests.passkeys.helpers import (
    APP_ORIGIN,
    PASSKEY_CONFIG,
    REGISTER,
    SIGN_IN,
    initiate_authentication,
    initiate_registration,
)

Edit = Callable[[dict[str, Any]], Any]


def _set(path: str, value: Any) -> Edit:
    """An edit of a valid body: ``path`` (dotted) set to ``value``, or removed when it is ...."""

    def edit(body: dict[str, Any]) -> Any:
        body = copy.deepcopy(body)
        *parents, last = path.split(".")
        node = body
        for name in parents:
            node = node[name]
        if value is ...:
            del node[last]
        else:
            node[last] = value
        return body

    return edit


def _cbor_array_claiming(length: int) -> str:
    """A CBOR array header claiming ``length`` items, followed by none."""
    return b64url(b"\x9b" + length.to_bytes(8, "big"))


# Bodies of the wrong shape: refused before anything is looked up.
SHAPE: list[tuple[str, Edit]] = [
    ("empty object", lambda b: {}),
    ("array", lambda b: [b]),
    ("string", lambda b: "credential"),
    ("null", lambda b: None),
    ("code missing", _set("code", ...)),
    ("code a number", _set("code", 12345)),
    ("code too long", _set("code", "x" * 1000)),
    ("unknown top-level field", _set("extra", 1)),
]
# The credential's fields of the wrong type or size (the same for both routes).
CREDENTIAL_SHAPE: list[tuple[str, str, Any]] = [
    ("credential a string", "", "x"),
    ("credential null", "", None),
    ("id missing", "id", ...),
    ("rawId a number", "rawId", 7),
    ("type not public-key", "type", "password"),
    ("response missing", "response", ...),
    ("response an array", "response", []),
    ("clientDataJSON missing", "response.clientDataJSON", ...),
    ("clientDataJSON an object", "response.clientDataJSON", {"origin": APP_ORIGIN}),
    ("clientDataJSON of a megabyte", "response.clientDataJSON", "A" * 1_000_000),
    ("id of a megabyte", "id", "A" * 1_000_000),
]
# Well-formed JSON, WebAuthn data that is not: the ceremony fails.
CONTENT: list[tuple[str, str, Any]] = [
    ("clientDataJSON not base64url", "response.clientDataJSON", "!!!*"),
    ("clientDataJSON not JSON", "response.clientDataJSON", b64url(b"\xff\xfe not json")),
    ("clientDataJSON a JSON list", "response.clientDataJSON", b64url(b"[1, 2]")),
    ("clientDataJSON nested deep", "response.clientDataJSON", b64url(b"[" * 3000 + b"]" * 3000)),
    ("clientDataJSON origin a number", "response.clientDataJSON",
     b64url(b'{"type":"webauthn.get","challenge":"AA","origin":5}')),
    ("id not the raw id", "id", b64url(b"another id")),
    ("authenticatorAttachment unknown", "authenticatorAttachment", "floppy"),
]  # fmt: skip
REGISTRATION_CONTENT: list[tuple[str, str, Any]] = [
    ("attestationObject empty", "response.attestationObject", ""),
    ("attestationObject garbage", "response.attestationObject", b64url(b"\x00" * 64)),
    ("attestationObject claiming 2^60 items", "response.attestationObject",
     _cbor_array_claiming(2**60)),
    ("attestationObject a CBOR bomb of nesting", "response.attestationObject",
     b64url(b"\x81" * 20000)),
]  # fmt: skip
ASSERTION_CONTENT: list[tuple[str, str, Any]] = [
    ("authenticatorData short", "response.authenticatorData", b64url(b"\x00" * 10)),
    ("signature garbage", "response.signature", b64url(b"\x30\x00")),
    ("userHandle not base64url", "response.userHandle", "%%%"),
]


@pytest.fixture(scope="module")
def world(api: ApiServer) -> dict[str, Any]:
    """One project, one signed-in user with a passkey, a valid registration and sign-in body."""
    project = create_project(api.database_url, PASSKEY_CONFIG)
    with api.client() as http:
        tokens = sign_up(http, project)
        authenticator = SoftAuthenticator()
        options, code = initiate_registration(http, project, tokens["access_token"])
        credential = authenticator.create(options, origin=APP_ORIGIN)
        r = http.post(
            REGISTER,
            headers=as_user(project, tokens["access_token"]),
            json={"credential": credential, "code": code},
        )
        assert r.status_code == 200, r.text
        options, code = initiate_registration(http, project, tokens["access_token"])
        credential = SoftAuthenticator().create(options, origin=APP_ORIGIN)
        options, sign_in_code = initiate_authentication(http, project)
        assertion = authenticator.get(options, origin=APP_ORIGIN)
    return {
        "project": project,
        "authenticator": authenticator,
        "headers": as_user(project, tokens["access_token"]),
        "register": {"credential": credential, "code": code},
        "sign_in": {"authentication_response": assertion, "code": sign_in_code},
    }


def _post(http: httpx.Client, world: dict[str, Any], route: str, body: Any) -> httpx.Response:
    return http.post(route, headers=world["headers"], json=body)


ROUTES = [(REGISTER, "register", "credential"), (SIGN_IN, "sign_in", "authentication_response")]


@pytest.mark.parametrize(("route", "key", "field"), ROUTES, ids=["register", "sign-in"])
@pytest.mark.parametrize(("case", "edit"), SHAPE, ids=[c for c, _ in SHAPE])
def test_a_body_of_the_wrong_shape_is_a_schema_error(
    http: httpx.Client, world: dict[str, Any], route: str, key: str, field: str,
    case: str, edit: Edit,
) -> None:  # fmt: skip
    r = _post(http, world, route, edit(world[key]))
    assert_known_error(r, "SCHEMA_ERROR", 400)


@pytest.mark.parametrize(("route", "key", "field"), ROUTES, ids=["register", "sign-in"])
@pytest.mark.parametrize(("case", "path", "value"), CREDENTIAL_SHAPE,
                         ids=[c for c, _, _ in CREDENTIAL_SHAPE])  # fmt: skip
def test_a_credential_of_the_wrong_shape_is_a_schema_error(
    http: httpx.Client, world: dict[str, Any], route: str, key: str, field: str,
    case: str, path: str, value: Any,
) -> None:  # fmt: skip
    body = _set(f"{field}.{path}".rstrip("."), value)(world[key])
    r = _post(http, world, route, body)
    assert_known_error(r, "SCHEMA_ERROR", 400)


def _content_cases() -> list[tuple[str, str, str, str, Any]]:
    register = [(REGISTER, "register", "credential", *c) for c in CONTENT + REGISTRATION_CONTENT]
    sign_in = [(SIGN_IN, "sign_in", "authentication_response", *c)
               for c in CONTENT + ASSERTION_CONTENT]  # fmt: skip
    return register + sign_in


@pytest.mark.parametrize(("route", "key", "field", "case", "path", "value"), _content_cases(),
                         ids=lambda v: v if isinstance(v, str) and " " in v else "")  # fmt: skip
def test_webauthn_data_that_is_not_fails_the_ceremony(
    http: httpx.Client, world: dict[str, Any], route: str, key: str, field: str,
    case: str, path: str, value: Any,
) -> None:  # fmt: skip
    """Each is a fresh ceremony (a failed one spends its code), right but for the one field, so
    that the parsers behind the checks of challenge and origin are reached too."""
    project: Project = world["project"]
    if key == "register":  # by a new user each time: registrations are rate-limited per user
        token = sign_up(http, project)["access_token"]
        world = {**world, "headers": as_user(project, token)}
        options, code = initiate_registration(http, project, token)
        valid = SoftAuthenticator().create(options, origin=APP_ORIGIN)
        expected = "PASSKEY_REGISTRATION_FAILED"
    else:
        options, code = initiate_authentication(http, project)
        valid = world["authenticator"].get(options, origin=APP_ORIGIN)
        expected = "PASSKEY_AUTHENTICATION_FAILED"
    body = _set(f"{field}.{path}", value)({field: valid, "code": code})
    r = _post(http, world, route, body)
    assert_known_error(r, expected, 400)
