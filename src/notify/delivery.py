"""Delivery job: claim due outbox rows, send them, record the outcome.

Claiming uses a lease rather than holding row locks through the send. ``SELECT … FOR UPDATE
SKIP LOCKED`` picks due rows without waiting on other workers; in the same short transaction
they are set to ``sending`` with ``next_attempt_at`` moved to the end of the lease and committed.
Sending happens with no transaction open (a slow SMTP server must not pin database
connections and locks), and the outcome is written in a second short transaction, fenced on the
worker id and attempt number so a worker whose lease ran out cannot overwrite a newer attempt.
A worker that dies between claim and mark leaves a row whose lease expires; it becomes due again
and is resent with the same id: at-least-once, deduplicable by Message-ID. See docs/notify.md.
"""
