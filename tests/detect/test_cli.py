"""`honorbound scan` / `honorbound redact` end to end, as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.detect.conftest import Fakes, speak


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "honorbound", *args],
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )


def said(err: bytes) -> str:
    """stderr with rich's line wrapping undone."""
    return " ".join(err.decode().split())


def lines(out: bytes) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.decode().splitlines()]


def test_scan_file_with_workers_keeps_order(tmp_path: Path, fakes: Fakes) -> None:
    cards = [fakes.card() for _ in range(3)]
    records = []
    for i in range(600):
        card = cards[i % 3]
        text = f"row {i}: card {card}" if i % 2 else f"row {i}: card {speak(card)}"
        records.append({"id": i, "text": text})
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = run("scan", str(source), "--workers", "2")
    assert result.returncode == 0, result.stderr.decode()
    out = lines(result.stdout)
    assert [r["id"] for r in out] == list(range(600))
    for record, original in zip(out, records, strict=True):
        findings = record["findings"]
        assert isinstance(findings, list) and [f["type"] for f in findings] == ["CREDIT_CARD"]
        text = str(original["text"])
        assert text[findings[0]["start"] :].startswith(text.split("card ")[1][:4])
        assert set(findings[0]) == {"type", "start", "end", "score"}


def test_redact_from_stdin_with_each_operator(tmp_path: Path, fakes: Fakes) -> None:
    card = fakes.card()
    data = (json.dumps({"id": "a", "text": f"card {card}"}) + "\n").encode()
    replaced = lines(run("redact", "-", stdin=data).stdout)
    assert replaced == [
        {
            "id": "a",
            "text": "card <CREDIT_CARD>",
            "findings": [{"type": "CREDIT_CARD", "start": 5, "end": 21, "score": 0.95}],
        }
    ]
    masked = lines(run("redact", "--operator", "mask", stdin=data).stdout)
    assert masked[0]["text"] == f"card {'*' * 12}{card[-4:]}"
    key = tmp_path / "key"
    key.write_text("ab" * 32)
    token = lines(
        run("redact", "--operator", "pseudonym", "--key-file", str(key), stdin=data).stdout
    )
    again = lines(
        run("redact", "--operator", "pseudonym", "--key-file", str(key), stdin=data).stdout
    )
    assert token == again and str(token[0]["text"]).startswith("card <CREDIT_CARD_")
    missing = run("redact", "--operator", "encrypt", stdin=data)
    assert missing.returncode != 0 and "--key-file" in said(missing.stderr)


def test_bad_lines_are_reported_by_number_and_skipped_or_fatal(fakes: Fakes) -> None:
    card = fakes.card()
    good = json.dumps({"id": 1, "text": f"card {card}"}).encode()
    data = b"\n".join(
        [
            good,
            b'{"id": 2, "text": "unterminated',
            b'{"id": 3, "text": "caf\xe9 \xff"}',
            b'{"id": 4}',
            b"[1, 2]",
            json.dumps({"id": 6, "text": "fine"}).encode(),
        ]
    )
    skipped = run("scan", "--on-error", "skip", stdin=data)
    assert skipped.returncode == 0
    assert [r["id"] for r in lines(skipped.stdout)] == [1, 6]
    err = said(skipped.stderr)
    for number in (2, 3, 4, 5):
        assert f"line {number}:" in err
    assert "UTF-8" in err and "JSON" in err and "'text'" in err
    assert card not in err and "unterminated" not in err
    failed = run("scan", stdin=data)
    assert failed.returncode == 1
    assert [r["id"] for r in lines(failed.stdout)] == [1]
    assert "line 2:" in said(failed.stderr) and "line 3" not in said(failed.stderr)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = run("scan", str(tmp_path / "nope.jsonl"))
    assert result.returncode == 2 and "no such file" in said(result.stderr)


def test_dev_stdin_dev_null_and_a_pipe_path_are_read() -> None:
    data = b'{"id": 1, "text": "call me at 212 555 0147"}\n'
    for source in ("/dev/stdin", "-"):
        result = run("scan", source, stdin=data)
        assert result.returncode == 0, said(result.stderr)
        assert [f["type"] for f in lines(result.stdout)[0]["findings"]] == ["PHONE_NUMBER"]
    empty = run("scan", "/dev/null")
    assert empty.returncode == 0 and empty.stdout == b""
    # Process substitution hands the program a /dev/fd path to a pipe.
    read, write = os.pipe()
    os.write(write, data)
    os.close(write)
    try:
        piped = subprocess.run(
            [sys.executable, "-m", "honorbound", "scan", f"/dev/fd/{read}"],
            pass_fds=(read,),
            capture_output=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(read)
    assert piped.returncode == 0, said(piped.stderr)
    assert len(lines(piped.stdout)) == 1


def test_a_directory_is_a_clear_error(tmp_path: Path) -> None:
    result = run("scan", str(tmp_path))
    assert result.returncode == 2 and "directory" in said(result.stderr)


def test_entities_limit_what_is_reported_and_redacted(fakes: Fakes) -> None:
    card, email = fakes.card(), fakes.email()
    data = (json.dumps({"id": 1, "text": f"card {card} mail {email}"}) + "\n").encode()
    only = lines(run("redact", "--entities", "EMAIL_ADDRESS", stdin=data).stdout)[0]
    assert only["text"] == f"card {card} mail <EMAIL_ADDRESS>"
    assert [f["type"] for f in only["findings"]] == ["EMAIL_ADDRESS"]
    scanned = lines(run("scan", "--entities", "CREDIT_CARD", stdin=data).stdout)[0]
    assert [f["type"] for f in scanned["findings"]] == ["CREDIT_CARD"]
    both = lines(run("redact", "--entities", "CREDIT_CARD, EMAIL_ADDRESS", stdin=data).stdout)
    assert both[0]["text"] == "card <CREDIT_CARD> mail <EMAIL_ADDRESS>"
    unknown = run("redact", "--entities", "CREDIT_CARDS", stdin=data)
    assert unknown.returncode == 2 and "unknown type 'CREDIT_CARDS'" in said(unknown.stderr)
    empty = run("redact", "--entities", " , ", stdin=data)
    assert empty.returncode == 2 and "no entity type given" in said(empty.stderr)


def test_key_from_an_environment_variable(tmp_path: Path, fakes: Fakes) -> None:
    import hashlib
    import hmac
    import os

    card = fakes.card()
    data = (json.dumps({"id": 1, "text": f"card {card}"}) + "\n").encode()
    env = {**os.environ, "ORG_KEY": "cd" * 32}
    done = subprocess.run(
        [sys.executable, "-m", "honorbound", "redact", "--operator", "pseudonym", "--key-env",
         "ORG_KEY"],
        input=data, capture_output=True, timeout=120, check=False, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    digest = hmac.new(bytes.fromhex("cd" * 32), f"CREDIT_CARD\x00{card}".encode(), hashlib.sha256)
    assert lines(done.stdout)[0]["text"] == f"card <CREDIT_CARD_{digest.hexdigest()[:16]}>"
    unset = run(
        "redact", "--operator", "pseudonym", "--key-env", "HONORBOUND_NO_SUCH_VAR", stdin=data
    )
    assert unset.returncode == 2 and "HONORBOUND_NO_SUCH_VAR is not set" in said(unset.stderr)
    key = tmp_path / "k"
    key.write_text("ab" * 32)
    twice = run(
        "redact", "--operator", "pseudonym", "--key-env", "X", "--key-file", str(key), stdin=data
    )
    assert twice.returncode == 2 and "not both" in said(twice.stderr)
