"""The Django example, in one file: the middleware sets ``request.stack_user``.

    STACK_API_URL=https://api.example.com STACK_PROJECT_ID=<project id> python django_app.py

(Serves with Django's ``runserver`` for the demo; in production point your WSGI server at
``django_app:application`` or your ASGI server at ``django_app:asgi_application``, or copy the
two settings below into your project.)
"""

from __future__ import annotations

import os
import sys

from django.conf import settings
from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application
from django.http import HttpRequest, JsonResponse
from django.urls import path

settings.configure(
    DEBUG=False,
    SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret"),
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    MIDDLEWARE=["authstack_sdk.integrations.django.StackAuthMiddleware"],
    STACK_AUTH={
        "base_url": os.environ["STACK_API_URL"],
        "project_id": os.environ["STACK_PROJECT_ID"],
    },
)

from authstack_sdk.integrations.django import stack_user_required  # noqa: E402 - after settings


def index(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"hello": "anyone"})


@stack_user_required
def me(request: HttpRequest) -> JsonResponse:
    user = request.stack_user
    return JsonResponse({"user_id": user.user_id, "email": user.primary_email})


urlpatterns = [path("", index), path("me", me)]
application = get_wsgi_application()
asgi_application = get_asgi_application()  # the middleware then verifies without blocking

if __name__ == "__main__":
    from django.core.management import execute_from_command_line

    port = os.environ.get("PORT", "8000")
    execute_from_command_line([sys.argv[0], "runserver", f"127.0.0.1:{port}", "--noreload"])
