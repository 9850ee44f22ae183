"""How patiently the delivery job tries: the policy and its backoff (pure, no I/O)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How often and how patiently to try (built from settings by ``delivery_policy()``).

    The defaults give up after 8 attempts spread over roughly a day, long enough to ride out a
    mail server's maintenance night, short enough that a coordinator hears about it in time.
    """

    max_attempts: int = 8
    base_backoff: timedelta = timedelta(minutes=1)
    max_backoff: timedelta = timedelta(hours=6)
    lease: timedelta = timedelta(minutes=5)
    #: Tries to record one outcome while the database is unreachable, the first wait between
    #: them (doubling after each): 0.25 + 0.5 + 1 + 2 + 4 s rides out a restart or a failover
    #: of a few seconds, and stays far inside half the lease.
    record_tries: int = 6
    record_backoff: timedelta = timedelta(milliseconds=250)
    #: Lanes per batch: each stages its message (SMTP: envelope and body) over a connection
    #: of its own while another hands over; the hand-over (the end of DATA) and its record
    #: happen one at a time per worker. So however many lanes, a fault resends at most one
    #: message per worker, the one handed over but not yet recorded; the lanes hide the
    #: round trips of staging behind it.
    concurrency: int = 4
    #: Whether each outcome record waits for PostgreSQL to flush it to disk before the lane
    #: sends again. Off (the default): the record is committed and visible at once and on disk
    #: within the server's ``wal_writer_delay`` (200 ms by default); a flush per message costs
    #: a disk sync (3-20 ms here), which capped a lane at a few hundred messages a second.
    #: A killed worker or a database restart (which flushes on shutdown) still resends at most
    #: the one message in flight; only a crash of the database server itself may also resend
    #: the messages recorded in its last ``wal_writer_delay``, with their Message-IDs.
    synchronous_records: bool = False

    def __post_init__(self) -> None:
        if self.record_tries < 1:
            raise ValueError("record_tries must be at least 1")
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")


def backoff_delay(message_id: uuid.UUID, attempt: int, *, policy: DeliveryPolicy) -> timedelta:
    """Wait after failed attempt number ``attempt`` (1-based): exponential, with equal jitter.

    The delay is half the exponential step plus a pseudo-random share of the other half. The
    randomness comes from a hash of the message id and attempt, not from ``random``: thousands of
    messages failing together still spread out, yet a test can predict every delay.
    """
    if attempt < 1:
        raise ValueError("attempt is 1-based")
    step: timedelta = min(policy.max_backoff, policy.base_backoff * 2 ** min(attempt - 1, 40))
    digest = hashlib.sha256(message_id.bytes + attempt.to_bytes(4, "big")).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    half = step / 2
    return half + half * fraction
