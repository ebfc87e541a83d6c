"""Call-recording redaction speed: one hour of 8 kHz stereo audio with its transcript.

    .venv/bin/python bench/recordings.py              # 1 hour
    .venv/bin/python bench/recordings.py --hours 4    # the memory check: 4 hours, streamed

Target (issue 23): redaction of one hour of 8 kHz stereo with its transcript in < 10 s on one
core, excluding transcription; memory bounded for a 4-hour recording.

A one-minute call is synthesized with espeak-ng and sox (tests/recordings/synth.py: agent and
customer voices on two channels, a card number read aloud, a phone number, a keypad entry of
16 DTMF tones), then laid end to end with fresh line noise into a WAV file of the chosen
length, with a Deepgram-shaped transcript of every word. The timed part runs in a child
process pinned to one core: `honorbound.recordings.ingest.ingest` (parse the transcript, scan
it with honorbound.detect, find DTMF, write the redacted copy and transcript, hash both, store
atomically). Its peak resident memory is read from the kernel.

Then the same file and transcript go through the HTTP upload (`--no-upload` skips it): the real
`honorbound serve` on loopback with a fresh SQLite installation, one `POST
/v1/recordings/upload` sent from the file in 1 MB blocks (multipart, Content-Length given).
`upload_mb` is the whole body (audio, transcript, multipart framing); `upload_mb_s` is that
over the time from connecting to the kernel accepting the body's last byte: the client cannot
see the server's last read, so this clock stops up to one socket buffer (`upload_sndbuf_kb`,
a few MB on loopback) before the server has read everything, which overstates the rate by at
most that much over the body. `upload_total_s` is the time to the 201 (upload, redaction and
storage); the 201's manifest is checked to hold the same findings, spans and keypad tones as
the direct ingest's, so the figure is of the same redaction. `server_cpu_s` is the server's
CPU seconds (user+system, /proc) for the request, which a loaded machine does not inflate the
way it does wall time; `server_peak_rss_mb` is the server's highest VmRSS sampled every 50 ms
during the request.
The server is not pinned to one core. Figures print last as key=value pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))


def build(hours: float, work: Path) -> tuple[Path, Path, int, int]:
    import numpy as np
    import soundfile as sf
    from tests.recordings import synth

    b = synth.Builder(seed=1)
    b.say(0, "thank you for calling how can I help you today")
    b.say(1, "I would like to pay my bill")
    b.say(0, "please read me the card number")
    b.say(1, "it is")
    b.digits(1, "4111111111111111", "card")
    b.say(0, "and a phone number to reach you")
    b.digits(1, "2125550147", "phone")
    b.say(0, "please key your card number now")
    b.keypad("4111111111111111")
    while b.pos < 60 * synth.SR:
        b.say(0 if len(b.call.words) % 2 else 1, "we are reviewing your account one moment please")
    segment = b.build()
    seg = segment.samples[: 60 * synth.SR]
    minutes = int(round(hours * 60))
    rng = np.random.default_rng(2)
    wav = work / "call.wav"
    words: list[list[dict[str, float | str]]] = [[], []]
    with sf.SoundFile(str(wav), "w", synth.SR, 2, subtype="PCM_16") as fh:
        for m in range(minutes):
            fh.write(np.clip(seg + rng.normal(0, 0.002, seg.shape), -1, 1))
            for w in segment.words:
                if w.end <= 60:
                    words[w.channel].append(
                        {"word": w.text, "start": w.start + 60 * m, "end": w.end + 60 * m}
                    )
    doc = {
        "metadata": {"duration": minutes * 60.0, "channels": 2},
        "results": {"channels": [{"alternatives": [{"words": ws}]} for ws in words]},
    }
    transcript = work / "call.json"
    transcript.write_text(json.dumps(doc))
    return wav, transcript, minutes, len(words[0]) + len(words[1])


def child(wav: str, transcript: str, store: str) -> None:
    with __import__("contextlib").suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    from honorbound.recordings.ingest import ingest
    from honorbound.recordings.store import RecordingStore

    data = Path(transcript).read_bytes()
    t0 = time.perf_counter()
    done = ingest(RecordingStore(Path(store)), Path(wav), data)
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "manifest": done.manifest}))


def upload(wav: Path, transcript: Path, work: Path, expect: dict[str, Any]) -> dict[str, float]:
    """One upload through the real server; see the module docstring."""
    import secrets
    import socket
    import threading

    from honorbound.accounts.roles import Role
    from honorbound.accounts.service import create_organization, issue_api_key
    from honorbound.audit import Actor
    from honorbound.config import Settings
    from honorbound.db import migrate
    from honorbound.runtime import build_runtime

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    data_dir = work / "server"
    url, master = f"sqlite:///{work / 'server.db'}", secrets.token_hex(32)
    migrate.upgrade(url)
    rt = build_runtime(
        Settings(data_dir=data_dir, database_url=url, master_key=master, port=port),
        immediate_jobs=True,
        transports=False,
    )
    actor = Actor("bench", "system")
    with rt.db.session() as session:
        org = create_organization(session, "bench", "Bench", actor).id
        key = issue_api_key(session, org, Role.ADMIN, "bench", actor)[1]
    rt.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HONORBOUND_")}
    env.update(
        {
            "PYTHONPATH": str(ROOT / "src"),
            "HONORBOUND_DATA_DIR": str(data_dir),
            "HONORBOUND_DATABASE_URL": url,
            "HONORBOUND_MASTER_KEY": master,
            "HONORBOUND_PORT": str(port),
            "HONORBOUND_HOST": "127.0.0.1",
            "HONORBOUND_LOG_FILE": str(data_dir / "honorbound.log"),
        }
    )
    log = (work / "server.out").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "honorbound", "serve", "--no-worker"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def cpu() -> float:
        fields = Path(f"/proc/{server.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss() -> float:
        for line in Path(f"/proc/{server.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit("the server did not come up; see server.out")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                    if sock.recv(64).startswith(b"HTTP/1.1 200"):
                        break
            except OSError:
                time.sleep(0.2)
        idle = rss()
        boundary = "hbbench" + secrets.token_hex(8)

        def part(name: str, filename: str | None = None) -> bytes:
            disposition = f'form-data; name="{name}"' + (
                f'; filename="{filename}"' if filename else ""
            )
            return f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()

        head = part("call_id") + b"bench-1\r\n" + part("transcript", "t.json")
        head += transcript.read_bytes() + b"\r\n" + part("audio", "call.wav")
        tail = f"\r\n--{boundary}--\r\n".encode()
        length = len(head) + wav.stat().st_size + len(tail)
        peak = {"mb": idle}
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak["mb"] = max(peak["mb"], rss())
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        t0, cpu0 = time.perf_counter(), cpu()
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sndbuf = sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
            sock.sendall(
                (
                    "POST /v1/recordings/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    f"Authorization: Bearer {key}\r\n"
                    f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                    f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
                ).encode()
                + head
            )
            with wav.open("rb") as fh:
                while block := fh.read(1 << 20):
                    sock.sendall(block)
            sock.sendall(tail)
            sent = time.perf_counter() - t0
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        total = time.perf_counter() - t0
        done.set()
        sampler.join()
        if not answer.startswith(b"HTTP/1.1 201"):
            sys.exit(f"the upload failed: {answer[:400]!r}")
        got = json.loads(answer.split(b"\r\n\r\n", 1)[1])
        for k in ("findings", "spans_redacted", "dtmf_tones_removed", "duration_s"):
            if got.get(k) != expect.get(k):
                sys.exit(
                    f"the upload's {k} is {got.get(k)!r}, the direct ingest's {expect.get(k)!r}"
                )
        return {
            "upload_mb": length / 1e6,
            "upload_mb_s": length / 1e6 / sent,
            "upload_sndbuf_kb": sndbuf / 1024,
            "upload_total_s": total,
            "server_cpu_s": cpu() - cpu0,
            "server_idle_rss_mb": idle,
            "server_peak_rss_mb": peak["mb"],
        }
    finally:
        if server.poll() is None:
            server.send_signal(__import__("signal").SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        log.close()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--hours", type=float, default=1.0)
    p.add_argument("--upload", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        wav, transcript, minutes, n_words = build(args.hours, work)
        print(
            f"built {minutes} min of 8 kHz stereo ({wav.stat().st_size / 1e6:.0f} MB), "
            f"{n_words} words, in {time.perf_counter() - t0:.1f} s"
        )
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(wav), str(transcript), str(work / "store")],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            sys.exit(out.stderr[-2000:])
        r = json.loads(out.stdout.strip().splitlines()[-1])
        m = r["manifest"]
        audio_hours = m["duration_s"] / 3600
        print(f"findings={m['findings']} dtmf={m['dtmf_tones_removed']}")
        up = upload(wav, transcript, work, m) if args.upload else {}
        upload_line = " ".join(f"{k}={v:.1f}" for k, v in up.items())
        print(f"load_average={os.getloadavg()[0]:.2f}")
        print(
            f"audio_hours={audio_hours:.2f} words={n_words} seconds={r['seconds']:.2f} "
            f"seconds_per_audio_hour={r['seconds'] / audio_hours:.2f} "
            f"spans={m['spans_redacted']} dtmf_tones={m['dtmf_tones_removed']} "
            f"peak_rss_mb={r['peak_mb']:.0f} target_s_per_hour=10 "
            f"meets_target={r['seconds'] / audio_hours < 10} {upload_line}"
        )


if __name__ == "__main__":
    main()
