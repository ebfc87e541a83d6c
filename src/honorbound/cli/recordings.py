"""`honorbound recordings ingest|decide`: call recordings redacted into the recording store, and
the recording-consent decision for a call (docs/recordings.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from honorbound.cli.common import fail, out, runtime, settings
from honorbound.cli.retention import Org, organization_id

if TYPE_CHECKING:
    from honorbound.recordings.ingest import Ingested
    from honorbound.runtime import Runtime

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
    customer_channel: Annotated[
        int | None,
        typer.Option(
            help="With --subject: the customer's audio channel, so what they asked on the call "
            "(an opt-out, a rights request) is acted on; without it, staff review it."
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
    redacted audio and transcript. Prints the stored recording's manifest as JSON."""
    from honorbound.recordings import redact
    from honorbound.recordings.errors import RecordingError
    from honorbound.recordings.ingest import ingest, original_if_allowed
    from honorbound.recordings.store import RecordingStore

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
    if customer_channel is not None and subject is None:
        fail("--customer-channel names the customer of a subject's call: give --subject ID too")
    if customer_channel is not None and customer_channel < 0:
        fail(f"--customer-channel must be 0 or more, not {customer_channel}")
    if loaded.recordings_keep_original and subject is None:
        fail(
            "HONORBOUND_RECORDINGS_KEEP_ORIGINAL is on: name the person with --subject ID "
            "so the original is sealed with their key"
        )
    rt = runtime(loaded=loaded)
    try:
        with rt.db.session() as session:
            org_id = organization_id(session, org)
            original, refused = (
                original_if_allowed(session, rt.vault_keys, org_id, subject)
                if loaded.recordings_keep_original and subject is not None
                else (None, None)
            )
        options = redact.Options(
            pad_before=loaded.recordings_pad_before,
            pad_after=loaded.recordings_pad_after,
            sound=loaded.recordings_sound,
            speaker_channels=channels,
        )
        done = ingest(
            RecordingStore.for_organization(loaded.resolved_recordings_dir, org_id),
            audio,
            _read(transcript, MAX_TRANSCRIPT_BYTES, "transcript") if transcript else None,
            options,
            shape=shape,
            markers=marker_list,
            original_key=original,
            subject_id=subject,
            offline_asr=offline_asr,
            original_refused=refused,
        )
        shown: dict[str, Any] = {"uri": done.uri, **done.manifest}
        if subject is not None and done.transcript is not None:
            shown["conversation"] = _act_on_call(
                rt, org_id, subject, done, customer_channel, channels
            )
    except RecordingError as exc:
        fail(f"{audio.name}: {exc}")
    finally:
        rt.close()
    out.print_json(json.dumps(shown))


def _act_on_call(
    rt: Runtime,
    org_id: int,
    subject: int,
    done: Ingested,
    customer_channel: int | None,
    channels: dict[str, int],
) -> dict[str, Any]:
    """The transcript stored as the subject's call and its requests acted on (the same domain
    function as POST /v1/recordings); a refusal is reported, the recording stays stored."""
    from honorbound.audit import Actor
    from honorbound.recordings.conversation import act_on_recording
    from honorbound.rights.jobs import services
    from honorbound.vault.rules import CollectionRefused
    from honorbound.vault.subjects import SubjectNotFound

    try:
        with rt.db.session() as session:
            call = act_on_recording(
                session,
                services(rt),
                rt.rules,
                org_id,
                subject,
                done,
                Actor("cli", "agent"),
                customer_channel=customer_channel,
                speaker_channels=channels,
            )
            return {
                "stored": True,
                "interaction_id": call.interaction_id,
                "intents": [
                    {"id": a.intent.id, "kind": a.intent.kind, "status": a.intent.status}
                    for a in call.acted
                ],
            }
    except (CollectionRefused, SubjectNotFound) as exc:
        return {"stored": False, "reason": str(exc)}


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
        store = RecordingStore.for_organization(loaded.resolved_recordings_dir, org_id)
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

    from honorbound.audit import append
    from honorbound.cli.retention import CLI_ACTOR
    from honorbound.policy import store as policy_store
    from honorbound.recordings import retention
    from honorbound.recordings.store import RecordingStore

    loaded = settings()
    rt = runtime(loaded=loaded)
    try:
        with rt.db.session() as session:
            org_id = organization_id(session, org)
            adopted = policy_store.current(session, org_id)
            if adopted is None:
                fail("the organization has adopted no notice: there is no retention rule")
            result = retention.sweep(
                RecordingStore.for_organization(loaded.resolved_recordings_dir, org_id),
                adopted.declaration,
                dt.datetime.now(dt.UTC),
                dry_run=dry_run,
            )
            if not dry_run:
                append(
                    session,
                    org_id,
                    CLI_ACTOR,
                    "recordings.swept",
                    "recordings",
                    "",
                    result.as_dict(),
                )
    finally:
        rt.close()
    out.print_json(json.dumps(result.as_dict()))


def register(app_: typer.Typer) -> None:
    app_.add_typer(app, name="recordings")
