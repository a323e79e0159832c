"""A Python server SDK for Stack Auth's REST API (and this project's server, which speaks it)."""

from authstack_sdk import errors, models
from authstack_sdk._async import AsyncStackServerApp
from authstack_sdk._sync import StackServerApp
from authstack_sdk.errors import StackError
from authstack_sdk.pagination import Page

__all__ = [
    "AsyncStackServerApp",
    "Page",
    "StackError",
    "StackServerApp",
    "errors",
    "models",
]
