"""Word timings read by `honorbound.detect.transcripts.parse_words`, the one reader of the
vendors' transcript shapes (recordings redacts audio from it). Documents are written here as
each vendor documents them; the checks are the values written, not the parser's own output."""

from __future__ import annotations

import json

import pytest

from honorbound.detect.transcripts import WORD_SHAPES, TranscriptError, parse_words


def test_deepgram_multichannel_words_with_times_and_metadata() -> None:
    doc = {
        "metadata": {"duration": 3.5, "sha256": "ab" * 32, "channels": 2},
        "results": {
            "channels": [
                {"alternatives": [{"words": [{"word": "hi", "start": 0.1, "end": 0.4}]}]},
                {
                    "alternatives": [
                        {
                            "words": [
                                {
                                    "word": "four",
                                    "punctuated_word": "Four,",
                                    "start": 0.2,
                                    "end": 0.5,
                                    "speaker": 1,
                                }
                            ]
                        }
                    ]
                },
            ]
        },
    }
    got = parse_words(json.dumps(doc))
    assert got.shape == "deepgram" and got.duration == 3.5 and got.sha256 == "ab" * 32
    assert [(w.text, w.start, w.end, w.channel, w.speaker) for w in got.words] == [
        ("hi", 0.1, 0.4, 0, None),
        ("Four,", 0.2, 0.5, 1, "1"),
    ]


def test_aws_channel_identification_and_whisper_words() -> None:
    aws = {
        "results": {
            "channel_labels": {
                "channels": [
                    {
                        "channel_label": "ch_1",
                        "items": [
                            {
                                "start_time": "1.0",
                                "end_time": "1.2",
                                "type": "pronunciation",
                                "alternatives": [{"content": "yes"}],
                            },
                            {"type": "punctuation", "alternatives": [{"content": "."}]},
                        ],
                    }
                ]
            }
        }
    }
    got = parse_words(json.dumps(aws))
    assert [(w.text, w.start, w.channel) for w in got.words] == [("yes.", 1.0, 1)]
    whisper = {"segments": [{"words": [{"word": " nine", "start": 2, "end": 2.5}]}]}
    assert [(w.text, w.end) for w in parse_words(json.dumps(whisper)).words] == [("nine", 2.5)]
    plain = parse_words("agent: hello there\n")
    assert plain.shape == "plain" and [w.start for w in plain.words] == [None, None]
    assert set(WORD_SHAPES) == {"aws", "google", "deepgram", "whisper", "plain"}


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        ({"segments": [{"words": [{"word": "x", "start": -1, "end": 1}]}]}, "not negative"),
        ({"segments": [{"words": [{"word": "x", "start": 2, "end": 1}]}]}, "ends before"),
        ({"segments": [{"words": [{"word": "x", "start": "soon", "end": 1}]}]}, "not a time"),
        (
            {"results": [{"alternatives": [{"words": [{"word": "x", "startTime": "1s"}]}]}]},
            "missing",
        ),
        ({"nothing": 1}, "no known shape"),
    ],
)
def test_strict_times_are_errors_naming_the_word(doc: object, match: str) -> None:
    with pytest.raises(TranscriptError, match=match):
        parse_words(json.dumps(doc))
