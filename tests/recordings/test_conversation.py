"""A request said on a recorded call acts like one said in a chat: `POST /v1/recordings` with a
subject stores the transcript as their call interaction (the recording its evidence) and the
customer's "stop calling me" is a conversation-sourced opt-out in the ledger. The call is real
audio (espeak-ng voices on two channels, sox), the app and database are real."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from honorbound.accounts.roles import Role
from honorbound.audit import Actor
from honorbound.cli import build_app
from honorbound.config import Settings
from honorbound.consent.models import ConsentEvent
from honorbound.intents.models import ConversationIntent
from honorbound.policy.store import adopt_text
from honorbound.runtime import Runtime
from honorbound.vault.models import Interaction, Subject
from honorbound.vault.sealing import open_text
from tests.conftest import EXAMPLE_POLICIES, Tenant
from tests.intents.test_api import _adopt, _decision, _subject
from tests.recordings import synth
from tests.recordings.test_api_ingest import _inbox


@pytest.fixture(scope="module")
def stop_call() -> synth.Call:
    """Agent on channel 0, the customer on channel 1 asks to stop the calls."""
    if (reason := synth.tools_missing()) is not None:
        pytest.skip(reason)
    b = synth.Builder(seed=16)
    b.say(0, "thank you for calling how can I help")
    b.say(1, "please stop calling me")
    b.say(0, "okay I will note that")
    return b.build()


def _post(client: TestClient, tenant: Tenant, call: synth.Call, name: str, **extra: object):  # type: ignore[no-untyped-def]
    body = {
        "call_id": f"call-{name}",
        "audio": name,
        "transcript": json.loads(call.deepgram_json()),
        **extra,
    }
    return client.post("/v1/recordings", json=body, headers=tenant.headers(Role.AGENT))


def test_stop_calling_me_on_a_recording_is_a_conversation_opt_out(
    client: TestClient, runtime: Runtime, tenant: Tenant, stop_call: synth.Call
) -> None:
    _adopt(runtime, tenant)
    sid, who = _subject(client, tenant)
    assert not any("opt" in reason for reason in _decision(client, tenant, who.phone, "voice"))
    stop_call.write(_inbox(runtime, tenant).inbox / "stop.wav")
    r = _post(client, tenant, stop_call, "stop.wav", subject_id=sid, customer_channel=1)
    assert r.status_code == 201, r.text
    out = r.json()
    conversation = out["conversation"]
    assert conversation["stored"] is True
    assert [(i["kind"], i["status"]) for i in conversation["intents"]] == [("opt_out", "applied")]
    with runtime.db.session() as session:
        interaction = session.get(Interaction, conversation["interaction_id"])
        assert interaction is not None and interaction.subject_id == sid
        assert interaction.channel == "call"
        # The recording is its evidence: the audio's digest, and the URI sealed.
        assert interaction.recording_uri_sealed is not None
        assert out["uri"].encode() not in interaction.recording_uri_sealed
        assert interaction.recording_sha256 == out["original_sha256"]
        events = list(
            session.scalars(
                select(ConsentEvent).where(
                    ConsentEvent.organization_id == tenant.id, ConsentEvent.subject_id == sid
                )
            )
        )
        assert events and all(e.source == "conversation" for e in events)
        assert {e.action for e in events} == {"opt_out"}
        assert all(json.loads(e.evidence)["interaction_id"] == interaction.id for e in events)
        # Evidence is ids and offsets, never the words said.
        assert "calling" not in " ".join(e.evidence for e in events)
    # The ledger answers for the phone now: no marketing call.
    reasons = _decision(client, tenant, who.phone, "voice")
    assert any("opt" in reason for reason in reasons), reasons


def test_without_the_customer_channel_the_request_waits_for_staff(
    client: TestClient, runtime: Runtime, tenant: Tenant, stop_call: synth.Call
) -> None:
    """No channel named: the speakers have no role, so nothing is applied by itself."""
    _adopt(runtime, tenant)
    sid, _who = _subject(client, tenant)
    stop_call.write(_inbox(runtime, tenant).inbox / "stop-2.wav")
    r = _post(client, tenant, stop_call, "stop-2.wav", subject_id=sid)
    assert r.status_code == 201, r.text
    intents = r.json()["conversation"]["intents"]
    assert [(i["kind"], i["status"], i["review_reason"]) for i in intents] == [
        ("opt_out", "queued", "unknown_speaker")
    ]
    with runtime.db.session() as session:
        assert session.scalar(select(ConsentEvent).where(ConsentEvent.subject_id == sid)) is None
        row = session.scalar(select(ConversationIntent).where(ConversationIntent.subject_id == sid))
        assert row is not None and row.status == "queued"


def test_the_same_audio_ingested_twice_is_acted_on_once(
    client: TestClient, runtime: Runtime, tenant: Tenant, stop_call: synth.Call
) -> None:
    """A call uploaded twice (another call id, no start time) adds no second interaction and no
    second request; the same audio for another person is that person's call."""
    _adopt(runtime, tenant)
    sid, _who = _subject(client, tenant)
    inbox = _inbox(runtime, tenant).inbox
    for name in ("twice-a.wav", "twice-b.wav", "twice-c.wav"):
        stop_call.write(inbox / name)
    first = _post(client, tenant, stop_call, "twice-a.wav", subject_id=sid)
    second = _post(client, tenant, stop_call, "twice-b.wav", subject_id=sid)
    assert first.status_code == 201 and second.status_code == 201, second.text
    once, again = first.json()["conversation"], second.json()["conversation"]
    assert once["stored"] is True and len(once["intents"]) == 1
    assert again["stored"] is False and again["intents"] == []
    assert again["interaction_id"] == once["interaction_id"]
    assert "already stored" in again["reason"]
    other, _ = _subject(client, tenant)
    third = _post(client, tenant, stop_call, "twice-c.wav", subject_id=other)
    assert third.json()["conversation"]["stored"] is True
    with runtime.db.session() as session:
        for subject, count in ((sid, 1), (other, 1)):
            rows = session.scalars(select(Interaction.id).where(Interaction.subject_id == subject))
            assert len(list(rows)) == count
            intents = session.scalars(
                select(ConversationIntent.id).where(ConversationIntent.subject_id == subject)
            )
            assert len(list(intents)) == count


def test_a_notice_without_call_transcripts_stores_the_recording_and_no_interaction(
    client: TestClient, runtime: Runtime, tenant: Tenant, stop_call: synth.Call
) -> None:
    """The notice lists no call transcripts: the redacted recording is stored (it is the
    recording category's business), the transcript is not collected, and the answer says why."""
    text = (EXAMPLE_POLICIES / "contact-center-1-2024.yaml").read_text(encoding="utf-8")
    assert "user.contact_center.transcript" not in text
    with runtime.db.session() as session:
        adopt_text(session, tenant.id, text, Actor("test", "system"), jobs=runtime.jobs)
    sid, _who = _subject(client, tenant)
    store = _inbox(runtime, tenant)
    stop_call.write(store.inbox / "stop-3.wav")
    r = _post(client, tenant, stop_call, "stop-3.wav", subject_id=sid, customer_channel=1)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["conversation"]["stored"] is False
    assert "transcript" in out["conversation"]["reason"], out["conversation"]
    assert (store.root / out["recording_id"] / "manifest.json").exists()
    with runtime.db.session() as session:
        assert session.scalar(select(Interaction.id).where(Interaction.subject_id == sid)) is None
        assert session.scalar(select(ConsentEvent).where(ConsentEvent.subject_id == sid)) is None


def test_the_command_line_acts_on_the_call_too(
    client: TestClient,
    runtime: Runtime,
    tenant: Tenant,
    stop_call: synth.Call,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """`honorbound recordings ingest --subject ID --customer-channel 1`: the same act."""
    for name in ("database_url", "keystore_url", "master_key", "data_dir", "base_url"):
        monkeypatch.setenv(f"HONORBOUND_{name.upper()}", str(getattr(settings, name)))
    _adopt(runtime, tenant)
    sid, _who = _subject(client, tenant)
    wav = stop_call.write(tmp_path / "stop.wav")
    transcript = tmp_path / "stop.json"
    transcript.write_text(stop_call.aws_json())
    args = ["recordings", "ingest", str(wav), "--transcript", str(transcript), "--call-id", "c1"]
    r = CliRunner().invoke(build_app(), [*args, "--subject", str(sid), "--customer-channel", "1"])
    assert r.exit_code == 0, r.output
    shown = json.loads(r.output[r.output.index("{") :])
    assert [(i["kind"], i["status"]) for i in shown["conversation"]["intents"]] == [
        ("opt_out", "applied")
    ]
    with runtime.db.session() as session:
        sources = set(
            session.scalars(select(ConsentEvent.source).where(ConsentEvent.subject_id == sid))
        )
    assert sources == {"conversation"}


CARD = "4111111111111111"  # the Visa test number (Luhn-valid)
DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


@pytest.fixture(scope="module")
def card_call() -> synth.Call:
    """The customer reads a card number, then says "stop calling me" while the agent has
    paused the recording (the test pauses around those words)."""
    if (reason := synth.tools_missing()) is not None:
        pytest.skip(reason)
    b = synth.Builder(seed=17)
    b.say(0, "can I have the card number please")
    b.digits(1, CARD, "card")
    b.say(0, "thank you")
    b.say(1, "and please stop calling me", "paused")
    b.say(0, "anything else")
    return b.build()


def _body(runtime: Runtime, tenant: Tenant, interaction_id: int) -> str:
    with runtime.db.session() as session:
        row = session.get(Interaction, interaction_id)
        assert row is not None
        subject = session.get(Subject, row.subject_id)
        assert subject is not None
        return open_text(
            runtime.vault_keys.data_key(tenant.id, subject.key_id),
            tenant.id,
            subject.key_id,
            "interaction:body",
            row.body_sealed or b"",
        )


def test_a_card_read_on_the_call_is_not_kept_and_paused_words_are_not_the_call(
    client: TestClient, runtime: Runtime, tenant: Tenant, card_call: synth.Call
) -> None:
    _adopt(runtime, tenant)
    sid, who = _subject(client, tenant)
    paused = [w for w in card_call.words if w.tag == "paused"]
    markers = [
        {"type": "pause", "at": paused[0].start - 0.05},
        {"type": "resume", "at": paused[-1].end + 0.05},
    ]
    card_call.write(_inbox(runtime, tenant).inbox / "card.wav")
    r = _post(
        client, tenant, card_call, "card.wav", subject_id=sid, customer_channel=1, markers=markers
    )
    assert r.status_code == 201, r.text
    conversation = r.json()["conversation"]
    # "stop calling me" was said while the recording was paused: not acted on.
    assert conversation["stored"] is True and conversation["intents"] == []
    body = _body(runtime, tenant, conversation["interaction_id"])
    lines = body.splitlines()
    assert lines[0].startswith("Agent: can I have") and lines[1].startswith("Customer: ")
    spoken = " ".join(DIGIT_WORDS[int(d)] for d in CARD)
    # No run of four of the card's digit words is left in the stored text (the bytes opened
    # with the subject's key, not the screening's own output).
    words = body.split()
    digit_run = max_run = 0
    for word in words:
        digit_run = digit_run + 1 if word.strip(".,").lower() in DIGIT_WORDS else 0
        max_run = max(max_run, digit_run)
    assert spoken not in body and max_run < 4, body
    assert "stop" not in body
    with runtime.db.session() as session:
        interaction = session.get(Interaction, conversation["interaction_id"])
        assert interaction is not None and interaction.findings.get("CREDIT_CARD") == 1
    reasons = _decision(client, tenant, who.phone, "voice")
    assert not any("opt" in reason for reason in reasons), reasons


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ({"customer_channel": 1}, "give `subject_id` too"),
        ({"subject_id": 1, "started_at": "2026-12-01T10:00:00"}, "timezone"),
        ({"subject_id": 1, "customer_channel": -1}, "audio channel 0-31"),
        ({"subject_id": 1, "customer_channel": 32}, "audio channel 0-31"),
        ({"subject_id": 1, "direction": "sideways"}, "inbound"),
    ],
)
def test_bad_call_fields_are_refused_before_anything_is_stored(
    client: TestClient,
    runtime: Runtime,
    tenant: Tenant,
    stop_call: synth.Call,
    extra: dict[str, object],
    says: str,
) -> None:
    store = _inbox(runtime, tenant)
    wav = stop_call.write(store.inbox / "bad.wav")
    before = sorted(p.name for p in store.root.iterdir())
    r = _post(client, tenant, stop_call, "bad.wav", **extra)
    assert r.status_code == 422, r.text
    assert says in r.text, r.text
    assert wav.exists() and sorted(p.name for p in store.root.iterdir()) == before


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--customer-channel", "1"], "give --subject too"),
        (["--subject", "1", "--started-at", "yesterday"], "--started-at 'yesterday'"),
        (["--subject", "1", "--started-at", "2026-12-01T10:00"], "--started-at must include"),
        (["--subject", "1", "--direction", "sideways"], "--direction must be inbound"),
    ],
)
def test_the_command_line_refuses_bad_call_fields(
    stop_call: synth.Call, tmp_path: Path, extra: list[str], says: str
) -> None:
    wav = stop_call.write(tmp_path / "stop.wav")
    transcript = tmp_path / "stop.json"
    transcript.write_text(stop_call.aws_json())
    args = ["recordings", "ingest", str(wav), "--transcript", str(transcript), "--call-id", "c1"]
    r = CliRunner().invoke(build_app(), [*args, *extra])
    assert r.exit_code != 0
    assert says in r.output, r.output


def test_an_uploaded_call_is_acted_on_the_same_way(
    client: TestClient, runtime: Runtime, tenant: Tenant, stop_call: synth.Call, tmp_path: Path
) -> None:
    """`POST /v1/recordings/upload` (multipart) passes the call's facts as form fields."""
    _adopt(runtime, tenant)
    sid, who = _subject(client, tenant)
    wav = stop_call.write(tmp_path / "stop.wav").read_bytes()
    files = {
        "audio": ("stop.wav", wav, "audio/wav"),
        "transcript": ("t.json", stop_call.deepgram_json().encode(), "application/json"),
    }
    fields = {"call_id": "up-1", "subject_id": str(sid), "customer_channel": "1"}
    bad = client.post(
        "/v1/recordings/upload",
        files=files,
        data={**fields, "started_at": "not a time"},
        headers=tenant.headers(Role.AGENT),
    )
    assert bad.status_code == 422 and "`started_at` must be an ISO 8601" in bad.text, bad.text
    r = client.post(
        "/v1/recordings/upload",
        files=files,
        data={**fields, "started_at": "2026-12-01T10:00:00+00:00", "direction": "outbound"},
        headers=tenant.headers(Role.AGENT),
    )
    assert r.status_code == 201, r.text
    conversation = r.json()["conversation"]
    assert [(i["kind"], i["status"]) for i in conversation["intents"]] == [("opt_out", "applied")]
    with runtime.db.session() as session:
        interaction = session.get(Interaction, conversation["interaction_id"])
        assert interaction is not None and interaction.direction == "outbound"
        assert interaction.started_at.replace(tzinfo=None).isoformat() == "2026-12-01T10:00:00"
    assert any("opt" in reason for reason in _decision(client, tenant, who.phone, "voice"))
