"""Routes of the admin team: owners invite, list and change admins; an invitee accepts."""
from __future__ import annotations

from typing import Any

from chalicelib.accounts import team_fields as fields
from chalicelib.accounts.auth import Principal
from chalicelib.api.routing import BY_CALLER, OWNER, Body, Routes

routes = Routes(__name__, "Admin team", "Admins and their roles (owners).")


@routes.get("/api/v1/billing/admin/admins", auth=OWNER, response=("AdminList", "Every admin."))
def list_admins(caller: Principal) -> dict[str, Any]:
    """The admins

    Each with their role, whether they are disabled, and an invitation not yet accepted.
    """
    from chalicelib.accounts import admin_team

    return admin_team.list_admins()


@routes.post("/api/v1/billing/admin/admins", auth=OWNER, status=201, idempotent=BY_CALLER,
             body=Body("AdminInvitationRequest", fields.INVITE, "Who, and their role."),
             response=("Admin", "Invited: the admin, without a password yet."),
             errors={409: "`email_taken`: someone signs in with this email.",
                     422: "`validation_failed`: an email, name or role that is not valid."})
def invite_admin(caller: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """Invite an admin

    Emails them a link to choose their password, which works once, for 48 hours.
    """
    from chalicelib.accounts import admin_team

    return admin_team.invite(caller, body)


@routes.patch("/api/v1/billing/admin/admins/{admin_id}", auth=OWNER, idempotent=BY_CALLER,
              body=Body("AdminChangeRequest", fields.CHANGE, "What changes."),
              response=("Admin", "Changed."),
              errors={404: "`admin_not_found`.",
                      409: "`last_owner`: this would leave no active owner.",
                      422: "`validation_failed`: no change, or a role that is not valid."})
def change_admin(caller: Principal, admin_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Change an admin's role, or disable them

    A disabled admin cannot sign in and their sessions end (their next request is 401
    `admin_disabled`, within 30 seconds in every container). The last active owner cannot be
    demoted or disabled.
    """
    from chalicelib.accounts import admin_team

    return admin_team.change(caller, admin_id, body)


@routes.post("/api/v1/auth/invitations/accept",
             body=Body("InvitationAcceptRequest", fields.ACCEPT, "The link's token and a password."),
             response=("Token", "Accepted: signed in."),
             errors={422: "`invalid_invitation` (used, expired or mistyped), `validation_failed` "
                          "(the password)."})
def accept_invitation(body: dict[str, Any]) -> dict[str, Any]:
    """Accept an admin invitation

    Sets the invited admin's password (once, within 48 hours) and signs them in.
    """
    from chalicelib.accounts import admin_team

    return admin_team.accept(body)
