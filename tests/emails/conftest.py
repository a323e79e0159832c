"""Email tests use the real sink, worker and Redis fixtures of ``tests.mail``."""

from tests.mail import (  # noqa: F401 (fixtures)
    fresh_database,
    mail_sink,
    mail_worker,
    make_sink,
    private_redis,
    session_redis,
    tls_files,
)
