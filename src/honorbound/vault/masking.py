"""How a value is shown to someone who may see that it exists but not what it is.

One strategy per kind of value, registered by name and chosen by identity kind or by the words
of the category name (`user.contact.email` -> email, `user.financial.account_number` -> last
four). Anything not matched is fully hidden: an unknown category never leaks by default.
"""

from __future__ import annotations

from collections.abc import Callable

Mask = Callable[[str], str]


def hidden(_value: str) -> str:
    return "[hidden]"


def last_four(value: str) -> str:
    tail = "".join(ch for ch in value if ch.isalnum())[-4:]
    return "\u2022\u2022\u2022\u2022" + tail if len(tail) == 4 else "[hidden]"


def email(value: str) -> str:
    local, sep, domain = value.rpartition("@")
    if not sep or not local:
        return "[hidden]"
    return f"{local[0]}***@{domain}"


def initial(value: str) -> str:
    value = value.strip()
    return f"{value[0]}." if value else "[hidden]"


def year_only(value: str) -> str:
    return value[:4] + "-**-**" if len(value) >= 4 and value[:4].isdigit() else "[hidden]"


STRATEGIES: dict[str, Mask] = {
    "hidden": hidden,
    "last_four": last_four,
    "email": email,
    "initial": initial,
    "year_only": year_only,
}

# Identity kinds -> strategy.
BY_IDENTITY = {
    "email": "email",
    "phone": "last_four",
    "account_id": "last_four",
    "cookie_id": "last_four",
    "device_id": "last_four",
    "external_id": "last_four",
}

# Words in a category name -> strategy; first match wins, so specific words come first.
BY_CATEGORY_WORD = (
    ("email", "email"),
    ("phone", "last_four"),
    ("card", "last_four"),
    ("account", "last_four"),
    ("financial", "last_four"),
    ("ssn", "last_four"),
    ("government_id", "last_four"),
    ("birth", "year_only"),
    ("name", "initial"),
)


def strategy_for_category(category: str) -> str:
    words = category.lower().replace("-", "_").split(".")
    for word, strategy in BY_CATEGORY_WORD:
        if any(word in part for part in words):
            return strategy
    return "hidden"


def mask_identity(kind: str, value: str) -> str:
    return STRATEGIES[BY_IDENTITY.get(kind, "hidden")](value)


def mask_category(category: str, value: str) -> str:
    return STRATEGIES[strategy_for_category(category)](value)
