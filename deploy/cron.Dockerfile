# syntax=docker/dockerfile:1
# The cron runner: calls the API's maintenance endpoints every minute (the failed-emails digest
# and pruning hourly). Run exactly one.
# Build from the repository root:
#   docker build -f deploy/cron.Dockerfile -t authstack-cron .
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
    uv sync --frozen --no-dev --no-install-workspace --package authstack-cron
# Then the workspace packages this service is made of, installed as wheels (no source tree left).
COPY services/cron services/cron
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package authstack-cron

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
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
# The runner finishes the call in flight, then exits.
STOPSIGNAL SIGTERM
# No port to probe: every call it makes is logged, and the API does the work.
HEALTHCHECK NONE
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["python", "-m", "authstack_cron"]
