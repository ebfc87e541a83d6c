"""One error tree (honorbound.errors): every domain error derives from `HonorboundError`, says
its status, title and problem type, and answers through the one handler of the real app, as a
problem document on the API and as an HTML page on a browser path. The subclasses are found by
walking the package, so a new error is covered (and must be added to `STATUSES` below, the
status written a second time, by hand: the oracle).

A router that catches a domain error by hand, instead of letting the handler answer, fails the
AST scan at the end unless it is listed in `HAND_TRANSLATED` with its reason.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import honorbound
from honorbound.errors import TYPE_PREFIX, HonorboundError

SRC = Path(honorbound.__file__).parent

# The HTTP status of each error as constructed below, written out independently of the classes.
STATUSES = {
    "AccountError": 422,
    "AdoptionError": 422,
    "AnchorError": 422,
    "AsrUnavailable": 422,
    "BackupError": 422,
    "BadSignature": 403,
    "BadUpload": 422,
    "BelowMinimumAge": 422,
    "BreachError": 422,
    "BreachInputError": 422,
    "CallbackError": 422,
    "CallbackRefused": 422,
    "CertificateError": 422,
    "CollectionRefused": 422,
    "ConfigError": 500,
    "ConnectionFailed": 502,
    "CorruptAudio": 422,
    "DecryptionError": 500,
    "DeclarationError": 422,
    "DeliveryDeferred": 503,
    "DeskError": 422,
    "DisclosureInputError": 422,
    "DisclosureRefused": 422,
    "DncFileError": 422,
    "DncListError": 422,
    "EpochError": 422,
    "ExecutionError": 409,
    "FieldError": 422,
    "IdempotencyMismatch": 422,
    "IncidentNotFound": 404,
    "IntentError": 422,
    "InvalidIdentity": 422,
    "InvalidIdentityAt": 422,
    "InvalidLifecycleDate": 422,
    "JobError": 422,
    "KeyDestroyed": 404,
    "LedgerError": 422,
    "LettersUnavailable": 501,
    "LineRefused": 422,
    "LinkError": 400,
    "MapError": 422,
    "MarkerError": 422,
    "MasterKeyError": 500,
    "MessageErased": 410,
    "NoAppealExtension": 404,
    "NoAppealRight": 404,
    "NotAMember": 403,
    "NotOperatedByBpo": 422,
    "NothingToReveal": 404,
    "OverrideError": 422,
    "ProtocolError": 422,
    "ReceiptError": 422,
    "RecordingError": 422,
    "RemovalNeedsConfirmation": 409,
    "RequestNotFound": 404,
    "RetentionInputError": 422,
    "RightsError": 422,
    "ScrubError": 422,
    "SelectionEmpty": 422,
    "SendError": 502,
    "SharedNumberError": 422,
    "SmsError": 422,
    "SnapshotError": 500,
    "StreamError": 422,
    "SubjectConflict": 409,
    "SubjectNotFound": 404,
    "SubprocessorError": 422,
    "SystemAnswerError": 502,
    "SystemsError": 422,
    "TaskError": 422,
    "TokenRejected": 400,
    "TooLarge": 413,
    "TranscriptError": 422,
    "TranscriptMismatch": 422,
    "TwoFactorError": 422,
    "UnknownDncRequest": 404,
    "UnknownMessage": 404,
    "UnsupportedAudio": 422,
    "UnsupportedLanguage": 422,
}

# Constructor arguments by parameter name (no personal data: fixed words and numbers).
ARGUMENTS: dict[str, Any] = {
    "field": "body.reason",
    "message": "is not one of the allowed values",
    "system": "crm",
    "rule": "purpose_not_declared",
    "reason": "invalid",
    "reply": "550 mailbox unavailable",
    "permanent": True,
    "limit": 1000,
    "minimum_age": 13,
    "subject_id": None,
    "subject_ids": [1, 2],
    "index": 0,
    "lines": [(3, "not a phone number")],
    "total": 10,
    "removed": 2,
    "held": 1,
    "problems": [],
    "title": "Refused",
}


def _check() -> Any:
    from honorbound.disclosures.guard import DisclosureCheck

    return DisclosureCheck(recipient=None, basis=None, purpose="billing", categories=["x"])


def error_classes() -> list[type[HonorboundError]]:
    for info in pkgutil.walk_packages(honorbound.__path__, "honorbound."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    found: set[type[HonorboundError]] = set()
    todo = [HonorboundError]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return sorted(found, key=lambda c: c.__name__)


def example(cls: type[HonorboundError]) -> HonorboundError:
    """An instance made from the constructor's own signature."""
    params = inspect.signature(cls.__init__).parameters
    kinds = {p.kind for n, p in params.items() if n != "self"}
    if kinds <= {inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD}:
        return cls("the value cannot be used; send another")
    kwargs: dict[str, Any] = {}
    for name, p in params.items():
        if name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if name == "check":
            kwargs[name] = _check()
        elif name == "status":
            kwargs[name] = STATUSES[cls.__name__]
        elif name in ARGUMENTS:
            kwargs[name] = ARGUMENTS[name]
        elif p.default is p.empty:
            raise AssertionError(f"{cls.__name__}: add an example for parameter '{name}'")
    return cls(**kwargs)


CLASSES = error_classes()


def test_the_tree_is_found_and_every_error_has_its_status_written_down() -> None:
    names = {c.__name__ for c in CLASSES}
    assert len(CLASSES) == len(names), "two error classes share a name"
    assert names == set(STATUSES), (
        f"not listed in STATUSES: {sorted(names - set(STATUSES))}; "
        f"listed but gone: {sorted(set(STATUSES) - names)}"
    )


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_error_carries_status_title_and_type(cls: type[HonorboundError]) -> None:
    exc = example(cls)
    assert exc.status == STATUSES[cls.__name__]
    assert 400 <= exc.status <= 599
    assert isinstance(exc.title, str) and exc.title.strip()
    assert cls.type.startswith(TYPE_PREFIX) and cls.type != TYPE_PREFIX
    assert isinstance(exc.detail(), str)
    assert all(set(e) == {"field", "message"} for e in exc.errors())


def test_problem_types_are_distinct() -> None:
    types = [c.type for c in CLASSES]
    assert len(types) == len(set(types))


def test_the_domain_error_names_stay_importable() -> None:
    # The three identical errors share FieldError; each name is still its own class.
    from honorbound.disclosures.ledger import DisclosureInputError
    from honorbound.errors import FieldError
    from honorbound.intents.acting import IntentError
    from honorbound.retention.errors import RetentionInputError
    from honorbound.rights.errors import RightsError

    kinds = (RightsError, RetentionInputError, DisclosureInputError, IntentError)
    assert all(issubclass(k, FieldError) and issubclass(k, ValueError) for k in kinds)
    assert len(set(kinds)) == 4
    assert not issubclass(RightsError, RetentionInputError)


def _raising_app(app: Any) -> None:
    by_name = {c.__name__: c for c in CLASSES}

    def raise_it(name: str) -> None:
        raise example(by_name[name])

    app.add_api_route("/v1/_errors/{name}", raise_it, methods=["GET"])
    app.add_api_route("/console/_errors/{name}", raise_it, methods=["GET"])


def test_each_error_answers_its_status_through_the_real_app(app: Any) -> None:
    _raising_app(app)
    with TestClient(app, raise_server_exceptions=False) as client:
        for cls in CLASSES:
            name = cls.__name__
            status = STATUSES[name]
            api = client.get(f"/v1/_errors/{name}")
            assert api.status_code == status, name
            assert api.headers["content-type"] == "application/problem+json", name
            body = api.json()
            assert body["status"] == status and body["instance"] == f"/v1/_errors/{name}", name
            if status == 500:
                # Our failure: logged, and the generic answer (no internal message leaks).
                assert body["title"] == "Internal error" and body["type"] == "about:blank", name
            else:
                assert body["type"] == cls.type and body["title"], name
            page = client.get(f"/console/_errors/{name}")
            assert page.status_code == status, name
            assert page.headers["content-type"].startswith("text/html"), name
            # The site's error page (error.html), in the console's frame, not a JSON body.
            assert 'id="error-message"' in page.text and "application/problem" not in page.text
            assert "Back to the start" in page.text or "Back to the console" in page.text, name


def test_a_route_error_keeps_its_problem_fields(app: Any) -> None:
    """The handler writes what the routers used to write by hand: e.g. a token refusal's
    `reason` member and its 410, a field error's `errors`."""
    from honorbound.rights.errors import RightsError
    from honorbound.rights.tokens import TokenRejected

    def used() -> None:
        raise TokenRejected("used")

    def bad() -> None:
        raise RightsError("body.email", "is not an email address")

    app.add_api_route("/v1/_errors/used", used, methods=["GET"])
    app.add_api_route("/v1/_errors/bad", bad, methods=["GET"])
    with TestClient(app) as client:
        answer = client.get("/v1/_errors/used")
        assert answer.status_code == 410
        assert answer.json()["reason"] == "used"
        assert answer.json()["title"] == "Link or code not accepted"
        answer = client.get("/v1/_errors/bad")
        assert answer.status_code == 422
        assert answer.json()["errors"] == [
            {"field": "body.email", "message": "is not an email address"}
        ]


# -- no hand-written translations in the routers --------------------------------------------
ROUTERS = [SRC / "api" / "routes", SRC / "web"]

# (module relative to src/honorbound, class caught) -> why the router still catches it itself.
# An error that needs more members says so on its class (detail/errors/extra); a protocol's
# own body is its route class's (api/problems.ProtocolRoute); a form shown again with the
# sentence, or a page chosen by the error (a not-found page, a refused link's page), says so
# with web/forms.shown_again (or shown_again_by_error) before the domain call. What remains
# is not a translation of a refusal:
ERASE = "a refused minor's data already held is scheduled for erasure in its own unit of work; "
ERASE += "the refusal is then re-raised to the one handler"
PARTIAL = "not a refusal: the page is still shown, without the part that could not be read"
NO_PLAN = "not a refusal: with no notice adopted yet the page is shown without a plan"
RATE_KEY = (
    "not a refusal: a contact that cannot be read only skips the per-person rate limit; "
    "take_request refuses it a few lines on, through the one handler"
)
HAND_TRANSLATED: dict[tuple[str, str], str] = {
    ("api/routes/vault.py", "BelowMinimumAge"): ERASE,
    ("web/console/systems.py", "SystemsError"): PARTIAL,
    ("web/console/retention.py", "RetentionInputError"): NO_PLAN,
    ("web/portal/requests.py", "InvalidIdentity"): RATE_KEY,
}


def _caught(handler: ast.ExceptHandler) -> list[str]:
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    out = []
    for kind in kinds:
        if isinstance(kind, ast.Name):
            out.append(kind.id)
        elif isinstance(kind, ast.Attribute):
            out.append(kind.attr)
    return out


def _passes_it_on(handler: ast.ExceptHandler) -> bool:
    """`except HonorboundError: raise` (before an `except ValueError` the domain errors would
    otherwise fall into) leaves the error to the handler: not a translation."""
    body = handler.body
    return len(body) == 1 and isinstance(body[0], ast.Raise) and body[0].exc is None


def hand_translations() -> set[tuple[str, str]]:
    # The bases too: a catch of HonorboundError that words the answer is a translation.
    names = {c.__name__ for c in CLASSES} | {"HonorboundError"}
    found: set[tuple[str, str]] = set()
    for root in ROUTERS:
        for path in sorted(root.rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.ExceptHandler) and node.type is not None:
                    if _passes_it_on(node):
                        continue
                    for name in _caught(node):
                        if name in names:
                            found.add((str(path.relative_to(SRC)), name))
    return found


def test_routers_leave_domain_errors_to_the_handler() -> None:
    found = hand_translations()
    unlisted = sorted(found - set(HAND_TRANSLATED))
    assert not unlisted, f"caught by hand (let the handler answer, or list why): {unlisted}"
    stale = sorted(set(HAND_TRANSLATED) - found)
    assert not stale, f"listed in HAND_TRANSLATED but no longer caught: {stale}"


def test_every_problem_type_is_listed_in_the_api_doc() -> None:
    """docs/api.md lists each type a client can meet, with its status and class: a new error,
    a renamed one or a changed status fails here until the table says so. 500s are not listed
    (they answer about:blank, the internal error hidden)."""
    import re

    text = (SRC.parents[1] / "docs" / "api.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(urn:honorbound:problem:[a-z0-9-]+)` \| (\d+)[^|]* \| `([\w.]+)` \|$",
                      text, re.M)  # fmt: skip
    listed = {type_: (int(status), where) for type_, status, where in rows}
    assert len(listed) == len(rows), "a type is listed twice"
    expected = {
        c.type: (STATUSES[c.__name__], f"{c.__module__.removeprefix('honorbound.')}.{c.__name__}")
        for c in CLASSES
        if STATUSES[c.__name__] != 500
    }
    assert listed == expected
