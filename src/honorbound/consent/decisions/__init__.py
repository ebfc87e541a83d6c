"""Contact decisions: may we call, text or email this identity for this purpose, now?

The engine keeps one compact in-memory snapshot per organization:

* consent events collapsed to the latest choice per (identity, purpose, channel, scope), by when
  the person made it (`ledger.precedence`, not recording order), as one sorted int64 array of
  composite keys (48 bits of the identity's match key, 5 bits purpose, 3 bits channel, 8 bits
  scope) with the winning choice's rank (`precedence_rank`) and action;
* the national do-not-call registry as a sorted int64 array of 10-digit numbers;
* company do-not-call match keys with their expiry;
* recent call attempts, for the call caps;
* what the vault knows about the person behind an identity (`consent.subject_facts`): their US
  state (calling hours then use its time zones) and, for minors, per purpose whether an opt-in
  is needed or the contact is refused (reason `minor`), as a sorted array of match keys.

A batch is answered with `numpy.searchsorted`, vectorised. Revocations take effect at once: on
every batch the engine asks the database for events, DNC requests and attempts newer than its
snapshot (one indexed query each) and answers the identities they touch from the database
directly; past a threshold, or when the national registry was re-imported, it rebuilds.

The package, one job per module:

* `model`: reason codes, the snapshot, a batch and its answer, the composite key layout;
* `snapshots`: building a snapshot from the database and refreshing it by delta;
* `keying`: identities to match keys (vectorised for plain NANP numbers);
* `hours`: calling-hours and call-cap tables per area code and state;
* `lookups`: per item, the latest choice and the vault subject's facts;
* `reasons`: one function per reason code;
* `items`: JSON items to a `Batch`;
* `engine`: `DecisionEngine`, the snapshot cache and the sequence of steps of a decision.

The runtime builds the one engine (`Runtime.decisions`) and hands it to the adapters.
"""

from honorbound.consent.decisions.engine import DecisionEngine
from honorbound.consent.decisions.items import ITEM_FIELDS, MAX_ITEMS, batch_from_items
from honorbound.consent.decisions.model import (
    BIT,
    CHANNEL_CODE,
    PURPOSE_CODE,
    REASONS,
    Batch,
    Decisions,
    Snapshot,
    composite,
    precedence_rank,
    rank_of,
    reason_names,
    sender_scope,
)
from honorbound.consent.decisions.snapshots import (
    MAX_SNAPSHOT_AGE,
    REBUILD_AFTER_DELTA,
    SUBJECT_SCAN_EVERY,
)

__all__ = [
    "BIT",
    "CHANNEL_CODE",
    "ITEM_FIELDS",
    "MAX_ITEMS",
    "MAX_SNAPSHOT_AGE",
    "PURPOSE_CODE",
    "REASONS",
    "REBUILD_AFTER_DELTA",
    "SUBJECT_SCAN_EVERY",
    "Batch",
    "DecisionEngine",
    "Decisions",
    "Snapshot",
    "batch_from_items",
    "composite",
    "precedence_rank",
    "rank_of",
    "reason_names",
    "sender_scope",
]
