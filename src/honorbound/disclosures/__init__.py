"""The disclosure ledger and its guard: share nothing the notice did not promise to share."""
