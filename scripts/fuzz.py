"""GraphQL fuzzing of a real gateway process with schemathesis (hypothesis-graphql underneath).

What it proves: whatever well-formed or schema-violating operation a caller sends - any root field
of Query or Mutation, any arguments, under any of several applications and purposes - the gateway
answers with a GraphQL error it owns, never a crash or a leak. Every response is checked:

- no 5xx status, and no `INTERNAL_ERROR` code at any level (a field-level crash answers 200);
- a JSON object body, and every entry of `errors` has a string `extensions.code`;
- no Python traceback text anywhere in the body;
- no SQL text, no filesystem path in any error (message or extensions);
- no raw sensitive value in any error: ID numbers, names, mobiles, phones, e-mails, addresses and
  bank accounts read from the demo's library databases (a value the request itself carried is
  not a leak);
- and at the end the server still answers GET /readyz with 200.

Run from the repository root (needs the `fuzz` extra: `.venv/bin/pip install -e '.[fuzz]'`)::

    .venv/bin/python -m scripts.fuzz                      # 2,000 operations
    .venv/bin/python -m scripts.fuzz --operations 10000 --seed 3

How: the demo is built into a temporary directory and served by `python -m gateway serve` on a
free loopback port (`scripts/served.py`), rate limits, quotas and the cost budget off so that the
fuzz measures robustness, not limits (the body limit and query-shape limits keep their defaults).
schemathesis loads the schema by introspection and gives, for every root field, a Hypothesis
strategy of positive (schema-valid) and negative (schema-violating) operations; the script
registers strategies for the `Decimal` scalar and for `ID` (real keys of the demo, keys with a
wrong check digit, and arbitrary text, so that lookups reach the libraries). It drives those
strategies with Hypothesis for exactly `--operations` requests (the root field and the mode drawn
too) and rotates the caller (`ROTATION`: mz-assistance with its SOCIAL_ASSISTANCE_REVIEW grants most often, a
department without grants, an expired and a suspended grant, a purpose not granted, and the
platform, policy, provider and auditor administrators), and POSTs each one itself.

Prints a summary (operations sent, status and error-code histograms, failures with the offending
query and the server's log lines), writes `bench/results/fuzz.json` and `bench/results/fuzz.md` (or
into `--out`) and exits non-zero on any failure.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.figures import RESULTS, described, machine
from scripts.served import ROOT, Served, histogram_table, served_gateway, write_results

MAX_FAILURE_SAMPLES = 100

# (application, purpose): whose token, operator and declared purpose each operation carries.
ROTATION: tuple[tuple[str, str], ...] = (
    ("mz-assistance", "SOCIAL_ASSISTANCE_REVIEW"),  # grants in force
    ("scjg-licensing", "ADMINISTRATIVE_BASIS"),  # no grant: unconditional and masked data
    ("mz-assistance", "SOCIAL_ASSISTANCE_REVIEW"),
    ("rs-employment", "BUSINESS_COLLABORATION"),  # an expired grant
    ("mz-assistance", "SOCIAL_ASSISTANCE_REVIEW"),
    ("fg-credit", "MARKET_SUPERVISION"),  # a suspended grant
    ("mz-assistance", "WORK_REFERENCE"),  # grants, but not for this purpose
    ("mz-assistance", "SOCIAL_ASSISTANCE_REVIEW"),
    ("sj-platform-admin", "ADMINISTRATIVE_BASIS"),  # workflow: normative checks
    ("sj-policy-admin", "ADMINISTRATIVE_BASIS"),  # policy versions
    ("ga-data-officer", "ADMINISTRATIVE_BASIS"),  # a provider: approvals, grant suspension
    ("sj-auditor", "ADMINISTRATIVE_BASIS"),  # the audit trail
)

TRACEBACK_HEADER = "Traceback (most recent call last)"  # survives JSON escaping: looked for in the whole body
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|\b[A-Z]\w*(?:Error|Exception): ")
SQL_STATEMENT = re.compile(r"\b(?:SELECT|INSERT INTO|UPDATE|DELETE FROM)\b.*\b(?:FROM|WHERE|VALUES|SET)\b", re.DOTALL)
SQL_MACHINERY = re.compile(r"sqlite3|sqlalchemy|aiosqlite|asyncpg|psycopg|OperationalError|IntegrityError|"
                           r"ProgrammingError|\[SQL:|\[parameters:|Background on this error", re.IGNORECASE)
PATH = re.compile(r"(?<![\w.-])/(?:work|tmp|home|usr|opt|var|etc|root|proc|srv|mnt|lib|lib64)/|site-packages|"
                  r"\w\.py\b|\w\.sqlite\b|[A-Za-z]:\\\\")

# Library columns whose raw values must never appear in an error: (library, SQL).
SECRET_COLUMNS: tuple[tuple[str, str], ...] = (
    ("population", "SELECT id_number, name, mobile, home_phone, email, address FROM person_basic"),
    ("legal_entity", "SELECT legal_representative, legal_representative_id_number FROM enterprise_registration"),
    ("social_security", "SELECT id_number, bank_account FROM social_insurance"),
    ("license", "SELECT holder_id_number, license_number FROM person_license"),
)


@dataclass
class Findings:
    """Everything the fuzz saw, and what was wrong."""

    sent: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    modes: Counter[str] = field(default_factory=Counter)
    callers: Counter[str] = field(default_factory=Counter)
    fields: Counter[str] = field(default_factory=Counter)
    failures: int = 0
    failure_kinds: Counter[str] = field(default_factory=Counter)
    failure_samples: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, problems: list[str], sample: dict[str, Any]) -> None:
        self.failures += 1
        self.failure_kinds.update(p.split(":")[0] for p in problems)
        if len(self.failure_samples) < MAX_FAILURE_SAMPLES:
            self.failure_samples.append({"problems": problems, **sample})


class Leaks:
    """The checks that look inside a response: tracebacks, SQL, paths and raw sensitive values."""

    def __init__(self, secrets: Iterable[str], local_paths: Iterable[str]) -> None:
        self.secrets = sorted({s for s in secrets if len(s) >= 2}, key=len, reverse=True)
        self.local_paths = [p for p in local_paths if len(p) > 1]

    def in_body(self, text: str) -> list[str]:
        return ["traceback: " + TRACEBACK_HEADER] if TRACEBACK_HEADER in text else []

    def in_error(self, error: dict[str, Any], request: str) -> list[str]:
        message = str(error.get("message", ""))
        text = message + " " + json.dumps(error.get("extensions", {}), ensure_ascii=False)
        problems = []
        if m := TRACEBACK.search(text):
            problems.append("traceback: " + m.group(0))
        if m := SQL_STATEMENT.search(text) or SQL_MACHINERY.search(text):
            problems.append("sql: " + m.group(0)[:80])
        if m := PATH.search(text):
            problems.append("path: " + m.group(0))
        problems += ["path: " + p for p in self.local_paths if p in text]
        problems += ["sensitive value: " + s for s in self.secrets if s in text and s not in request][:3]
        return problems


def response_problems(status: int, text: str, request: str, leaks: Leaks) -> tuple[list[str], list[str]]:
    """What is wrong with one answer, and its error codes."""
    problems = [f"server error: HTTP {status}"] if status >= 500 else []
    problems += leaks.in_body(text)
    try:
        payload = json.loads(text)
    except ValueError:
        return [*problems, "not JSON"], []
    if not isinstance(payload, dict) or not ({"data", "errors"} & payload.keys()):
        return [*problems, "not a GraphQL response object"], []
    errors = payload.get("errors") or []
    if status >= 400 and not errors:
        problems.append(f"no errors: HTTP {status} without an error")
    codes = []
    for error in errors if isinstance(errors, list) else [errors]:
        code = (error.get("extensions") or {}).get("code") if isinstance(error, dict) else None
        if not isinstance(code, str):
            problems.append("no code: an error without extensions.code")
            continue
        codes.append(code)
        if code == "INTERNAL_ERROR":
            problems.append("internal error: INTERNAL_ERROR")
        problems += leaks.in_error(error, request)
    return problems, codes


def load_secrets(served: Served) -> list[str]:
    values: list[str] = []
    for library, sql in SECRET_COLUMNS:
        values += [str(v) for row in served.library_rows(library, sql) for v in row if v not in (None, "")]
    return values


def load_keys(served: Served) -> list[str]:
    """Real lookup keys: ID numbers and credit codes present in the libraries."""
    persons = served.library_rows("population", "SELECT id_number FROM person_basic ORDER BY row_id LIMIT 200")
    enterprises = served.library_rows("legal_entity", "SELECT credit_code FROM enterprise_registration LIMIT 100")
    return [r[0] for r in persons + enterprises]


def register_scalars(keys: list[str]) -> None:
    """Strategies for the `Decimal` scalar, for `ID` (real keys, near misses, anything) and for `Int`
    (mostly page sizes and ids that pass validation, so that positive cases reach the resolvers)."""
    import schemathesis
    from hypothesis import strategies as st
    from schemathesis.graphql import nodes

    def near_miss(key: str) -> str:
        return key[:-1] + ("0" if key[-1] != "0" else "1")

    decimals = st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str)
    schemathesis.graphql.scalar("Decimal", st.one_of(decimals.map(nodes.String), st.integers().map(nodes.Int),
                                                     st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float),
                                                     st.text(max_size=12).map(nodes.String)))
    schemathesis.graphql.scalar("Int", st.one_of(st.integers(1, 30), st.integers(1, 30),
                                                 st.integers(-(2**31), 2**31 - 1)).map(nodes.Int))
    schemathesis.graphql.scalar("ID", st.one_of(st.sampled_from(keys).map(nodes.String),
                                                st.sampled_from(keys).map(near_miss).map(nodes.String),
                                                st.text(max_size=24).map(nodes.String), st.integers().map(nodes.Int)))


def load_operations(served: Served) -> list[Any]:
    """schemathesis's operations (one per root field of Query and Mutation), by introspection."""
    import schemathesis
    from schemathesis.core.result import Ok

    schema = schemathesis.graphql.from_url(served.graphql_url, headers=served.headers(*ROTATION[0]), timeout=60)
    results = list(schema.get_all_operations())
    if not all(isinstance(result, Ok) for result in results):
        raise RuntimeError(f"schemathesis could not read every root field: {results}")
    return [result.ok() for result in results if isinstance(result, Ok)]


class Fuzzer:
    """Sends each generated case as one POST and checks the answer."""

    def __init__(self, served: Served, leaks: Leaks, target: int) -> None:
        self.client = httpx.Client(base_url=served.base_url, timeout=60.0)
        self.headers = {who: served.headers(*who) for who in ROTATION}
        self.leaks, self.target = leaks, target
        self.findings = Findings()

    def send(self, label: str, mode: str, query: str) -> None:
        who = ROTATION[self.findings.sent % len(ROTATION)]
        self.findings.sent += 1
        f = self.findings
        f.modes[mode] += 1
        f.callers[f"{who[0]} / {who[1]}"] += 1
        f.fields[label] += 1
        sample = {"operation": label, "mode": mode, "caller": list(who), "query": query}
        try:
            response = self.client.post("/graphql", json={"query": query}, headers=self.headers[who])
        except httpx.HTTPError as exc:
            f.statuses["no answer"] += 1
            f.fail([f"no answer: {type(exc).__name__}: {exc}"], sample)
            return
        f.statuses[str(response.status_code)] += 1
        problems, codes = response_problems(response.status_code, response.text, query, self.leaks)
        f.codes.update(codes)
        if problems:
            f.fail(problems, sample | {"status": response.status_code, "response": response.text[:2000]})

    @property
    def done(self) -> bool:
        return self.findings.sent >= self.target


def drive(operations: list[Any], fuzzer: Fuzzer, seed: int) -> None:
    """Hypothesis draws until exactly `fuzzer.target` operations are sent: the root field, the mode
    (positive or negative) and the operation itself (the caller rotates, outside the draws)."""
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis import strategies as st
    from schemathesis import GenerationMode

    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    strategies = {(op.label, mode): op.as_strategy(generation_mode=mode) for op in operations for mode in modes}

    for round_ in range(20):  # Hypothesis may stop a round early (e.g. after too many filtered draws)
        if fuzzer.done:
            return

        @settings(max_examples=fuzzer.target - fuzzer.findings.sent, database=None, deadline=None,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet,
                  print_blob=False)
        @hypothesis_seed(seed + round_)
        @given(st.data())
        def one(data: st.DataObject) -> None:
            if fuzzer.done:
                return
            operation = data.draw(st.sampled_from(operations))
            mode = data.draw(st.sampled_from(modes))
            case = data.draw(strategies[(operation.label, mode)])
            fuzzer.send(operation.label, case.meta.generation.mode.value if case.meta else mode.value, str(case.body))

        one()


def still_ready(served: Served) -> bool:
    try:
        return httpx.get(f"{served.base_url}/readyz", timeout=10.0).status_code == 200
    except httpx.HTTPError:
        return False


def fuzz(served: Served, operations_wanted: int, seed: int, progress: Callable[[str], None]) -> dict[str, Any]:
    secrets = load_secrets(served)
    register_scalars(load_keys(served))
    operations = load_operations(served)
    leaks = Leaks(secrets, [str(served.data_dir), str(ROOT), sys.prefix])
    fuzzer = Fuzzer(served, leaks, operations_wanted)
    progress(f"fuzzing {len(operations)} root fields with {operations_wanted} operations, "
             f"{len(leaks.secrets):,} sensitive values watched")
    started = time.perf_counter()
    drive(operations, fuzzer, seed)
    elapsed = time.perf_counter() - started
    ready = still_ready(served)
    f = fuzzer.findings
    return {
        "machine": machine(), "seed": seed, "operations": f.sent, "rootFields": len(operations),
        "seconds": round(elapsed, 1), "statuses": dict(f.statuses), "errorCodes": dict(f.codes), "modes": dict(f.modes),
        "callers": dict(f.callers), "perRootField": dict(f.fields), "sensitiveValuesWatched": len(leaks.secrets),
        "readyAfter": ready, "failures": f.failures, "failureKinds": dict(f.failure_kinds),
        "failureSamples": f.failure_samples,
        "pass": f.failures == 0 and ready and f.sent >= operations_wanted,
    }


def markdown(r: dict[str, Any]) -> str:
    lines = [
        f"# GraphQL fuzz: {r['operations']:,} operations - {'PASS' if r['pass'] else 'FAIL'}",
        "",
        f"Machine: {described(r['machine'])}. schemathesis over {r['rootFields']} root fields (Query and Mutation), "
        f"seed {r['seed']}, {r['seconds']:.0f} s; {r['sensitiveValuesWatched']:,} sensitive values watched; "
        f"GET /readyz after the run: {'200' if r['readyAfter'] else 'NOT READY'}.",
        "",
        f"- failures: **{r['failures']}**",
        f"- modes: {', '.join(f'{k} {v:,}' for k, v in sorted(r['modes'].items()))}",
        "",
        *histogram_table("HTTP status", r["statuses"]),
        "",
        *histogram_table("Error code", r["errorCodes"]),
        "",
        *histogram_table("Caller (application / purpose)", r["callers"]),
        "",
    ]
    if r["failureKinds"]:
        lines += [*histogram_table("Failure", r["failureKinds"]), ""]
    for sample in r["failureSamples"][:10]:
        lines += [f"## {sample['operation']} ({sample['mode']}) as {' / '.join(sample['caller'])}: "
                  f"HTTP {sample.get('status', '-')}", "", "; ".join(sample["problems"]), "",
                  "```graphql", sample["query"], "```", ""]
    if r.get("serverLog"):
        lines += ["## Server log (warnings and errors)", "", "```", *r["serverLog"][-60:], "```", ""]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--operations", type=int, default=2000, help="operations to send (default 2000)")
    parser.add_argument("--seed", type=int, default=7, help="Hypothesis seed (default 7)")
    parser.add_argument("--persons", type=int, default=2000, help="persons in the demo (default 2000)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory of fuzz.json and fuzz.md")
    parser.add_argument("--keep", action="store_true", help="keep the data directory and the server log")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    with served_gateway(persons=args.persons, keep=args.keep) as served:
        result = fuzz(served, args.operations, args.seed, progress)
        result["serverLog"] = served.log_excerpt()
    text = markdown(result)
    write_results("fuzz", result, text, args.out)
    print(text)
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
