"""A new receipt code for a person who lost theirs, sent to the contact they left (issue 14).

The code is the person's only key, and we do not know who they are. Someone who left an e-mail
address or a mobile number can prove nothing more than that they can read it: so a request
names an address, every registration behind it gets a new code (the old one stops working at
once), and the new codes go to that address only. Whoever asks sees the same page whether or
not anything matched, so the page cannot be used to test whether an address is registered.

Intake cannot send messages (notify sits above it): the sending is the small :class:`CodeSender`
port, which the composition root fills with ``notify.codes.OutboxCodeSender``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from intake import receipt
from intake.crypto import ContactCipher
from intake.tables import interest, organisation

#: Registrations that still exist are waiting or on their way into a group; a withdrawn one is
#: deleted, but the status is named so a kept row could never be revived by a new code.
LIVE_STATES = ("waiting", "proposed", "invited", "placed")


@dataclass(frozen=True, slots=True)
class NewCode:
    """One registration's new receipt code, for the message to the person."""

    interest_id: uuid.UUID
    code: str
    organisation_id: uuid.UUID | None
    organisation_name: str | None


class CodeSender(Protocol):
    """Sends new receipt codes to the address they were asked for (in the caller's session)."""

    async def send_codes(
        self,
        session: AsyncSession,
        *,
        kind: Literal["email", "sms"],
        address: str,
        codes: Sequence[NewCode],
        lang: str,
        now: datetime,
    ) -> None: ...


async def reissue(
    session: AsyncSession,
    cipher: ContactCipher,
    *,
    kind: Literal["email", "sms"],
    address: str,
    now: datetime,
) -> list[NewCode]:
    """Give every live registration with this contact a new code; the old codes stop working.

    Only the code's hash is stored, as at sign-up; the clear codes exist only in the returned
    list, which goes straight to the :class:`CodeSender`.
    """
    digest = cipher.lookup_digest(kind, address)
    rows = (
        await session.execute(
            select(interest.c.id, interest.c.organisation_id, organisation.c.name)
            .outerjoin(organisation, organisation.c.id == interest.c.organisation_id)
            .where(
                interest.c.contact_lookup == digest,
                interest.c.contact_kind == kind,
                interest.c.status.in_(LIVE_STATES),
            )
            .order_by(interest.c.created_at)
            .with_for_update(of=interest)
        )
    ).all()
    issued = []
    for row in rows:
        code = receipt.new_code()
        await session.execute(
            update(interest)
            .where(interest.c.id == row.id)
            .values(receipt_hash=receipt.code_hash(code), updated_at=now)
        )
        issued.append(NewCode(row.id, code, row.organisation_id, row.name))
    return issued


class Throttle:
    """At most ``limit`` events per key per ``window`` seconds (a fixed window, in memory).

    Per replica, like ``samhjelp.ratelimit``: enough to stop one client or one address from
    being flooded with messages. Keys are client addresses or contact digests, held for one
    window only and never logged.
    """

    def __init__(
        self, *, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._start = clock()
        self._counts: dict[object, int] = {}

    def allow(self, key: object) -> bool:
        now = self.clock()
        if now - self._start >= self.window:
            self._start, self._counts = now, {}
        count = self._counts.get(key, 0) + 1
        self._counts[key] = count
        return count <= self.limit


#: A client may ask this many times per quarter of an hour; then the page answers 429.
CLIENT_LIMIT = (5, 15 * 60.0)
#: One address gets at most this many new codes per hour, however many clients ask for it.
ADDRESS_LIMIT = (3, 60 * 60.0)


@dataclass
class Recovery:
    """What the lost-code page needs, built once per process by the composition root."""

    sender: CodeSender
    per_client: Throttle = field(
        default_factory=lambda: Throttle(limit=CLIENT_LIMIT[0], window=CLIENT_LIMIT[1])
    )
    per_address: Throttle = field(
        default_factory=lambda: Throttle(limit=ADDRESS_LIMIT[0], window=ADDRESS_LIMIT[1])
    )
