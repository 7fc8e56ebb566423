"""`aggregator users ACTION`: readers' accounts, for the web page and the apps they read in.

`add NAME` and `passwd NAME` read the password from `--password-file FILE` (its first line;
`-` for stdin) or ask for it twice on the terminal. The store keeps an argon2 hash, never the
password; a new password logs every app of the account out. `--fever` also keeps the key the
Fever API needs (md5 of "name:password", by that protocol's design), so only accounts whose
apps speak nothing else should have one.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from aggregator.cli import options
from aggregator.cli.common import load_optional_config, reader_store, storage_dir, writer_store
from aggregator.errors import AccountError
from aggregator.store.sqlite import SqliteStore
from aggregator.types import iso_utc

if TYPE_CHECKING:
    from aggregator.cli.options import Commands, Subparsers


def read_password(args: argparse.Namespace) -> str:
    """The new password: the file's first line, or typed twice at a prompt."""
    if args.password_file:
        try:
            if args.password_file == "-":
                text = sys.stdin.readline()
            else:
                text = Path(args.password_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise AccountError(f"cannot read the password file: {exc}") from exc
        password = text.splitlines()[0] if text.splitlines() else ""
    else:
        try:
            password = getpass.getpass(f"Password for {args.name}: ")
            again = getpass.getpass("Again: ")
        except EOFError as exc:
            raise AccountError("no password given (use --password-file FILE)") from exc
        if password != again:
            raise AccountError("the two passwords differ")
    if not password:
        raise AccountError("the password is empty")
    return password


def cmd_add(args: argparse.Namespace) -> int:
    password = read_password(args)
    # the first account may come before the first run: the store is created here
    config = load_optional_config(Path(args.config), args.config_given)
    with SqliteStore(storage_dir(args, config)) as store:
        user = store.add_user(args.name, password, fever=args.fever)
    print(f"user {user.name} added" + (" (with a Fever API key)" if user.fever else ""))
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    with writer_store(args) as store:
        if store.user(args.name) is None:  # before asking for a password
            raise AccountError(f"no user {args.name!r} (see `aggregator users list`)")
        user = store.set_password(args.name, read_password(args), fever=args.fever)
    print(f"password of {user.name} changed; its apps must log in again")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    with writer_store(args) as store:
        store.remove_user(args.name)
    print(f"user {args.name} removed, with its read and starred marks")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with reader_store(args) as store:
        users = store.users()
    if args.json:
        doc = [{"name": u.name, "created": iso_utc(u.created), "fever": u.fever} for u in users]
        print(json.dumps(doc, indent=2))
    elif not users:
        print("no users yet (add one with `aggregator users add NAME`)")
    else:
        for u in users:
            print(f"{u.name}\tsince {iso_utc(u.created)}" + ("\tfever" if u.fever else ""))
    return 0


def add_parsers(sub: Subparsers) -> None:
    """`users` with its ACTIONS (at the end of this module) and their arguments."""
    actions = options.add_group(sub, "users", HELP, DESCRIPTION, ACTIONS)
    for name, parser in actions.items():
        if name == "list":
            options.add_json(parser)
            continue
        parser.add_argument("name", help="the user's name (what they log in with)")
        if name in ("add", "passwd"):
            parser.add_argument(
                "--password-file",
                default=None,
                help="read the password from this file's first line ('-': stdin) "
                "instead of asking for it",
            )
            parser.add_argument(
                "--fever",
                action="store_true",
                help="also keep a Fever API key (md5 of name:password) for apps that only "
                "speak Fever",
            )


ACTIONS: Commands = {
    "add": (
        cmd_add,
        "add a reader's account",
        "Add an account for the web page and the reading apps (Google Reader API at "
        "/greader/, Fever at /fever/).",
    ),
    "list": (cmd_list, "list the accounts", "List the accounts, oldest name first."),
    "passwd": (
        cmd_passwd,
        "change an account's password",
        "Change an account's password; every app logged in with the old one must log in again.",
    ),
    "remove": (
        cmd_remove,
        "remove an account",
        "Remove an account with its read and starred marks and its apps' logins.",
    ),
}

HELP = "readers' accounts: add, list, passwd, remove"
DESCRIPTION = (
    "Accounts of the people who read here, with their read and starred articles. Passwords "
    "are kept as argon2 hashes."
)
