"""Speaker turns read from the JSON of speech-to-text services, scanned as one conversation.

The documents are built here in each service's documented shape; the check is the gold
pieces' text, not anything the parser computes."""

from __future__ import annotations

import json

import pytest

from honorbound.detect.transcripts import TranscriptError, Turn, parse, scan_turns
from tests.detect.conftest import Fakes, speak


def _dialogue(card: str) -> list[tuple[str, str]]:
    groups = [speak(card[i : i + 4]) for i in range(0, 16, 4)]
    return [
        ("agent", "can I get the card number"),
        ("customer", groups[0]),
        ("agent", "okay"),
        ("customer", groups[1]),
        ("agent", "mhm"),
        ("customer", groups[2] + " " + groups[3]),
        ("agent", "thank you"),
    ]


def _check(turns: list[Turn], card: str) -> None:
    found = scan_turns(turns)
    pieces = [turns[t.turn].text[t.finding.start : t.finding.end] for t in found]
    assert pieces == [speak(card[0:4]), speak(card[4:8]), f"{speak(card[8:12])} {speak(card[12:])}"]
    assert {t.finding.type for t in found} == {"CREDIT_CARD"}
    assert len({t.finding.value_id for t in found}) == 1


def test_aws_transcribe_items_and_audio_segments(fakes: Fakes) -> None:
    card = fakes.card("visa16")
    items = []
    clock = 0.0
    for who, said in _dialogue(card):
        for word in said.split():
            items.append(
                {
                    "start_time": f"{clock:.2f}",
                    "end_time": f"{clock + 0.3:.2f}",
                    "alternatives": [{"confidence": "0.99", "content": word}],
                    "type": "pronunciation",
                    "speaker_label": "spk_0" if who == "agent" else "spk_1",
                }
            )
            clock += 0.4
    document = {
        "jobName": "call",
        "results": {"transcripts": [{"transcript": "..."}], "items": items},
    }
    _check(parse(json.dumps(document)), card)
    segments = [
        {"speaker_label": "spk_0" if who == "agent" else "spk_1", "transcript": said,
         "start_time": "0.0", "end_time": "1.0"}
        for who, said in _dialogue(card)
    ]  # fmt: skip
    _check(parse({"results": {"transcripts": [], "audio_segments": segments}}), card)


def test_aws_call_analytics_google_deepgram_whisper(fakes: Fakes) -> None:
    card = fakes.card("visa16")
    dialogue = _dialogue(card)
    analytics = {
        "Transcript": [
            {"ParticipantRole": who.upper(), "Content": said, "BeginOffsetMillis": 10 * k,
             "EndOffsetMillis": 10 * k + 5}
            for k, (who, said) in enumerate(dialogue)
        ]
    }  # fmt: skip
    _check(parse(analytics), card)
    words = [
        {"word": word, "speakerTag": 1 if who == "agent" else 2, "startTime": "1.5s"}
        for who, said in dialogue
        for word in said.split()
    ]
    google = {"results": [{"alternatives": [{"transcript": "...", "words": words}]}]}
    _check(parse(google), card)
    deepgram = {
        "results": {
            "channels": [{"alternatives": [{"transcript": "..."}]}],
            "utterances": [
                {
                    "speaker": 0 if who == "agent" else 1,
                    "transcript": said,
                    "start": 1.0,
                    "end": 2.0,
                }
                for who, said in dialogue
            ],
        }
    }
    _check(parse(deepgram), card)
    whisper = {
        "text": "...",
        "segments": [
            {
                "id": k,
                "start": k,
                "end": k + 1,
                "text": said,
                "speaker": f"SPEAKER_0{who == 'customer':d}",
            }
            for k, (who, said) in enumerate(dialogue)
        ],
    }
    _check(parse(whisper), card)


def test_not_a_transcript_is_a_clear_error() -> None:
    with pytest.raises(TranscriptError, match="not JSON"):
        parse("{nope")
    with pytest.raises(TranscriptError, match="not a transcript shape"):
        parse({"hello": 1})
    with pytest.raises(TranscriptError, match="turn 0: no text"):
        parse([{"speaker": "a"}])

    with pytest.raises(TranscriptError, match="documented structure"):
        parse({"results": {"transcripts": [], "items": [1, 2]}})
    with pytest.raises(TranscriptError, match="documented structure"):
        parse({"results": [{"alternatives": "nope"}]})
