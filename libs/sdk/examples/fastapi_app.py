"""The five-minute FastAPI example: a public route and one that needs a signed-in user.

    export STACK_API_URL=https://api.example.com STACK_PROJECT_ID=<project id>
    uvicorn fastapi_app:app --port 8000      # or: python fastapi_app.py

Call ``/me`` with the header ``x-stack-access-token: <the user's access token>`` (what
``await user.getAuthJson()`` gives in the JS SDK), ``...getAuthHeaders()``'s header, or from a
page whose JS SDK keeps its tokens in cookies.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

from fastapi import Depends, FastAPI

from authstack_sdk import AccessTokenClaims, AccessTokenVerifier
from authstack_sdk.integrations.fastapi import current_user

# One verifier per process: it fetches the project's public keys once and caches them.
verifier = AccessTokenVerifier(os.environ["STACK_API_URL"], os.environ["STACK_PROJECT_ID"])
User = Annotated[AccessTokenClaims, Depends(current_user(verifier))]

app = FastAPI(title="authstack-sdk FastAPI example")


@app.get("/")
async def index() -> dict[str, str]:
    return {"hello": "anyone"}


@app.get("/me")
async def me(user: User) -> dict[str, Any]:
    # Verified locally (signature, issuer, audience, expiry): no call to the auth server.
    return {"user_id": user.user_id, "email": user.primary_email, "team": user.selected_team_id}


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
