"""Every benchmark, one after the other, and one table of their figures beside their aims.

    .venv/bin/python -m bench                 # the full run (about 25 minutes; the 1M-person demo is built once)
    .venv/bin/python -m bench --quick         # shorter windows and fewer repeats: noisier, a few minutes
    .venv/bin/python -m bench --only http peer

Each benchmark runs in its own process, alone, so that none measures while another loads the machine.
Each writes `bench/results/<name>.json` and `.md`; this gathers their `figures` into
`bench/results/summary.json` and `summary.md`, and into the table of bench/README.md between its
`summary` markers. A benchmark that fails, or writes no result in this run, is listed as not measured,
with why. The exit status is 1 when any benchmark failed to run (a missed aim is not a failure: it
is a line of the table, marked ✗).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.figures import RESULTS, Figure, described, machine, table

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
START, END = "<!-- summary:start -->", "<!-- summary:end -->"

# In the order of the items.
BENCHMARKS: dict[str, str] = {
    "overhead": "1. Authorization and masking overhead",
    "http": "2. HTTP throughput",
    "peer": "3. Peer: PostGraphile",
    "data_scale": "4. Scale of data",
    "policy_scale": "5. Scale of policy",
    "check": "6. Data check",
    "masking": "6. Masking",
    "audit": "6. Audit overhead",
}


def run_one(name: str, quick: bool) -> tuple[list[Figure], dict[str, Any]]:
    """Run `python -m bench.<name>`; its figures, or one line saying why there are none."""
    started = time.time()
    command = [sys.executable, "-m", f"bench.{name}", *(["--quick"] if quick else [])]
    print(f"== {' '.join(command[1:])}", file=sys.stderr, flush=True)
    completed = subprocess.run(command, cwd=HERE.parent, check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    sys.stderr.write(completed.stdout)
    seconds = time.time() - started
    run = {"name": name, "exit": completed.returncode, "seconds": round(seconds, 1)}
    result = RESULTS / f"{name}.json"
    if not result.exists() or result.stat().st_mtime < started:
        tail = completed.stdout.strip().splitlines()[-1:] or ["no output"]
        return [Figure(BENCHMARKS[name], "not measured", "—", "—", None, tail[0][:200])], run
    figures = [Figure.from_json(f) for f in json.loads(result.read_text(encoding="utf-8")).get("figures", [])]
    return figures, run


def markdown(figures: list[Figure], runs: list[dict[str, Any]], quick: bool, when: str) -> str:
    minutes = sum(r["seconds"] for r in runs) / 60
    return f"Run of {when}{' (--quick)' if quick else ''}, {minutes:.0f} minutes, on {described(machine())}.\n\n" + table(figures)


def update_readme(summary: str) -> None:
    text = README.read_text(encoding="utf-8")
    if START in text and END in text:
        head, _, rest = text.partition(START)
        _, _, tail = rest.partition(END)
        README.write_text(f"{head}{START}\n{summary}{END}{tail}", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="every benchmark's --quick: shorter and noisier")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), help="run only these")
    parser.add_argument("--skip", nargs="+", choices=list(BENCHMARKS), default=[], help="leave these out")
    args = parser.parse_args(argv)
    names = [n for n in (args.only or BENCHMARKS) if n not in args.skip]
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    figures: list[Figure] = []
    runs: list[dict[str, Any]] = []
    for name in names:
        found, run = run_one(name, args.quick)
        figures += found
        runs.append(run)
    summary = markdown(figures, runs, args.quick, when)
    RESULTS.mkdir(parents=True, exist_ok=True)
    document = {"when": when, "quick": args.quick, "machine": machine(), "runs": runs,
                "figures": [f.as_json() for f in figures]}
    (RESULTS / "summary.json").write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (RESULTS / "summary.md").write_text("# Benchmarks: the summary\n\n" + summary, encoding="utf-8")
    if not args.only:  # the README's table is the whole run's
        update_readme(summary)
    print(summary)
    failed = [r["name"] for r in runs if r["exit"] != 0]
    if failed:
        print(f"failed to run: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
