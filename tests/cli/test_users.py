"""`aggregator users`: accounts from the command line, with clear errors (exit 2)."""

from __future__ import annotations

import json
import sqlite3
import subprocess

import pytest

from aggregator.cli.main import main
from tests.support.commands import aggregator_cmd, aggregator_env


@pytest.fixture
def storage(tmp_path):
    return tmp_path / "store"


def password_file(tmp_path, text: str):
    path = tmp_path / f"pw{abs(hash(text))}"
    path.write_text(text)
    return str(path)


def run_users(storage, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        aggregator_cmd("users", *args, "--storage", str(storage)),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=aggregator_env(),
    )


def test_add_list_passwd_remove(tmp_path, storage, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./feeds.yaml here
    assert main(["users", "add", "alice", "--storage", str(storage),
                 "--password-file", password_file(tmp_path, "s3cret\n")]) == 0  # fmt: skip
    assert "user alice added" in capsys.readouterr().out
    assert main(["users", "list", "--json", "--storage", str(storage)]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["name"] == "alice" and listed["fever"] is False
    new = password_file(tmp_path, "n3w")
    assert main(["users", "passwd", "alice", "--fever", "--password-file", new,
                 "--storage", str(storage)]) == 0  # fmt: skip
    assert main(["users", "list", "--storage", str(storage)]) == 0
    assert "fever" in capsys.readouterr().out
    assert main(["users", "remove", "alice", "--storage", str(storage)]) == 0
    assert main(["users", "list", "--storage", str(storage)]) == 0
    assert "no users yet" in capsys.readouterr().out
    with sqlite3.connect(storage / "aggregator.sqlite3") as db:
        hashes = db.execute("SELECT count(*) FROM users").fetchone()[0]
    assert hashes == 0


def test_errors_exit_2_with_a_clear_message(tmp_path, storage, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    good = password_file(tmp_path, "pw")
    base = ["--storage", str(storage)]
    assert main(["users", "add", "alice", "--password-file", good, *base]) == 0
    capsys.readouterr()
    cases = {
        ("add", "alice", "--password-file", good): "exists already",
        ("add", "bob", "--password-file", password_file(tmp_path, "\n")): "password is empty",
        ("add", "bob", "--password-file", str(tmp_path / "missing")): "cannot read the password",
        ("passwd", "carol", "--password-file", good): "no user 'carol'",
        ("remove", "carol"): "no user 'carol'",
    }
    for argv, message in cases.items():
        assert main(["users", *argv, *base]) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.startswith("aggregator users: error:"), (argv, err)


def test_prompt_asks_twice_and_never_echoes(tmp_path, storage, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    answers = iter(["hunter2", "hunter3"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert main(["users", "add", "alice", "--storage", str(storage)]) == 2
    assert "differ" in capsys.readouterr().err
    answers = iter(["hunter2", "hunter2"])
    assert main(["users", "add", "alice", "--storage", str(storage)]) == 0
    out = capsys.readouterr()
    assert "hunter2" not in out.out + out.err


def test_the_real_command_reads_the_password_from_stdin(storage):
    done = run_users(storage, "add", "alice", "--password-file", "-", stdin="pw from stdin\n")
    assert done.returncode == 0, done.stderr
    assert "pw from stdin" not in done.stdout + done.stderr
    listed = run_users(storage, "list")
    assert listed.returncode == 0 and listed.stdout.startswith("alice\t")
    assert run_users(storage, "remove", "nobody").returncode == 2
