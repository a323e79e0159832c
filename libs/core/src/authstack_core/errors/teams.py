"""Errors about teams and their permissions."""

# Class names are upstream's KnownErrors names (the ones the SDK uses), not Python's *Error style.
# ruff: noqa: N818

from __future__ import annotations

from authstack_core.errors.base import KnownError, PlainError


# --- teams and permissions ------------------------------------------------------------------------
class TeamNotFound(KnownError, code="TEAM_NOT_FOUND", status=404, message="Team not found."):
    team_id: str


class TeamMembershipNotFound(
    KnownError,
    code="TEAM_MEMBERSHIP_NOT_FOUND",
    status=404,
    message="The user is not a member of this team.",
):
    team_id: str
    user_id: str


class TeamMembershipAlreadyExists(
    KnownError,
    code="TEAM_MEMBERSHIP_ALREADY_EXISTS",
    status=409,
    message="The user is already a member of this team.",
):
    pass


class TeamPermissionRequired(
    KnownError,
    code="TEAM_PERMISSION_REQUIRED",
    status=401,
    message="The user lacks the team permission this action needs.",
):
    team_id: str
    user_id: str
    permission_id: str


class TeamPermissionNotFound(
    KnownError,
    code="TEAM_PERMISSION_NOT_FOUND",
    status=401,
    message="The user does not hold this team permission directly.",
):
    team_id: str
    user_id: str
    permission_id: str


class ProjectPermissionRequired(
    KnownError,
    code="PROJECT_PERMISSION_REQUIRED",
    status=401,
    message="The user lacks the project permission this action needs.",
):
    user_id: str
    permission_id: str


class PermissionNotFound(
    KnownError,
    code="PERMISSION_NOT_FOUND",
    status=404,
    message="No permission with this id is defined.",
):
    permission_id: str


class PermissionScopeMismatch(
    KnownError,
    code="WRONG_PERMISSION_SCOPE",
    status=404,
    message="No permission with this id is defined in this scope (it exists in the other one).",
):
    permission_id: str
    expected_scope: str
    actual_scope: str


class ContainedPermissionNotFound(
    KnownError,
    code="CONTAINED_PERMISSION_NOT_FOUND",
    status=400,
    message="A contained permission is not defined in this scope.",
):
    permission_id: str


class PermissionIdAlreadyExists(
    KnownError,
    code="PERMISSION_ID_ALREADY_EXISTS",
    status=400,
    message="A permission with this id already exists; choose another id.",
):
    permission_id: str


class TeamInvitationRestrictedUserNotAllowed(
    KnownError,
    code="TEAM_INVITATION_RESTRICTED_USER_NOT_ALLOWED",
    status=403,
    message="Restricted users cannot accept team invitations; finish onboarding first.",
):
    restricted_reason: dict[str, str] | None


# --- plain errors (text/plain) --------------------------------------------------------------------
class ClientNeedsTeamId(PlainError, status=400, message="team_id is required for client access."):
    pass


class NotOwnTeamMemberProfile(
    PlainError, status=403, message="A client can only update its own team member profile."
):
    pass


class SystemPermissionReadOnly(
    PlainError, status=400, message="System permissions cannot be changed or deleted."
):
    pass
