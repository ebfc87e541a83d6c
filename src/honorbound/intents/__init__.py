"""`honorbound.intents`: requests said in a conversation, acted on.

The detection engine (`honorbound.detect`) finds the phrases (`OPT_OUT_REQUEST`,
`RIGHTS_REQUEST`) when an interaction is screened. This package decides what they mean and
acts on them:

- `said.read`: who said each phrase (only the customer counts), whether it was meant (no
  negation, question or supposition before it), the channel an opt-out concerns, the request
  type a rights request names and how sure that reading is. Pure Python, word lists in
  `data/cues.yaml`.
- `acting.act_on_interaction`: an opt-out becomes consent-ledger events (source
  `conversation`) at once or waits for staff review, per the organization's declaration
  (`conversations.opt_outs`); a rights request opens a request on the staff queue with its
  clock started at the time of the interaction. Idempotent per interaction content.
- `recorded.act_on_call`: a recorded call of a vault subject (stored by
  `recordings.collect`) becomes their call interaction, with `Customer:`/`Agent:` turns, and
  is acted on by `acting.act_on_interaction` like a chat.
"""
