"""Entry point: ``python -m authstack_api`` serves the API with uvicorn."""

from __future__ import annotations

import sys

import structlog

from authstack_api.app import create_asgi
from authstack_core.runtime import BAD_ENVIRONMENT, start
from authstack_core.serving import serve
from authstack_core.settings import DEPRECATED_TRUSTED_NETWORKS, Settings
from authstack_core.storage import ObjectStore, StorageUnavailableError

# On SIGTERM uvicorn stops accepting and waits for in-flight requests; past this many seconds it
# cancels them. Below Kubernetes' 30 s grace period minus the 5 s preStop pause in k8s/.
GRACEFUL_SHUTDOWN_S = 20


def check_storage(settings: Settings) -> None:
    """HEAD both buckets: in production a refusal stops the API (status 2) naming the variable;
    elsewhere it is a warning, so ``make dev`` and the tests run while storage is down."""
    store = ObjectStore.from_settings(settings)
    if store is None:
        return
    try:
        store.check()
    except StorageUnavailableError as exc:
        if settings.is_production:
            print(f"authstack-api: file storage (S3) is not usable: {exc}", file=sys.stderr)
            raise SystemExit(BAD_ENVIRONMENT) from None
        structlog.get_logger("authstack_api").warning(
            "file storage (S3) is not usable; uploads will fail until it is", reason=str(exc)
        )
    finally:
        store.close()


def main() -> int:
    settings = start(Settings, "api")
    check_storage(settings)
    if settings.trusted_proxy:
        structlog.get_logger("authstack_api").warning(
            "STACK_TRUSTED_PROXY=true is deprecated: it trusts X-Forwarded-For from loopback and"
            " every private network; name your proxies in STACK_TRUSTED_PROXY_NETWORKS instead",
            trusted=list(DEPRECATED_TRUSTED_NETWORKS),
        )
    serve(
        create_asgi(settings),
        host=settings.api_host,
        port=settings.api_port,
        # The edge middleware reads X-Forwarded-* itself, from STACK_TRUSTED_PROXY_NETWORKS only;
        # uvicorn's own handling would trust 127.0.0.1 (or FORWARDED_ALLOW_IPS) besides.
        proxy_headers=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
