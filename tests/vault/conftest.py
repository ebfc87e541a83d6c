from __future__ import annotations

import pytest

from honorbound.vault.rules import CategoryRule, CollectionRules


@pytest.fixture
def rules() -> CollectionRules:
    """A declaration's rules written out by hand, for domain tests that do not need the policy
    package (the API tests use the adopted example declaration)."""
    return CollectionRules(
        policy_version_id=7,
        categories={
            "user.contact.email": CategoryRule(
                "user.contact.email", False, frozenset({"customer_service", "billing"})
            ),
            "user.financial.account_number": CategoryRule(
                "user.financial.account_number", False, frozenset({"billing"})
            ),
            "user.health": CategoryRule("user.health", True, frozenset({"customer_service"})),
            "user.contact_center": CategoryRule(
                "user.contact_center", False, frozenset({"customer_service"})
            ),
        },
        subject_types=frozenset({"customer", "prospect"}),
        minimum_age=13,
        opt_in_jurisdictions=frozenset({"CO", "VA", "CT"}),
    )
