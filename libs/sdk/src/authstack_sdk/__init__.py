"""A Python server SDK for Stack Auth's REST API (and this project's server, which speaks it)."""

from authstack_sdk import errors, models
from authstack_sdk._async import AsyncStackServerApp
from authstack_sdk._sync import StackServerApp
from authstack_sdk.claims import AccessTokenClaims
from authstack_sdk.errors import StackError
from authstack_sdk.pagination import Page
from authstack_sdk.token_errors import (
    AnonymousTokenError,
    ExpiredTokenError,
    InvalidTokenError,
    JwksUnavailableError,
    MissingTokenError,
    RestrictedTokenError,
    TokenVerificationError,
    WrongProjectTokenError,
)
from authstack_sdk.verify import AccessTokenVerifier

__all__ = [
    "AccessTokenClaims",
    "AccessTokenVerifier",
    "AnonymousTokenError",
    "AsyncStackServerApp",
    "ExpiredTokenError",
    "InvalidTokenError",
    "JwksUnavailableError",
    "MissingTokenError",
    "Page",
    "RestrictedTokenError",
    "StackError",
    "StackServerApp",
    "TokenVerificationError",
    "WrongProjectTokenError",
    "errors",
    "models",
]
