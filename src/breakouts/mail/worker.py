"""The mail worker: claim a batch, render and send it outside any transaction, settle it.

One cycle (``run_once``):

1. *claim*, in a short write transaction: queued events are fanned out into one row per
   recipient (``outbox.expand``), then due rows become ``sending`` with a lease and one more
   attempt (``repository.claim``);
2. *deliver*, with no transaction open (SQLite runs inline on the event loop: holding it during
   SMTP I/O would stall every request), spread over the sender's lanes (SMTP connections);
3. *settle*, in one more short transaction: ``sent``/``captured`` with the raw message, or
   ``pending`` again with an exponential, jittered backoff, or ``dead`` after a permanent
   refusal or the last try.

Nothing is lost: a worker that dies between 1 and 3 leaves leased rows that any worker takes up
once the lease has run out, so delivery is at least once, and a copy is recognisable by its
``Message-ID``. Two workers never hold the same row at once: the claim is atomic (one SQLite
writer at a time; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), and a worker starts a send only if
it can finish, timeout included, before its lease runs out; rows it cannot reach in time are
handed back untried.
"""

from __future__ import annotations

import asyncio
import math
import random
from dataclasses import dataclass, field

from breakouts.clock import Clock, monotonic
from breakouts.config import Settings
from breakouts.db import Database
from breakouts.logs import Logger
from breakouts.mail import mime, outbox
from breakouts.mail import repository as repo
from breakouts.mail.render import render
from breakouts.mail.repository import Claimed, Delivered, Failed
from breakouts.mail.senders import DeliveryError, Lane, Outgoing, Sender, make_sender
from breakouts.orgs import repository as orgs
from breakouts.orgs.faults import SMTP, FaultRule, pick, rule_of, take

_CLOCK_SLACK_S = 0.1


# Rows one claim may fan out of queued events: ~7 ms of the event loop at most, unless a single
# event is larger (the largest plan's 1 001 recipients take ~15 ms, once).
_FAN_OUT_ROWS = 500

def backoff_s(attempts: int, base_s: float, max_s: float, rng: random.Random) -> int:
    """Seconds before try ``attempts + 1``: ``base * 2**(attempts-1)``, capped, "equal jitter".

    Half the delay is fixed and half random, so a crowd of messages that failed together
    (a server outage) spreads out instead of coming back at the same second.
    """
    delay: float = min(max_s, base_s * 2.0 ** max(0, attempts - 1))
    return math.ceil(delay * (0.5 + rng.random() / 2))


@dataclass
class _Outcome:
    delivered: list[Delivered] = field(default_factory=list)
    failed: list[Failed] = field(default_factory=list)
    released: list[Claimed] = field(default_factory=list)


def to_outgoing(row: Claimed, mail_from: str) -> Outgoing:
    """Render one claimed row into the exact text that goes out."""
    content = render(row.event, row.payload)
    raw = mime.build(
        content,
        message_id=row.message_id,
        date_s=row.created_at,
        from_=mail_from,
        to=row.recipient,
        extra_headers={"X-Breakouts-Event": row.event},
    )
    return Outgoing(row.message_id, row.recipient, raw)


class MailWorker:
    """Drains the outbox of one database, in this process, until told to stop."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: Settings,
        logger: Logger,
        *,
        sender: Sender | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if settings.mail_lease_s <= settings.mail_smtp_timeout_s:
            # Every send must be able to end inside its lease, or no send could ever start.
            raise ValueError(
                "BREAKOUTS_MAIL_LEASE_S must be longer than BREAKOUTS_MAIL_SMTP_TIMEOUT_S"
            )
        self.db = db
        self.clock = clock
        self.settings = settings
        self.log = logger
        self.sender = sender or make_sender(
            settings.smtp_url,
            connections=settings.mail_smtp_connections,
            timeout_s=settings.mail_smtp_timeout_s,
        )
        self.rng = rng or random.Random()
        self.skip_locked = db.skip_locked
        self._stopping = False
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._smtp_faults: dict[str, list[FaultRule]] = {}

    # --- one cycle ---------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim one batch, deliver it and record the outcome; returns how many were claimed."""
        s = self.settings
        async with self.db.transaction() as tx:
            # Read inside the transaction: time spent waiting for the lock must not eat the lease.
            now, claimed_at = self.clock.now_s(), monotonic()
            # Events queued by requests become one row per recipient first (exactly once: the
            # events go in this same transaction).
            await outbox.expand(
                tx, limit=s.mail_batch_size, max_rows=_FAN_OUT_ROWS, skip_locked=self.skip_locked
            )
            batch = await repo.claim(
                tx,
                now=now,
                lease_until=now + s.mail_lease_s,
                limit=s.mail_batch_size,
                skip_locked=self.skip_locked,
            )
            if batch:
                # The orgs' SMTP fault rules, read with the claim: a rule added before this
                # batch was claimed applies to it, on whichever process claims it.
                org_ids = sorted({row.org_id for row in batch})
                rows = await orgs.smtp_fault_rows(tx, org_ids)
                self._smtp_faults = {
                    o: [rule_of(r) for r in rows if r["org_id"] == o] for o in org_ids
                }
        if not batch:
            return 0
        started = monotonic()
        # The last moment a send may begin and still end, timeout included, inside the lease
        # (less a little for the wall clock, which the lease is written in, being slewed).
        send_by = claimed_at + s.mail_lease_s - s.mail_smtp_timeout_s - _CLOCK_SLACK_S
        outcome = _Outcome()
        try:
            await self._deliver(batch, send_by, outcome)
        except asyncio.CancelledError:
            # Record what is known; the rest (the send in flight included) is handed back.
            outcome.released += _untouched(batch, outcome)
            await asyncio.shield(self._settle(outcome))
            raise
        await self._settle(outcome)
        self.log.info(
            "mail_batch",
            claimed=len(batch),
            delivered=len(outcome.delivered),
            retrying=sum(1 for f in outcome.failed if f.retry_at is not None),
            dead=sum(1 for f in outcome.failed if f.retry_at is None),
            released=len(outcome.released),
            status=self.sender.status,
            ms=round((monotonic() - started) * 1000, 1),
        )
        return len(batch)

    async def _deliver(self, batch: list[Claimed], send_by: float, outcome: _Outcome) -> None:
        lanes = self.sender.lanes
        for lane in lanes:
            lane.new_batch()
        n = len(lanes)
        await asyncio.gather(
            *(self._work_lane(lane, batch[i::n], send_by, outcome) for i, lane in enumerate(lanes))
        )

    async def _work_lane(
        self, lane: Lane, rows: list[Claimed], send_by: float, outcome: _Outcome
    ) -> None:
        mail_from = self.settings.mail_from
        for row in rows:
            if self._stopping or monotonic() > send_by:
                outcome.released.append(row)
                continue
            injected = await self._smtp_fault(row)
            if injected is not None:
                outcome.failed.append(injected)
                continue
            try:
                message = to_outgoing(row, mail_from)
            except Exception as exc:  # a payload we cannot render will not render next time
                outcome.failed.append(self._failure(row, f"cannot render: {exc!r}", True))
                continue
            try:
                await lane.send(mail_from, message)
            except DeliveryError as exc:
                outcome.failed.append(self._failure(row, exc.reason, exc.permanent))
            else:
                outcome.delivered.append(Delivered(row.id, row.attempts, message.raw))
            await asyncio.sleep(0)  # capture never yields by itself: let requests in

    async def _smtp_fault(self, row: Claimed) -> Failed | None:
        """The failure an ``smtp`` fault rule of the row's org injects (SPEC §10), if one fires.

        4xx codes are transient (retried with backoff), 5xx permanent (dead), as from a server.
        """
        rule = pick(self._smtp_faults.get(row.org_id, []), SMTP, self.rng)
        if rule is None or rule.status is None:
            return None
        if rule.remaining is not None:
            async with self.db.transaction() as tx:
                if not await take(tx, row.org_id, rule):
                    return None
        if rule.latency_ms:
            await asyncio.sleep(rule.latency_ms / 1000)
        reason = f"{rule.status} {rule.message or 'Injected SMTP fault'} (fault {rule.id})"
        return self._failure(row, reason, rule.status >= 500)

    def _failure(self, row: Claimed, reason: str, permanent: bool) -> Failed:
        s = self.settings
        retry_at = None
        if not permanent and row.attempts < s.mail_max_attempts:
            wait = backoff_s(row.attempts, s.mail_backoff_base_s, s.mail_backoff_max_s, self.rng)
            retry_at = self.clock.now_s() + wait
        self.log.warning(
            "mail_failed",
            message_id=row.message_id,
            attempts=row.attempts,
            error=reason,
            retry_at=retry_at,
            dead=retry_at is None,
        )
        return Failed(row.id, row.attempts, reason, retry_at)

    async def _settle(self, outcome: _Outcome) -> None:
        """Record a batch's outcome; a database hiccup is retried, then left to the lease."""
        for attempt in range(5):
            try:
                async with self.db.transaction() as tx:
                    now = self.clock.now_s()
                    if outcome.delivered:
                        await repo.mark_delivered(tx, self.sender.status, now, outcome.delivered)
                    if outcome.failed:
                        await repo.mark_failed(tx, outcome.failed)
                    if outcome.released:
                        await repo.release(tx, outcome.released)
                return
            except Exception as exc:
                self.log.warning("mail_settle_failed", error=repr(exc), attempt=attempt + 1)
                await asyncio.sleep(0.05 * 2**attempt)
        # The rows stay leased and are delivered again after the lease: at least once.
        self.log.error("mail_settle_gave_up", rows=len(outcome.delivered) + len(outcome.failed))

    # --- the loop ----------------------------------------------------------------------------

    async def drain(self) -> int:
        """Deliver everything due now, then return how many rows were claimed in all."""
        total = 0
        while not self._stopping and (n := await self.run_once()):
            total += n
        await self.sender.close()
        return total

    async def run(self) -> None:
        """Work until ``stop``: back to back while busy, then every ``mail_poll_s`` or on a ring."""
        loop = asyncio.get_running_loop()
        wake = self._wake = asyncio.Event()

        def ring() -> None:
            if not loop.is_closed():
                loop.call_soon_threadsafe(wake.set)

        stop_listening = self.db.listen(outbox.CHANNEL, ring)
        self.log.info(
            "mail_worker_started", status=self.sender.status, lanes=len(self.sender.lanes)
        )
        try:
            while not self._stopping:
                wake.clear()
                try:
                    claimed = await self.run_once()
                except Exception as exc:  # the database is busy or down: wait and try again
                    self.log.warning("mail_cycle_failed", error=repr(exc))
                    claimed = 0
                if claimed >= self.settings.mail_batch_size:
                    continue
                if claimed == 0:
                    await self.sender.close()  # idle: do not hold SMTP connections open
                try:
                    async with asyncio.timeout(self.settings.mail_poll_s):
                        await wake.wait()
                except TimeoutError:
                    pass
        finally:
            await stop_listening()
            await self.sender.close()

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.create_task(self.run(), name="mail-worker")
        return self._task

    def request_stop(self) -> None:
        """Stop after the sends in flight; rows not yet tried are handed back."""
        self._stopping = True
        if self._wake is not None:
            self._wake.set()

    async def stop(self, timeout_s: float = 5.0) -> None:
        self.request_stop()
        task = self._task
        if task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout_s)
        except TimeoutError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def _untouched(batch: list[Claimed], outcome: _Outcome) -> list[Claimed]:
    done = {d.id for d in outcome.delivered} | {f.id for f in outcome.failed}
    done |= {r.id for r in outcome.released}
    return [row for row in batch if row.id not in done]
