# authstack — a self-hostable auth platform speaking Stack Auth's REST API.
# The README's two commands: `make dev` (run everything locally) and `make test` (all tests).
SHELL := /bin/bash
UV ?= uv

.PHONY: help install dev migrate api dashboard test test-py test-sdk lint format bench

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: ## Install Python (uv) and Node (npm ci) dependencies
	$(UV) sync --locked
	cd tests/e2e/sdk && npm ci --no-audit --no-fund

dev: ## Run migrator + API + dashboard locally (embedded PostgreSQL when none is configured)
	$(UV) run python scripts/dev.py

migrate: ## Apply migrations and the seed to STACK_DATABASE_CONNECTION_STRING
	$(UV) run python -m authstack_migrator

api: ## Run only the API against STACK_DATABASE_CONNECTION_STRING
	$(UV) run python -m authstack_api

dashboard: ## Run only the dashboard against the API at STACK_DASHBOARD_API_URL
	$(UV) run python -m authstack_dashboard

test: install lint ## Lint, then every test: Python integration tests and the official SDK scenarios
	CI=$${CI:-} $(UV) run pytest

lint: ## ruff, ruff format --check, mypy strict, and the service-independence contract
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy
	$(UV) run lint-imports

format: ## Apply ruff's fixes and formatting
	$(UV) run ruff check --fix .
	$(UV) run ruff format .

bench: ## Benchmarks (wrk on loopback); prints figures, asserts nothing
	$(UV) run python bench/run.py
