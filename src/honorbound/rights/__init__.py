"""Consumer rights requests: intake, verification, the legal clock, execution, appeals, metrics.

One module per concept: `models` (tables), `rules` (request rules as data), `clock` (due
dates), `intake`, `verification`, `package` (access ZIP), `execution`, `sweep` (reminders and
the unverified-by-due-date rule), `metrics` (CA 7102), `messages` (what the consumer reads).
"""
