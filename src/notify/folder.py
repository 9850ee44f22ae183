"""The folder channel: each message becomes a file instead of leaving the machine.

This is the embedded default so a fresh checkout can run the whole flow without a mail server or
SMS account; a developer opens the ``.eml`` files in a mail client. Files are named by message id
and written atomically, so a resend after a crash replaces the file rather than adding a second.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from notify.mime import check_recipient, email_bytes
from notify.model import Channel, DeliveryError, RenderedMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FolderNotifier:
    """Writes e-mails as ``<id>.eml`` and SMS as ``<id>.sms.txt`` into ``directory``."""

    directory: Path
    mail_from: str = "samhjelp <noreply@samhjelp.invalid>"

    def path_for(self, message: RenderedMessage) -> Path:
        """Where ``message`` is (or will be) written."""
        suffix = ".eml" if message.channel is Channel.EMAIL else ".sms.txt"
        return self.directory / f"{message.message_id}{suffix}"

    async def send(self, message: RenderedMessage) -> None:
        """Write the message file; an unwritable folder is a transient failure."""
        if message.channel is Channel.EMAIL:
            data = email_bytes(message, mail_from=self.mail_from)
        else:
            to = check_recipient(message)
            data = (f"To: {to}\nIdempotency-Key: {message.message_id}\n\n{message.text}\n").encode()
        path = self.path_for(message)
        try:
            await asyncio.to_thread(_write_atomically, path, data)
        except OSError as exc:
            raise DeliveryError(
                f"outbox folder not writable ({exc.errno})", transient=True
            ) from None
        # The path holds only the message id, never the address.
        log.info("wrote %s message %s to %s", message.channel, message.message_id, path)


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
