"""Word timings read from each vendor's shape (documents written as the vendors emit them)."""

from __future__ import annotations

import json

import pytest

from honorbound.recordings.timings import parse


def test_aws_punctuation_joins_the_word_before_and_speakers_are_kept() -> None:
    doc = {
        "jobName": "j",
        "results": {
            "transcripts": [{"transcript": "Hi, there."}],
            "items": [
                {
                    "start_time": "0.04",
                    "end_time": "0.35",
                    "speaker_label": "spk_0",
                    "alternatives": [{"confidence": "0.99", "content": "Hi"}],
                    "type": "pronunciation",
                },
                {"alternatives": [{"confidence": "0.0", "content": ","}], "type": "punctuation"},
                {
                    "start_time": "0.35",
                    "end_time": "0.8",
                    "speaker_label": "spk_1",
                    "alternatives": [{"confidence": "0.98", "content": "there"}],
                    "type": "pronunciation",
                },
            ],
        },
    }
    t = parse(json.dumps(doc))
    assert t.shape == "aws"
    assert [(w.text, w.start, w.end, w.speaker) for w in t.words] == [
        ("Hi,", 0.04, 0.35, "spk_0"),
        ("there", 0.35, 0.8, "spk_1"),
    ]
    assert t.text == "Hi,\nthere"  # a new speaker starts a new line


def test_google_both_time_forms_and_channel_tags() -> None:
    doc = {
        "results": [
            {
                "channelTag": 2,
                "alternatives": [
                    {
                        "transcript": "hello",
                        "words": [{"startTime": "1.300s", "endTime": "1.600s", "word": "hello"}],
                    }
                ],
            },
            {
                "channelTag": 1,
                "alternatives": [
                    {
                        "transcript": "yes",
                        "words": [
                            {
                                "startOffset": {"seconds": 2, "nanos": 500000000},
                                "endOffset": {"seconds": 3},
                                "word": "yes",
                                "speakerTag": 1,
                            }
                        ],
                    }
                ],
            },
        ]
    }
    t = parse(json.dumps(doc))
    assert [(w.text, w.start, w.end, w.channel, w.speaker) for w in t.words] == [
        ("hello", 1.3, 1.6, 1, None),
        ("yes", 2.5, 3.0, 0, "1"),
    ]


def test_deepgram_single_channel_with_diarization() -> None:
    doc = {
        "metadata": {"duration": 3.2, "channels": 1, "sha256": "ab" * 32},
        "results": {
            "channels": [
                {
                    "alternatives": [
                        {
                            "transcript": "ok",
                            "words": [
                                {
                                    "word": "ok",
                                    "start": 0.1,
                                    "end": 0.4,
                                    "speaker": 0,
                                    "punctuated_word": "Ok.",
                                }
                            ],
                        }
                    ]
                }
            ]
        },
    }
    t = parse(json.dumps(doc))
    assert (t.words[0].text, t.words[0].speaker, t.words[0].channel) == ("Ok.", "0", None)
    assert (t.duration, t.sha256) == (3.2, "ab" * 32)


def test_whisper_segments_and_top_level_words() -> None:
    seg = {
        "text": " a b",
        "segments": [
            {
                "id": 0,
                "start": 0.0,
                "end": 1.0,
                "text": " a b",
                "words": [
                    {"word": " a", "start": 0.0, "end": 0.4, "probability": 0.9},
                    {"word": " b", "start": 0.5, "end": 1.0, "probability": 0.8},
                ],
            }
        ],
    }
    api = {
        "text": "a b",
        "duration": 1.0,
        "words": [{"word": "a", "start": 0.0, "end": 0.4}, {"word": "b", "start": 0.5, "end": 1.0}],
    }
    for doc in (seg, api):
        t = parse(json.dumps(doc))
        assert t.shape == "whisper" and [w.text for w in t.words] == ["a", "b"]
        assert t.timed


def test_plain_speaker_lines_have_no_timings() -> None:
    t = parse("agent: hello there\n\ncustomer: hi\n")
    assert [(w.text, w.speaker) for w in t.words] == [
        ("hello", "agent"),
        ("there", "agent"),
        ("hi", "customer"),
    ]
    assert not t.timed and t.shape == "plain"


def test_findings_map_to_the_words_they_touch() -> None:
    t = parse(
        json.dumps(
            {
                "words": [
                    {"word": w, "start": i, "end": i + 0.5}
                    for i, w in enumerate(["my", "card", "is", "four"])
                ]
            }
        )
    )
    assert t.text == "my card is four"
    assert list(t.words_in(3, 7)) == [1]  # "card"
    assert list(t.words_in(5, 12)) == [1, 2, 3]  # "rd is f"
    assert list(t.words_in(7, 8)) == []  # the space between words


def test_word_repr_hides_the_words() -> None:
    t = parse('{"words": [{"word": "secret", "start": 0, "end": 1}]}')
    assert "secret" not in repr(t.words[0])


def test_a_named_shape_that_does_not_fit() -> None:
    from honorbound.recordings.errors import TranscriptError

    with pytest.raises(TranscriptError, match="structure of the google shape"):
        parse('{"words": []}', "google")
    with pytest.raises(TranscriptError, match="unknown transcript shape"):
        parse("{}", "vosk")


def test_a_short_interjection_does_not_split_a_number() -> None:
    from honorbound import detect

    digits = ["four"] + ["one"] * 15
    items = [
        {
            "start_time": str(1 + i * 0.4),
            "end_time": str(1.3 + i * 0.4),
            "type": "pronunciation",
            "alternatives": [{"content": d}],
        }
        for i, d in enumerate(digits)
    ]
    agent = [
        {
            "start_time": "4.05",
            "end_time": "4.3",
            "type": "pronunciation",
            "alternatives": [{"content": "okay"}],
        }
    ]
    doc = {
        "results": {
            "channel_labels": {
                "channels": [
                    {"channel_label": "ch_0", "items": agent},
                    {"channel_label": "ch_1", "items": items},
                ]
            },
            "items": [],
        }
    }
    t = parse(json.dumps(doc))
    assert [f.type for f in detect.scan(t.text)] == ["CREDIT_CARD"]
    assert t.text.endswith("\nokay")
    # A longer reply starts a turn of its own.
    agent3 = [dict(agent[0], alternatives=[{"content": w}]) for w in ("sorry", "say", "again")]
    doc["results"]["channel_labels"]["channels"][0]["items"] = agent3
    assert "sorry say again" in parse(json.dumps(doc)).text.split("\n")[1]


def test_recordings_reads_vendor_shapes_only_through_detect() -> None:
    """One concept, one place: the vendors' keys appear in no module of recordings (it calls
    `honorbound.detect.transcripts.parse_words`)."""
    from pathlib import Path

    import honorbound.recordings

    root = Path(honorbound.recordings.__file__).parent
    keys = ("channel_labels", "punctuated_word", "alternatives", "startOffset", "segments")
    for module in root.glob("*.py"):
        if module.name == "transcribe.py":
            continue  # writes an AWS-shaped document (the offline backend's output), reads none
        text = module.read_text(encoding="utf-8")
        assert not [k for k in keys if f'"{k}"' in text], module.name
