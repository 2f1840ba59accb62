"""Admin users: the first created by an operator (manage.py create-admin, make dev), an owner;
the others invited by an owner (`admin_team`)."""
from __future__ import annotations

from chalicelib.accounts.auth import hash_password
from chalicelib.accounts.signup import ADMIN_PLAN, REGISTER
from chalicelib.core.clock import new_id, stamp
from chalicelib.core.errors import Conflict
from chalicelib.core.validation import validate
from chalicelib.storage import store
from chalicelib.storage.audit import add_audit
from chalicelib.storage.models.accounts import AccountModel, UserModel, name_attributes
from chalicelib.storage.models.records import CounterModel
from chalicelib.storage.store import TransactionCancelled, Tx

STAFF, OWNER = "admin", "owner"


def create_admin(email_address: str, password: str, name: str = "Administrator") -> str:
    """Create an admin user with an internal account, or keep the one there; 'created' or 'kept'."""
    data = validate({"email": email_address, "password": password, "name": name},
                    {"email": REGISTER["email"], "password": REGISTER["password"], "name": REGISTER["name"]})
    existing = store.get(UserModel, data["email"], consistent=True)
    if existing is not None:
        if existing.role != "admin":
            raise Conflict(f"{data['email']} is a regular user; choose another admin email.",
                           code="email_taken")
        if existing.staff is None:  # made before roles: an owner, now in the admins index
            with store.guard():
                existing.update(actions=[UserModel.staff.set(STAFF),
                                         UserModel.admin_role.set(existing.admin_role or OWNER)])
        return "kept"
    at = stamp()
    user = UserModel(data["email"], user_id=new_id("usr"), account_id=new_id("acc"), name=data["name"],
                     password_hash=hash_password(data["password"]), role="admin", created_at=at,
                     staff=STAFF, admin_role=OWNER)
    account = AccountModel(user.account_id, name="Administrators", status="active", credits=0,
                           plan=ADMIN_PLAN, owner_user_id=user.user_id, created_at=at, updated_at=at,
                           **name_attributes(user.account_id, "Administrators"))
    tx = Tx()
    tx.put("user", user, UserModel.email.does_not_exist())
    tx.put("account", account, AccountModel.account_id.does_not_exist())
    add_audit(tx, entity_type="account", entity_id=account.account_id, action="created",
              from_status=None, to_status="active", actor="system", at=at)
    tx.update("counter", CounterModel(store.shard_key()), [CounterModel.accounts_active.add(1)])
    try:
        tx.commit()
    except TransactionCancelled as exc:
        if "user" in exc.failed:
            return "kept"
        raise
    return "created"
