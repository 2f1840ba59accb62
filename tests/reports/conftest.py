"""What the reports' tests share: admins of a given role."""
from __future__ import annotations

from collections.abc import Callable

import pytest

from chalicelib.accounts.auth import hash_password
from chalicelib.core.clock import new_id, stamp
from chalicelib.storage.models.accounts import UserModel
from tests.conftest import PASSWORD, Api


@pytest.fixture
def role_token(api: Api) -> Callable[[str], str]:
    """A signed-in admin of this role (a new one each call)."""
    made: list[str] = []

    def token(role: str) -> str:
        email = f"{role}-{len(made)}@example.com"
        made.append(email)
        UserModel(email, user_id=new_id("usr"), account_id=new_id("acc"), name=role.title(),
                  password_hash=hash_password(PASSWORD), role="admin", created_at=stamp(),
                  staff="admin", admin_role=role).save()
        return api.login(email)
    return token
