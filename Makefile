# authstack — a self-hostable auth platform speaking Stack Auth's REST API.
# The README's two commands: `make dev` (run everything locally) and `make test` (all tests).
SHELL := /bin/bash
UV ?= uv

.PHONY: help install dev migrate api dashboard worker mail test test-py test-sdk lint format bench manifests

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: ## Install Python (uv) and Node (npm ci: SDK tests, KEDA schema check, OpenID provider) dependencies
	$(UV) sync --locked
	cd tests/e2e/sdk && npm ci --no-audit --no-fund
	cd tests/deploy/crd && npm ci --no-audit --no-fund
	cd tests/oauth/provider && npm ci --no-audit --no-fund

dev: ## Run migrator, API, dashboard, worker and a mail sink locally (embedded services if needed)
	$(UV) run python scripts/dev.py

migrate: ## Apply migrations and the seed to STACK_DATABASE_CONNECTION_STRING
	$(UV) run python -m authstack_migrator

api: ## Run only the API against STACK_DATABASE_CONNECTION_STRING
	$(UV) run python -m authstack_api

dashboard: ## Run only the dashboard against the API at STACK_DASHBOARD_API_URL
	$(UV) run python -m authstack_dashboard

worker: ## Run one worker (email and webhook delivery) against STACK_DATABASE_CONNECTION_STRING and STACK_REDIS_URL
	$(UV) run python -m authstack_worker

mail: ## Print the last messages the `make dev` mail sink received (inbox page: http://127.0.0.1:8125/)
	$(UV) run python scripts/show_mail.py

test: install lint ## Lint, then every test: Python integration tests and the official SDK scenarios
	CI=$${CI:-} $(UV) run pytest

lint: ## ruff, ruff format --check, mypy strict, and the service-independence contract
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy
	$(UV) run lint-imports

manifests: ## Render k8s/base and the kustomize components from the Helm chart k8s/chart/authstack
	$(UV) run python scripts/render_k8s.py

format: ## Apply ruff's fixes and formatting
	$(UV) run ruff check --fix .
	$(UV) run ruff format .

bench: ## Benchmarks (wrk on loopback); prints figures, asserts nothing (BENCH_ARGS="--only ratelimit|hot" or "--baseline REV": one part)
	$(UV) run python bench/run.py $(BENCH_ARGS)
	$(UV) run python bench/calls.py --baseline HEAD~1
	$(UV) run python bench/dashboard_bench.py
	$(UV) run python bench/email_bench.py
	$(UV) run python bench/webhook_bench.py
	$(UV) run python bench/analytics_bench.py
	$(UV) run python bench/sync_bench.py
	$(UV) run python bench/storage_bench.py
	$(UV) run python bench/metrics_bench.py
	$(UV) run python bench/sdk_verify_bench.py
	$(UV) run python bench/invalidation_bench.py
	$(UV) run python bench/scale_bench.py
	$(UV) run python bench/memory_bench.py
