"""The request fields of the admin-team routes (accounts.admin_team, loaded on first use)."""
from __future__ import annotations

from chalicelib.accounts.admin_roles import ADMIN_ROLES
from chalicelib.accounts.signup import REGISTER
from chalicelib.core.validation import Bool, Text

_ROLE = Text(required=True, max_len=10, check=lambda v: v if v in ADMIN_ROLES else None,
             check_message="must be owner, approver or viewer", schema={"enum": list(ADMIN_ROLES)},
             doc="owner (everything), approver (decide payments, apply statement lines), viewer "
                 "(read only).")
INVITE = {"email": REGISTER["email"], "name": REGISTER["name"], "admin_role": _ROLE}
CHANGE = {"admin_role": Text(max_len=10, check=_ROLE.check, check_message=_ROLE.check_message,
                             schema={"enum": list(ADMIN_ROLES)}, doc="The new role."),
          "disabled": Bool(doc="True: the admin can no longer sign in; their sessions end. False: "
                              "enabled again.")}
ACCEPT = {"token": Text(required=True, max_len=512, doc="The token of the invitation's link."),
          "password": REGISTER["password"]}
