#!/usr/bin/env python
"""A curated mutation harness: does the fast test suite catch the physics bugs that matter?

Each mutant is one small edit of a physics, detector or model source file (a constant, a sign, a
flavor's routing, a kinematic limit, an efficiency or smearing formula). The harness copies the
package, its tests and specs into a temporary folder (the data linked, not copied), and for each
mutant applies the edit there, runs the physics tests with ``-x`` and restores the file: the
working tree is never touched, so it is safe beside running analyses.
A mutant is *killed* when a test fails, *survived* when all pass. The edits are written as
exact text replacements, so a mutant whose text is no longer in the file is reported as
*stale* (the list must follow the code) rather than silently skipped.

Usage::

    .venv/bin/python scripts/mutants.py [--only ID ...] [--list] [--out results/mutants.json]

Exit status 0 when every mutant is killed, 1 otherwise. ``make mutants`` runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
#: where the tests come from (the working tree, also when ``ROOT`` is moved to another checkout)
ROOT_TESTS = ROOT
#: The tests a mutant must fail, fastest first (``-x`` stops at the first failure)
TESTS = [
    "tests/test_physics.py",
    "tests/test_detector.py",
    "tests/test_conventions.py",
    "tests/test_physics_paths.py",
    "tests/test_baseline.py",
    "tests/test_forward.py",
]


class Mutant(NamedTuple):
    id: str
    path: str
    old: str
    new: str
    what: str


XS = "cevns_bayes/physics/cross_section.py"
FW = "cevns_bayes/model/forward.py"
DET = "cevns_bayes/detector.py"
CONST = "cevns_bayes/constants.py"
FLUX = "cevns_bayes/physics/flux.py"

MUTANTS = [
    # --- couplings, weak charge, flavor routing ---------------------------------------------
    Mutant(
        "s2w-ignored",
        FW,
        's2w = self._param(p, "sin2_theta_w")',
        "s2w = c.SIN2_THETA_W_LOW_Q2",
        "the graph ignores sin²θ_W",
    ),
    Mutant(
        "numubar-to-ee",
        FW,
        'FLAVOR_GROUP = {"nu_mu": "mumu", "nu_mu_bar": "mumu", "nu_e": "ee"}',
        'FLAVOR_GROUP = {"nu_mu": "mumu", "nu_mu_bar": "ee", "nu_e": "ee"}',
        "ν̄_μ takes the ε_ee couplings",
    ),
    Mutant(
        "numubar-scale-e",
        FW,
        'FLAVOR_SCALE = {"nu_mu": "scale_mu", "nu_mu_bar": "scale_mu", "nu_e": "scale_e"}',
        'FLAVOR_SCALE = {"nu_mu": "scale_mu", "nu_mu_bar": "scale_e", "nu_e": "scale_e"}',
        "ν̄_μ scaled with the ν_e scale",
    ),
    Mutant(
        "legacy-sign-not-flipped",
        XS,
        "delta = sign * c.CHARGE_RADIUS_DELTA_LEGACY[lepton]",
        "delta = c.CHARGE_RADIUS_DELTA_LEGACY[lepton]",
        "coherent2021 without the antineutrino sign flip",
    ),
    Mutant(
        "giunti-flavors-swapped",
        XS,
        "delta = c.CHARGE_RADIUS_DELTA_CORRECTED[lepton]",
        'delta = c.CHARGE_RADIUS_DELTA_CORRECTED["e" if lepton == "mu" else "mu"]',
        "charge-radius corrections of ν_e and ν_μ swapped",
    ),
    Mutant(
        "per-flavor-charge-shared",
        FW,
        "key = (group, f if per_flavor else None)",
        "key = (group, None)",
        "one charge per NSI group even where the couplings depend on the flavor",
    ),
    Mutant(
        "tree-gn",
        XS,
        "return 0.5 - 2.0 * sin2_theta_w, -0.5",
        "return 0.5 - 2.0 * sin2_theta_w, -0.48",
        "tree-level neutron coupling off by 4%",
    ),
    Mutant(
        "nsi-u-weight",
        XS,
        "(gp + 2.0 * eps_u + eps_d) * z * f_p",
        "(gp + eps_u + eps_d) * z * f_p",
        "ε^u counted once in the proton (uud) coupling",
    ),
    Mutant(
        "s2w-slope",
        XS,
        "shift = -2.0 * (sin2_theta_w - c.SIN2_THETA_W_LOW_Q2)",
        "shift = -1.0 * (sin2_theta_w - c.SIN2_THETA_W_LOW_Q2)",
        "g_V^p's sin²θ_W slope halved away from tree level",
    ),
    # --- cross section and form factors -----------------------------------------------------
    Mutant(
        "kinematic-T-over-E",
        XS,
        "return np.clip(1.0 - mass_mev * t / (2.0 * e**2) - t / e, 0.0, None)",
        "return np.clip(1.0 - mass_mev * t / (2.0 * e**2), 0.0, None)",
        "the −T/E term of the kinematic factor dropped",
    ),
    Mutant(
        "prefactor-2pi",
        XS,
        "mass_mev / (4.0 * math.pi)",
        "mass_mev / (2.0 * math.pi)",
        "G_F² M/(2π) instead of /(4π)",
    ),
    Mutant(
        "helm-skin",
        XS,
        "xp.exp(-0.5 * (q_fm_inv * skin_fm) ** 2)",
        "xp.exp(-1.0 * (q_fm_inv * skin_fm) ** 2)",
        "Helm Gaussian smearing exp(−q²s²) instead of exp(−q²s²/2)",
    ),
    Mutant(
        "helm-a13-radius",
        CONST,
        "HELM_A13_FM = 1.2",
        "HELM_A13_FM = 1.1",
        "R₀ = 1.1 A^1/3 in the paper's form factor",
    ),
    Mutant(
        "rn-ignored",
        FW,
        "self.form_factor_fn(self._q_det[i][None, :], self.neutron_radii_fm[i] * r)",
        "self.form_factor_fn(self._q_det[i][None, :], self.neutron_radii_fm[i] * 1.0 + 0 * r)",
        "the neutron radius nuisance does not reach the detector's form factor",
    ),
    Mutant(
        "fermi-constant",
        CONST,
        "FERMI_CONSTANT_MEV2 = 1.1663788e-11",
        "FERMI_CONSTANT_MEV2 = 1.1780000e-11",
        "G_F 1% high (shared with the baseline: only published numbers can catch it)",
    ),
    # --- flux ------------------------------------------------------------------------------
    Mutant(
        "michel-swapped",
        FLUX,
        "192.0 * e**2 / m**3 * (0.5 - e / m)",
        "64.0 * e**2 / m**3 * (0.75 - e / m)",
        "ν_e given the ν̄_μ Michel spectrum",
    ),
    Mutant(
        "derived-tail-dropped",
        FLUX,
        "prob = prob / (1.0 + delayed_tail_fraction(edges, prob))",
        "prob = prob",
        "the μ-decay tail beyond 15 µs not put back",
    ),
    Mutant(
        "derived-arrival",
        FLUX,
        'return NeutrinoFlux(flavors, source, "in file", arrival_time_us=0.0)',
        'return NeutrinoFlux(flavors, source, "in file", arrival_time_us=None)',
        "the 2021 time axis shifted by an arrival-time fit",
    ),
    # --- detector --------------------------------------------------------------------------
    Mutant(
        "smearing-b",
        CONST,
        "SMEARING_B_PER_PE = 0.716",
        "SMEARING_B_PER_PE = 0.816",
        "gamma shape b = 0.816 μ",
    ),
    Mutant(
        "light-yield",
        CONST,
        "LIGHT_YIELD_PE_PER_KEVEE = 13.35",
        "LIGHT_YIELD_PE_PER_KEVEE = 13.0",
        "light yield 13.0 PE/keVee",
    ),
    Mutant(
        "efficiency-clip",
        DET,
        "lo = xp.clip(efficiency_zero_pe(coeffs, xp), xa, xb)",
        "lo = xa",
        "ε_E not clipped at 0 in the sub-bin mean",
    ),
    Mutant(
        "efficiency-sign",
        DET,
        "return a / (1.0 + xp.exp(-b * (x_pe - cc))) + d",
        "return a / (1.0 + xp.exp(-b * (x_pe + cc))) + d",
        "ε_E logistic centred at −c",
    ),
    Mutant(
        "efficiency-subbin-mean",
        DET,
        "return ((a / b) * rise + d * (xb - lo)) / (xb - xa)",
        "return ((a / b) * rise + d * (xb - lo)) / (xb - lo + 1e-300)",
        "ε_E of a sub-bin averaged over its positive part only, not over the whole sub-bin",
    ),
    Mutant(
        "efficiency-mean-centre",
        DET,
        "rise = softplus(b * (xb - cc), xp) - softplus(b * (lo - cc), xp)",
        "rise = softplus(b * (xb + cc), xp) - softplus(b * (lo + cc), xp)",
        "the sub-bin mean of ε_E with its logistic centred at −c",
    ),
    Mutant(
        "efficiency-moment-halves",
        FW,
        "cols += [0.5 * prob[:, j] - tilt, 0.5 * prob[:, j] + tilt]",
        "cols += [0.5 * prob[:, j] + tilt, 0.5 * prob[:, j] - tilt]",
        "the first-moment correction of ε_E with its half sub-bins swapped",
    ),
    Mutant(
        "time-hermite-basis",
        FW,
        "[pt.ones_like(w), w * w * (3.0 - 2.0 * w), w * (1.0 - w) ** 2, w * w * (w - 1.0)]",
        "[pt.ones_like(w), w, w * (1.0 - w) ** 2, w * w * (w - 1.0)]",
        "the cubic time interpolation with a wrong basis polynomial",
    ),
    Mutant(
        "pca-down-branch",
        DET,
        "down = nominal - np.asarray(minus, float)",
        "down = np.asarray(minus, float) - nominal",
        "negative PCA values move toward the +1σ set",
    ),
    Mutant(
        "time-efficiency-decay",
        CONST,
        "TIME_EFFICIENCY_DECAY_PER_US = 0.0494",
        "TIME_EFFICIENCY_DECAY_PER_US = 0.0394",
        "ε_T decay 0.0394 /µs",
    ),
    Mutant(
        "time-efficiency-onset",
        CONST,
        "TIME_EFFICIENCY_ONSET_US = 0.52",
        "TIME_EFFICIENCY_ONSET_US = 0.62",
        "ε_T onset at 0.62 µs",
    ),
    Mutant(
        "timing-offset-sign",
        FW,
        "u = (edges - tau - self._tgrid0) / self._tgrid_step",
        "u = (edges + tau - self._tgrid0) / self._tgrid_step",
        "the timing offset moves the profiles backwards",
    ),
    Mutant(
        "timing-offset-eps-shift",
        FW,
        "shift = pt.exp(-c.TIME_EFFICIENCY_DECAY_PER_US * tau)",
        "shift = pt.exp(c.TIME_EFFICIENCY_DECAY_PER_US * tau)",
        "ε_T weight of a shifted profile with the wrong sign",
    ),
]


def make_workdir(tests_root: Path | None = None) -> Path:
    """A throw-away copy of what the tests import and read (``python -m pytest`` puts the
    copy first on ``sys.path``, ahead of the installed package); the tests from ``tests_root``
    when given (new tests against the mutants of an older checkout)."""
    work = Path(tempfile.mkdtemp(prefix="cevns-mutants-"))
    for name in ("cevns_bayes", "tests", "models"):
        src = (tests_root or ROOT) if name == "tests" else ROOT
        shutil.copytree(src / name, work / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", work / "pyproject.toml")
    (work / "data").symlink_to(ROOT / "data")
    return work


def run_one(m: Mutant, timeout: float, work: Path) -> dict:
    original = (work / m.path).read_text(encoding="utf-8")
    count = original.count(m.old)
    if count != 1:
        return {**m._asdict(), "result": "stale", "detail": f"text found {count} times"}
    return run_edit(m, original.replace(m.old, m.new), timeout, work)


def run_edit(m: Mutant, mutated: str, timeout: float, work: Path) -> dict:
    """Write ``mutated`` over ``m.path`` in the work copy, run the tests, restore the file."""
    path = work / m.path
    original = path.read_text(encoding="utf-8")
    t0 = time.perf_counter()
    try:
        path.write_text(mutated, encoding="utf-8")
        env = {**os.environ, "CEVNS_BAYES_BACKEND": os.environ.get("CEVNS_BAYES_BACKEND", "c")}
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *TESTS],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        failed = [ln for ln in proc.stdout.splitlines() if ln.startswith(("FAILED", "ERROR"))]
        result = "killed" if proc.returncode != 0 else "survived"
        detail = failed[0] if failed else proc.stdout.strip().splitlines()[-1:]
    except subprocess.TimeoutExpired:
        result, detail = "timeout", f"no verdict in {timeout:.0f} s"
    finally:
        path.write_text(original, encoding="utf-8")
    return {
        **m._asdict(),
        "result": result,
        "detail": detail if isinstance(detail, str) else " ".join(detail),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", help="mutant ids to run (default: all)")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "mutants.json")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per mutant")
    args = ap.parse_args(argv)
    chosen = [m for m in MUTANTS if not args.only or m.id in args.only]
    if args.list:
        for m in chosen:
            print(f"{m.id:26s} {m.path:40s} {m.what}")
        return 0
    if args.only and len(chosen) != len(args.only):
        known = {m.id for m in MUTANTS}
        print(f"unknown mutant(s): {sorted(set(args.only) - known)}", file=sys.stderr)
        return 2
    rows = []
    work = make_workdir()
    try:
        for k, m in enumerate(chosen, 1):
            row = run_one(m, args.timeout, work)
            rows.append(row)
            print(
                f"[{k}/{len(chosen)}] {row['result']:8s} {m.id:26s} "
                f"{row.get('seconds', 0):6.1f} s  {row['detail']}",
                flush=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    killed = sum(r["result"] == "killed" for r in rows)
    doc = {"killed": killed, "total": len(rows), "tests": TESTS, "mutants": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    tmp.replace(args.out)
    print(f"{killed}/{len(rows)} mutants killed; wrote {args.out}")
    return 0 if killed == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
