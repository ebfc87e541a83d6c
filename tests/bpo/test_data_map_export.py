"""The data map of a BPO's clients as JSON (`GET /v1/clients/data-map`, `honorbound clients
data-map --format json`) and CSV (`?format=csv`, the console's download, `--format csv`).

Oracle: the notices' YAML files read here, independently of the declaration model and the
comparison: per category the purposes that name it (or "all"), and whether the clients say
the same. The CSV is parsed with the csv module; the API, the console and the CLI must give
the same comparison. Another BPO's key sees none of it."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from honorbound.audit import Actor
from honorbound.bpo import clients
from honorbound.cli import app as cli
from honorbound.runtime import Runtime
from tests.bpo.test_clients_api import onboard
from tests.bpo.test_clients_cli import cli_env  # noqa: F401 (a fixture)
from tests.conftest import EXAMPLE_POLICIES, Tenant, adopt_example
from tests.foundation.test_tenancy import _console_admin

NOTICES = {"one": "contact-center-1-2024", "two": "contact-center-1-2024", "three": "liveops-2018"}


def _within(a: str, b: str) -> bool:
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def _purposes(notice: dict[str, Any], key: str) -> list[str] | None:
    if key not in {c["key"] for c in notice["categories"]}:
        return None
    return sorted(
        p["name"]
        for p in notice["purposes"]
        if p["categories"] == "all" or any(_within(key, k) for k in p["categories"])
    )


def _setup(client: TestClient, runtime: Runtime, tenant: Tenant) -> dict[str, dict[str, Any]]:
    for slug, notice in NOTICES.items():
        adopt_example(runtime, onboard(client, tenant, slug)["id"], notice)
    return {
        s: yaml.safe_load((EXAMPLE_POLICIES / f"{n}.yaml").read_text()) for s, n in NOTICES.items()
    }


def test_json_and_csv_match_the_notices(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant,
    cli_env: CliRunner,  # noqa: F811
) -> None:  # fmt: skip
    yamls = _setup(client, runtime, tenant)
    answer = client.get("/v1/clients/data-map", headers=tenant.headers())
    assert answer.status_code == 200, answer.text
    found = answer.json()
    slugs = [o["slug"] for o in found["organizations"]]
    assert sorted(slugs) == ["one", "org-a", "three", "two"]
    assert next(o for o in found["organizations"] if o["slug"] == "org-a")["notice_version"] is None
    keys = {c["key"] for y in yamls.values() for c in y["categories"]}
    rows = {(r["category"], r["aspect"]): r for r in found["rows"]}
    assert {k for k, _ in rows} == keys and found["categories"] == len(keys)
    differing = set()
    for key in keys:
        row = rows[(key, "purposes")]
        for slug, notice in yamls.items():
            assert row["values"][slug] == _purposes(notice, key), (key, slug)
        assert row["values"]["org-a"] is None  # the BPO adopted no notice
        any_differs = any(
            rows[(key, a)]["differs"] for a in ("purposes", "recipients", "retention")
        )
        if any_differs:
            differing.add(key)
        # Purposes differ exactly when the four columns do not all say the same.
        texts = {json.dumps(v) for v in row["values"].values()}
        assert row["differs"] == (len(texts) > 1), key
    assert found["differing_categories"] == len(differing)
    # CSV: the same rows, one column per organization, parsed with the csv module.
    exported = client.get("/v1/clients/data-map?format=csv", headers=tenant.headers())
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(table) == len(found["rows"])
    for line in table:
        if line["aspect"] != "purposes":
            continue
        for slug, notice in yamls.items():
            names = _purposes(notice, line["category"])
            expected = "not in this notice" if names is None else "; ".join(names) or "none"
            assert line[slug] == expected, (line["category"], slug)
        assert line["differs"] == (
            "yes" if rows[(line["category"], "purposes")]["differs"] else "no"
        )
    # The console's download and the CLI give the same comparison.
    console = TestClient(client.app)
    _console_admin(console, runtime, tenant, "bpo.admin")
    with runtime.db.session() as session:
        for slug in NOTICES:
            client_id = clients.client_by_slug(session, tenant.id, slug).id
            clients.grant_client_access(session, tenant.id, client_id, "bpo.admin", "auditor",
                                        Actor("t", "system"))  # fmt: skip
    downloaded = console.get("/console/all-clients/data-map.csv")
    assert downloaded.status_code == 200 and downloaded.text == exported.text
    r = cli_env.invoke(cli, ["clients", "data-map", "--bpo", tenant.slug])
    assert r.exit_code == 0 and json.loads(r.output) == found, r.output
    r = cli_env.invoke(cli, ["clients", "data-map", "--bpo", tenant.slug, "--format", "csv"])
    assert r.exit_code == 0 and r.output.replace("\r\n", "\n") == exported.text.replace(
        "\r\n", "\n"
    )
    # Bad input: exit 2 / 422 with the reason; another BPO sees only itself.
    r = cli_env.invoke(cli, ["clients", "data-map", "--bpo", tenant.slug, "--format", "xml"])
    assert r.exit_code == 2 and "xml" in r.output
    r = cli_env.invoke(cli, ["clients", "data-map", "--bpo", "nobody"])
    assert r.exit_code == 2 and "no organization" in r.output
    assert (
        client.get("/v1/clients/data-map?format=xml", headers=tenant.headers()).status_code == 422
    )
    theirs = client.get("/v1/clients/data-map", headers=other_tenant.headers()).json()
    assert [o["slug"] for o in theirs["organizations"]] == ["org-b"] and theirs["rows"] == []
    intruder = TestClient(client.app)
    _console_admin(intruder, runtime, other_tenant, "b.admin")
    assert list(
        csv.reader(io.StringIO(intruder.get("/console/all-clients/data-map.csv").text))
    ) == [["category", "title", "aspect", "differs", "org-b"]]
