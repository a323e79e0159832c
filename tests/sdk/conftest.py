"""The SDK tests' fixtures (the client's live in ``client_support``)."""

from tests.sdk.client_support import face, sdk_api, sdk_project

__all__ = ["face", "sdk_api", "sdk_project"]
