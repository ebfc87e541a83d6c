"""No partial value: honorbound.detect on tests/detect/spoken_calls.py (issue 16).

    python bench/pii_spoken.py [--count N] [--seed S]

Generates N calls (default 2,000, seed 34): English, Spanish and code-switched deliveries of
a card, SSN, phone, email or date of birth, with values the validators often refuse (555 and
other non-assignable area codes and exchanges, several card brands), in one turn, split
over turns, read back, echoed, with fillers, self-corrections and ASR lower case.

A value is *found* when every gold piece overlaps a finding of its type; a call is *partly in
clear* when any letter or digit of a gold piece is outside every finding; a call *survives*
when, after redact(), the output still says four consecutive digits of the value (written or
as number words, read by an oracle independent of the engine) or holds the email's local
part. Prints per entity and per style, then the load average and key=value last.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(1, str(HERE.parent))

from tests.detect.spoken_calls import (  # noqa: E402
    ENTITIES,
    LANGS,
    STYLES,
    corpus,
    leaked_digits,
)

from honorbound.detect import build, redact  # noqa: E402


def email_survives(value: str, redacted: str) -> bool:
    local = value.split("@", 1)[0]
    lowered = redacted.lower()
    return any(len(part) >= 4 and part in lowered for part in local.split("."))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=34)
    parser.add_argument("--show", type=int, default=0, help="print this many failing calls")
    args = parser.parse_args()
    calls = corpus(args.count, args.seed)
    found: dict[str, list[int]] = {}
    cells: dict[tuple[str, str], list[int]] = {}
    partial = survive = 0
    shown = 0
    cpu = time.process_time()
    results = [redact(call.text) for call in calls]
    cpu = time.process_time() - cpu
    for call, result in zip(calls, results, strict=True):
        preds = [(f.type, f.start, f.end) for f in result.findings]
        ok, leak = True, False
        for kind, start, end in call.spans:
            over = [p for p in preds if p[1] < end and start < p[2]]
            if not any(p[0] == kind for p in over):
                ok = False
            covered = {i for p in over for i in range(p[1], p[2])}
            if any(call.text[i].isalnum() and i not in covered for i in range(start, end)):
                leak = True
        if call.entity == "EMAIL_ADDRESS":
            left = email_survives(call.value, result.text)
        else:
            left = bool(leaked_digits(call.value, result.text))
        for key in (call.entity, f"{call.entity}/{call.lang}"):
            row = found.setdefault(key, [0, 0])
            row[0] += ok
            row[1] += 1
        cell = cells.setdefault((call.entity, call.style), [0, 0])
        cell[0] += ok
        cell[1] += 1
        partial += leak
        survive += left
        if (not ok or leak or left) and shown < args.show:
            shown += 1
            print(f"--- {call.entity} {call.style} {call.lang} ok={ok} leak={leak} left={left}")
            print(call.text)
            print(">>>", result.text.replace("\n", " | "))
    print(
        f"{'entity':<16}{'all':>7}"
        + "".join(f"{s:>11}" for s in STYLES)
        + "".join(f"{lang:>8}" for lang in LANGS)
    )
    for kind in ENTITIES:
        all_ = found.get(kind, [0, 1])
        row = "".join(
            f"{cells[(kind, s)][0] / cells[(kind, s)][1]:>11.3f}"
            if (kind, s) in cells
            else f"{'-':>11}"
            for s in STYLES
        )
        langs = "".join(
            f"{found[f'{kind}/{lang}'][0] / found[f'{kind}/{lang}'][1]:>8.3f}"
            if f"{kind}/{lang}" in found
            else f"{'-':>8}"
            for lang in LANGS
        )
        print(f"{kind:<16}{all_[0] / all_[1]:>7.3f}{row}{langs}")
    load = os.getloadavg()
    print(
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
        f"engine {'compiled' if build.is_compiled() else 'plain Python'}"
    )
    recalls = " ".join(
        f"recall_{k.lower()}={found.get(k, [0, 1])[0] / found.get(k, [0, 1])[1]:.3f}"
        for k in ENTITIES
    )
    print(
        f"calls={len(calls)} {recalls} partly_in_clear={partial / len(calls):.3f} "
        f"value_survives={survive / len(calls):.3f} calls_per_cpu_s={len(calls) / cpu:.0f} "
        f"load1={load[0]:.2f}"
    )


if __name__ == "__main__":
    main()
