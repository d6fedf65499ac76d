"""The typed service boundary: requests made in Python are checked with the project's error, and
services answer with records whose fields are the API's JSON."""

from __future__ import annotations

import pytest

from qts.core.errors import ConflictError, ValidationError
from qts.services.auth.schemas import NewUser, UserChanges, UserRecord
from qts.services.auth.users import create_user, list_users, update_user
from qts.services.schemas import Page
from qts.services.trading.schemas import NewStrategy, StrategyChanges, StrategyRecord
from qts.services.trading.strategies import create_strategy, list_strategies, update_strategy


def test_a_bad_request_names_every_bad_field() -> None:
    with pytest.raises(ValidationError) as info:
        NewUser.parse(username="x", password="short", role="wizard", colour="red")
    assert set(info.value.details) == {"username", "password", "role", "colour"}
    assert info.value.message.startswith("invalid NewUser: username: String should have at least")


def test_users_come_back_as_records_and_bad_input_keeps_the_store(db) -> None:  # type: ignore[no-untyped-def]
    ada = create_user(db, NewUser(username="ada", password="ada-password", role="trader"))
    assert isinstance(ada, UserRecord) and (ada.username, ada.role) == ("ada", "trader")
    with pytest.raises(ConflictError):
        create_user(db, NewUser(username="ada", password="other-password"))
    changed = update_user(db, ada.id, UserChanges(is_active=False), actor="root")
    assert changed.is_active is False and changed.role == "trader"
    assert [u.model_dump() for u in list_users(db)] == [changed.model_dump()]


def test_strategies_come_back_as_records_and_pages(db) -> None:  # type: ignore[no-untyped-def]
    new = NewStrategy.parse(name="s1", strategy_class="sma_cross", parameters={"fast": 5})
    made = create_strategy(db, new, actor="ada")
    assert isinstance(made, StrategyRecord) and made.parameters["fast"] == 5
    page = list_strategies(db, 10, 0, None)
    assert isinstance(page, Page) and page.total == 1 and page.items == [made]
    moved = update_strategy(db, made.id, StrategyChanges(timeframe="1h"), actor="ada")
    assert moved.timeframe == "1h" and moved.parameters == made.parameters
    with pytest.raises(ValidationError, match="'description' cannot be null"):
        update_strategy(db, made.id, StrategyChanges(description=None), actor="ada")
    assert list_strategies(db, 10, 0, None).items[0].timeframe == "1h"  # nothing lost
