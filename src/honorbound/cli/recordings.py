"""`honorbound recordings ingest|decide`: call recordings redacted into the recording store, and
the recording-consent decision for a call (docs/recordings.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from honorbound.cli.common import fail, out, runtime, settings
from honorbound.cli.retention import Org, organization_id

app = typer.Typer(
    help="Call recordings: redacted audio and transcripts, consent to record.",
    no_args_is_help=True,
)

MAX_TRANSCRIPT_BYTES = 200 * 1024 * 1024
MAX_MARKERS_BYTES = 5 * 1024 * 1024


def _read(path: Path, limit: int, what: str) -> bytes:
    try:
        size = path.stat().st_size
        if size > limit:
            fail(f"{path}: the {what} is larger than {limit // (1024 * 1024)} MB")
        return path.read_bytes()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")


@app.command("ingest")
def ingest_command(
    audio: Annotated[Path, typer.Argument(help="The call audio: WAV, FLAC, MP3 or Opus.")],
    transcript: Annotated[
        Path | None,
        typer.Option(help="Transcript with word timings: AWS, Google, Deepgram, Whisper JSON."),
    ] = None,
    shape: Annotated[
        str | None, typer.Option(help="aws, google, deepgram, whisper or plain (default: guess).")
    ] = None,
    markers: Annotated[
        Path | None,
        typer.Option(help='Dialer pause/resume markers: JSON list of {"type", "at"}.'),
    ] = None,
    speaker_channel: Annotated[
        list[str] | None,
        typer.Option(help="SPEAKER=CHANNEL (0-based), for transcripts without channels."),
    ] = None,
    subject: Annotated[
        int | None,
        typer.Option(help="Vault subject id: whose call it is (erasing them deletes it)."),
    ] = None,
    call_id: Annotated[
        str | None,
        typer.Option(help="The dialer's reference of the call (required; no personal data)."),
    ] = None,
    caller: Annotated[
        str | None,
        typer.Option(
            help="The caller's phone number, when the person is not identified yet (only its "
            "blind index is kept; the call is matched to them later)."
        ),
    ] = None,
    offline_asr: Annotated[
        bool,
        typer.Option(
            help="No transcript: transcribe offline first (PocketSphinx, LOW ACCURACY; "
            "every run of 4 spoken digits is redacted)."
        ),
    ] = False,
    org: Org = None,
) -> None:
    """Redact one call (transcript findings, keypad tones, paused stretches) and store the
    redacted audio and transcript, through the same collection gate as the API (checks, the
    original's decision, the audit entry). Prints the stored recording's manifest as JSON."""
    from honorbound.cli.retention import CLI_ACTOR
    from honorbound.recordings import collect
    from honorbound.recordings.errors import RecordingError

    loaded = settings()
    channels: dict[str, int] = {}
    for item in speaker_channel or []:
        name, sep, number = item.rpartition("=")
        if not sep or not name or not number.isdigit():
            fail(f"--speaker-channel {item!r}: expected SPEAKER=CHANNEL, e.g. spk_0=0")
        channels[name] = int(number)
    marker_list: list[dict[str, Any]] = []
    if markers is not None:
        try:
            raw = json.loads(_read(markers, MAX_MARKERS_BYTES, "markers file"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            fail(f"{markers}: the markers are not valid JSON")
        if not isinstance(raw, list):
            fail(f"{markers}: the markers must be a JSON list")
        marker_list = raw
    if offline_asr and transcript is not None:
        fail("give either --transcript or --offline-asr, not both")
    try:
        collect.check_call_id(call_id)
    except RecordingError as exc:
        fail(str(exc).replace("`call_id`", "--call-id"))
    call = collect.Call(
        call_id=call_id,
        transcript=_read(transcript, MAX_TRANSCRIPT_BYTES, "transcript") if transcript else None,
        shape=shape,
        markers=marker_list,
        speaker_channels=channels,
        subject_id=subject,
        caller=caller,
        offline_asr=offline_asr,
    )
    rt = runtime(loaded=loaded)
    try:
        with rt.db.session() as session:
            org_id = organization_id(session, org)
            done = collect.collect(
                session,
                rt.vault_keys,
                collect.Gate.from_settings(loaded),
                org_id,
                CLI_ACTOR,
                audio,
                call,
            )
    except RecordingError as exc:
        fail(f"{audio.name}: {exc}")
    finally:
        rt.close()
    out.print_json(json.dumps({"uri": done.uri, **done.manifest}))


@app.command("transcribe")
def transcribe_command(
    audio: Annotated[Path, typer.Argument(help="The call audio: WAV, FLAC, MP3 or Opus.")],
    grammar: Annotated[
        str, typer.Option(help="digits (spoken numbers; the default) or general (every word).")
    ] = "digits",
) -> None:
    """Transcribe a call offline with PocketSphinx's bundled US-English model: LOW ACCURACY,
    meant for finding spoken digits. Prints AWS Transcribe-shaped JSON (word timings per
    channel) that `ingest --transcript` reads."""
    import tempfile

    from honorbound.recordings import audio as audio_io
    from honorbound.recordings import transcribe
    from honorbound.recordings.errors import RecordingError

    if grammar not in ("digits", "general"):
        fail(f"--grammar {grammar!r}: expected digits or general")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            info = audio_io.open_audio(audio, Path(tmp))
            doc = transcribe.transcribe(
                info, grammar="digits" if grammar == "digits" else "general"
            )
    except RecordingError as exc:
        fail(f"{audio.name}: {exc}")
    out.print_json(json.dumps(doc))


@app.command("decide")
def decide_command(
    state: Annotated[
        list[str],
        typer.Option(help="Each party's US state (repeat; `unknown` when not known)."),
    ],
    announced: Annotated[
        bool, typer.Option("--announced/--not-announced", help="Announcement played.")
    ] = False,
    refused: Annotated[bool, typer.Option(help="A party declined to be recorded.")] = False,
) -> None:
    """May a call between parties in these states be recorded (no audit entry: the API's
    `POST /v1/recordings/decision` records the evidence)."""
    from honorbound.recordings.consent import Party, decide
    from honorbound.recordings.errors import RecordingError
    from honorbound.runtime import jurisdiction_rules

    rules = jurisdiction_rules(settings())
    parties = [
        Party(f"party{i}", None if s.lower() == "unknown" else s) for i, s in enumerate(state)
    ]
    try:
        decision = decide(rules, parties, announcement_played=announced, refused=refused)
    except RecordingError as exc:
        fail(str(exc))
    out.print_json(json.dumps(decision.as_dict()))


@app.command("report")
def report_command(
    audio: Annotated[
        bool, typer.Option("--audio/--no-audio", help="Also search stored audio for keypad tones.")
    ] = False,
    open_incidents: Annotated[
        bool,
        typer.Option(
            "--open-incidents/--no-open-incidents",
            help="Open a draft breach incident for each incident found (once per recording).",
        ),
    ] = True,
    org: Org = None,
) -> None:
    """PCI DSS report of the recording store: recordings scanned, spans redacted, DTMF tones
    removed, and incidents (card data found in stored recordings: 12.10.7; a kept original
    with a card code: 3.3.1.2), each opened as a draft breach incident. Exits 1 when there is
    an incident to handle."""
    from honorbound.cli.retention import CLI_ACTOR
    from honorbound.recordings import incidents, report
    from honorbound.recordings.store import RecordingStore

    loaded = settings()
    rt = runtime(loaded=loaded)
    try:
        with rt.db.session() as session:
            org_id = organization_id(session, org)
        store = RecordingStore.for_organization(loaded.recordings_store, org_id)
        result = report.build(store, rt.rules, audio_check=audio)
        if open_incidents:
            with rt.db.session() as session:
                incidents.open_incidents(session, org_id, store, result, CLI_ACTOR)
    finally:
        rt.close()
    out.print_json(json.dumps(result.as_dict()))
    if result.incidents:
        raise typer.Exit(1)


@app.command("sweep")
def sweep_command(
    dry_run: Annotated[bool, typer.Option(help="List what is due; delete nothing.")] = False,
    org: Org = None,
) -> None:
    """Delete stored recordings older than the adopted notice's retention rule for call
    recordings (`after_collection`); each run is an audit entry."""
    import datetime as dt

    from honorbound.cli.retention import CLI_ACTOR
    from honorbound.policy import store as policy_store
    from honorbound.recordings import retention
    from honorbound.recordings.store import RecordingStore

    loaded = settings()
    now = dt.datetime.now(dt.UTC)
    rt = runtime(loaded=loaded)
    try:
        with rt.db.session() as session:
            org_id = organization_id(session, org)
            adopted = policy_store.current(session, org_id)
            if adopted is None:
                fail("the organization has adopted no notice: there is no retention rule")
            result = retention.sweep(
                RecordingStore.for_organization(loaded.recordings_store, org_id),
                adopted.declaration,
                now,
                dry_run=dry_run,
            )
            if not dry_run:
                retention.record_sweep(session, rt.keys, org_id, CLI_ACTOR, result, now)
    finally:
        rt.close()
    out.print_json(json.dumps(result.as_dict()))


def register(app_: typer.Typer) -> None:
    app_.add_typer(app, name="recordings")
