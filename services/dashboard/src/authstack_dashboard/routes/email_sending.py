"""A project's sent mail (``GET /internal/emails``) and the "Send a test email" form
(``POST /internal/send-test-email``, through the project's configured server), whose SMTP
outcome the page shows."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from authstack_dashboard.routes.emails import emails_base, render_emails_page
from authstack_dashboard.routes.projects import load_project
from authstack_dashboard.web import Ctx, FormError, gather, page, page_routes

MAX_EMAIL = 254
SHOWN = 100


def sent_view(item: dict[str, Any]) -> dict[str, Any]:
    """One listed email as the page shows it: a status, its recipients, its time and error."""
    recipients = item.get("to")
    if isinstance(recipients, list):
        to = ", ".join(str(r) for r in recipients)
    else:
        to = str(recipients or "")
    error = item.get("error") or item.get("skipped_reason")  # why it failed, or was not sent
    status = item.get("status") or ("failed" if item.get("error") else "sent")
    return {
        "id": item.get("id"),
        "status": str(status),
        "to": to,
        "subject": item.get("subject") or "",
        "at": item.get("sent_at_millis") or item.get("created_at_millis"),
        "error": error if isinstance(error, str) else (str(error) if error else ""),
    }


@page
async def show_sent(ctx: Ctx) -> Response:
    project_id = ctx.project_id
    project, listed = await gather(
        load_project(ctx, project_id), ctx.admin("GET", "/internal/emails", project_id)
    )
    shown = [sent_view(item) for item in listed["items"][:SHOWN]]
    return render_emails_page(ctx, "email_sent.html", project, "sent", emails_sent=shown)


@page
async def send_test(ctx: Ctx) -> Response:
    project_id = ctx.project_id
    here = f"{emails_base(project_id)}/sent"
    recipient = ctx.form.get("recipient_email").strip()
    if not recipient or "@" not in recipient or len(recipient) > MAX_EMAIL:
        raise FormError("Enter the email address to send the test email to.", here)
    result = await ctx.admin(
        "POST",
        "/internal/send-test-email",
        project_id,
        json_body={"recipient_email": recipient},
    )
    if result.get("success"):
        return ctx.redirect(here, f"Test email sent to {recipient}: the email server accepted it.")
    reason = result.get("error_message") or "the email server did not accept it."
    return ctx.redirect(here, f"Test email to {recipient} not sent: {reason}", "error")


routes = page_routes("/projects/{project_id}/emails/sent", show_sent, {"/test": send_test})
