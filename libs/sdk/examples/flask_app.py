"""The Flask example: a public route and one that needs a signed-in user.

STACK_API_URL=https://api.example.com STACK_PROJECT_ID=<project id> python flask_app.py
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, g

from authstack_sdk import AccessTokenVerifier
from authstack_sdk.integrations.flask import stack_user_required

verifier = AccessTokenVerifier(os.environ["STACK_API_URL"], os.environ["STACK_PROJECT_ID"])
app = Flask(__name__)


@app.get("/")
def index() -> dict[str, str]:
    return {"hello": "anyone"}


@app.get("/me")
@stack_user_required(verifier)
def me() -> dict[str, Any]:
    return {"user_id": g.stack_user.user_id, "email": g.stack_user.primary_email}


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
