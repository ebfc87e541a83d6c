"""PII detection: honorbound.detect against Microsoft Presidio, same texts, same machine.

    make bench-pii            # installs .[bench], then runs this
    python bench/pii.py [--seconds S] [--regenerate]

Corpora (saved in bench/pii_data/ so runs compare; regenerated only with --regenerate):
  (a) presidio_evaluator.jsonl: 2,000 samples from presidio-evaluator's own sentence generator
      (PresidioSentenceFaker, seed 42): Presidio's home ground, written by nobody here.
  (b) transcripts.jsonl: this project's contact-center transcript generator (seed 7): cards,
      SSNs, phones and emails written, chunked, spoken ("four one one one", "oh", "double"),
      split over two lines of the same speaker; plus negatives (order numbers, amounts, times,
      ticket numbers, non-Luhn 16-digit references) that must not be flagged.
  (c) calls: 1,000 contact-center calls of 500-1,000 characters from tests/detect/calls.py
      (seed 16, generated at each run, nothing saved): card, SSN, phone, email, date of birth
      and CVV delivered in one turn, over two lines, split across turns with acknowledgements,
      echoed chunk by chunk, with fillers and self-corrections, and read back by the agent;
      speaker label shapes, ASR lower case without punctuation and small talk vary; one call
      in five is a hard negative (order, tracking, ticket numbers, amounts, times, non-birth
      dates, balances, a zip code alone).

On (c) a value counts as found when every piece of it (read-backs and echoes included)
overlaps a finding of its type; a call *leaks* when any letter or digit of any piece is left
outside every finding; a hard negative is *flagged* when any finding of a sensitive type
(not DATE_TIME, PERSON or intents) is made in it. Throughput is measured twice: on corpora
(a)+(b) (short texts) and on the calls (c) alone.

Baseline: presidio-analyzer with its default recognizers, the no-op NLP engine (no spaCy
model) and US phone region, default score threshold. Matching: a gold span is found when a
prediction of the same type overlaps it; a prediction is right when it overlaps a gold span of
its type. Throughput: one process, one core, scan only.

Prints per-entity precision/recall for both engines, then texts/s for both and the ratio; the
last line is key=value pairs.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "pii_data"
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(1, str(HERE.parent))  # tests/detect/calls.py: the call generator

from honorbound.detect import build, scan  # noqa: E402

EVALUATOR = DATA / "presidio_evaluator.jsonl"
TRANSCRIPTS = DATA / "transcripts.jsonl"
# Our names for what the other side calls differently.
OURS_AS = {"DATE_OF_BIRTH": "DATE_TIME"}
SHARED = (
    "CREDIT_CARD",
    "US_SSN",
    "PHONE_NUMBER",
    "EMAIL_ADDRESS",
    "IBAN_CODE",
    "IP_ADDRESS",
    "DATE_TIME",
    "US_BANK_NUMBER",
    "US_DRIVER_LICENSE",
    "US_PASSPORT",
    "US_ITIN",
)
TARGETED = ("CREDIT_CARD", "US_SSN", "PHONE_NUMBER", "EMAIL_ADDRESS")

Span = tuple[str, int, int]


# --- corpus (a): presidio-evaluator ------------------------------------------------------------


def generate_evaluator(count: int = 2000, seed: int = 42) -> None:
    from presidio_evaluator.data_generator import PresidioSentenceFaker

    faker = PresidioSentenceFaker("en_US", lower_case_ratio=0.05, random_seed=seed)
    samples = faker.generate_new_fake_sentences(num_samples=count)
    with EVALUATOR.open("w", encoding="utf-8") as out:
        for i, sample in enumerate(samples):
            spans = [
                [span.entity_type, span.start_position, span.end_position] for span in sample.spans
            ]
            out.write(json.dumps({"id": i, "text": sample.full_text, "spans": spans}) + "\n")


# --- corpus (b): contact-center transcripts ----------------------------------------------------

WORDS = ["oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
AREA_CODES = [212, 213, 305, 312, 404, 415, 469, 512, 602, 617, 702, 718, 808, 917, 971]


def luhn_complete(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        n = int(ch)
        if i % 2 == 0:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return body + str((10 - total % 10) % 10)


def spoken(digits: str, rng: random.Random, group: int) -> str:
    """Digits as speech-to-text writes them, with "double"/"triple" and "oh" for zero."""
    chunks = [digits[i : i + group] for i in range(0, len(digits), group)]
    said = []
    for chunk in chunks:
        words: list[str] = []
        i = 0
        while i < len(chunk):
            run = 1
            while i + run < len(chunk) and chunk[i + run] == chunk[i] and run < 3:
                run += 1
            if run > 1 and rng.random() < 0.6:
                words.append(("double " if run == 2 else "triple ") + WORDS[int(chunk[i])])
                i += run
            else:
                words.append(
                    WORDS[int(chunk[i])] if chunk[i] != "0" or rng.random() < 0.7 else "zero"
                )
                i += 1
        said.append(" ".join(words))
    return rng.choice([", ", " ", "... "]).join(said)


def written(digits: str, rng: random.Random, groups: list[int]) -> str:
    parts, i = [], 0
    for g in groups:
        parts.append(digits[i : i + g])
        i += g
    return rng.choice([" ", "-", " "]).join(parts)


def generate_transcripts(count: int = 2400, seed: int = 7) -> None:
    from faker import Faker

    rng = random.Random(seed)
    fake = Faker("en_US")
    fake.seed_instance(seed)
    who = ("Customer", "Caller", "Member")

    def card() -> tuple[str, str]:
        kind = rng.choice(["visa16", "mastercard", "amex", "discover", "visa19", "jcb16"])
        number = str(fake.credit_card_number(card_type=kind))
        form = rng.random()
        if form < 0.2:
            return number, number
        if form < 0.4:
            groups = (
                [4, 6, 5]
                if len(number) == 15
                else [4] * (len(number) // 4) + ([len(number) % 4] if len(number) % 4 else [])
            )
            return number, written(number, rng, groups)
        if form < 0.5:
            return number, " ".join(number[i : i + 2] for i in range(0, len(number), 2))
        return number, spoken(number, rng, 4)

    def ssn() -> tuple[str, str]:
        number = str(fake.ssn()).replace("-", "")
        form = rng.random()
        if form < 0.4:
            return number, f"{number[:3]}-{number[3:5]}-{number[5:]}"
        if form < 0.5:
            return number, f"{number[:3]} {number[3:5]} {number[5:]}"
        return number, spoken(number, rng, rng.choice([3, 9]))

    def phone() -> tuple[str, str]:
        number = (
            str(rng.choice(AREA_CODES))
            + str(rng.randint(2, 9))
            + f"{rng.randint(0, 99):02d}"
            + f"{rng.randint(0, 9999):04d}"
        )
        form = rng.random()
        if form < 0.15:
            return number, f"({number[:3]}) {number[3:6]}-{number[6:]}"
        if form < 0.3:
            return number, f"{number[:3]}-{number[3:6]}-{number[6:]}"
        if form < 0.4:
            return number, f"+1 {number[:3]} {number[3:6]} {number[6:]}"
        if form < 0.45:
            return number, f"{number[:3]}.{number[3:6]}.{number[6:]}"
        return number, spoken(number, rng, 3)

    def email() -> tuple[str, str]:
        first, last = fake.first_name().lower(), fake.last_name().lower()
        domain = rng.choice(["gmail.com", "yahoo.com", "outlook.com", "aol.com", "icloud.com"])
        sep = rng.choice([".", "_", ""])
        value = f"{first}{sep}{last}{rng.choice(['', str(rng.randint(1, 99))])}@{domain}"
        if rng.random() < 0.4:
            return value, value
        said = value.replace(".", " dot ").replace("@", " at ").replace("_", " underscore ")
        return value, said

    makers: dict[str, tuple[Callable[[], tuple[str, str]], list[str]]] = {
        "CREDIT_CARD": (
            card,
            [
                "{who}: sure, my card number is {v}",
                "{who}: it's a visa, {v}",
                "Agent: go ahead with the card\n{who}: {v}",
                "{who}: the long number on the front is {v} okay",
                "{who}: {v} and that's my card",
            ],
        ),
        "US_SSN": (
            ssn,
            [
                "{who}: my social is {v}",
                "Agent: last thing, your social security number?\n{who}: {v}",
                "{who}: ssn {v}",
                "{who}: yeah the social security number is {v}",
            ],
        ),
        "PHONE_NUMBER": (
            phone,
            [
                "{who}: you can call me back at {v}",
                "{who}: my cell is {v}",
                "Agent: best number to reach you?\n{who}: {v}",
                "{who}: phone number {v} thanks",
            ],
        ),
        "EMAIL_ADDRESS": (
            email,
            [
                "{who}: my email is {v}",
                "{who}: send it to {v} please",
                "Agent: and your email?\n{who}: it's {v}",
            ],
        ),
    }
    negatives = [
        lambda: f"Agent: your order number is {rng.randint(10**5, 10**11)}",
        lambda: f"Agent: the total comes to ${rng.randint(1, 9999):,}.{rng.randint(0, 99):02d}",
        lambda: f"Caller: I paid {rng.randint(1, 999)} dollars and {rng.randint(1, 99)} cents",
        lambda: f"Agent: I'll call you back at {rng.randint(1, 12)}:{rng.randint(0, 59):02d} pm",
        lambda: f"Agent: your ticket number is {rng.randint(10**6, 10**9)}",
        lambda: f"Agent: reference {non_luhn16()} for your records",
        lambda: f"Agent: order {luhn_complete(str(rng.randint(10**14, 10**15 - 1)))} shipped",
        lambda: (
            f"Caller: it was {rng.randint(2, 40)} minutes ago, around {rng.randint(1, 12)} "
            f"{rng.choice(['thirty', 'fifteen', 'forty five'])}"
        ),
        lambda: f"Agent: the balance is {rng.randint(100, 99999)}.{rng.randint(10, 99)} usd",
        lambda: f"Agent: case {rng.randint(1000, 99999)}-{rng.randint(100, 9999)} is open",
    ]

    def non_luhn16() -> str:
        number = luhn_complete(str(rng.randint(4 * 10**14, 5 * 10**14)))
        bad = number[:-1] + str((int(number[-1]) + 1) % 10)
        return " ".join(bad[i : i + 4] for i in range(0, 16, 4))

    with TRANSCRIPTS.open("w", encoding="utf-8") as out:
        for i in range(count):
            if i % 6 == 5:
                text = negatives[rng.randrange(len(negatives))]()
                out.write(json.dumps({"id": i, "text": text, "spans": [], "negative": True}))
                out.write("\n")
                continue
            kind = rng.choice(list(makers))
            make, templates = makers[kind]
            _, value = make()
            template = rng.choice(templates)
            speaker = rng.choice(who)
            if kind in ("CREDIT_CARD", "PHONE_NUMBER") and rng.random() < 0.1:
                # Split over two lines of the same speaker.
                cut = len(value) // 2
                while cut < len(value) and value[cut] not in " ,-.":
                    cut += 1
                head, tail = value[:cut].rstrip(" ,-."), value[cut:].lstrip(" ,-.")
                value = f"{head}\n{speaker}: {tail}"
            text = template.format(who=speaker, v=value)
            start = text.index(value)
            spans = [[kind, start, start + len(value)]]
            out.write(json.dumps({"id": i, "text": text, "spans": spans}) + "\n")


# --- evaluation --------------------------------------------------------------------------------


def load(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as source:
        return [json.loads(line) for line in source]


def ours(text: str) -> list[Span]:
    return [(OURS_AS.get(f.type, f.type), f.start, f.end) for f in scan(text)]


def presidio_engine() -> Callable[[str], list[Span]]:
    warnings.filterwarnings("ignore")
    # tldextract (used by Presidio's URL recognizer) tries to download the public suffix list
    # and logs a traceback when offline; it falls back to its bundled copy.
    logging.getLogger("tldextract").setLevel(logging.CRITICAL)
    try:
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import NoOpNlpEngine
        from presidio_analyzer.predefined_recognizers import PhoneRecognizer
    except ImportError:
        sys.exit("presidio-analyzer is not installed: run `pip install -e '.[bench]'`")
    engine = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "no_op"}])
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(languages=["en"], nlp_engine=engine)
    registry.remove_recognizer("PhoneRecognizer")
    registry.add_recognizer(PhoneRecognizer(supported_regions=("US",)))
    analyzer = AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["en"])

    def run(text: str) -> list[Span]:
        return [(r.entity_type, r.start, r.end) for r in analyzer.analyze(text, language="en")]

    return run


def score(
    records: list[dict[str, object]], predicted: list[list[Span]]
) -> dict[str, tuple[int, int, int, int]]:
    """Per type: (gold found, gold total, predictions right, predictions total)."""
    stats: dict[str, list[int]] = {}
    for record, preds in zip(records, predicted, strict=True):
        gold = [(str(t), int(s), int(e)) for t, s, e in record["spans"]]  # type: ignore[attr-defined]
        for kind, start, end in gold:
            row = stats.setdefault(kind, [0, 0, 0, 0])
            row[1] += 1
            if any(p[0] == kind and p[1] < end and start < p[2] for p in preds):
                row[0] += 1
        for kind, start, end in preds:
            row = stats.setdefault(kind, [0, 0, 0, 0])
            row[3] += 1
            if any(g[0] == kind and g[1] < end and start < g[2] for g in gold):
                row[2] += 1
    return {k: (v[0], v[1], v[2], v[3]) for k, v in stats.items()}


def ratio(a: int, b: int) -> float:
    return a / b if b else float("nan")


def report(
    name: str, records: list[dict[str, object]], theirs: list[list[Span]], mine: list[list[Span]]
) -> dict[str, tuple[float, float, float, float]]:
    a, b = score(records, theirs), score(records, mine)
    print(f"\n{name} ({len(records)} texts)")
    print(f"{'entity':<20}{'gold':>6}  {'presidio P':>10} {'R':>6}  {'honorbound P':>12} {'R':>6}")
    out = {}
    for kind in sorted(set(a) | set(b)):
        pa, pb = a.get(kind, (0, 0, 0, 0)), b.get(kind, (0, 0, 0, 0))
        gold = max(pa[1], pb[1])
        row = (ratio(pa[2], pa[3]), ratio(pa[0], gold), ratio(pb[2], pb[3]), ratio(pb[0], gold))
        out[kind] = row
        print(
            f"{kind:<20}{gold:>6}  {row[0]:>10.3f} {row[1]:>6.3f}  {row[2]:>12.3f} {row[3]:>6.3f}"
        )
    return out


def throughput(run: Callable[[str], object], texts: list[str], seconds: float) -> float:
    """Texts per CPU second of this process (one core; fair on a machine that is busy)."""
    for text in texts[:50]:
        run(text)  # warm caches and lazy imports
    done, started = 0, time.process_time()
    while True:
        for text in texts:
            run(text)
        done += len(texts)
        elapsed = time.process_time() - started
        if elapsed >= seconds:
            return done / elapsed


def pure_python_rate(texts: list[str], seconds: float) -> float:
    """The same measurement, in a child process, for the engine run as plain Python: its
    sources copied without the modules mypyc compiled (setup.py)."""
    from honorbound.detect import build

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(
            build.HERE,
            root / "honorbound" / "detect",
            ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"),
        )
        (root / "honorbound" / "__init__.py").write_text("")
        (root / "texts.json").write_text(json.dumps(texts))
        program = (
            "import json, sys, time\n"
            "from honorbound.detect import build, scan\n"
            "assert not build.is_compiled()\n"
            "texts = json.load(open(sys.argv[1]))\n"
            "for text in texts[:50]: scan(text)\n"
            "done, started = 0, time.process_time()\n"
            "while True:\n"
            "    for text in texts: scan(text)\n"
            "    done += len(texts)\n"
            "    elapsed = time.process_time() - started\n"
            "    if elapsed >= float(sys.argv[2]): break\n"
            "print(done / elapsed)\n"
        )
        child = subprocess.run(
            [sys.executable, "-c", program, str(root / "texts.json"), str(seconds)],
            env={**os.environ, "PYTHONPATH": tmp},
            cwd=tmp,
            capture_output=True,
            text=True,
            check=True,
        )
        return float(child.stdout.strip())


def ns_per_char(call_texts: list[str], seconds: float) -> dict[int, float]:
    """CPU nanoseconds per character of scan on call transcripts cut to ~75, ~750 and ~7,500
    characters (whole lines, so turns stay whole): the cost per character should not grow
    with length."""
    pool = [line for text in call_texts for line in text.split("\n")]
    out: dict[int, float] = {}
    for size in (75, 750, 7500):
        texts: list[str] = []
        k = 0
        while sum(map(len, texts)) < 300_000:
            piece: list[str] = []
            while sum(map(len, piece)) + len(piece) < size:
                piece.append(pool[k % len(pool)])
                k += 1
            texts.append("\n".join(piece))
        chars = sum(map(len, texts))
        rate = throughput(scan, texts, seconds / 3)
        out[size] = 1e9 / (rate * chars / len(texts))
    return out


# 10 MB single lines (no line break): hostile shapes and a call said in one line.
HOSTILE_LINES = {
    "words": "a b 1 ",
    "number words": "four one one one ",
    "fillers between number words": "four uh ",
    "labelled groups": "Customer: four one one one Agent: okay ",
    "repeated cue": "my name is ",
    "phonetic spelling": "m as in mary ",
    "calls": "",
}


def hostile_rss(name: str) -> tuple[float, float]:
    """Scan a 10 MB single line in a child process: CPU seconds, peak resident set (MB)."""
    program = (
        "import sys, time\n"
        f"sys.path[:0] = [{str(HERE.parent / 'src')!r}, {str(HERE.parent)!r}]\n"
        "from honorbound.detect import scan\n"
        "unit = sys.argv[1]\n"
        "if not unit:\n"
        "    from tests.detect.calls import corpus\n"
        "    unit = ' '.join(c.text.replace('\\n', ' ') for c in corpus(50, 3))\n"
        "n = 10 * 1024 * 1024\n"
        "text = (unit * (n // len(unit) + 1))[:n]\n"
        "started = time.process_time()\n"
        "scan(text)\n"
        "took = time.process_time() - started\n"
        "peak = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
        "print(took, int(peak) / 1024)\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", program, HOSTILE_LINES[name]],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    took, peak = child.stdout.split()
    return float(took), float(peak)


def flagged(records: Iterable[dict[str, object]], predicted: list[list[Span]]) -> float:
    negatives = [bool(p) for r, p in zip(records, predicted, strict=True) if r.get("negative")]
    return sum(negatives) / len(negatives) if negatives else 0.0


# --- corpus (c): calls in the ways people deliver values ----------------------------------------

CALL_TYPES = ("CREDIT_CARD", "US_SSN", "PHONE_NUMBER", "EMAIL_ADDRESS", "DATE_OF_BIRTH", "CVV")
SENSITIVE = frozenset(CALL_TYPES) | {
    "US_ITIN",
    "CARD_EXPIRY",
    "US_BANK_NUMBER",
    "ABA_ROUTING_NUMBER",
    "US_DRIVER_LICENSE",
    "US_PASSPORT",
    "MEDICAL_RECORD",
    "IBAN_CODE",
}


def score_calls(
    calls: list[object], predicted: list[list[Span]], lenient: bool = False
) -> dict[str, object]:
    """Recall per entity and per style, share of calls leaking, hard negatives flagged.
    `lenient`: a DATE_TIME finding counts for a date of birth (Presidio has no such type)."""
    found: dict[str, int] = {}
    total: dict[str, int] = {}
    by_style: dict[tuple[str, str], list[int]] = {}
    leaks = positives = flagged_calls = negatives = 0
    for call, preds in zip(calls, predicted, strict=True):
        text, spans = call.text, call.spans  # type: ignore[attr-defined]
        if call.negative:  # type: ignore[attr-defined]
            negatives += 1
            flagged_calls += any(p[0] in SENSITIVE for p in preds)
            continue
        positives += 1
        entity, style = call.entity, call.style  # type: ignore[attr-defined]
        ok, leak = True, False
        for kind, start, end in spans:
            over = [p for p in preds if p[1] < end and start < p[2]]
            if not any(p[0] == kind or (lenient and OURS_AS.get(kind) == p[0]) for p in over):
                ok = False
            covered = {i for p in over for i in range(p[1], p[2])}
            if any(text[i].isalnum() and i not in covered for i in range(start, end)):
                leak = True
        found[entity] = found.get(entity, 0) + ok
        total[entity] = total.get(entity, 0) + 1
        row = by_style.setdefault((entity, style), [0, 0])
        row[0] += ok
        row[1] += 1
        leaks += leak
    return {
        "recall": {k: ratio(found.get(k, 0), total.get(k, 0)) for k in CALL_TYPES},
        "by_style": {k: ratio(v[0], v[1]) for k, v in by_style.items()},
        "leaking": ratio(leaks, positives),
        "negatives": ratio(flagged_calls, negatives),
        "count": (positives, negatives),
    }


def report_calls(name: str, result: dict[str, object]) -> None:
    from tests.detect.calls import STYLES

    recall = result["recall"]
    by_style = result["by_style"]
    assert isinstance(recall, dict) and isinstance(by_style, dict)
    print(f"\n{name}: recall per entity (value found = every piece covered by its type)")
    print(f"{'entity':<16}{'all':>7}" + "".join(f"{s:>11}" for s in STYLES))
    for kind in CALL_TYPES:
        cells = "".join(
            f"{by_style[(kind, s)]:>11.3f}" if (kind, s) in by_style else f"{'-':>11}"
            for s in STYLES
        )
        print(f"{kind:<16}{recall[kind]:>7.3f}{cells}")
    print(
        f"calls leaking any PII partly in clear: {result['leaking']:.3f}; "
        f"hard negatives flagged: {result['negatives']:.3%} (of {result['count']})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--regenerate", action="store_true", help="rebuild the saved corpora")
    parser.add_argument("--seconds", type=float, default=5.0, help="time per throughput run")
    args = parser.parse_args()
    DATA.mkdir(exist_ok=True)
    if args.regenerate or not EVALUATOR.exists():
        generate_evaluator()
    if args.regenerate or not TRANSCRIPTS.exists():
        generate_transcripts()
    corpus_a, corpus_b = load(EVALUATOR), load(TRANSCRIPTS)
    presidio = presidio_engine()

    results = {}
    for name, records in (("(a) presidio-evaluator", corpus_a), ("(b) transcripts", corpus_b)):
        texts = [str(r["text"]) for r in records]
        theirs = [presidio(t) for t in texts]
        mine = [ours(t) for t in texts]
        results[name] = (report(name, records, theirs, mine), theirs, mine, records)

    table_a = results["(a) presidio-evaluator"][0]
    table_b, theirs_b, mine_b, records_b = results["(b) transcripts"]
    shared_gaps = []
    for table in (table_a, table_b):
        for kind in SHARED:
            if kind in table and table[kind][1] == table[kind][1]:  # gold present
                shared_gaps.append((kind, table[kind][3] - table[kind][1]))
    worst = min(shared_gaps, key=lambda g: g[1]) if shared_gaps else ("none", 0.0)

    from tests.detect.calls import corpus as call_corpus

    calls = call_corpus(1000, 16)
    call_texts = [call.text for call in calls]
    calls_ours = score_calls(
        calls, [[(f.type, f.start, f.end) for f in scan(t)] for t in call_texts]
    )
    calls_theirs = score_calls(calls, [presidio(t) for t in call_texts], lenient=True)
    report_calls("(c) calls, Presidio", calls_theirs)
    report_calls("(c) calls, honorbound", calls_ours)

    texts = [str(r["text"]) for r in corpus_a + corpus_b]
    # Both engines on the same texts, in the same order, in this one process.
    presidio_rate = throughput(presidio, texts, args.seconds)
    ours_rate = throughput(scan, texts, args.seconds)
    compiled = build.is_compiled()
    pure_rate = pure_python_rate(texts, args.seconds) if compiled else ours_rate
    neg_ours, neg_theirs = flagged(records_b, mine_b), flagged(records_b, theirs_b)
    call_theirs_rate = throughput(presidio, call_texts, args.seconds)
    call_ours_rate = throughput(scan, call_texts, args.seconds)
    lengths = sorted(len(t) for t in call_texts)
    per_char = ns_per_char(call_texts, args.seconds)
    rss = {name: hostile_rss(name) for name in HOSTILE_LINES}

    print(
        f"\nnegatives flagged (order numbers, amounts, times, tickets, refs): "
        f"presidio {neg_theirs:.3%}, honorbound {neg_ours:.3%}"
    )
    print(
        f"throughput, one core (CPU time, the same {len(texts)} texts): "
        f"presidio {presidio_rate:,.0f} texts/s, honorbound {ours_rate:,.0f} texts/s, "
        f"ratio {ours_rate / presidio_rate:.1f}x"
        + (
            f" (engine compiled by mypyc; the same engine as plain Python: "
            f"{pure_rate:,.0f} texts/s, {pure_rate / presidio_rate:.1f}x)"
            if compiled
            else " (engine running as plain Python: no compiled modules installed)"
        )
    )
    print(
        f"throughput on calls ({len(call_texts)} calls, {lengths[0]}-{lengths[-1]} characters, "
        f"median {lengths[len(lengths) // 2]}): presidio {call_theirs_rate:,.0f} calls/s, "
        f"honorbound {call_ours_rate:,.0f} calls/s, ratio {call_ours_rate / call_theirs_rate:.1f}x"
    )
    print(
        "scan cost per character on call transcripts (CPU): "
        + ", ".join(f"~{size:,} chars {ns:.0f} ns/char" for size, ns in per_char.items())
    )
    for name, (took, peak) in rss.items():
        print(f"10 MB single line, {name}: {took:.1f} s CPU, peak RSS {peak:.0f} MB")
    heaviest = max(rss.items(), key=lambda item: item[1][1])
    recalls = " ".join(
        f"transcript_recall_{k.lower()}={table_b.get(k, (0, 0, 0, 0))[3]:.3f}" for k in TARGETED
    )
    call_recall = calls_ours["recall"]
    assert isinstance(call_recall, dict)
    recalls += " " + " ".join(f"call_recall_{k.lower()}={v:.3f}" for k, v in call_recall.items())
    recalls += (
        f" calls_leaking={calls_ours['leaking']:.3f}"
        f" call_negatives_flagged={calls_ours['negatives']:.4f}"
        f" call_speedup={call_ours_rate / call_theirs_rate:.1f}"
        f" presidio_calls_per_s={call_theirs_rate:.0f} honorbound_calls_per_s={call_ours_rate:.0f}"
        + "".join(f" ns_per_char_{size}={ns:.0f}" for size, ns in per_char.items())
        + f" rss_10mb_line_worst_mb={heaviest[1][1]:.0f}"
    )
    print(
        f"presidio_texts_per_s={presidio_rate:.0f} honorbound_texts_per_s={ours_rate:.0f} "
        f"speedup={ours_rate / presidio_rate:.1f} engine={'compiled' if compiled else 'pure'} "
        f"pure_python_texts_per_s={pure_rate:.0f} "
        f"pure_python_speedup={pure_rate / presidio_rate:.1f} {recalls} "
        f"negatives_flagged={neg_ours:.4f} worst_shared_recall_gap={worst[1]:+.3f}({worst[0]})"
    )


if __name__ == "__main__":
    main()
