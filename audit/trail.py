"""What `gateway audit verify` checks in a data directory, beyond each part's own walk: that the
databases are there (it never creates one), that checkpoints exist once records do, and that the
newest checkpoint is as new as the checkpoint cadence makes it.

The window (docs/audit-integrity.md, "The window"): records after the newest checkpoint are
vouched for by the chain alone. The writer signs a worker's first commit at once, then every
`every` records or `seconds` seconds (by a timer), so a running or cleanly stopped gateway leaves
at most about `every` records and `seconds` seconds unsigned. Verification therefore

- FAILS when more than COUNT_FACTOR × `every` records follow the newest checkpoint: newer
  checkpoints (and the records they signed) were removed — or checkpoints could not be written,
  which the gateway logged and /readyz reported;
- WARNS (the verification still holds) when the newest record is more than TIME_FACTOR ×
  `seconds` newer than the newest checkpoint: records after it may have been removed with the
  checkpoints that signed them — or the gateway was killed before it could sign them.

Removing the newest records together with the newest checkpoints stays unseen only while what
is left after the newest remaining checkpoint is within both bounds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from audit.chain import VerifyReport
from audit.checkpoints import Checkpoint, CheckpointStore, PublicKey
from audit.store import AuditStore
from audit.verify import Together, verify_together

COUNT_FACTOR = 2  # unsigned records allowed after the newest checkpoint: this many times `every`
TIME_FACTOR = 3  # lag allowed between the newest checkpoint and the newest record: this many times `seconds`


@dataclass(frozen=True)
class Outcome:
    """What `audit verify` found: the parts (`together`), warnings to print, and `problem`, what
    fails the verification beyond the parts' own problems (None: see `ok`)."""

    together: Together
    warnings: list[str] = field(default_factory=list)
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None and self.together.ok

    @property
    def records(self) -> int:
        return self.together.records


def sqlite_file(url: str) -> Path | None:
    """The file of an SQLite URL (None: not SQLite, or in memory)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    database = parsed.database
    if not parsed.drivername.startswith("sqlite") or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _missing(url: str) -> bool:
    path = sqlite_file(url)
    return path is not None and not path.exists()


def _where(url: str) -> str:
    path = sqlite_file(url)
    return str(path) if path is not None else make_url(url).render_as_string(hide_password=True)


async def verify_data(audit_url: str, checkpoint_url: str | None, archives: Sequence[Path], public_key: PublicKey | None,
                      *, every: int, seconds: float, engine: Callable[[str], AsyncEngine]) -> Outcome:
    """Verify the store at `audit_url` (with `archives`, as one trail) against the checkpoints at
    `checkpoint_url` — None: check the chain alone (`--no-checkpoints`). Opens both databases
    without creating either; `every`/`seconds` are the checkpoint cadence (see the module
    docstring)."""
    nothing = Together([])
    if checkpoint_url is not None and not checkpoint_url.strip():
        return Outcome(nothing, problem="GATEWAY_AUDIT_CHECKPOINT_URL is empty: there is no checkpoint database to "
                                        "verify against (give its URL, or check the chain alone with --no-checkpoints)")
    if _missing(audit_url):
        return Outcome(nothing, problem=f"no audit store at {_where(audit_url)}: nothing was verified")
    store = AuditStore(engine(audit_url))
    try:
        try:
            if not await store.exists():
                return Outcome(nothing, problem=f"no audit store at {_where(audit_url)}: nothing was verified")
        except (SQLAlchemyError, OSError) as exc:
            return Outcome(nothing, problem=f"the audit store {_where(audit_url)} cannot be read ({type(exc).__name__})")
        warnings: list[str] = []
        checkpoints: list[Checkpoint] | None = []
        if checkpoint_url is None:
            warnings.append("checkpoints not checked (--no-checkpoints): the chain alone vouches for the store; a chain "
                            "rewritten with fresh hashes from some record on, or cut short, would pass")
        else:
            try:
                checkpoints = await _read_checkpoints(checkpoint_url, engine)
            except (SQLAlchemyError, OSError) as exc:
                return Outcome(nothing, problem=f"the checkpoint database {_where(checkpoint_url)} cannot be read "
                                                f"({type(exc).__name__})")
        together = await verify_together(archives, store, public_key, checkpoints or [])
    finally:
        await store.close()
    report = together.pieces[-1].report if together.pieces and together.pieces[-1].name == "store" else None
    if not together.ok or report is None or checkpoint_url is None:
        return Outcome(together, warnings)
    if report.records and not checkpoints:
        state = "is missing" if checkpoints is None else "holds no checkpoint"
        return Outcome(together, warnings, problem=(
            f"the checkpoint database {_where(checkpoint_url)} {state}, but the store holds records "
            f"{report.first}–{report.last}: nothing shows that its newest records were not cut off or the chain "
            "rewritten (checkpoints deleted?). If the checkpoint database is lost, check the chain alone with "
            "--no-checkpoints"))
    problem, warning = window(report, every, seconds)
    return Outcome(together, warnings + ([warning] if warning else []), problem)


async def _read_checkpoints(url: str, engine: Callable[[str], AsyncEngine]) -> list[Checkpoint] | None:
    """The checkpoints at `url`; None if there is no checkpoint database (never created here)."""
    if _missing(url):
        return None
    checkpoints = CheckpointStore(engine(url))
    try:
        if not await checkpoints.exists():
            return None
        return await checkpoints.all()
    finally:
        await checkpoints.close()


def window(report: VerifyReport, every: int, seconds: float) -> tuple[str | None, str | None]:
    """(problem, warning) about the records after the newest checkpoint of a verified store."""
    unsigned, newest = report.unanchored, report.newest
    if not unsigned or newest is None:
        return None, None
    since = report.last - unsigned + 1
    what = (f"records {since}–{report.last} ({unsigned}) follow the newest checkpoint (#{newest.id}, of record "
            f"{newest.seq}, signed {newest.at})")
    if unsigned > COUNT_FACTOR * every:
        return (f"{what}: more than {COUNT_FACTOR} × GATEWAY_AUDIT_CHECKPOINT_EVERY ({every}) records, which the "
                "checkpoint cadence never leaves unsigned. Newer checkpoints, and records they signed, may have been "
                "removed — or checkpoints could not be written (the gateway logged it and /readyz reported it)"), None
    lag = _seconds_between(newest.at, report.last_at)
    if lag is not None and lag > TIME_FACTOR * seconds:
        return None, (f"warning: {what}, and record {report.last} was made {lag:.0f} s after it: more than "
                      f"{TIME_FACTOR} × GATEWAY_AUDIT_CHECKPOINT_SECONDS ({seconds:g} s). Records after it may have "
                      "been removed, with the checkpoints that signed them — or the gateway was killed before signing "
                      "them")
    return None, None


def _seconds_between(earlier: str, later: str | None) -> float | None:
    if later is None:
        return None
    try:
        start, end = datetime.fromisoformat(earlier), datetime.fromisoformat(later)
    except ValueError:
        return None
    start = start if start.tzinfo else start.replace(tzinfo=UTC)
    end = end if end.tzinfo else end.replace(tzinfo=UTC)
    return (end - start).total_seconds()
