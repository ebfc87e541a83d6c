"""`make i18n-merge`: settle a merge conflict in the translation catalogs.

Every branch that adds console or portal strings rewrites `messages.po` (the extraction sorts
it), so two branches merged one after the other conflict there even when they translated
different strings. This reads both sides of each conflicted catalog from git's index (stage 2,
ours; stage 3, theirs), takes the union by message id, and writes it the way the extraction
does. Where one side translated a message and the other left it empty, the translation wins;
where both translated it differently, the side that changed it since the merge base (stage 1)
wins, and where both changed it, ours is kept and the message is listed on stderr for a person
to choose. Then the extraction runs, so the catalog holds exactly the strings of the
merged sources; what is still untranslated is counted at the end.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po

from honorbound.i18n import extract

ROOT = Path(__file__).resolve().parents[1]


def _side(path: str, stage: int, locale: str) -> Catalog:
    shown = subprocess.run(["git", "show", f":{stage}:{path}"], cwd=ROOT, capture_output=True)
    if shown.returncode != 0:  # no merge base (stage 1) for a catalog both sides added
        return Catalog(locale=locale)
    return read_po(io.BytesIO(shown.stdout), locale=locale)


def _filled(message: Message) -> bool:
    forms = message.string if isinstance(message.string, (list, tuple)) else [message.string]
    return bool(forms) and all(forms)


def merge(path: str) -> list[str]:
    """Write the union of both sides of `path`; the ids both sides translated differently."""
    locale = Path(path).parts[-3]
    base = _side(path, 1, locale)
    ours, theirs = _side(path, 2, locale), _side(path, 3, locale)
    differ = []
    for message in theirs:
        if not message.id:
            continue
        mine = ours.get(message.id, message.context)
        if mine is None:
            ours[message.id] = message
        elif not _filled(mine) and _filled(message):
            mine.string = message.string
        elif _filled(mine) and _filled(message) and mine.string != message.string:
            before = base.get(message.id, message.context)
            if before is not None and before.string == mine.string:
                mine.string = message.string  # only theirs changed it
            elif before is None or before.string != message.string:
                differ.append(str(message.id))  # both changed it: ours kept
    with (ROOT / path).open("wb") as handle:
        write_po(handle, ours, no_location=True, sort_output=True, width=100)
    return differ


def conflicted() -> list[str]:
    names = subprocess.run(
        ["git", "diff", "--name-only", "--diff-filter=U"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return [name for name in names if name.endswith(".po")]


def main() -> int:
    paths = conflicted()
    if not paths:
        print("no conflicted catalog", file=sys.stderr)
        return 0
    for path in paths:
        for message_id in merge(path):
            print(f"{path}: both sides translate {message_id!r}; kept ours", file=sys.stderr)
        subprocess.run(["git", "add", path], cwd=ROOT, check=True)
    for lang, count in extract.update(ROOT).items():
        print(f"{lang}: {count} string(s) to translate")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
