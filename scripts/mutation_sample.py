#!/usr/bin/env python
"""An unbiased mutation score: machine-generated mutants of the physics, detector and model code.

``scripts/mutants.py`` runs a *curated* list (the bugs a physicist fears most). Its score says
nothing about the code nobody thought of, so this script generates every mutant a standard
operator set allows, draws a random sample of them with a seed fixed before the run, and runs the
same physics tests against each (in a throw-away copy, as the curated harness does).

Operators (one edit per mutant, on the parsed source):

* arithmetic ``+``↔``-``, ``*``↔``/``, ``**`` → ``*``, ``//`` → ``/``;
* comparisons ``<``↔``<=``, ``>``↔``>=``, ``==``↔``!=``;
* ``and``↔``or``; unary minus removed; ``not`` removed;
* numbers: a non-zero float doubled, ``0.0`` → ``1.0``, an integer ``n`` → ``n + 1``.

Code that only builds an error (inside ``raise``), f-strings, docstrings and type annotations is
not mutated: those edits change messages, not physics.

Results go to a JSON-lines file, one line per mutant as it finishes, so an interrupted run
resumes where it stopped (``--out`` again); ``--summary`` prints the score and the survivors.

Usage::

    .venv/bin/python scripts/mutation_sample.py --n 120 --seed 20261202 --workers 2
    .venv/bin/python scripts/mutation_sample.py --summary
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import random
import shutil
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mutants as curated  # noqa: E402  (the curated harness: work copies and the test run)

ROOT = curated.ROOT
#: The modules the score is about (the issue: ``physics/``, the detector module and ``model/``)
MODULES = [
    "cevns_bayes/physics/cross_section.py",
    "cevns_bayes/physics/flux.py",
    "cevns_bayes/detector.py",
    "cevns_bayes/model/binning.py",
    "cevns_bayes/model/compile.py",
    "cevns_bayes/model/forward.py",
    "cevns_bayes/model/likelihood.py",
    "cevns_bayes/model/parameters.py",
]
DEFAULT_OUT = ROOT / "results" / "mutation-sample.jsonl"

BINOP_SWAP = {
    ast.Add: "-",
    ast.Sub: "+",
    ast.Mult: "/",
    ast.Div: "*",
    ast.Pow: "*",
    ast.FloorDiv: "/",
}
BINOP_TEXT = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "**",
    ast.FloorDiv: "//",
}
CMP_SWAP = {ast.Lt: "<=", ast.LtE: "<", ast.Gt: ">=", ast.GtE: ">", ast.Eq: "!=", ast.NotEq: "=="}
CMP_TEXT = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}


class Site(NamedTuple):
    """One mutant: replace ``old`` at (line, col) of ``path`` by ``new``."""

    path: str
    line: int
    col: int
    old: str
    new: str
    op: str

    @property
    def id(self) -> str:
        return f"{self.path}:{self.line}:{self.col}:{self.op}"


def _offsets(text: str) -> list[int]:
    starts, pos = [], 0
    for ln in text.splitlines(keepends=True):
        starts.append(pos)
        pos += len(ln)
    starts.append(pos)
    return starts


def _excluded_nodes(tree: ast.AST) -> set[int]:
    """ids of nodes whose subtrees are not mutated (errors, f-strings, docstrings, annotations)."""
    skip: set[int] = set()

    def mark(node):
        for sub in ast.walk(node):
            skip.add(id(sub))

    for node in ast.walk(tree):
        if isinstance(node, (ast.Raise, ast.JoinedStr, ast.Assert)):
            mark(node)
        elif isinstance(node, (ast.AnnAssign,)) and node.annotation is not None:
            mark(node.annotation)
        elif isinstance(node, ast.arg) and node.annotation is not None:
            mark(node.annotation)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.returns is not None:
                mark(node.returns)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                mark(body[0])
    return skip


def _op_between(text: str, starts, left: ast.AST, right: ast.AST, token: str):
    """Position of ``token`` in the source between the end of ``left`` and the start of
    ``right`` (skipping brackets and spaces), or None."""
    a = starts[left.end_lineno - 1] + left.end_col_offset
    b = starts[right.lineno - 1] + right.col_offset
    seg = text[a:b]
    k = seg.find(token)
    if k < 0:
        return None
    # "*" must not match inside "**", "/" not inside "//", "<" not inside "<=" ...
    if token in ("*", "/", "<", ">") and seg[k : k + 2] in ("**", "//", "<=", ">="):
        return None
    return a + k


def sites_of(path: str) -> list[Site]:
    text = (ROOT / path).read_text(encoding="utf-8")
    tree = ast.parse(text)
    starts = _offsets(text)
    skip = _excluded_nodes(tree)
    out: list[Site] = []

    def at(pos: int) -> tuple[int, int]:
        line = max(i for i, s in enumerate(starts) if s <= pos)
        return line + 1, pos - starts[line]

    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.BinOp) and type(node.op) in BINOP_SWAP:
            tok = BINOP_TEXT[type(node.op)]
            pos = _op_between(text, starts, node.left, node.right, tok)
            if pos is not None:
                out.append(Site(path, *at(pos), tok, BINOP_SWAP[type(node.op)], f"{tok}->"))
        elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in CMP_SWAP:
            tok = CMP_TEXT[type(node.ops[0])]
            pos = _op_between(text, starts, node.left, node.comparators[0], tok)
            if pos is not None:
                out.append(Site(path, *at(pos), tok, CMP_SWAP[type(node.ops[0])], f"{tok}->"))
        elif isinstance(node, ast.BoolOp) and len(node.values) == 2:
            tok = "and" if isinstance(node.op, ast.And) else "or"
            pos = _op_between(text, starts, node.values[0], node.values[1], tok)
            if pos is not None:
                new = "or" if tok == "and" else "and"
                out.append(Site(path, *at(pos), tok, new, f"{tok}->{new}"))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not)):
            pos = starts[node.lineno - 1] + node.col_offset
            tok = "-" if isinstance(node.op, ast.USub) else "not "
            if text.startswith(tok, pos):
                out.append(Site(path, *at(pos), tok, "", f"drop{tok.strip()}"))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, (int, float))
            and not isinstance(node.value, bool)
        ):
            pos = starts[node.lineno - 1] + node.col_offset
            end = starts[node.end_lineno - 1] + node.end_col_offset
            old = text[pos:end]
            if isinstance(node.value, float):
                new = "1.0" if node.value == 0.0 else repr(2.0 * node.value)
            else:
                new = str(node.value + 1)
            out.append(Site(path, *at(pos), old, new, "num"))
    # one mutant per (position, op); sorted so the population does not depend on ast.walk order
    uniq = {s.id: s for s in out}
    return sorted(uniq.values(), key=lambda s: (s.path, s.line, s.col, s.op))


def mutated_text(site: Site) -> str:
    text = (ROOT / site.path).read_text(encoding="utf-8")
    starts = _offsets(text)
    pos = starts[site.line - 1] + site.col
    if text[pos : pos + len(site.old)] != site.old:
        raise RuntimeError(f"{site.id}: source moved ({text[pos : pos + 20]!r})")
    return text[:pos] + site.new + text[pos + len(site.old) :]


def _source_line(site: Site) -> str:
    return (ROOT / site.path).read_text(encoding="utf-8").splitlines()[site.line - 1].strip()


def wilson(k: int, n: int, z: float = 1.0) -> tuple[float, float]:
    """Wilson score interval (z = 1: a 68% interval) for k successes out of n."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (mid - half, mid + half)


def summary(out: Path) -> int:
    rows = [json.loads(ln) for ln in out.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if not rows:
        print(f"{out}: no results yet")
        return 1
    print(f"{out}: {len(rows)} mutants")
    for module in [None, *MODULES]:
        sel = [r for r in rows if module is None or r["path"] == module]
        if not sel:
            continue
        k = sum(r["result"] == "killed" for r in sel)
        t = sum(r["result"] == "timeout" for r in sel)
        gone = sum(r["result"] == "removed" for r in sel)
        lo, hi = wilson(k + t, len(sel))
        name = module or "all modules"
        print(
            f"  {name:40s} {k + t:3d}/{len(sel):3d} killed ({100 * (k + t) / len(sel):5.1f}%, "
            f"68% [{100 * lo:.0f}, {100 * hi:.0f}]%)  timeouts {t}, code removed {gone}"
        )
    surv = [r for r in rows if r["result"] == "survived"]
    if surv:
        print("survivors:")
        for r in surv:
            print(f"  {r['id']}  {r['old']!r} -> {r['new']!r}   | {r['line_text']}")
    return 0


def relocate(site: Site, snapshot: Path | None) -> Site | None:
    """The same edit in the current :data:`ROOT`: at its recorded place if the source there is
    unchanged, else on the one line of the file whose text is the mutated line's (the column
    moved by the change of indentation); None when the line is gone or not unique."""
    path = ROOT / site.path
    if not path.is_file():
        return None
    lines = path.read_text(encoding="utf-8").splitlines()
    orig = None
    if snapshot is not None and (snapshot / site.path).is_file():
        orig = (snapshot / site.path).read_text(encoding="utf-8").splitlines()[site.line - 1]
    if orig is None:
        return site
    if site.line <= len(lines) and lines[site.line - 1] == orig:
        return site
    hits = [i for i, ln in enumerate(lines) if ln.strip() == orig.strip()]
    if len(hits) != 1:
        return None
    new_line = lines[hits[0]]
    col = site.col - (len(orig) - len(orig.lstrip())) + (len(new_line) - len(new_line.lstrip()))
    if new_line[col : col + len(site.old)] != site.old:
        return None
    return site._replace(line=hits[0] + 1, col=col)


def recheck(out: Path, timeout: float, snapshot: Path | None = None) -> int:
    """Survivors of ``out`` against the tests of :data:`mutants.ROOT_TESTS`; rows rewritten
    atomically. With ``snapshot`` (the checkout the survivors were found in), each mutant is
    moved onto the current :data:`ROOT` (:func:`relocate`); one whose code is gone is marked
    ``removed``."""
    rows = [json.loads(ln) for ln in out.read_text(encoding="utf-8").splitlines() if ln.strip()]
    surv = [r for r in rows if r["result"] == "survived"]
    print(f"rechecking {len(surv)} survivors of {out} with the tests of {curated.ROOT_TESTS}")
    work = curated.make_workdir(tests_root=curated.ROOT_TESTS)
    try:
        for k, r in enumerate(surv, 1):
            site = Site(r["path"], r["line"], r["col"], r["old"], r["new"], r["op"])
            if snapshot is not None:
                moved = relocate(site, snapshot)
                if moved is None:
                    r["result"] = "removed"
                    r["detail"] = f"the mutated line is no longer in {ROOT.name} ({site.path})"
                    print(f"[{k}/{len(surv)}] removed  {site.id}", flush=True)
                    continue
                site = moved
            m = curated.Mutant(site.id, site.path, site.old, site.new, site.op)
            again = curated.run_edit(m, mutated_text(site), timeout, work)
            if again["result"] == "killed":
                r["result"] = "killed"
                r["killed_by_added_test"] = again["detail"]
            print(f"[{k}/{len(surv)}] {again['result']:8s} {site.id}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    tmp.replace(out)
    return summary(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=120, help="mutants to draw (default 120)")
    ap.add_argument("--seed", type=int, default=20261202, help="seed of the draw")
    ap.add_argument("--workers", type=int, default=2, help="mutants run at once")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per mutant")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON-lines results (resumed)")
    ap.add_argument("--population", action="store_true", help="count the sites per module")
    ap.add_argument("--summary", action="store_true", help="print the score of --out and exit")
    ap.add_argument(
        "--recheck",
        action="store_true",
        help="rerun the survivors in --out against the working tree's tests (the mutants "
        "still from --root) and record which new test kills them",
    )
    ap.add_argument(
        "--extra-tests",
        nargs="*",
        default=[],
        help="with --recheck: test files to run besides the physics tests (e.g. the binning "
        "and backend tests for survivors in model/binning.py and model/compile.py)",
    )
    ap.add_argument(
        "--snapshot",
        type=Path,
        help="with --recheck: the checkout the survivors were found in; their edits are then "
        "moved onto --root's source (lines matched by their text)",
    )
    ap.add_argument(
        "--tests-root",
        type=Path,
        help="with --recheck: take the tests from this checkout (default: the working tree)",
    )
    ap.add_argument(
        "--root",
        type=Path,
        help="mutate this checkout instead of the working tree (e.g. a `git worktree` of the "
        "commit under test, so the working tree can be edited during a long run)",
    )
    args = ap.parse_args(argv)
    if args.root is not None:
        global ROOT
        ROOT = curated.ROOT = args.root.resolve()
    if args.summary:
        return summary(args.out)
    if args.tests_root is not None:
        curated.ROOT_TESTS = args.tests_root.resolve()
    if args.recheck:
        curated.TESTS[:] = [*curated.TESTS, *args.extra_tests]
        return recheck(args.out, args.timeout, args.snapshot)
    population = [s for m in MODULES for s in sites_of(m)]
    if args.population:
        for m in MODULES:
            print(f"{m:40s} {sum(s.path == m for s in population):4d} sites")
        print(f"{'total':40s} {len(population):4d}")
        return 0
    rng = random.Random(args.seed)
    draw = rng.sample(population, min(args.n, len(population)))
    done = set()
    if args.out.exists():
        done = {json.loads(ln)["id"] for ln in args.out.read_text().splitlines() if ln.strip()}
    todo = [s for s in draw if s.id not in done]
    print(
        f"{len(population)} sites; drew {len(draw)} (seed {args.seed}); "
        f"{len(draw) - len(todo)} already in {args.out}; running {len(todo)}",
        flush=True,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()
    local = threading.local()
    works: list[Path] = []
    counter = iter(range(1, len(todo) + 1))

    def job(site: Site) -> None:
        if not hasattr(local, "work"):
            local.work = curated.make_workdir()
            with lock:
                works.append(local.work)
        m = curated.Mutant(site.id, site.path, site.old, site.new, site.op)
        row = curated.run_edit(m, mutated_text(site), args.timeout, local.work)
        row.update(site._asdict(), id=site.id, line_text=_source_line(site))
        with lock:
            with args.out.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")
            print(
                f"[{next(counter)}/{len(todo)}] {row['result']:8s} {site.id:55s} "
                f"{row['seconds']:6.1f} s",
                flush=True,
            )

    t0 = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=args.workers) as pool:
            list(pool.map(job, todo))
    finally:
        for w in works:
            shutil.rmtree(w, ignore_errors=True)
    print(f"finished in {time.perf_counter() - t0:.0f} s")
    return summary(args.out)


if __name__ == "__main__":
    sys.exit(main())
