# syntax=docker/dockerfile:1
# The dashboard (Starlette, port 8101; talks only to the API).
# Build from the repository root:
#   docker build -f deploy/dashboard.Dockerfile -t authstack-dashboard .
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
    uv sync --frozen --no-dev --no-install-workspace --package authstack-dashboard
# Then the workspace packages this service is made of, installed as wheels (no source tree left).
COPY libs/core libs/core
COPY services/dashboard services/dashboard
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package authstack-dashboard

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
    STACK_ENVIRONMENT=production \
    STACK_DASHBOARD_HOST=0.0.0.0 \
    STACK_DASHBOARD_PORT=8101
WORKDIR /app
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
EXPOSE 8101
# uvicorn stops accepting, finishes in-flight requests, then exits.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/health' % os.environ.get('STACK_DASHBOARD_PORT', '8101'), timeout=2)"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["python", "-m", "authstack_dashboard"]
