"""An in-memory channel: the test twin of SMTP and SMS.

It honours the same contract as the real channels (validates addresses, can be "down"), so tests
of the delivery loop that use it are testing behaviour the real channels also have.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from notify.mime import check_recipient
from notify.model import DeliveryError, RenderedMessage


@dataclass
class MemoryNotifier:
    """Records every message it accepts in :attr:`sent`.

    Attributes:
        sent: accepted messages, in order.
        available: set to ``False`` to simulate an unreachable endpoint (transient errors).
        rejected: addresses the "remote side" refuses permanently.
        fail_times: the next N sends fail transiently, then it recovers by itself.
    """

    sent: list[RenderedMessage] = field(default_factory=list)
    available: bool = True
    rejected: set[str] = field(default_factory=set)
    fail_times: int = 0

    async def send(self, message: RenderedMessage) -> None:
        """Accept ``message`` or raise the error the configured state calls for."""
        address = check_recipient(message)
        if not self.available:
            raise DeliveryError("memory channel is down", transient=True)
        if self.fail_times > 0:
            self.fail_times -= 1
            raise DeliveryError("memory channel failed on purpose", transient=True)
        if address in self.rejected:
            raise DeliveryError("recipient rejected", transient=False)
        self.sent.append(message)
