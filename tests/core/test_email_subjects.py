"""The built-in templates' subjects are Stack Auth's: tools find its mails by subject."""

from __future__ import annotations

import pytest

from authstack_core.email_rendering import BUILTIN_TEMPLATES, render

VARIABLES = {
    "projectDisplayName": "Acme",
    "teamDisplayName": "Rocket Team",
    "otp": "AB12CD",
    "magicLink": "https://example.com/m",
    "emailVerificationLink": "https://example.com/v",
    "passwordResetLink": "https://example.com/r",
    "teamInvitationLink": "https://example.com/t",
    "signInInvitationLink": "https://example.com/s",
}


@pytest.mark.parametrize(
    ("template_id", "subject"),
    [
        ("magic_link", "Sign in to Acme: Your code is AB12CD"),
        ("email_verification", "Verify your email at Acme"),
        ("password_reset", "Reset your password at Acme"),
        ("team_invitation", "You have been invited to join Rocket Team"),
        ("sign_in_invitation", "You have been invited to sign in to Acme"),
    ],
)
def test_builtin_subject_is_stack_auths(template_id: str, subject: str) -> None:
    email = render(BUILTIN_TEMPLATES[template_id].source, VARIABLES)
    assert email.subject == subject
