"""The intake HTTP API (JSON, /api/v1). Handlers are thin: parse, call a service, shape.

Dependencies the composition root provides: ``db`` (the request's AsyncSession, committed on
success), ``cipher`` (ContactCipher), ``now`` (the clock's current time), ``base_url``, and
``progress`` (:class:`intake.progress.Progress`: what intake asks of the packages above it).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Protocol

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import Provide
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.params import HeaderParameter, Parameter, SkipValidation
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from intake import idempotency, interests, lapse, referrals
from intake.api_common import (
    AUTH,
    READ,
    WRITE,
    Cipher,
    Db,
    JsonBody,
    Now,
    Principal,
    ProgressPort,
    SuggestionsPort,
    problems,
)
from intake.api_hot import HotRegistration, register_public
from intake.api_reference import ReferenceController
from intake.choices import ChoiceChange
from intake.crypto import ContactCipher
from intake.errors import Conflict, FieldProblem, InvalidInterest
from intake.progress import (
    AnswerOutcome,
    Progress,
    answer_by_code,
    change_by_code,
    provide_suggestions,
    with_progress,
    withdraw_by_code,
)
from intake.registry import ApiPrincipal, authenticate
from intake.schemas import (
    AnswerIn,
    ChoicesIn,
    ChoicesOut,
    InterestIn,
    InterestStatus,
    KeepOut,
    ReferralBatch,
    ReferralBatchIn,
    ReferralLink,
    ReferralLinkIn,
    ReferralOutcome,
    Registered,
    StaffInterest,
)
from intake.web.i18n import negotiate

#: Either header carries an API key (components.securitySchemes in the OpenAPI document).
API_KEY_SECURITY: list[dict[str, list[str]]] = [{"bearer": []}, {"apiKey": []}]

#: The Idempotency-Key request header, validated and documented in one place.
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        pattern=idempotency.KEY_PATTERN,
        description=idempotency.KEY_RULE,
    ),
]


def _presented_key(request: Request[Any, Any, Any]) -> str:
    header = request.headers.get("authorization", "")
    presented = header[7:].strip() if header.lower().startswith("bearer ") else ""
    return presented or request.headers.get("x-api-key", "").strip()


async def _key_principal(db: AsyncSession, presented: str, now: datetime) -> ApiPrincipal:
    principal = await authenticate(db, presented, now=now)
    if principal is None:
        raise NotAuthorizedException(
            "unknown, revoked or expired API key", headers={"WWW-Authenticate": "Bearer"}
        )
    return principal


async def provide_principal(request: Request[Any, Any, Any], db: Db, now: Now) -> ApiPrincipal:
    """The API key's principal: ``Authorization: Bearer shk_…`` or ``X-API-Key``."""
    presented = _presented_key(request)
    if not presented:
        raise NotAuthorizedException("an API key is needed", headers={"WWW-Authenticate": "Bearer"})
    return await _key_principal(db, presented, now)


class ConsoleSessions(Protocol):
    """What the staff API asks of the console above it: the principal of a signed-in console
    session (None: no session cookie, or not a valid one). The composition root plugs in
    ``staff.api_session.SessionPrincipals``; it scopes a session exactly as an API key is
    scoped (one organisation per request, one the viewer's role may act for)."""

    async def __call__(
        self, request: Request[Any, Any, Any], db: AsyncSession, now: datetime
    ) -> ApiPrincipal | None: ...


async def provide_staff_principal(
    request: Request[Any, Any, Any],
    db: Db,
    now: Now,
    console_sessions: SkipValidation[ConsoleSessions],
) -> ApiPrincipal:
    """``/api/v1/staff/*``: an API key if one is presented, else the console session."""
    presented = _presented_key(request)
    if presented:
        return await _key_principal(db, presented, now)
    found = await console_sessions(request, db, now)
    if found is None:
        raise NotAuthorizedException(
            "an API key or a console session is needed", headers={"WWW-Authenticate": "Bearer"}
        )
    return found


def require_role(role: str) -> Any:
    async def check(principal: Principal) -> ApiPrincipal:
        if principal.role != role:
            raise PermissionDeniedException(f"this needs an API key with role {role!r}")
        return principal

    return check


async def _idempotent(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    cipher: ContactCipher,
    scope: str,
    key: str | None,
    work: Any,
) -> Response[Any]:
    """Run ``work()`` once per Idempotency-Key; a retry gets the first answer verbatim.

    ``scope`` is the API key's id for authenticated callers, so one client's key can never
    replay another client's answer; anonymous callers must send an unguessable key.
    """
    if key and not idempotency.acceptable_key(key):
        raise InvalidInterest(
            [FieldProblem("Idempotency-Key", idempotency.KEY_RULE.split(":", 1)[0], "weak_key")]
        )
    result = await work()
    payload = result.model_dump(mode="json")
    if key:
        replay = await idempotency.record(
            db,
            scope=scope,
            key=key,
            request_body=await request.body(),
            status=HTTP_201_CREATED,
            body=payload,
            cipher=cipher,
        )
        if replay is not None:
            # The key was used before: undo this request's work, answer as the first time.
            await db.rollback()
            return Response(
                replay.body, status_code=replay.status, headers={"Idempotent-Replayed": "true"}
            )
    return Response(payload, status_code=HTTP_201_CREATED)


async def _explained(
    db: AsyncSession, progress: Progress, found: list[StaffInterest], lang: str
) -> list[StaffInterest]:
    """Add, for those waiting, why and the smallest change that would place them now."""
    waiting = [i.id for i in found if i.status == "waiting"]
    words = await progress.waiting_explanations(db, waiting, lang)  # type: ignore[arg-type]
    return [i.model_copy(update={"explanation": words.get(i.id)}) for i in found]


def _lapse_policy(request: Request[Any, Any, Any]) -> lapse.LapsePolicy:
    return lapse.LapsePolicy.of(request.app.state.services.settings)


async def _with_keep_until(
    db: AsyncSession, request: Request[Any, Any, Any], found: InterestStatus
) -> InterestStatus:
    """The status with its keep-until time (waiting only; intake.lapse)."""
    if found.id is None or found.status != "waiting":
        return found
    until = await lapse.keep_until(
        db, found.id, _lapse_policy(request), now=request.app.state.services.clock()
    )
    return found.model_copy(update={"keep_until": until})


class InterestController(Controller):
    """Anonymous interest: register, see status, withdraw — with the receipt code only."""

    path = "/api/v1/interests"
    tags = ["interests"]

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        responses=problems(*WRITE, 409),
        dto=JsonBody[InterestIn],
        return_dto=None,
        middleware=[HotRegistration],
    )
    async def register(
        self,
        request: Request[Any, Any, Any],
        data: InterestIn,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Registered]:
        # A valid request never gets here: intake.api_hot.HotRegistration serves it (issue 12).
        # This handler documents the route and answers what is not valid, through Litestar's
        # own validation, with the same work as the hot path.
        if idempotency_key and not idempotency.acceptable_key(idempotency_key):
            raise InvalidInterest(
                [FieldProblem("Idempotency-Key", idempotency.KEY_RULE.split(":", 1)[0], "weak_key")]
            )
        status, answer, replayed = await register_public(
            request.app.state.services,
            data,
            key=idempotency_key,
            raw_body=await request.body(),
            accept_language=request.headers.get("accept-language"),
        )
        headers = {"Idempotent-Replayed": "true"} if replayed else None
        return Response(answer, status_code=status, headers=headers)

    @get(
        "/{receipt_code:str}",
        responses=problems(*READ, 404),
        dependencies={"suggestions": Provide(provide_suggestions, sync_to_thread=False)},
    )
    async def status(
        self,
        receipt_code: str,
        db: Db,
        progress: ProgressPort,
        suggestions: SuggestionsPort,
        request: Request[Any, Any, Any],
        lang: Annotated[str | None, Parameter(pattern="^(nb|nn|en)$")] = None,
    ) -> InterestStatus:
        """Texts in ``lang``, else in the ``Accept-Language`` language, else bokmål."""
        lang = lang or negotiate(None, None, request.headers.get("accept-language"))
        found = await interests.status(db, receipt_code)
        found = await _with_keep_until(db, request, found)
        return await with_progress(db, progress, found, lang, suggestions)  # type: ignore[arg-type]

    @post(
        "/{receipt_code:str}/keep",
        status_code=HTTP_200_OK,
        responses=problems(*WRITE, 404, 409),
        summary="Keep me on the list: a waiting registration is kept another full period",
        description="A waiting registration is erased when it shows no sign of life for "
        "`SAMHJELP_LAPSE_AFTER_DAYS` (default 365; see `keep_until` in the status). This call "
        "is such a sign: the answer's `keep_until` is that long from now. Send `{}` as the "
        "JSON body (every POST here is JSON). 404 for an unknown or erased code; 409 when the "
        "person is in a group (nothing lapses then).",
    )
    async def keep(
        self, receipt_code: str, db: Db, now: Now, request: Request[Any, Any, Any]
    ) -> KeepOut:
        """Keep a waiting registration on the list another full period."""
        until = await lapse.keep_by_code(db, receipt_code, _lapse_policy(request), now=now)
        return KeepOut(keep_until=until)

    @post(
        "/{receipt_code:str}/choices",
        status_code=HTTP_200_OK,
        responses=problems(*WRITE, 404, 409),
        dependencies={"suggestions": Provide(provide_suggestions, sync_to_thread=False)},
        summary="Widen a waiting person's choices, and re-check them at once",
        description="Add a meeting slot or a language, or welcome a digital or a cross-problem "
        "group (for example one of the status's `suggestions`). The change is saved and "
        "matching runs right away (a re-check; skipped when another run is busy, which then "
        "sees the change); `status` in the answer shows the effect: `proposed` when a group "
        "formed, else the new explanation and suggestions. The waiting time stays. Choices "
        "only widen. Only while waiting (409 otherwise); an unknown kind, slot or language, "
        "or a value where none belongs, is 422.",
    )
    async def change_choices(
        self,
        receipt_code: str,
        data: ChoicesIn,
        db: Db,
        now: Now,
        progress: ProgressPort,
        suggestions: SuggestionsPort,
        request: Request[Any, Any, Any],
        lang: Annotated[str | None, Parameter(pattern="^(nb|nn|en)$")] = None,
    ) -> ChoicesOut:
        """Widen a waiting person's own choices — add a meeting slot or a language, welcome a
        digital or a cross-problem group (e.g. one of ``suggestions`` from the status) — and
        re-check them at once: matching runs right away, and the answer's ``status`` shows the
        effect (``proposed`` when a group formed, else the new explanation and suggestions).
        The waiting time stays. Only while waiting (409 otherwise); unknown slots, languages or
        kinds are 422."""
        lang = lang or negotiate(None, None, request.headers.get("accept-language"))
        changes = [ChoiceChange(c.kind, c.value) for c in data.changes]
        changed = await change_by_code(db, receipt_code, changes, now=now)
        # The re-check is a matching run in its own transaction: it must see the change.
        await db.commit()
        rechecked = await suggestions.recheck(now=now) if changed else False
        found = await _with_keep_until(db, request, await interests.status(db, receipt_code))
        after = await with_progress(db, progress, found, lang, suggestions)  # type: ignore[arg-type]
        return ChoicesOut(changed=changed, rechecked=rechecked, status=after)

    @post("/{receipt_code:str}/answer", responses=problems(*WRITE, 404, 409))
    async def answer(
        self, receipt_code: str, data: AnswerIn, db: Db, now: Now, progress: ProgressPort
    ) -> dict[str, str]:
        """Yes or no to a group, for people who left no way to be reached."""
        result = await answer_by_code(db, progress, receipt_code, accept=data.accept, now=now)
        if result is AnswerOutcome.GONE:
            raise Conflict("nothing waits for an answer from you now")
        return {"answer": result.value}

    @delete(
        "/{receipt_code:str}", status_code=HTTP_204_NO_CONTENT, responses=problems(400, 404, 429)
    )
    async def withdraw(self, receipt_code: str, db: Db, now: Now, progress: ProgressPort) -> None:
        """Erase the registration at once; afterwards the code is unknown (404), like one
        never issued."""
        await withdraw_by_code(db, progress, receipt_code, now=now)


class StaffController(Controller):
    """Staff of one organisation: register on a person's behalf, see who waits."""

    path = "/api/v1/staff/interests"
    tags = ["staff"]
    dependencies = {"principal": provide_staff_principal, "staff": require_role("staff")}
    security = API_KEY_SECURITY

    @post("/", status_code=HTTP_201_CREATED, responses=problems(*WRITE, *AUTH, 409))
    async def register(
        self,
        request: Request[Any, Any, Any],
        data: InterestIn,
        db: Db,
        cipher: Cipher,
        now: Now,
        staff: Principal,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Registered]:
        async def work() -> Registered:
            return await interests.register(
                db, data, cipher=cipher, source="staff", now=now, forced_org=staff.organisation_id
            )

        return await _idempotent(request, db, cipher, f"key:{staff.key_id}", idempotency_key, work)

    @get("/", responses=problems(*READ, *AUTH))
    async def list_waiting(
        self,
        db: Db,
        staff: Principal,
        progress: ProgressPort,
        status: Annotated[
            str | None, Parameter(pattern="^(waiting|proposed|invited|placed|withdrawn)$")
        ] = "waiting",
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
        # Bounded: past a bigint a database error, and no organisation has this many anyway.
        offset: Annotated[int, Parameter(ge=0, le=1_000_000)] = 0,
        lang: Annotated[str, Parameter(pattern="^(nb|nn|en)$")] = "nb",
    ) -> list[StaffInterest]:
        found = await interests.list_for_organisation(
            db, staff.organisation_id, status_filter=status, limit=limit, offset=offset
        )
        return await _explained(db, progress, found, lang)

    @get("/{interest_id:uuid}", responses=problems(*READ, *AUTH, 404))
    async def one(
        self,
        interest_id: uuid.UUID,
        db: Db,
        staff: Principal,
        progress: ProgressPort,
        lang: Annotated[str, Parameter(pattern="^(nb|nn|en)$")] = "nb",
    ) -> StaffInterest:
        found = await interests.get_for_organisation(db, staff.organisation_id, interest_id)
        return (await _explained(db, progress, [found], lang))[0]


class ReferralController(Controller):
    """Learning-and-mastery services refer course participants (API key role referrer)."""

    path = "/api/v1"
    tags = ["referrals"]
    dependencies = {"principal": provide_principal, "referrer": require_role("referrer")}
    security = API_KEY_SECURITY

    @post("/referral-links", status_code=HTTP_201_CREATED, responses=problems(*WRITE, *AUTH))
    async def create_link(
        self, data: ReferralLinkIn, db: Db, referrer: Principal, base_url: str, now: Now
    ) -> ReferralLink:
        return await referrals.create_link(
            db, referrer.organisation_id, data, base_url=base_url, today=now.date()
        )

    @post("/referrals", status_code=HTTP_201_CREATED, responses=problems(*WRITE, *AUTH, 409))
    async def create_batch(
        self,
        request: Request[Any, Any, Any],
        data: ReferralBatchIn,
        db: Db,
        cipher: Cipher,
        now: Now,
        referrer: Principal,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[ReferralBatch]:
        async def work() -> ReferralBatch:
            return await referrals.create_batch(
                db, referrer.organisation_id, data, cipher=cipher, now=now
            )

        return await _idempotent(
            request, db, cipher, f"key:{referrer.key_id}", idempotency_key, work
        )

    @get("/referrals/{referral_id:uuid}", responses=problems(*READ, *AUTH, 404))
    async def outcome(self, referral_id: uuid.UUID, db: Db, referrer: Principal) -> ReferralOutcome:
        return await referrals.outcome(db, referrer.organisation_id, referral_id)


API_CONTROLLERS = [ReferenceController, InterestController, StaffController, ReferralController]
