"""The difference budget (README, *Profile likelihood and the comparison*): how far each
modelling choice moves the fitted POI. A workflow: many profile fits
(:mod:`cevns_bayes.inference.profile`) under variations of the model, the table, and the files
(:func:`write_budget`: ``budget.json``, ``budget.md``, ``budget.png``).

For a spec with one parameter of interest, :func:`difference_budget` fits the profile-likelihood
best value (MIGRAD + HESSE, :class:`~cevns_bayes.inference.profile.ProfileLikelihood`) for the
nominal configuration of the spec, and again for each variation, one change at a time:

=================  ===========================================================================
group              variations (relative to the spec's own settings)
=================  ===========================================================================
flux               each other flux source: ``2021-derived`` (the 2021 time profiles with the
                   2018 energy spectra, the default), the shipped 2018 file with a modelled
                   pulse (``file_2018``), the analytic πDAR spectra (``analytic``)
pulse              for a nominal flux with a modelled pulse only: the other proton-pulse
                   shapes (``gaussian`` / ``triangle`` / ``box``) at the same FWHM; FWHM
                   250 ns and 600 ns at the same shape (0.25–0.6 µs). A flux whose times hold
                   the pulse (the 2021 ones) has no pulse rows: there the ``file_2018`` row
                   measures what the modelled pulse and its fitted arrival time change
time_efficiency    ε_T switched (off, for the shipped specs). This changes the model, not only
                   a convention of quoting: the paper *fits* with ε_T, so this row measures the
                   size of the convention, it is not a candidate explanation of a gap
form_factor        each other form factor (``helm``, ``klein_nystrand``, ``helm_a13``)
couplings          each other couplings convention (``tree``, ``radiative``, ``giunti``,
                   ``coherent2021``)
binning            ``fine`` (30 × 60) and ``uniform:12x12``
nuisance_fixed     each nuisance of the spec held at its registry nominal value in turn
=================  ===========================================================================

Every variation rebuilds only what it changes: the release is read once, a flux is loaded once
per (source, pulse shape, FWHM), and a nuisance is fixed inside MIGRAD on the nominal
likelihood, which is the same fit as a spec with that nuisance's table deleted (a nuisance a
spec does not list is fixed at its registry nominal; ``tests/test_budget.py`` checks the two
agree). The proton-pulse arrival time ``arrival_time_us`` keeps the forward model's default
behaviour: each model fits its own to the release's NIN time shape
(:func:`~cevns_bayes.model.forward.fit_arrival_time_us`), so a flux or pulse variation also
moves the arrival time; the value used is recorded in every row.

Each fit starts from the spec's initial values; when MIGRAD reports an invalid minimum, two
more starts (the POI one prior width below and above its initial value, kept inside the prior
support) are tried and the lowest NLL is kept. NLL values are comparable only between rows
with the same binning and data.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cevns_bayes.errors import ConfigError
from cevns_bayes.parallel import map_forked

#: Order of the groups in the budget, the table and the figure
GROUPS = (
    "flux",
    "pulse",
    "time_efficiency",
    "form_factor",
    "couplings",
    "binning",
    "nuisance_fixed",
)
#: Proton-pulse widths of the pulse-width rows, ns (0.25–0.6 µs, the range in which a
#: simplified fit moves the CEvNS rate by ±5%)
PULSE_FWHM_VARIATIONS_NS = (250.0, 600.0)
#: Binnings of the binning rows
BINNING_VARIATIONS = ("fine", "uniform:12x12")
#: Groups whose rows are alternative modelling choices that could explain a gap to the paper
MODELLING_GROUPS = ("flux", "pulse", "form_factor", "couplings", "binning")


# --- variations -----------------------------------------------------------------------------------
def _other(values: Iterable[str], current: str) -> list[str]:
    return [v for v in values if v != current]


def _fmt_num(x: float) -> str:
    return f"{x:g}"


def variation_list(spec, *, flux=None) -> list[dict[str, Any]]:
    """The variations of :func:`difference_budget` for ``spec``, each a dict with ``name``,
    ``group`` and ``changes`` (what differs from the nominal configuration)."""
    from cevns_bayes.model.binning import binning_from_name
    from cevns_bayes.physics.cross_section import FORM_FACTORS, SM_COUPLING_CONVENTIONS
    from cevns_bayes.physics.flux import PULSE_SHAPES

    model = spec.model
    out: list[dict[str, Any]] = []

    def add(name: str, group: str, **changes: Any) -> None:
        out.append({"name": name, "group": group, "changes": changes})

    nominal_flux = _flux_label(flux)
    for name, source in _flux_sources().items():
        if source != nominal_flux:
            add(f"flux:{name}", "flux", flux=source)
    if not _pulse_in_flux(nominal_flux):
        for shape in _other(PULSE_SHAPES, model["pulse_shape"]):
            add(f"pulse_shape:{shape}", "pulse", pulse_shape=shape)
        for fwhm in PULSE_FWHM_VARIATIONS_NS:
            if not math.isclose(fwhm, float(model["pulse_fwhm_ns"])):
                add(f"pulse_fwhm_ns:{_fmt_num(fwhm)}", "pulse", pulse_fwhm_ns=fwhm)
    te = bool(model["time_efficiency"])
    add(
        "time_efficiency_off" if te else "time_efficiency_on",
        "time_efficiency",
        time_efficiency=not te,
    )
    for ff in _other(FORM_FACTORS, model["form_factor"]):
        add(f"form_factor:{ff}", "form_factor", form_factor=ff)
    for cp in _other(SM_COUPLING_CONVENTIONS, model["couplings"]):
        add(f"couplings:{cp}", "couplings", couplings=cp)
    for name in BINNING_VARIATIONS:
        b = binning_from_name(name)
        same = (
            b.shape == spec.binning.shape
            and np.array_equal(b.pe_edges, spec.binning.pe_edges)
            and np.array_equal(b.t_edges_us, spec.binning.t_edges_us)
        )
        if not same:
            add(f"binning:{name}", "binning", binning=name)
    for name in spec.nuisances:
        add(f"nuisance_fixed:{name}", "nuisance_fixed", fixed=name)
    return out


def variation_names(spec, *, flux=None) -> list[str]:
    """Names accepted by ``difference_budget(..., variations=...)`` for ``spec``."""
    return [v["name"] for v in variation_list(spec, flux=flux)]


def _flux_sources() -> dict[str, str]:
    """Row name -> ``flux`` argument of every flux source of the flux rows."""
    from cevns_bayes.paths import FLUX_2018_FILE
    from cevns_bayes.physics.flux import ANALYTIC_FLUX, DERIVED_2021_FLUX

    return {
        DERIVED_2021_FLUX: DERIVED_2021_FLUX,
        "file_2018": str(FLUX_2018_FILE.resolve()),
        ANALYTIC_FLUX: ANALYTIC_FLUX,
    }


def _flux_label(flux) -> str:
    """The ``flux`` argument as the budget names it (a file's path resolved)."""
    from cevns_bayes.physics.flux import DEFAULT_FLUX_SOURCE, FLUX_SOURCES

    if flux is None:
        return DEFAULT_FLUX_SOURCE
    return str(flux) if str(flux) in FLUX_SOURCES else str(Path(flux).resolve())


def _pulse_in_flux(label: str) -> bool:
    """Whether the flux ``label`` names has the proton pulse in its times (no pulse rows)."""
    from cevns_bayes.io import read_flux
    from cevns_bayes.physics.flux import ANALYTIC_FLUX, DERIVED_2021_FLUX

    if label == DERIVED_2021_FLUX:
        return True
    if label == ANALYTIC_FLUX:
        return False
    return read_flux(label).pulse_convolved


# --- fitting --------------------------------------------------------------------------------------
def _best_fit(prof, poi: str, fixed: dict[str, float] | None = None):
    """MIGRAD from the spec's initial values (``fixed`` held); if the minimum is invalid, the
    lowest NLL of two more starts, the POI one prior width below and above its initial value."""
    best = prof.fit(fixed)
    if best.valid:
        return best
    prior = prof.spec.pois[poi].prior
    lo, hi = prior.support
    x0 = prof.spec.pois[poi].initial
    width = prior.width
    cands = [best]
    for x in (x0 - width, x0 + width):
        if math.isfinite(lo) and math.isfinite(hi):
            x = min(max(x, lo + 0.02 * (hi - lo)), hi - 0.02 * (hi - lo))
        elif math.isfinite(lo):
            x = max(x, lo + 0.02 * width)
        elif math.isfinite(hi):
            x = min(x, hi - 0.02 * width)
        cands.append(prof.fit(fixed, start={poi: x}))
    best = min(cands, key=lambda r: (not np.isfinite(r.nll), r.nll))
    if not best.valid:  # one more MIGRAD from the lowest point
        again = prof.fit(fixed, start=best.values)
        if again.nll <= best.nll + 1e-6:
            best = again
    return best


def _fit_summary(prof, poi: str, fixed: dict[str, float] | None = None) -> dict[str, Any]:
    best = _best_fit(prof, poi, fixed)
    return {
        "best": best.values[poi],
        "error": best.errors.get(poi),
        "nll": best.nll,
        "valid": best.valid,
        "values": best.values,
    }


def _num(x) -> float | None:
    """A JSON-safe float (None for missing or non-finite values)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _num(value)
    return value


def _settings(spec, model, flux_label: str, fixed: dict[str, float] | None = None) -> dict:
    free = [n for n in spec.nuisances if n not in (fixed or {})]
    return {
        "flux": flux_label,
        "flux_source": model.flux.source,
        "pulse": model.flux.pulse,
        "pulse_shape": spec.model["pulse_shape"],
        "pulse_fwhm_ns": float(spec.model["pulse_fwhm_ns"]),
        "time_efficiency": bool(model.time_efficiency),
        "form_factor": model.form_factor,
        "couplings": model.couplings,
        "binning": spec.binning.name,
        "binning_shape": list(spec.binning.shape),
        "arrival_time_us": float(model.arrival_time_us),
        "free_nuisances": free,
        "fixed_nuisances": dict(fixed or {}),
    }


# --- the budget -----------------------------------------------------------------------------------
def difference_budget(
    spec,
    *,
    data_dir=None,
    flux=None,
    progress=None,
    variations: Sequence[str] | None = None,
    workers: int | None = None,
) -> dict[str, Any]:
    """Best POI value of ``spec`` for the nominal configuration and each variation (see the
    module docstring), and the shifts relative to the nominal one.

    Args:
        spec: an :class:`~cevns_bayes.spec.AnalysisSpec` with exactly one POI.
        data_dir, flux: release folder and flux (a ROOT path or ``"analytic"``) of the nominal
            fit; defaults as :func:`~cevns_bayes.inference.bayes.build_forward_model`.
        progress: print one line per fit to stderr when true.
        variations: names from :func:`variation_names` to run (in the budget's order);
            default: all of them.
        workers: processes for the model variants (default: every core; forked, so they
            share the loaded release and fluxes; one where the platform cannot fork).

    Returns:
        A JSON-serializable dict: ``model``, ``poi``, ``units``, ``nominal`` (``best``,
        ``error`` (HESSE), ``nll``, ``valid``, ``settings``), ``published``,
        ``gap_to_published`` (nominal − published; None without a published value), ``rows``
        (``group``, ``variation``, ``changes``, ``best``, ``error``, ``shift``,
        ``shift_in_sigma``, ``nll``, ``valid``, ``arrival_time_us``, ``seconds``, ``note`` and,
        for a failed fit, ``error_message``) and ``timing_s``.

    Raises:
        ConfigError: the spec has more than one POI, or ``variations`` names an unknown one.
    """
    from cevns_bayes.inference import bayes
    from cevns_bayes.inference.profile import ProfileLikelihood
    from cevns_bayes.io import load_published, load_release
    from cevns_bayes.model import load_flux
    from cevns_bayes.model.parameters import get_parameter
    from cevns_bayes.paths import DEFAULT_DATA_DIR

    if len(spec.pois) != 1:
        raise ConfigError(
            f"difference budget: {spec.name} has POIs {', '.join(spec.pois)}; the budget needs "
            "exactly one (e.g. xsec or weak_mixing)"
        )
    t_start = time.perf_counter()
    (poi,) = tuple(spec.pois)
    flux_label = _flux_label(flux)
    all_vars = variation_list(spec, flux=flux)
    if variations is not None:
        known = {v["name"]: v for v in all_vars}
        unknown = [n for n in variations if n not in known]
        if unknown:
            raise ConfigError(
                f"difference budget: unknown variation(s) {', '.join(map(repr, unknown))} for "
                f"{spec.name}; known: {', '.join(known)}"
            )
        wanted = set(variations)
        all_vars = [v for v in all_vars if v["name"] in wanted]

    def say(msg: str) -> None:
        if progress:
            print(f"[budget {spec.name}] {msg}", file=sys.stderr, flush=True)

    release = load_release(data_dir or DEFAULT_DATA_DIR)
    fluxes: dict[tuple[str, str, float], Any] = {}

    def get_flux(source: str, shape: str, fwhm: float):
        key = (source, shape, float(fwhm))
        if key not in fluxes:
            fluxes[key] = load_flux(source, pulse_shape=shape, pulse_fwhm_ns=fwhm)
        return fluxes[key]

    def build(s, source: str, **overrides):
        nf = get_flux(source, s.model["pulse_shape"], s.model["pulse_fwhm_ns"])
        return bayes.build_forward_model(
            s, data_dir=data_dir, flux=source, release=release, neutrino_flux=nf, **overrides
        )

    # nominal
    t0 = time.perf_counter()
    model0 = build(spec, flux_label)
    # a budget makes a few fits per model: the C backend compiles each variant in seconds
    prof0 = ProfileLikelihood(spec, model0, hot=False)
    nom = _fit_summary(prof0, poi)
    nominal = {
        "best": nom["best"],
        "error": nom["error"],
        "nll": nom["nll"],
        "valid": nom["valid"],
        "values": nom["values"],
        "seconds": time.perf_counter() - t0,
        "settings": _settings(spec, model0, flux_label),
    }
    err0 = nom["error"]
    say(
        f"nominal: {poi} = {nom['best']:.5g} ± {err0 if err0 is not None else float('nan'):.3g} "
        f"(valid={nom['valid']}, {nominal['seconds']:.1f} s)"
    )

    def one_row(var: dict[str, Any]) -> dict[str, Any]:
        t0 = time.perf_counter()
        ch = var["changes"]
        row: dict[str, Any] = {
            "group": var["group"],
            "variation": var["name"],
            "changes": dict(ch),
            "note": "",
        }
        try:
            if var["group"] == "nuisance_fixed":
                name = ch["fixed"]
                value = float(get_parameter(name).nominal)
                row["changes"] = {"fixed": {name: value}}
                res = _fit_summary(prof0, poi, {name: value})
                model = model0
            else:
                s = spec
                source = flux_label
                if "flux" in ch:
                    source = ch["flux"]
                elif "binning" in ch:
                    s = spec.with_binning(ch["binning"])
                elif "time_efficiency" in ch:
                    s = spec.with_model(time_efficiency=ch["time_efficiency"])
                    row["note"] = (
                        "changes the fitted model (the paper fits with ε_T); shows the size of "
                        "the convention, not a candidate explanation"
                    )
                else:
                    s = spec.with_model(**ch)
                model = build(s, source)
                if var["group"] == "pulse" and model.flux.pulse == "in file":
                    row["note"] = "flux file has the pulse folded in: pulse settings unused"
                res = _fit_summary(ProfileLikelihood(s, model, hot=False), poi)
            shift = res["best"] - nom["best"]
            row.update(
                best=res["best"],
                error=res["error"],
                shift=shift,
                shift_in_sigma=shift / err0 if err0 else None,
                nll=res["nll"],
                valid=res["valid"],
                arrival_time_us=float(model.arrival_time_us),
            )
        except Exception as exc:  # noqa: BLE001 - one failed row must not lose the budget
            row.update(
                best=None,
                error=None,
                shift=None,
                shift_in_sigma=None,
                nll=None,
                valid=False,
                arrival_time_us=None,
                error_message=f"{type(exc).__name__}: {exc}",
            )
        row["seconds"] = time.perf_counter() - t0
        return row

    def report(var: dict[str, Any], row: dict[str, Any]) -> None:
        k = all_vars.index(var) + 1
        if row["best"] is None:
            say(f"{k}/{len(all_vars)} {var['name']}: FAILED ({row['error_message']})")
            return
        sig = row["shift_in_sigma"]
        say(
            f"{k}/{len(all_vars)} {var['name']}: {poi} = {row['best']:.5g}, shift "
            f"{row['shift']:+.3g}"
            + (f" ({sig:+.2f}σ)" if sig is not None else "")
            + f", valid={row['valid']}, {row['seconds']:.1f} s"
        )

    # model variants build and compile their own likelihood: forked workers run them side by
    # side (sharing the loaded release and fluxes); nuisance_fixed rows reuse the nominal one
    own = [v for v in all_vars if v["group"] == "nuisance_fixed"]
    others = [v for v in all_vars if v["group"] != "nuisance_fixed"]
    done = {}
    for var, row in zip(
        own + others,
        map_forked(
            one_row,
            others,
            workers=workers,
            local=own,
            on_result=lambda v, r: report(v, r),
        ),
    ):
        done[var["name"]] = row
    rows = [done[v["name"]] for v in all_vars]

    published = load_published().get("pois", {}).get(poi, {}).get("best")
    gap = nom["best"] - published if published is not None else None
    doc = {
        "model": spec.name,
        "poi": poi,
        "units": spec.pois[poi].units,
        "nominal": nominal,
        "published": published,
        "gap_to_published": gap,
        "gap_in_sigma": gap / err0 if (gap is not None and err0) else None,
        "rows": rows,
        "timing_s": time.perf_counter() - t_start,
    }
    return _jsonable(doc)


# --- presentation ---------------------------------------------------------------------------------
def _decimals(doc) -> int:
    err = doc["nominal"].get("error") or abs(doc["nominal"].get("best") or 1.0) or 1.0
    return max(0, 2 - math.floor(math.log10(abs(err))))


def _f(x, d: int, sign: bool = False) -> str:
    if x is None:
        return "–"
    x = round(x, d) + 0.0  # no "-0.0"
    return f"{x:+.{d}f}" if sign else f"{x:.{d}f}"


def _summary_line(doc: dict[str, Any]) -> str:
    """The closing sentence(s) of the table: the largest shifts against the gap."""
    d = _decimals(doc)
    poi = doc["poi"]
    gap = doc.get("gap_to_published")
    err = doc["nominal"].get("error")
    ok = [r for r in doc["rows"] if r.get("shift") is not None]
    if not ok:
        return "No variation could be fitted."
    top = sorted(ok, key=lambda r: -abs(r["shift"]))[:3]
    largest = ", ".join(f"{r['variation']} ({_f(r['shift'], d, True)})" for r in top)
    if gap is None:
        return f"Largest shifts of {poi}: {largest}. No published best value to compare with."
    gap_s = f"{_f(gap, d, True)}" + (f" ({gap / err:+.2f}σ)" if err else "")
    text = [
        f"Gap to the published {poi} (nominal − published): {gap_s}. Largest shifts: {largest}."
    ]
    choices = [r for r in ok if r["group"] in MODELLING_GROUPS]
    toward = [r for r in choices if r["shift"] * gap < 0]
    away = [r for r in choices if r["shift"] * gap > 0]
    need = -gap
    if abs(gap) == 0:
        text.append("The nominal fit reproduces the published value.")
        return " ".join(text)
    closes = [r for r in toward if abs(r["shift"]) >= abs(gap)]
    if closes:
        names = ", ".join(r["variation"] for r in closes)
        text.append(
            f"Alone, {names} moves the best value at least as far as the published one, so "
            "the gap is within the spread of the listed modelling choices. Which of them the "
            "paper's own inputs (the 2021 flux file and its pulse model) correspond to cannot "
            "be determined from the public files, so the gap is not attributed to one cause."
        )
    elif toward:
        # per group, the choice that moves furthest toward the published value
        per_group: dict[str, dict] = {}
        for r in toward:
            g = r["group"]
            if g not in per_group or abs(r["shift"]) > abs(per_group[g]["shift"]):
                per_group[g] = r
        total = sum(r["shift"] for r in per_group.values())
        frac = total / need
        names = ", ".join(f"{r['variation']}" for r in per_group.values())
        if frac >= 1.0:
            text.append(
                f"No single modelling choice closes it, but the choices that move toward the "
                f"published value ({names}), added as if independent, shift "
                f"{_f(total, d, True)}, enough to account for the whole gap."
            )
        else:
            text.append(
                f"The modelling choices that move toward the published value ({names}), added as "
                f"if independent, shift {_f(total, d, True)}: they can account for about "
                f"{100 * frac:.0f}% of the gap; the remaining {_f(need - total, d, True)} is "
                "not explained by any listed modelling choice."
            )
    else:
        text.append(
            "No listed modelling choice moves the best value toward the published one: the gap "
            "is not accounted for by these choices."
        )
    if away:
        text.append("Moving away from it: " + ", ".join(r["variation"] for r in away) + ".")
    if err:
        text.append(
            f"For scale, the nominal 1σ (HESSE) error is {_f(err, d)}, so the gap is "
            + ("within" if abs(gap) <= err else "outside")
            + " the statistical-plus-systematic uncertainty."
        )
    te = [r for r in ok if r["group"] == "time_efficiency"]
    if te:
        text.append(
            f"The ε_T row ({_f(te[0]['shift'], d, True)}) changes the fitted model rather than "
            "a modelling choice the paper could have made differently, and nuisance_fixed rows "
            "show how much each profiled systematic pulls the best value; neither is counted "
            "above."
        )
    return " ".join(text)


def budget_table_markdown(doc: dict[str, Any]) -> str:
    """A Markdown table of a :func:`difference_budget` result (one row per variation) with a
    closing paragraph comparing the largest shifts with the gap to the published value."""
    d = _decimals(doc)
    poi, units = doc["poi"], doc.get("units") or ""
    u = f" [{units}]" if units else ""
    nom = doc["nominal"]
    pub = doc.get("published")
    head = (
        f"**Difference budget of {poi}{u}, model `{doc['model']}`** — nominal best "
        f"{_f(nom['best'], d)} ± {_f(nom.get('error'), d)} (HESSE)"
        + (f", published {pub:g}" if pub is not None else ", no published value")
        + "."
    )
    lines = [
        head,
        "",
        "| group | variation | best | shift | shift/σ | valid |",
        "| --- | --- | ---: | ---: | ---: | :---: |",
    ]
    for r in doc["rows"]:
        sig = r.get("shift_in_sigma")
        valid = "yes" if r.get("valid") else ("failed" if r.get("best") is None else "no")
        lines.append(
            f"| {r['group']} | {r['variation']} | {_f(r.get('best'), d)} | "
            f"{_f(r.get('shift'), d, True)} | {_f(sig, 2, True)} | {valid} |"
        )
    lines += ["", _summary_line(doc)]
    return "\n".join(lines) + "\n"


def write_budget(doc: dict[str, Any], out: str | Path) -> list[Path]:
    """``budget.json``, ``budget.md`` (:func:`budget_table_markdown`) and ``budget.png``
    (:func:`~cevns_bayes.plots.budget.budget_figure`) of a :func:`difference_budget` result in
    folder ``out``."""
    from cevns_bayes.output import atomic_path, save_figures, write_json
    from cevns_bayes.plots.budget import budget_figure

    out = Path(out)
    paths = [write_json(out / "budget.json", doc)]
    with atomic_path(out / "budget.md") as tmp:
        tmp.write_text(budget_table_markdown(doc) + "\n")
    paths.append(out / "budget.md")
    paths += save_figures({"budget.png": budget_figure(doc, GROUPS)}, out)
    return paths


__all__ = [
    "GROUPS",
    "budget_table_markdown",
    "difference_budget",
    "variation_list",
    "variation_names",
    "write_budget",
]
