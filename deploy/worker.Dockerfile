# syntax=docker/dockerfile:1
# The worker (dramatiq on Redis: email, webhooks, external DB sync).
# Build from the repository root:
#   docker build -f deploy/worker.Dockerfile -t authstack-worker .
# Every deploy/<service>.Dockerfile follows this pattern; tests/deploy/ checks that they do and
# runs each RUN, ENTRYPOINT, CMD and HEALTHCHECK outside Docker.

# Pin by digest in your registry mirror if you need bit-for-bit rebuilds.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

# --- builder: a virtual environment holding this service, its libraries and nothing else ---------
FROM ${PYTHON_IMAGE} AS builder
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# Third-party dependencies first, from the lock file alone: this layer is rebuilt only when
# uv.lock changes.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package authstack-worker
# Then the workspace packages this service is made of, installed as wheels (no source tree left).
COPY libs/core libs/core
COPY services/worker services/worker
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package authstack-worker

# --- runtime ------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
# tini is PID 1: it forwards SIGTERM to the server and reaps zombies.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 authstack \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin authstack
COPY --from=builder /app/.venv /app/.venv
# Production mode by default: the service refuses example or weak secrets (see README, Operations).
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    STACK_ENVIRONMENT=production
WORKDIR /app
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
# dramatiq stops consuming, lets running actors finish, and leaves unacknowledged messages
# to be redelivered; the outbox rows make a cut-off job safe to run again.
STOPSIGNAL SIGTERM
# No port to probe: the orchestrator watches the process, and unfinished jobs stay in the outbox.
HEALTHCHECK NONE
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["python", "-m", "authstack_worker"]
