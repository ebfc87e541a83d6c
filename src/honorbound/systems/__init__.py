"""Connected systems: where personal data lives outside the vault (CRM, ticketing, dialer lists,
warehouse, recording store, exported files, SaaS behind a webhook, systems only people can
reach), declared as Fides dataset maps, reached through connectors, and kept to the notice.

    maps.py        the dataset map (Fides `Dataset` YAML plus `meta.honorbound`), read with lines
    check.py       `systems check`: shape, taxonomy, references, reachability, live indexes
    graph.py       how a person is found: identities, then references, across systems
    strategies.py  erasure per field: delete row, null, mask, HMAC pseudonym
    secrets.py     connection secrets from the environment or a file, never from the map
    connectors/    sql (SQLAlchemy URLs), files (fsspec), webhook (signed HTTP), manual (tasks)
    requests.py    access and deletion of one person in every system (the rights hook)
    sweep.py       retention in connected systems: batched, resumable, certified
    classify.py    what a field holds, from sampled values and its name (pure, Spark uses it)
    scan.py        notice drift: what the systems hold against what the map and notice say
    registry.py    the maps an organization has connected (stored without secrets)
"""
