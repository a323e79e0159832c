"""The idempotent seed (contract §9): internal project, its keys, owner team and admin user.

Safe on every deploy: rows are created when missing; the key set follows the environment, so
rotating a seed key and redeploying replaces the old one.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import structlog
from psycopg.types.json import Jsonb

from authstack_core.crypto.codes import sha256_bytes
from authstack_core.crypto.passwords import hash_password_sync
from authstack_core.models.config import NEW_PROJECT_OVERRIDE
from authstack_core.settings import Settings
from authstack_core.urls import is_localhost_url

log = structlog.get_logger(__name__)

INTERNAL_PROJECT_ID = "internal"
INTERNAL_TEAM_ID = "a23e1b7f-ab18-41fc-9ee6-7a9ca9fa543c"
INTERNAL_KEY_SET_ID = "3142e763-b230-44b5-8636-aa62f7489c26"
ADMIN_USER_ID = "33e7c043-d2d1-4187-acd3-f91b5ed64b46"
DUMMY_PROJECT_ID = "6fbbf22e-f4b2-4c6e-95a1-beab6fa41063"
# Tenancy ids are derived so that every deploy computes the same one for a project.
_TENANCY_NAMESPACE = uuid.UUID("0b6f6f8e-3c64-4f55-9a51-3d2f8d0c6a11")

INSERT_PROJECT = """
INSERT INTO projects (id, display_name, description, owner_team_id)
VALUES (%(id)s, %(display_name)s, %(description)s, %(owner_team_id)s)
ON CONFLICT (id) DO NOTHING
"""
# The seeded settings go to the environment level (where the API writes a project's settings),
# and win over what is stored there on every deploy.
UPSERT_TENANCY = """
INSERT INTO tenancies (id, project_id, branch_id, environment_config_override)
VALUES (%(id)s, %(project_id)s, 'main', %(config)s)
ON CONFLICT (project_id, branch_id) DO UPDATE
SET environment_config_override =
    tenancies.environment_config_override || EXCLUDED.environment_config_override
"""
SELECT_TENANCY = "SELECT id FROM tenancies WHERE project_id = %(project_id)s AND branch_id = 'main'"
INSERT_TEAM = """
INSERT INTO teams (tenancy_id, id, display_name) VALUES (%(tenancy_id)s, %(id)s, %(display_name)s)
ON CONFLICT DO NOTHING
"""
UPSERT_KEY_SET = """
INSERT INTO api_key_sets (project_id, id, description, expires_at,
    publishable_client_key_hash, publishable_client_key_last4,
    secret_server_key_hash, secret_server_key_last4,
    super_secret_admin_key_hash, super_secret_admin_key_last4)
VALUES (%(project_id)s, %(id)s, 'Seeded keys', '2099-12-31T23:59:59Z',
    %(pck)s, %(pck4)s, %(ssk)s, %(ssk4)s, %(sak)s, %(sak4)s)
ON CONFLICT (project_id, id) DO UPDATE SET
    publishable_client_key_hash = EXCLUDED.publishable_client_key_hash,
    publishable_client_key_last4 = EXCLUDED.publishable_client_key_last4,
    secret_server_key_hash = EXCLUDED.secret_server_key_hash,
    secret_server_key_last4 = EXCLUDED.secret_server_key_last4,
    super_secret_admin_key_hash = EXCLUDED.super_secret_admin_key_hash,
    super_secret_admin_key_last4 = EXCLUDED.super_secret_admin_key_last4,
    manually_revoked_at = NULL
"""
INSERT_USER = """
INSERT INTO users (tenancy_id, id, display_name) VALUES (%(tenancy_id)s, %(id)s, %(display_name)s)
ON CONFLICT DO NOTHING
"""
INSERT_EMAIL = """
INSERT INTO contact_channels
    (tenancy_id, id, user_id, value, is_primary, is_verified, used_for_auth)
VALUES (%(tenancy_id)s, %(id)s, %(user_id)s, %(email)s, true, true, true)
ON CONFLICT DO NOTHING
"""
INSERT_PASSWORD = """
INSERT INTO password_auth_methods (tenancy_id, user_id, password_hash)
VALUES (%(tenancy_id)s, %(user_id)s, %(password_hash)s)
ON CONFLICT DO NOTHING
"""
SELECT_USER_EXISTS = "SELECT 1 FROM users WHERE tenancy_id = %(tenancy_id)s AND id = %(id)s"
INSERT_MEMBER = """
INSERT INTO team_members (tenancy_id, team_id, user_id, is_selected)
VALUES (%(tenancy_id)s, %(team_id)s, %(user_id)s, true)
ON CONFLICT DO NOTHING
"""
INSERT_PERMISSION = """
INSERT INTO team_member_permissions (tenancy_id, team_id, user_id, permission_id)
VALUES (%(tenancy_id)s, %(team_id)s, %(user_id)s, %(permission_id)s)
ON CONFLICT DO NOTHING
"""


def _key_params(prefix: str, key: str | None) -> dict[str, Any]:
    return {prefix: sha256_bytes(key) if key else None, f"{prefix}4": key[-4:] if key else None}


def _ensure_project(
    conn: psycopg.Connection[Any],
    project_id: str,
    display_name: str,
    override: dict[str, Any],
    owner_team_id: str | None,
) -> uuid.UUID:
    conn.execute(
        INSERT_PROJECT,
        {
            "id": project_id,
            "display_name": display_name,
            "description": "",
            "owner_team_id": owner_team_id,
        },
    )
    conn.execute(
        UPSERT_TENANCY,
        {
            "id": uuid.uuid5(_TENANCY_NAMESPACE, project_id),
            "project_id": project_id,
            "config": Jsonb(override),
        },
    )
    row = conn.execute(SELECT_TENANCY, {"project_id": project_id}).fetchone()
    assert row is not None  # just inserted or already there
    tenancy_id: uuid.UUID = row[0]
    return tenancy_id


def internal_project_override(settings: Settings) -> dict[str, Any]:
    override: dict[str, Any] = {
        **NEW_PROJECT_OVERRIDE,
        "auth.password.allowSignIn": True,
        "auth.allowSignUp": settings.seed_sign_up_enabled,
        "auth.otp.allowSignIn": settings.seed_otp_enabled,
        "domains.allowLocalhost": settings.seed_allow_localhost,
        "teams.createPersonalTeamOnSignUp": True,
        "teams.allowClientTeamCreation": True,
        "onboarding.requireEmailVerification": False,
    }
    for provider in filter(None, (p.strip() for p in settings.seed_oauth_providers.split(","))):
        override[f"auth.oauth.providers.{provider}"] = {
            "type": provider,
            "isShared": True,
            "allowSignIn": True,
            "allowConnectedAccounts": True,
        }
    if not is_localhost_url(settings.dashboard_url):
        override["domains.trustedDomains.dashboard"] = {
            "baseUrl": settings.dashboard_url,
            "handlerPath": "/handler",
        }
    return override


def seed(settings: Settings) -> None:
    """Create or update the seeded rows in one transaction."""
    with psycopg.connect(settings.database_url) as conn, conn.transaction():
        tenancy_id = _ensure_project(
            conn,
            INTERNAL_PROJECT_ID,
            "Stack Dashboard",
            internal_project_override(settings),
            INTERNAL_TEAM_ID,
        )
        conn.execute(
            INSERT_TEAM,
            {"tenancy_id": tenancy_id, "id": INTERNAL_TEAM_ID, "display_name": "Internal Team"},
        )
        keys = (
            settings.seed_publishable_client_key,
            settings.seed_secret_server_key,
            settings.seed_super_secret_admin_key,
        )
        if any(keys):
            conn.execute(
                UPSERT_KEY_SET,
                {
                    "project_id": INTERNAL_PROJECT_ID,
                    "id": INTERNAL_KEY_SET_ID,
                    **_key_params("pck", keys[0]),
                    **_key_params("ssk", keys[1]),
                    **_key_params("sak", keys[2]),
                },
            )
        else:
            log.warning("no STACK_SEED_INTERNAL_PROJECT_* keys set; internal project has no keys")
        if settings.seed_user_email and settings.seed_user_password:
            _ensure_admin_user(conn, settings, tenancy_id)
        if settings.seed_enable_dummy_project:
            _ensure_project(
                conn, DUMMY_PROJECT_ID, "Dummy Project", NEW_PROJECT_OVERRIDE, INTERNAL_TEAM_ID
            )
    log.info("seed applied", internal_keys=any(keys), admin_user=bool(settings.seed_user_email))


def _ensure_admin_user(
    conn: psycopg.Connection[Any], settings: Settings, tenancy_id: uuid.UUID
) -> None:
    assert settings.seed_user_email
    assert settings.seed_user_password
    exists = conn.execute(SELECT_USER_EXISTS, {"tenancy_id": tenancy_id, "id": ADMIN_USER_ID})
    if exists.fetchone() is None:
        conn.execute(
            INSERT_USER, {"tenancy_id": tenancy_id, "id": ADMIN_USER_ID, "display_name": None}
        )
        conn.execute(
            INSERT_EMAIL,
            {
                "tenancy_id": tenancy_id,
                "id": uuid.uuid4(),
                "user_id": ADMIN_USER_ID,
                "email": settings.seed_user_email.lower(),
            },
        )
        conn.execute(
            INSERT_PASSWORD,
            {
                "tenancy_id": tenancy_id,
                "user_id": ADMIN_USER_ID,
                "password_hash": hash_password_sync(settings.seed_user_password),
            },
        )
    if settings.seed_user_internal_access:
        member = {"tenancy_id": tenancy_id, "team_id": INTERNAL_TEAM_ID, "user_id": ADMIN_USER_ID}
        conn.execute(INSERT_MEMBER, member)
        conn.execute(INSERT_PERMISSION, {**member, "permission_id": "team_admin"})
