"""Operator commands against a stage's tables: `python manage.py create-admin EMAIL`, `seed`,
`run-jobs`, `verify`, `example-statement`.

Uses the stage's settings from .chalice/config.json and the usual AWS credentials; with
DYNAMODB_ENDPOINT_URL it talks to that endpoint instead (e.g. the one `make dev` prints).
"""
from __future__ import annotations

import argparse
import getpass
import os
import sys
from datetime import datetime, timezone

from chalice.cli.factory import CLIFactory

PROJECT_DIR = os.path.dirname(os.path.abspath(__file__))


def _use_stage(stage: str) -> None:
    config = CLIFactory(PROJECT_DIR).create_config_obj(chalice_stage_name=stage)
    for name, value in config.environment_variables.items():
        if name == "JWT_SECRET_PARAMETER" and (os.environ.get("JWT_SECRET")
                                               or os.environ.get("DYNAMODB_ENDPOINT_URL")):
            continue  # a local store (make dev's), or a token secret given here: not the stage's
        os.environ.setdefault(name, value)
    from chalicelib.core.config import reset_settings
    from chalicelib.storage import store

    reset_settings()
    store.init()


def _moment(text: str) -> datetime:
    """An ISO 8601 time: one with an offset is that moment, one without is UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time such as 2030-01-10T03:00 or 2030-01-10T08:00+05:00")
    return moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="manage.py", description=__doc__)
    parser.add_argument("--stage", default="dev", help="stage in .chalice/config.json (default dev)")
    commands = parser.add_subparsers(dest="command", required=True)
    admin = commands.add_parser("create-admin", help="create an admin user (or keep the one there)")
    admin.add_argument("email")
    admin.add_argument("--name", default="Administrator")
    commands.add_parser("create-tables", help="create missing tables (local endpoints only)")
    commands.add_parser("seed", help="add missing plans and payment methods")
    jobs = commands.add_parser("run-jobs", help="renewals, dunning and trials due, reminders, voids "
                                                "of unpaid invoices, alerts of overdue reviews "
                                                "(what the schedule runs)")
    jobs.add_argument("--at", type=_moment, help="run as of this ISO 8601 time, UTC unless it has "
                                                 "an offset (default now)")
    commands.add_parser("migrate", help="bring items written before the subscription lifecycle up "
                        "to date (sharded index keys, credit buckets, anchors); idempotent")
    commands.add_parser("verify", help="check the data's integrity (scans every table); "
                        "exit 1 if any check fails")
    example = commands.add_parser("example-statement", help="write a CSV bank statement that pays "
                                  "the store's open invoices the ways payers write transfers")
    example.add_argument("--out", default="-", help="the file to write (default: standard output)")
    args = parser.parse_args(argv)
    _use_stage(args.stage)

    from chalicelib.accounts.admins import create_admin
    from chalicelib.catalog.reference_data import seed
    from chalicelib.core.errors import AppError
    from chalicelib.storage import models
    from ops import integrity

    try:
        if args.command == "create-admin":
            password = os.environ.get("ADMIN_PASSWORD") or getpass.getpass("Admin password: ")
            print(f"{args.email}: {create_admin(args.email, password, args.name)}")
        elif args.command == "run-jobs":
            from chalicelib.billing import jobs

            report = jobs.run(args.at)
            steps = [(name.replace("_", " "), ids) for name, ids in sorted(report.steps.items())
                     if name not in ("rescheduled", "paused", "untracked")]
            for name, ids in (*steps, ("reminded", report.reminded), ("voided", report.voided),
                              ("overdue alerts", report.overdue_alerts)):
                print(f"{name}: {len(ids)}" + (f" ({', '.join(ids)})" if ids else ""))
            if not report.finished:
                print("stopped at the time limit: the next run continues")
        elif args.command == "create-tables":
            print("created:", ", ".join(models.create_missing_tables()) or "nothing")
        elif args.command == "migrate":
            from ops import migrate

            print("\n".join(migrate.migrate().lines()))
        elif args.command == "example-statement":
            from ops import example_statement

            text = example_statement.statement_csv()
            if args.out == "-":
                sys.stdout.write(text)
            else:
                with open(args.out, "w", encoding="utf-8") as out:
                    out.write(text)
                print(f"wrote {args.out}: {text.count(chr(10)) - 1} lines", file=sys.stderr)
        elif args.command == "verify":
            checked = integrity.verify()
            print("\n".join(checked.lines()))
            return 0 if checked.ok else 1
        else:
            report = seed()
            print(f"seeded: {report.created} created, {report.kept} kept")
    except AppError as error:
        print(f"error: {error.message} {error.details or ''}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
