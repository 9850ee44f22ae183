"""A waiting person widens their choices with the receipt code over the API, against PostgreSQL:
the change is re-checked at once (a real matching run), bad input is a problem, and only the
choice columns change."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from helpers import make_org_with_facilitator, register_people
from intake import choices
from intake.choices import ChoiceChange
from intake.crypto import ContactCipher
from intake.errors import Conflict, InvalidInterest
from intake.tables import interest
from matching.job import MATCH_LOCK, run_matching
from matching.model import Suggestion, SuggestionKind
from matching.notes import suggestions_for

DAY = timedelta(days=1)


def _maker(conn: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


async def _near_miss(
    conn: AsyncConnection, session: AsyncSession, cipher: ContactCipher, clock: Any
) -> tuple[Any, str]:
    """Three people wait for a grief group on Wednesday evenings; 'me' only on Tuesdays. All
    have waited 40 days, so a group of four may start at once. Matching has run once."""
    await make_org_with_facilitator(session)
    await register_people(
        session, cipher, clock.now, 3, days_ago=40, step=DAY, availability=["wed-evening"]
    )
    [(me, code)] = await register_people(
        session, cipher, clock.now, 1, days_ago=40, availability=["tue-evening"]
    )
    await session.commit()
    report = await run_matching(_maker(conn), now=clock.now)
    assert report.ran and report.groups == 0
    return me, code


async def test_status_lists_suggestions_and_accepting_one_places_at_once(
    conn: AsyncConnection, session: AsyncSession, cipher: ContactCipher, clock: Any, client: Any
) -> None:
    me, code = await _near_miss(conn, session, cipher, clock)
    # The run stored every suggestion with its note.
    assert await suggestions_for(session, [me]) == {
        me: [Suggestion(SuggestionKind.ADD_SLOT, "wed-evening")]
    }
    status = (await client.get(f"/api/v1/interests/{code}?lang=en")).json()
    assert status["status"] == "waiting"
    assert status["suggestions"] == [
        {
            "kind": "add_slot",
            "value": "wed-evening",
            "soon": False,
            "text": "If you could also meet on Wednesday evening, a group could start now",
        }
    ]
    before = (await session.execute(select(interest).where(interest.c.id == me))).mappings().one()

    answer = await client.post(
        f"/api/v1/interests/{code}/choices?lang=en",
        json={"changes": [{"kind": "add_slot", "value": "wed-evening"}]},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["changed"] is True and body["rechecked"] is True
    assert body["status"]["status"] == "proposed"
    assert body["status"]["suggestions"] == [] and body["status"]["explanation"] is None

    after = (await session.execute(select(interest).where(interest.c.id == me))).mappings().one()
    assert after["slots"] == ["tue-evening", "wed-evening"]
    assert after["waiting_since"] == before["waiting_since"]  # keeps their place in line
    # A change is a sign of life: the registration is kept a new period (intake.lapse).
    assert before["alive_at"] is None and after["alive_at"] is not None
    untouched = set(before) - {"slots", "updated_at", "status", "alive_at"}
    assert {k: after[k] for k in untouched} == {k: before[k] for k in untouched}

    # Placed now: a further change is refused plainly.
    again = await client.post(
        f"/api/v1/interests/{code}/choices", json={"changes": [{"kind": "welcome_digital"}]}
    )
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    assert "waiting" in again.json()["detail"]


async def test_a_change_that_does_not_place_shows_the_new_reason(
    conn: AsyncConnection, session: AsyncSession, cipher: ContactCipher, clock: Any, client: Any
) -> None:
    me, code = await _near_miss(conn, session, cipher, clock)
    answer = await client.post(
        f"/api/v1/interests/{code}/choices?lang=en",
        json={"changes": [{"kind": "add_language", "value": "en"}]},
    )
    body = answer.json()
    assert answer.status_code == 200 and body["changed"] is True and body["rechecked"] is True
    assert body["status"]["status"] == "waiting"
    assert "Wednesday evening" in body["status"]["suggestions"][0]["text"]
    languages = await session.scalar(select(interest.c.languages).where(interest.c.id == me))
    assert languages == ["no", "en"]

    # The same change again (another tab): nothing changes, no run.
    same = await client.post(
        f"/api/v1/interests/{code}/choices",
        json={"changes": [{"kind": "add_language", "value": "en"}]},
    )
    assert same.status_code == 200
    assert same.json()["changed"] is False and same.json()["rechecked"] is False


@pytest.mark.parametrize(
    ("changes", "field", "word"),
    [
        ([{"kind": "add_slot", "value": "tue-night"}], "changes[0].value", "slot"),
        ([{"kind": "add_language", "value": "xx"}], "changes[0].value", "language"),
        ([{"kind": "add_slot"}], "changes[0].value", "value"),
        ([{"kind": "welcome_digital", "value": "yes"}], "changes[0].value", "no value"),
    ],
)
async def test_bad_changes_are_problem_details_and_change_nothing(
    conn: AsyncConnection,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
    client: Any,
    changes: list[dict[str, Any]],
    field: str,
    word: str,
) -> None:
    me, code = await _near_miss(conn, session, cipher, clock)
    before = (await session.execute(select(interest).where(interest.c.id == me))).mappings().one()
    answer = await client.post(f"/api/v1/interests/{code}/choices", json={"changes": changes})
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["status"] == 422
    assert [e["field"] for e in problem["errors"]] == [field]
    assert word in problem["errors"][0]["message"]
    after = (await session.execute(select(interest).where(interest.c.id == me))).mappings().one()
    assert dict(after) == dict(before)


async def test_malformed_bodies_and_unknown_codes(
    conn: AsyncConnection, session: AsyncSession, cipher: ContactCipher, clock: Any, client: Any
) -> None:
    _, code = await _near_miss(conn, session, cipher, clock)
    for body in (
        {"changes": []},
        {"changes": [{"kind": "remove_slot", "value": "tue-evening"}]},
        {"changes": [{"kind": "add_slot", "value": "wed-evening", "extra": 1}]},
        {},
    ):
        answer = await client.post(f"/api/v1/interests/{code}/choices", json=body)
        assert answer.status_code in (400, 422), (body, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
    unknown = await client.post(
        "/api/v1/interests/AAAAA-AAAAA/choices", json={"changes": [{"kind": "welcome_digital"}]}
    )
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")


async def test_apply_validates_logs_nothing_personal_and_only_while_waiting(
    session: AsyncSession, cipher: ContactCipher, clock: Any, caplog: pytest.LogCaptureFixture
) -> None:
    [(me, code)] = await register_people(
        session, cipher, clock.now, 1, availability=["mon-morning"]
    )
    with pytest.raises(InvalidInterest) as bad:
        await choices.apply(
            session, me, [ChoiceChange("add_slot", "x")], now=clock.now, actor="staff"
        )
    assert bad.value.problems[0].field == "changes[0].value"
    with pytest.raises(ValueError, match="actor"):
        await choices.apply(
            session, me, [ChoiceChange("welcome_digital")], now=clock.now, actor="x"
        )
    with caplog.at_level(logging.DEBUG):
        assert await choices.apply(
            session,
            me,
            [ChoiceChange("add_slot", "sun-evening"), ChoiceChange("welcome_cross_problem")],
            now=clock.now,
            actor="participant",
        )
    row = (await session.execute(select(interest).where(interest.c.id == me))).mappings().one()
    assert row["slots"] == ["mon-morning", "sun-evening"] and row["cross_problem_welcome"]
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert str(me) not in logged and code not in logged and "sun-evening" not in logged
    await session.execute(interest.update().where(interest.c.id == me).values(status="proposed"))
    with pytest.raises(Conflict):
        await choices.apply(
            session, me, [ChoiceChange("welcome_digital")], now=clock.now, actor="staff"
        )


async def test_openapi_documents_the_choices_route(client: Any) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    route = schema["paths"]["/api/v1/interests/{receipt_code}/choices"]["post"]
    assert {"200", "404", "409", "422"} <= set(route["responses"])
    assert "application/problem+json" in route["responses"]["409"]["content"]
    assert "re-check" in route["description"]
    kinds = schema["components"]["schemas"]["ChoiceChangeIn"]["properties"]["kind"]
    assert set(kinds["enum"]) == {
        "add_slot",
        "welcome_digital",
        "add_language",
        "welcome_cross_problem",
    }
    status = schema["components"]["schemas"]["InterestStatus"]["properties"]
    assert "suggestions" in status


async def test_a_change_while_another_run_is_busy_is_kept_for_the_next_run(
    conn: AsyncConnection,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
    client: Any,
    engine: AsyncEngine,
) -> None:
    # No run first: the test's transaction would hold the run's lock until its end.
    await make_org_with_facilitator(session)
    await register_people(
        session, cipher, clock.now, 3, days_ago=40, step=DAY, availability=["wed-evening"]
    )
    [(me, code)] = await register_people(
        session, cipher, clock.now, 1, days_ago=40, availability=["tue-evening"]
    )
    await session.commit()
    async with engine.connect() as other:  # another replica's run holds the lock
        assert await other.scalar(select(func.pg_try_advisory_lock(MATCH_LOCK)))
        try:
            answer = await client.post(
                f"/api/v1/interests/{code}/choices?lang=en",
                json={"changes": [{"kind": "add_slot", "value": "wed-evening"}]},
            )
        finally:
            await other.execute(select(func.pg_advisory_unlock(MATCH_LOCK)))
    body = answer.json()
    assert answer.status_code == 200
    assert body["changed"] is True and body["rechecked"] is False
    assert body["status"]["status"] == "waiting"
    slots = await session.scalar(select(interest.c.slots).where(interest.c.id == me))
    assert slots == ["tue-evening", "wed-evening"]
    # The next run sees the change.
    assert (await run_matching(_maker(conn), now=clock.now)).placed == 4
