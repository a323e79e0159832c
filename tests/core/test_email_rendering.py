"""Email rendering, SMTP target selection and sealing, without servers."""

from __future__ import annotations

import pytest

from authstack_core.crypto.sealing import Sealer, SealError
from authstack_core.domain.email_delivery import EmailConfigError, smtp_target
from authstack_core.email_rendering import (
    BUILTIN_TEMPLATES,
    TemplateError,
    TemplateSource,
    check_template,
    html_to_text,
    render,
    sample_variables,
)
from authstack_core.models.config import ProjectConfig
from authstack_core.settings import Settings

SECRET = "dGVzdC1zZXJ2ZXItc2VjcmV0LWZvci1hdXRoc3RhY2stdGVzdHM"


def settings(**extra: object) -> Settings:
    return Settings(  # type: ignore[call-arg]
        STACK_DATABASE_CONNECTION_STRING="postgresql://x@127.0.0.1/x",
        STACK_SERVER_SECRET=SECRET,
        **extra,
    )


@pytest.mark.parametrize("template_id", list(BUILTIN_TEMPLATES))
def test_every_builtin_template_renders_its_variables(template_id: str) -> None:
    template = BUILTIN_TEMPLATES[template_id]
    variables = sample_variables(template_id)
    email = render(template.source, variables)
    # The exact subjects are tests/core/test_email_subjects.py's; here: rendered, on one line.
    assert email.subject
    assert "{" not in email.subject
    assert "\n" not in email.subject
    for name in template.variables:
        value = str(variables[name])
        assert value in email.text
        assert value.replace("&", "&amp;") in email.html
    assert email.html.lstrip().startswith("<!DOCTYPE html>")


def test_values_are_escaped_in_html_and_left_alone_in_text() -> None:
    source = TemplateSource("Hi {{ userDisplayName }}", "<p>{{ userDisplayName }}</p>", None)
    email = render(source, {"userDisplayName": "<b>Bob</b> & {{ x }}"})
    assert email.html == "<p>&lt;b&gt;Bob&lt;/b&gt; &amp; {{ x }}</p>"
    assert email.subject == "Hi <b>Bob</b> & {{ x }}"
    assert email.text.strip() == "<b>Bob</b> & {{ x }}"  # derived from the HTML


def test_subject_cannot_carry_a_header() -> None:
    email = render(TemplateSource("{{ s }}", "x", "x"), {"s": "Hi\r\nBcc: evil@example.com"})
    assert email.subject == "Hi Bcc: evil@example.com"


@pytest.mark.parametrize(
    "html",
    [
        "{{ ''.__class__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{% for x in range(5000) %}{% endfor %}",
        "{% include 'nope.html' %}",
        "{{ x",
        # Nested past what Jinja's parser or Python's compiler take: refused, not a crash.
        "{{ " + "(" * 200 + "1" + ")" * 200 + " }}",
        "{% if x %}" * 100 + "{% endif %}" * 100,
    ],
)
def test_check_template_refuses_what_the_sandbox_forbids(html: str) -> None:
    with pytest.raises(TemplateError, match="html"):
        check_template(TemplateSource("s", html, None))


def test_html_to_text_keeps_links() -> None:
    text = html_to_text(
        '<p>Go <a href="https://x.test/a?b=1&amp;c=2">here</a></p><style>p{}</style>'
    )
    assert text == "Go here (https://x.test/a?b=1&c=2)\n"


def test_smtp_target_shared_and_own_server() -> None:
    shared = smtp_target(
        settings(STACK_EMAIL_HOST="smtp.example.com", STACK_EMAIL_SENDER="no@example.com"),
        ProjectConfig.from_override({}).email_server,
        "Acme, Inc.",
    )
    assert (shared.host, shared.port, shared.implicit_tls) == ("smtp.example.com", 587, False)
    assert shared.sender == '"Acme, Inc." <no@example.com>'
    with pytest.raises(EmailConfigError, match="STACK_EMAIL_HOST"):
        smtp_target(settings(), ProjectConfig.from_override({}).email_server, "Acme")

    own = ProjectConfig.from_override(
        {
            "emails.server": {
                "isShared": False,
                "host": "mx.test",
                "port": 465,
                "senderEmail": "a@b.c",
            }
        }
    ).email_server
    target = smtp_target(settings(), own, "Acme")
    assert target.implicit_tls is True  # port 465
    assert target.sender == "Acme <a@b.c>"
    resend = ProjectConfig.from_override(
        {"emails.server": {"isShared": False, "provider": "resend"}}
    ).email_server
    with pytest.raises(EmailConfigError, match="not supported"):
        smtp_target(settings(), resend, "Acme")


def test_connections_are_never_shared_between_different_passwords() -> None:
    def target(password: str) -> str:
        server = {"isShared": False, "host": "mx.test", "port": 587, "senderEmail": "a@b.c",
                  "username": "u", "password": password}  # fmt: skip
        config = ProjectConfig.from_override({"emails.server": server})
        found = smtp_target(settings(), config.email_server, "A")
        assert password not in repr(found)
        return repr(found.pool_key)

    assert target("pw-one-secret") != target("pw-two-secret")


def test_sealed_content_opens_only_with_its_key_and_row() -> None:
    sealer = Sealer(SECRET, "email-outbox-content")
    sealed = sealer.seal(b"link with a code", b"row-1")
    assert b"link" not in sealed
    assert sealer.open(sealed, b"row-1") == b"link with a code"
    with pytest.raises(SealError):
        sealer.open(sealed, b"row-2")
    with pytest.raises(SealError):
        Sealer("b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA", "email-outbox-content").open(sealed, b"row-1")
