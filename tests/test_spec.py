"""Analysis specs (``cevns_bayes.spec``): the shipped ``models/*.toml``, validation of bad
specs (every message names the file and the dotted key), the priors' densities, draws and PyMC
variables, and the copy-with-changes API. Fast: nothing is sampled.
"""

from __future__ import annotations

import copy
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, optimize

from cevns_bayes import ConfigError
from cevns_bayes import constants as c
from cevns_bayes.model.binning import DEFAULT_PE_EDGES, DEFAULT_T_EDGES_US, Binning
from cevns_bayes.model.parameters import get_parameter
from cevns_bayes.physics.cross_section import weak_charge
from cevns_bayes.spec import (
    MODEL_DEFAULTS,
    NUISANCE_NAMES,
    AnalysisSpec,
    PoiSpec,
    Prior,
    SamplerSpec,
    free_parameter_names,
    list_specs,
    load_spec,
    models_dir,
    spec_from_dict,
)

SHIPPED = (
    "charge_radius",
    "flavored",
    "flavored_giunti",
    "light_scalar",
    "light_vector",
    "light_vector_bl",
    "magnetic_moment",
    "magnetic_moment_universal",
    "neutron_radius",
    "neutron_radius_cs_i",
    "nsi_ee",
    "nsi_ee_mumu",
    "sterile",
    "sterile_mumu",
    "weak_mixing",
    "weak_mixing_neutron_radius",
    "xsec",
)
SHIPPED_DIR = Path(__file__).resolve().parents[1] / "models"

#: The nuisance priors of every shipped spec (docs/physics.md §6, §8)
NUISANCE_PRIORS = {
    "flux_norm": Prior("truncated_normal", mu=1.0, sigma=0.10, lower=0.0),
    "ssb_norm": Prior("truncated_normal", mu=1.0, sigma=0.021, lower=0.0),
    "brn_norm": Prior("truncated_normal", mu=1.0, sigma=0.25, lower=0.0),
    "nin_norm": Prior("truncated_normal", mu=1.0, sigma=0.35, lower=0.0),
    "quench_pca0": Prior("normal", mu=0.0, sigma=1.0),
    "quench_pca1": Prior("normal", mu=0.0, sigma=1.0),
    "eff_pca": Prior("normal", mu=0.0, sigma=1.0),
    "r_n_scale": Prior("truncated_normal", mu=1.0, sigma=0.05, lower=0.5, upper=1.5),
    "timing_offset_us": Prior("truncated_normal", mu=0.0, sigma=0.3, lower=-1.0, upper=1.0),
}

#: name -> ({poi: (lower, upper, initial)}, fixed, multimodal, target_accept)
#: The forward-model options that differ from the defaults: the analyses compared with the paper
#: use its cross-section conventions (flavored_giunti the corrected couplings)
PAPER_CONVENTIONS = {
    "xsec": {"couplings": "coherent2021", "form_factor": "helm_a13"},
    "weak_mixing": {"couplings": "coherent2021", "form_factor": "helm_a13"},
    "flavored": {"couplings": "coherent2021", "form_factor": "helm_a13"},
    "flavored_giunti": {"couplings": "giunti", "form_factor": "helm_a13"},
    # the models beyond the SM (cevns_bayes/physics/bsm.py) on the corrected couplings, and
    # the charge radii on those couplings without their SM charge-radius terms
    **{
        name: {"couplings": "giunti"}
        for name in (
            "light_vector",
            "light_vector_bl",
            "light_scalar",
            "magnetic_moment",
            "magnetic_moment_universal",
        )
    },
    "charge_radius": {"couplings": "no_charge_radius"},
    # the neutron radius in the paper's conventions, as the weak-mixing analysis
    **{
        name: {"couplings": "coherent2021", "form_factor": "helm_a13"}
        for name in ("neutron_radius", "neutron_radius_cs_i", "weak_mixing_neutron_radius")
    },
    "sterile": {"couplings": "coherent2021", "form_factor": "helm_a13"},
    "sterile_mumu": {"couplings": "coherent2021", "form_factor": "helm_a13"},
}
#: Specs whose POI replaces the shared r_n_scale nuisance (``drop``)
RADIUS_POI_SPECS = ("neutron_radius", "neutron_radius_cs_i", "weak_mixing_neutron_radius")
EXPECTED = {
    "xsec": ({"sigma": (0.0, 600.0, 180.0)}, {}, "none", 0.9),
    "sterile": (
        {"ue4_sq": (0.0, 0.5, 0.05)},
        {"dm2_41_ev2": 10.0, "umu4_sq": 0.0},
        "none",
        0.9,
    ),
    "sterile_mumu": (
        {"umu4_sq": (0.0, 0.5, 0.05)},
        {"dm2_41_ev2": 10.0, "ue4_sq": 0.0},
        "none",
        0.9,
    ),
    "weak_mixing": ({"sin2_theta_w": (0.0, 1.0, 0.23)}, {}, "none", 0.9),
    "flavored": ({"scale_mu": (0.0, 3.0, 1.0), "scale_e": (0.0, 3.0, 1.0)}, {}, "none", 0.9),
    "flavored_giunti": (
        {"scale_mu": (0.0, 3.0, 1.0), "scale_e": (0.0, 3.0, 1.0)},
        {},
        "none",
        0.9,
    ),
    "nsi_ee": (
        {
            "eps_ee_u": (-1.1819066666666667, 0.8180933333333333, 0.0),
            "eps_ee_d": (-0.6590466666666667, 1.3409533333333332, 0.0),
        },
        {"eps_mumu_u": 0.0, "eps_mumu_d": 0.0},
        "point_reflection",
        0.95,
    ),
    "nsi_ee_mumu": (
        {"eps_ee_u": (-0.8, 1.2, 0.0), "eps_mumu_u": (-0.8, 1.2, 0.0)},
        {"eps_ee_d": 0.0, "eps_mumu_d": 0.0},
        "axis_reflection",
        0.95,
    ),
    # fixed-mass slices of the light mediators: flat on [0, g_max]
    "light_vector": ({"g_zprime": (0.0, 1.0e-3, 1.0e-5)}, {"m_zprime_mev": 10.0}, "none", 0.9),
    "light_vector_bl": ({"g_bl": (0.0, 2.0e-4, 1.0e-5)}, {"m_bl_mev": 10.0}, "none", 0.9),
    "light_scalar": ({"g_phi": (0.0, 5.0e-5, 5.0e-6)}, {"m_phi_mev": 10.0}, "none", 0.9),
    "magnetic_moment": (
        {"mu_nu_e": (0.0, 150.0, 10.0), "mu_nu_mu": (0.0, 150.0, 10.0)},
        {},
        "none",
        0.9,
    ),
    "magnetic_moment_universal": (
        {"mu_nu": (0.0, 100.0, 10.0)},
        {"mu_nu_e": 0.0, "mu_nu_mu": 0.0},
        "none",
        0.9,
    ),
    "charge_radius": (
        {"r2_nu_e": (-90.0, 30.0, 0.0), "r2_nu_mu": (-90.0, 30.0, 0.0)},
        {},
        "axis_reflection",
        0.9,
    ),
    "neutron_radius": ({"r_n_scale": (0.5, 1.5, 1.0)}, {}, "none", 0.9),
    "neutron_radius_cs_i": (
        {"r_n_scale_cs": (0.5, 1.5, 1.0), "r_n_scale_i": (0.5, 1.5, 1.0)},
        {},
        "none",
        0.9,
    ),
    "weak_mixing_neutron_radius": (
        {"sin2_theta_w": (0.0, 0.5, 0.23), "r_n_scale": (0.5, 1.5, 1.0)},
        {},
        "none",
        0.9,
    ),
}


@pytest.fixture(autouse=True)
def _shipped_models_dir(monkeypatch):
    """Every test sees the shipped ``models/`` unless it sets the override itself."""
    monkeypatch.delenv("CEVNS_BAYES_MODELS_DIR", raising=False)


# --- a tiny TOML writer for the bad-spec cases ---------------------------------------------------
def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v == math.inf else repr(v))
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(v)


def _to_toml(doc: dict, prefix: str = "") -> str:
    scalars = [f"{k} = {_toml_value(v)}" for k, v in doc.items() if not isinstance(v, dict)]
    lines = ([f"[{prefix}]"] if prefix and scalars else []) + scalars
    for k, v in doc.items():
        if isinstance(v, dict):
            name = f"{prefix}.{k}" if prefix else k
            sub = _to_toml(v, name)
            lines.append(sub if sub else f"[{name}]")
    return "\n".join(lines) + "\n"


DELETE = object()

BASE = {
    "analysis": {"name": "bad", "description": "a spec to break"},
    "pois": {"sigma": {"prior": "flat", "lower": 0.0, "upper": 600.0, "initial": 180.0}},
    "nuisances": {
        "flux_norm": {"prior": "truncated_normal", "mu": 1.0, "sigma": 0.1, "lower": 0.0},
        "r_n_scale": {
            "prior": "truncated_normal",
            "mu": 1.0,
            "sigma": 0.05,
            "lower": 0.5,
            "upper": 1.5,
        },
    },
    "binning": {"name": "default"},
    "sampler": {"draws": 10},
}


def _patched(patch: dict, base: dict = BASE) -> dict:
    out = copy.deepcopy(base)

    def apply(target: dict, p: dict) -> None:
        for k, v in p.items():
            if v is DELETE:
                target.pop(k, None)
            elif isinstance(v, dict) and isinstance(target.get(k), dict):
                apply(target[k], v)
            else:
                target[k] = copy.deepcopy(v)

    apply(out, patch)
    return out


def _write(tmp_path: Path, doc_or_text, name: str = "bad.toml") -> Path:
    path = tmp_path / name
    text = doc_or_text if isinstance(doc_or_text, str) else _to_toml(doc_or_text)
    path.write_text(text, encoding="utf-8")
    return path


NSI_POIS = {
    "sigma": DELETE,
    "eps_ee_u": {"prior": "flat", "lower": -1.182, "upper": 0.818},
    "eps_ee_d": {"prior": "flat", "lower": -0.659, "upper": 1.341},
}

# (id, patch, dotted key expected in the message, other expected substrings)
BAD_CASES = [
    ("unknown-table", {"priors": {"a": 1}}, "priors", ["allowed", "nuisances"]),
    ("unknown-analysis-key", {"analysis": {"title": "x"}}, "analysis.title", ["description"]),
    ("bad-name", {"analysis": {"name": "My-Spec"}}, "analysis.name", ["[a-z0-9_]+"]),
    ("name-type", {"analysis": {"name": 3}}, "analysis.name", ["expected a string"]),
    ("pois-not-table", {"pois": 3}, "pois", ["expected a table"]),
    ("no-pois", {"pois": DELETE}, "pois", ["at least one POI", "sin2_theta_w"]),
    ("empty-pois", {"pois": {"sigma": DELETE}}, "pois", ["at least one POI"]),
    (
        "unknown-poi",
        {"pois": {"sigma2": {"prior": "flat", "lower": 0, "upper": 1}}},
        "pois.sigma2",
        ["known", "eps_mumu_d"],
    ),
    ("poi-not-table", {"pois": {"sigma": 3.0}}, "pois.sigma", ["expected a table"]),
    ("no-prior-kind", {"pois": {"sigma": {"prior": DELETE}}}, "pois.sigma.prior", ["required"]),
    (
        "unknown-prior",
        {"pois": {"sigma": {"prior": "cauchy"}}},
        "pois.sigma.prior",
        ["cauchy", "truncated_normal"],
    ),
    (
        "unknown-prior-key",
        {"pois": {"sigma": {"mean": 3.0}}},
        "pois.sigma.mean",
        ["allowed", "lower"],
    ),
    (
        "key-of-other-kind",
        {"nuisances": {"flux_norm": {"median": 1.0}}},
        "nuisances.flux_norm.median",
        ["truncated_normal"],
    ),
    (
        "string-number",
        {"pois": {"sigma": {"lower": "abc"}}},
        "pois.sigma.lower",
        ["expected a number, got 'abc'"],
    ),
    (
        "bool-number",
        {"pois": {"sigma": {"upper": True}}},
        "pois.sigma.upper",
        ["expected a number"],
    ),
    ("inf-number", {"pois": {"sigma": {"upper": math.inf}}}, "pois.sigma.upper", ["finite"]),
    (
        "nan-number",
        {"nuisances": {"flux_norm": {"mu": math.nan}}},
        "nuisances.flux_norm.mu",
        ["finite"],
    ),
    (
        "flat-missing-upper",
        {"pois": {"sigma": {"upper": DELETE}}},
        "pois.sigma.upper",
        ["required"],
    ),
    (
        "flat-lower-ge-upper",
        {"pois": {"sigma": {"lower": 600.0, "upper": 100.0, "initial": DELETE}}},
        "pois.sigma.upper",
        ["greater than lower"],
    ),
    (
        "normal-missing-sigma",
        {"nuisances": {"flux_norm": {"sigma": DELETE}}},
        "nuisances.flux_norm.sigma",
        ["required"],
    ),
    (
        "sigma-zero",
        {"nuisances": {"flux_norm": {"sigma": 0.0}}},
        "nuisances.flux_norm.sigma",
        ["> 0"],
    ),
    (
        "sigma-negative",
        {"nuisances": {"flux_norm": {"sigma": -0.1}}},
        "nuisances.flux_norm.sigma",
        ["> 0"],
    ),
    (
        "truncated-no-bounds",
        {"nuisances": {"flux_norm": {"lower": DELETE}}},
        "nuisances.flux_norm.lower",
        ["lower and/or upper"],
    ),
    (
        "truncated-empty",
        {"nuisances": {"flux_norm": {"mu": 0.0, "sigma": 0.01, "lower": 5.0}}},
        "nuisances.flux_norm.mu",
        ["almost none"],
    ),
    (
        "lognormal-median",
        {
            "nuisances": {
                "flux_norm": {
                    "prior": "lognormal",
                    "mu": DELETE,
                    "sigma": DELETE,
                    "lower": DELETE,
                    "median": 0.0,
                    "sigma_log": 0.1,
                }
            }
        },
        "nuisances.flux_norm.median",
        ["> 0"],
    ),
    (
        "lognormal-sigma-log",
        {
            "nuisances": {
                "flux_norm": {
                    "prior": "lognormal",
                    "mu": DELETE,
                    "sigma": DELETE,
                    "lower": DELETE,
                    "median": 1.0,
                    "sigma_log": -0.1,
                }
            }
        },
        "nuisances.flux_norm.sigma_log",
        ["> 0"],
    ),
    ("initial-outside", {"pois": {"sigma": {"initial": 700.0}}}, "pois.sigma.initial", ["support"]),
    (
        "initial-on-edge",
        {"pois": {"sigma": {"initial": 0.0}}},
        "pois.sigma.initial",
        ["strictly inside"],
    ),
    (
        "initial-type",
        {"pois": {"sigma": {"initial": "180"}}},
        "pois.sigma.initial",
        ["expected a number"],
    ),
    (
        "initial-on-nuisance",
        {"nuisances": {"flux_norm": {"initial": 1.0}}},
        "nuisances.flux_norm.initial",
        ["only on POIs"],
    ),
    (
        "normal-on-norm",
        {"nuisances": {"flux_norm": {"prior": "normal", "lower": DELETE}}},
        "nuisances.flux_norm.prior",
        ["truncated_normal with lower = 0", "lognormal"],
    ),
    (
        "normal-on-bounded",
        {"nuisances": {"r_n_scale": {"prior": "normal", "lower": DELETE, "upper": DELETE}}},
        "nuisances.r_n_scale.prior",
        ["lower = 0.5 and upper = 1.5"],
    ),
    (
        "lognormal-on-bounded",
        {
            "nuisances": {
                "r_n_scale": {
                    "prior": "lognormal",
                    "mu": DELETE,
                    "sigma": DELETE,
                    "lower": DELETE,
                    "upper": DELETE,
                    "median": 1.0,
                    "sigma_log": 0.05,
                }
            }
        },
        "nuisances.r_n_scale.prior",
        ["[0.5, 1.5]"],
    ),
    (
        "truncated-beyond-bound",
        {"nuisances": {"r_n_scale": {"upper": 2.0}}},
        "nuisances.r_n_scale.upper",
        ["[0.5, 1.5]"],
    ),
    (
        "flat-sigma-negative",
        {"pois": {"sigma": {"lower": -10.0}}},
        "pois.sigma.lower",
        ["[0, inf]"],
    ),
    (
        "flat-sin2-above-1",
        {"pois": {"sigma": DELETE, "sin2_theta_w": {"prior": "flat", "lower": 0.0, "upper": 2.0}}},
        "pois.sin2_theta_w.upper",
        ["[0, 1]"],
    ),
    (
        "normal-on-scale",
        {"pois": {"sigma": DELETE, "scale_e": {"prior": "normal", "mu": 1.0, "sigma": 0.5}}},
        "pois.scale_e.prior",
        ["truncated_normal with lower = 0", "lognormal"],
    ),
    (
        "unknown-nuisance",
        {"nuisances": {"flux": {"prior": "normal", "mu": 0, "sigma": 1}}},
        "nuisances.flux",
        ["known", "timing_offset_us"],
    ),
    (
        "nuisance-is-internal",  # cevns_norm is set by the package: specs may only fix it
        {"nuisances": {"cevns_norm": {"prior": "flat", "lower": 0.0, "upper": 2.0}}},
        "nuisances.cevns_norm",
        ["known"],
    ),
    ("unknown-fixed", {"fixed": {"eps_ee_x": 0.0}}, "fixed.eps_ee_x", ["known", "cevns_norm"]),
    ("fixed-type", {"fixed": {"eps_ee_u": "0"}}, "fixed.eps_ee_u", ["expected a number"]),
    ("fixed-and-nuisance", {"fixed": {"flux_norm": 1.0}}, "fixed.flux_norm", ["[nuisances]"]),
    ("fixed-and-poi", {"pois": NSI_POIS, "fixed": {"eps_ee_u": 0.0}}, "fixed.eps_ee_u", ["[pois]"]),
    ("fixed-cevns-norm-with-sigma", {"fixed": {"cevns_norm": 1.0}}, "fixed.cevns_norm", ["sigma"]),
    ("fixed-out-of-bounds", {"fixed": {"ssb_norm": -1.0}}, "fixed.ssb_norm", ["outside"]),
    (
        "fixed-sin2-out-of-bounds",
        {"fixed": {"sin2_theta_w": 1.5}},
        "fixed.sin2_theta_w",
        ["outside"],
    ),
    (
        "sigma-with-other-poi",
        {"pois": {"scale_mu": {"prior": "flat", "lower": 0, "upper": 3}}},
        "pois.sigma",
        ["scale_mu"],
    ),
    (
        "binning-name-and-edges",
        {"binning": {"pe_edges": [0, 10, 60]}},
        "binning.pe_edges",
        ["either name or"],
    ),
    ("binning-unknown-name", {"binning": {"name": "coarse"}}, "binning.name", ["'coarse'"]),
    ("binning-bad-uniform", {"binning": {"name": "uniform:0x5"}}, "binning.name", ["positive"]),
    ("binning-name-type", {"binning": {"name": 9}}, "binning.name", ["expected a string"]),
    (
        "binning-one-list",
        {"binning": {"name": DELETE, "pe_edges": [0, 10, 60]}},
        "binning.t_edges_us",
        ["required"],
    ),
    (
        "binning-pe-decreasing",
        {"binning": {"name": DELETE, "pe_edges": [0, 30, 20], "t_edges_us": [0, 1, 6]}},
        "binning.pe_edges",
        ["strictly increasing"],
    ),
    (
        "binning-t-too-short",
        {"binning": {"name": DELETE, "pe_edges": [0, 30, 60], "t_edges_us": [0]}},
        "binning.t_edges_us",
        ["two"],
    ),
    (
        "binning-negative-pe",
        {"binning": {"name": DELETE, "pe_edges": [-5, 30, 60], "t_edges_us": [0, 6]}},
        "binning.pe_edges",
        [">= 0"],
    ),
    (
        "binning-edge-type",
        {"binning": {"name": DELETE, "pe_edges": [0, "8", 60], "t_edges_us": [0, 6]}},
        "binning.pe_edges[1]",
        ["expected a number"],
    ),
    (
        "binning-edges-not-list",
        {"binning": {"name": DELETE, "pe_edges": 8, "t_edges_us": [0, 6]}},
        "binning.pe_edges",
        ["list"],
    ),
    ("binning-unknown-key", {"binning": {"edges": [0, 1]}}, "binning.edges", ["allowed"]),
    (
        "model-unknown-key",
        {"model": {"flux": "analytic"}},
        "model.flux",
        ["allowed", "pulse_fwhm_ns"],
    ),
    (
        "model-form-factor",
        {"model": {"form_factor": "gauss"}},
        "model.form_factor",
        ["klein_nystrand"],
    ),
    ("model-couplings", {"model": {"couplings": "loop"}}, "model.couplings", ["radiative"]),
    ("model-pulse-shape", {"model": {"pulse_shape": "square"}}, "model.pulse_shape", ["triangle"]),
    ("model-fwhm-zero", {"model": {"pulse_fwhm_ns": 0.0}}, "model.pulse_fwhm_ns", ["> 0"]),
    (
        "model-fwhm-type",
        {"model": {"pulse_fwhm_ns": "378"}},
        "model.pulse_fwhm_ns",
        ["expected a number"],
    ),
    (
        "model-time-eff-type",
        {"model": {"time_efficiency": 1}},
        "model.time_efficiency",
        ["true or false"],
    ),
    ("sampler-unknown-key", {"sampler": {"cores": 2}}, "sampler.cores", ["allowed", "chains"]),
    ("sampler-chains-zero", {"sampler": {"chains": 0}}, "sampler.chains", [">= 1"]),
    (
        "sampler-chains-float",
        {"sampler": {"chains": 4.0}},
        "sampler.chains",
        ["expected an integer"],
    ),
    ("sampler-draws-zero", {"sampler": {"draws": 0}}, "sampler.draws", [">= 1"]),
    ("sampler-tune-negative", {"sampler": {"tune": -1}}, "sampler.tune", [">= 0"]),
    ("sampler-seed-negative", {"sampler": {"seed": -1}}, "sampler.seed", [">= 0"]),
    ("sampler-seed-bool", {"sampler": {"seed": True}}, "sampler.seed", ["expected an integer"]),
    (
        "sampler-target-accept-1",
        {"sampler": {"target_accept": 1.0}},
        "sampler.target_accept",
        ["between 0 and 1"],
    ),
    (
        "sampler-target-accept-0",
        {"sampler": {"target_accept": 0}},
        "sampler.target_accept",
        ["between 0 and 1"],
    ),
    ("sampler-backend", {"sampler": {"backend": "stan"}}, "sampler.backend", ["nutpie"]),
    (
        "sampler-multimodal-unknown",
        {"sampler": {"multimodal": "rings"}},
        "sampler.multimodal",
        ["point_reflection"],
    ),
    (
        "sampler-mass-matrix-unknown",
        {"sampler": {"mass_matrix": "dense"}},
        "sampler.mass_matrix",
        ["diag", "full"],
    ),
    ("sampler-mass-matrix-type", {"sampler": {"mass_matrix": 1}}, "sampler.mass_matrix", []),
    (
        "multimodal-without-eps",
        {"sampler": {"multimodal": "point_reflection"}},
        "sampler.multimodal",
        ["eps_"],
    ),
    (
        "multimodal-non-flat",
        {
            "pois": {**NSI_POIS, "eps_ee_d": {"prior": "normal", "mu": 0.0, "sigma": 1.0}},
            "sampler": {"multimodal": "axis_reflection"},
        },
        "sampler.multimodal",
        ["flat prior", "pois.eps_ee_d"],
    ),
]


@pytest.mark.parametrize(
    ("patch", "key", "expected"),
    [case[1:] for case in BAD_CASES],
    ids=[case[0] for case in BAD_CASES],
)
def test_bad_spec_raises_with_file_and_key(tmp_path, patch, key, expected):
    path = _write(tmp_path, _patched(patch))
    with pytest.raises(ConfigError) as info:
        load_spec(path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    assert f": {key}: " in message or message.endswith(f": {key}"), message
    for text in expected:
        assert text in message, message


def test_base_of_bad_cases_is_valid(tmp_path):
    spec = load_spec(_write(tmp_path, _patched({}), "good.toml"))
    assert spec.poi_names == ("sigma",)
    assert spec.free_names == ("sigma", "flux_norm", "r_n_scale")
    # cevns_norm may be fixed when sigma is not a POI
    nsi = load_spec(_write(tmp_path, _patched({"pois": NSI_POIS, "fixed": {"cevns_norm": 0.9}})))
    assert nsi.fixed == {"cevns_norm": 0.9}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[pois.sigma\nprior = 'flat'\n", "invalid TOML"),
        ("[pois.sigma]\nprior = flat\n", "invalid TOML"),
        ("[pois.sigma]\nprior = 'flat'\n[pois.sigma]\nlower = 0\n", "invalid TOML"),
    ],
    ids=["unclosed-header", "bare-string", "duplicate-table"],
)
def test_toml_syntax_error_names_file(tmp_path, text, expected):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match=expected) as info:
        load_spec(path)
    assert str(path) in str(info.value)
    assert "line" in str(info.value)  # tomllib's own message says where


def test_missing_file_and_unknown_name(tmp_path):
    with pytest.raises(ConfigError, match="no such file") as info:
        load_spec(tmp_path / "nope.toml")
    assert "nope.toml" in str(info.value)
    with pytest.raises(ConfigError) as info:
        load_spec("no_such_analysis")
    message = str(info.value)
    assert "no_such_analysis" in message
    for name in SHIPPED:
        assert name in message


def test_spec_from_dict_uses_the_source_label():
    with pytest.raises(ConfigError, match=r"^<dict>: pois\.sigma\.lower: "):
        spec_from_dict(_patched({"pois": {"sigma": {"lower": "abc"}}}))
    with pytest.raises(ConfigError, match=r"^mine: fixed\.nope: "):
        spec_from_dict(_patched({"fixed": {"nope": 1.0}}), "mine")
    doc = _patched({"analysis": DELETE, "binning": DELETE, "sampler": DELETE})
    spec = spec_from_dict(doc)
    assert spec.name == "custom" and spec.description == "" and spec.path is None
    assert spec.binning.name == "default" and spec.sampler == SamplerSpec()
    assert spec.model == MODEL_DEFAULTS


# --- the shipped specs ---------------------------------------------------------------------------
def test_list_specs_returns_the_shipped_specs():
    assert models_dir() == SHIPPED_DIR
    assert list_specs() == sorted(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_spec_contents(name):
    spec = load_spec(name)
    pois, fixed, multimodal, target_accept = EXPECTED[name]
    assert spec.name == name and spec.description
    assert spec.path == SHIPPED_DIR / f"{name}.toml"
    assert spec.poi_names == tuple(pois)
    for poi, (lower, upper, initial) in pois.items():
        p = spec.pois[poi]
        assert p.prior == Prior("flat", lower=lower, upper=upper)
        assert p.initial == initial
        assert p.units == get_parameter(poi).unit  # the registry's unit
    shared = {k: v for k, v in NUISANCE_PRIORS.items()}
    if name in RADIUS_POI_SPECS:
        del shared["r_n_scale"]  # dropped: the POI replaces it
    assert spec.nuisances == shared
    assert tuple(spec.nuisances) == tuple(n for n in NUISANCE_NAMES if n in shared)
    assert spec.free_names == tuple(pois) + tuple(spec.nuisances)
    assert spec.fixed == fixed
    # the NSI bands and the two-radius / radius-sin2 ridges are thin and straight, and the one
    # rate-like POI of xsec, weak_mixing and neutron_radius is anticorrelated with flux_norm: a
    # dense mass matrix (the charge-radius arcs are curved, where it does not help)
    dense = name.startswith("nsi") or name in (
        "neutron_radius_cs_i",
        "weak_mixing_neutron_radius",
        "xsec",
        "weak_mixing",
        "neutron_radius",
    )
    mass_matrix = "full" if dense else "diag"
    assert spec.sampler == SamplerSpec(
        target_accept=target_accept, multimodal=multimodal, mass_matrix=mass_matrix
    )
    assert spec.model == {**MODEL_DEFAULTS, **PAPER_CONVENTIONS.get(name, {})}
    assert spec.model["pulse_fwhm_ns"] == c.PROTON_PULSE_FWHM_NS == 378.0
    np.testing.assert_array_equal(spec.binning.pe_edges, DEFAULT_PE_EDGES)
    np.testing.assert_array_equal(spec.binning.t_edges_us, DEFAULT_T_EDGES_US)
    if name.startswith("sterile"):  # an exclusion scan over Δm² (cevns-bayes scan)
        poi = next(iter(pois))
        assert (spec.scan.parameter, spec.scan.limit_on) == ("dm2_41_ev2", poi)
        assert len(spec.scan.values) == 41
        assert spec.scan.values[0] == pytest.approx(0.1)
        assert spec.scan.values[-1] == pytest.approx(1000.0)
    elif name.startswith("light_"):  # the (m, g) exclusion curve over ≥ 30 masses
        mass = {"light_vector": "m_zprime_mev", "light_vector_bl": "m_bl_mev"}.get(
            name, "m_phi_mev"
        )
        assert (spec.scan.parameter, spec.scan.limit_on) == (mass, spec.poi_names[0])
        assert len(spec.scan.values) == 37
        assert spec.scan.values[0] == pytest.approx(0.01)
        assert spec.scan.values[-1] == pytest.approx(1e4)
        # the box follows the propagator from the spec's 10 MeV, with q = 50 MeV
        assert (spec.scan.box, spec.scan.box_q_mev, spec.fixed[mass]) == ("propagator", 50.0, 10.0)
        assert spec.scan.box_scale(1e4, 10.0) == pytest.approx(np.sqrt((1e8 + 2500) / 2600))
    else:
        assert spec.scan is None


def test_scan_table_errors_name_the_file_and_key():
    base = {
        "pois": {"ue4_sq": {"prior": "flat", "lower": 0.0, "upper": 0.5}},
        "fixed": {"dm2_41_ev2": 1.0},
    }
    ok = {"parameter": "dm2_41_ev2", "limit_on": "ue4_sq", "log_range": [0.1, 100.0, 4]}
    spec = spec_from_dict({**base, "scan": ok}, "s.toml")
    assert spec.scan.values == pytest.approx((0.1, 1.0, 10.0, 100.0))
    again = spec.to_dict()
    again["binning"].pop("name")
    assert spec_from_dict(again, "again.toml").scan == spec.scan
    cases = [
        ({**ok, "bogus": 1}, r"s\.toml: scan\.bogus: unknown key"),
        ({"limit_on": "ue4_sq", "values": [1.0]}, r"scan\.parameter: required"),
        ({**ok, "values": [1.0]}, r"scan\.log_range: give exactly one of"),
        ({**ok, "log_range": [0.0, 10.0, 3]}, r"scan\.log_range\[0\]: a log range needs min > 0"),
        ({**ok, "log_range": [1.0, 10.0, 2.5]}, r"scan\.log_range\[2\]: expected an integer"),
        (
            {"parameter": "dm2_41_ev2", "limit_on": "ue4_sq", "values": [1.0, 0.5]},
            r"scan\.values\[1\]: values must be strictly increasing",
        ),
        (
            {"parameter": "dm2_41_ev2", "limit_on": "ue4_sq", "range": [1.0, 5000.0, 3]},
            r"scan\.range: value 2500.5 \(point 1\) is outside the range of dm2_41_ev2",
        ),
        ({**ok, "limit_on": "umu4_sq"}, r"scan\.limit_on: 'umu4_sq' is not a POI"),
        ({**ok, "parameter": "nope"}, r"scan\.parameter: 'nope': unknown parameter"),
        ({**ok, "parameter": "ue4_sq"}, r"scan\.parameter: ue4_sq is free \(in \[pois\]\)"),
    ]
    for table, match in cases:
        with pytest.raises(ConfigError, match=match):
            spec_from_dict({**base, "scan": table}, "s.toml")


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_spec_loads_by_path_and_by_name_alike(name):
    assert load_spec(SHIPPED_DIR / f"{name}.toml") == load_spec(name)
    assert load_spec(str(SHIPPED_DIR / f"{name}.toml")) == load_spec(name)


def _weak_charges(eps_u, eps_d):
    s2w = c.SIN2_THETA_W_LOW_Q2
    return [weak_charge(iso.z, iso.n, 1.0, 1.0, s2w, eps_u, eps_d) for iso in c.ISOTOPES]


def test_nsi_ee_box_is_centred_where_both_weak_charges_vanish():
    # Q is linear in (eps_u, eps_d): solve Q_Cs = Q_I = 0 from three evaluations
    q0 = np.array(_weak_charges(0.0, 0.0))
    jac = np.column_stack(
        [np.array(_weak_charges(1.0, 0.0)) - q0, np.array(_weak_charges(0.0, 1.0)) - q0]
    )
    centre = np.linalg.solve(jac, -q0)
    np.testing.assert_allclose(_weak_charges(*centre), 0.0, atol=1e-9)
    spec = load_spec("nsi_ee")
    box = [spec.pois[n].prior for n in ("eps_ee_u", "eps_ee_d")]
    for prior, x in zip(box, centre):
        assert prior.center == pytest.approx(x, abs=1e-3)
        assert prior.upper - prior.lower == pytest.approx(2.0)
    # the point reflection about the centre flips the sign of every weak charge
    for eps in ((0.0, 0.0), (0.3, -0.2), (-0.9, 1.1)):
        image = [2.0 * b.center - e for b, e in zip(box, eps)]
        np.testing.assert_allclose(
            _weak_charges(*image), -np.array(_weak_charges(*eps)), atol=2e-3 * 133
        )


def test_nsi_ee_mumu_ranges_are_centred_where_the_weak_charge_flips():
    s2w = c.SIN2_THETA_W_LOW_Q2

    def total(u):
        return sum(weak_charge(iso.z, iso.n, 1.0, 1.0, s2w, u, 0.0) for iso in c.ISOTOPES)

    zero = optimize.brentq(total, -1.0, 1.0)
    spec = load_spec("nsi_ee_mumu")
    for name in ("eps_ee_u", "eps_mumu_u"):
        prior = spec.pois[name].prior
        assert prior.center == pytest.approx(zero, abs=2e-3)
        assert prior.upper - prior.lower == pytest.approx(2.0)


# --- priors --------------------------------------------------------------------------------------
PRIORS = {
    "flat": Prior("flat", lower=-1.0, upper=2.5),
    "normal": Prior("normal", mu=0.5, sigma=2.0),
    "truncated_lower": Prior("truncated_normal", mu=1.0, sigma=0.1, lower=0.0),
    "truncated_both": Prior("truncated_normal", mu=0.2, sigma=0.3, lower=-1.0, upper=0.3),
    "truncated_upper": Prior("truncated_normal", mu=0.0, sigma=1.0, upper=0.5),
    "lognormal": Prior("lognormal", median=1.2, sigma_log=0.4),
}


def _phi(x):
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def _Phi(x):
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _analytic_mean(p: Prior) -> float:
    """Means from their textbook formulas (not through scipy)."""
    if p.kind == "flat":
        return 0.5 * (p.lower + p.upper)
    if p.kind == "normal":
        return p.mu
    if p.kind == "lognormal":
        return p.median * math.exp(0.5 * p.sigma_log**2)
    lo, hi = p.support
    a, b = (lo - p.mu) / p.sigma, (hi - p.mu) / p.sigma
    pa = 0.0 if math.isinf(a) else _phi(a)
    pb = 0.0 if math.isinf(b) else _phi(b)
    return p.mu + p.sigma * (pa - pb) / (_Phi(b) - _Phi(a))


@pytest.mark.parametrize("prior", PRIORS.values(), ids=PRIORS.keys())
def test_logpdf_is_normalized_and_minus_inf_outside(prior):
    lo, hi = prior.support
    c0, w = prior.center, prior.width
    a, b = max(lo, c0 - 30 * w), min(hi, c0 + 30 * w)
    total, _ = integrate.quad(
        lambda x: math.exp(float(prior.logpdf(x))), a, b, points=[c0], limit=200
    )
    assert total == pytest.approx(1.0, abs=1e-6)
    outside = [x for x in (lo - 1.0, lo - 1e-9, hi + 1e-9, hi + 1.0) if math.isfinite(x)]
    if outside:
        assert np.all(prior.logpdf(outside) == -np.inf)
    x = np.linspace(a, b, 7)[1:-1]
    assert prior.logpdf(x).shape == x.shape and np.all(np.isfinite(prior.logpdf(x)))


@pytest.mark.parametrize("prior", PRIORS.values(), ids=PRIORS.keys())
def test_sample_stays_in_support_with_the_right_mean(prior):
    rng = np.random.default_rng(2021)
    x = prior.sample(rng, 20_000)
    lo, hi = prior.support
    assert x.shape == (20_000,)
    assert np.all((x >= lo) & (x <= hi))
    mean = _analytic_mean(prior)
    assert np.mean(x) == pytest.approx(mean, abs=5 * np.std(x) / math.sqrt(x.size))
    # the same seed gives the same draws
    np.testing.assert_array_equal(prior.sample(np.random.default_rng(2021), 5), x[:5])


@pytest.mark.parametrize("prior", PRIORS.values(), ids=PRIORS.keys())
def test_pymc_variable_matches_logpdf(prior):
    import pymc as pm

    lo, hi = prior.support
    c0, w = prior.center, prior.width
    points = np.linspace(max(lo, c0 - 3 * w), min(hi, c0 + 3 * w), 9)[1:-1]
    initval = float(points[3])
    with pm.Model() as model:
        rv = prior.pymc("x", initval=initval)
    assert model.rvs_to_initial_values[rv] == initval
    for value in points:
        assert float(pm.logp(rv, value).eval()) == pytest.approx(
            float(prior.logpdf(value)), rel=1e-6, abs=1e-8
        )


def test_prior_properties():
    flat = Prior("flat", lower=0, upper=600)
    assert flat.lower == 0.0 and isinstance(flat.lower, float)
    assert flat.support == (0.0, 600.0) and flat.center == 300.0
    assert flat.width == pytest.approx(600 / math.sqrt(12))
    assert flat.as_dict() == {"prior": "flat", "lower": 0.0, "upper": 600.0}
    trunc = Prior("truncated_normal", mu=-0.5, sigma=1.0, lower=0.0)
    assert trunc.support == (0.0, math.inf) and trunc.center == 0.0 and trunc.width == 1.0
    # the centre is outside the support: start at the median of N(-0.5, 1) above 0, by hand
    # -0.5 + Phi^-1(1 - (1 - Phi(0.5)) / 2) = -0.5 + Phi^-1(0.84573) = 0.51830
    assert trunc.default_initial() == pytest.approx(0.51830, abs=1e-4)
    logn = Prior("lognormal", median=2.0, sigma_log=0.1)
    assert logn.support == (0.0, math.inf) and logn.center == 2.0
    assert logn.width == pytest.approx(0.2)
    assert Prior("normal", mu=1, sigma=2).support == (-math.inf, math.inf)


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"kind": "gamma", "mu": 1.0}, "prior"),
        ({"kind": "flat", "lower": 0.0}, "upper"),
        ({"kind": "flat", "lower": 1.0, "upper": 1.0}, "upper"),
        ({"kind": "normal", "mu": 0.0, "sigma": 1.0, "lower": 0.0}, "lower"),
        ({"kind": "normal", "mu": 0.0, "sigma": -1.0}, "sigma"),
        ({"kind": "normal", "mu": True, "sigma": 1.0}, "mu"),
        ({"kind": "normal", "mu": float("inf"), "sigma": 1.0}, "mu"),
        ({"kind": "truncated_normal", "mu": 0.0, "sigma": 1.0}, "lower"),
        ({"kind": "lognormal", "median": -1.0, "sigma_log": 1.0}, "median"),
    ],
)
def test_prior_constructor_validates(kwargs, key):
    with pytest.raises(ConfigError, match=rf": {key}: "):
        Prior(**kwargs)


# --- copies with changes -------------------------------------------------------------------------
def test_with_sampler():
    spec = load_spec("xsec")
    short = spec.with_sampler(draws=50, tune=20, seed=7)
    assert (short.sampler.draws, short.sampler.tune, short.sampler.seed) == (50, 20, 7)
    assert short.sampler.chains == spec.sampler.chains
    assert spec.sampler.draws == 1000  # the original is untouched
    assert short.pois == spec.pois and short.path == spec.path
    with pytest.raises(ConfigError, match=r"sampler\.chains: must be >= 1"):
        spec.with_sampler(chains=0)
    with pytest.raises(ConfigError, match=r"sampler\.cores: unknown setting"):
        spec.with_sampler(cores=2)
    with pytest.raises(ConfigError, match=r"sampler\.multimodal: .*eps_"):
        spec.with_sampler(multimodal="point_reflection")
    assert load_spec("nsi_ee").with_sampler(multimodal="none").sampler.multimodal == "none"


def test_replace_prior():
    spec = load_spec("xsec")
    narrow = Prior("truncated_normal", mu=1.0, sigma=0.05, lower=0.0)
    changed = spec.replace_prior("flux_norm", narrow)
    assert changed.nuisances["flux_norm"] == narrow
    assert tuple(changed.nuisances) == tuple(spec.nuisances)
    assert spec.nuisances["flux_norm"].sigma == 0.10
    assert changed != spec and changed.replace_prior("flux_norm", NUISANCE_PRIORS["flux_norm"])
    # a TOML-like dict works too
    logn = spec.replace_prior("flux_norm", {"prior": "lognormal", "median": 1.0, "sigma_log": 0.1})
    assert logn.nuisances["flux_norm"] == Prior("lognormal", median=1.0, sigma_log=0.1)
    # a POI keeps its initial value when it stays inside the support, else restarts at the centre
    assert (
        spec.replace_prior("sigma", Prior("flat", lower=100, upper=300)).pois["sigma"].initial
        == 180.0
    )
    moved = spec.replace_prior("sigma", Prior("flat", lower=0, upper=100))
    assert moved.pois["sigma"].initial == 50.0 and moved.pois["sigma"].units == "1e-40 cm2"
    with pytest.raises(ConfigError, match=r"nuisances\.flux_norm\.prior: .*truncated_normal"):
        spec.replace_prior("flux_norm", Prior("normal", mu=1.0, sigma=0.1))
    with pytest.raises(ConfigError, match=r"nuisances\.flux_norm\.initial"):
        spec.replace_prior("flux_norm", {"prior": "normal", "mu": 1, "sigma": 1, "initial": 1})
    with pytest.raises(ConfigError, match="not a POI or nuisance"):
        spec.replace_prior("eps_ee_u", Prior("flat", lower=-1, upper=1))
    with pytest.raises(ConfigError, match=r"sampler\.multimodal: .*flat"):
        load_spec("nsi_ee").replace_prior("eps_ee_u", Prior("normal", mu=0, sigma=0.5))


def test_with_binning_and_model():
    spec = load_spec("weak_mixing")
    fine = spec.with_binning("fine")
    assert fine.binning.shape == (30, 60) and spec.binning.shape == (9, 11)
    custom = spec.with_binning(Binning(np.array([0.0, 20, 60]), np.array([0.0, 1, 6])))
    assert custom.binning.shape == (2, 2)
    with pytest.raises(ConfigError, match="uniform"):
        spec.with_binning("coarse")
    kn = spec.with_model(form_factor="klein_nystrand")
    assert kn.model == {**spec.model, "form_factor": "klein_nystrand"}
    assert spec.model["form_factor"] == "helm_a13"
    with pytest.raises(ConfigError, match=r"model\.couplings"):
        spec.with_model(couplings="loop")


@pytest.mark.parametrize("name", SHIPPED)
def test_to_dict_round_trip(name):
    spec = (
        load_spec(name)
        .replace_prior("brn_norm", Prior("lognormal", median=1.0, sigma_log=0.25))
        .with_sampler(draws=123)
    )
    doc = spec.to_dict()
    assert json.loads(json.dumps(doc)) == doc
    tables = {"analysis", "pois", "nuisances", "fixed", "binning", "model", "sampler"}
    assert set(doc) == tables | ({"scan"} if spec.scan is not None else set())
    assert doc["binning"]["name"] == "default"
    assert doc["binning"]["pe_edges"] == [float(x) for x in DEFAULT_PE_EDGES]
    assert doc["nuisances"]["brn_norm"] == {"prior": "lognormal", "median": 1.0, "sigma_log": 0.25}
    assert doc["sampler"]["draws"] == 123
    # without the binning's name (a TOML binning is a name or edges) it loads back unchanged
    doc["binning"].pop("name")
    again = spec_from_dict(doc)
    assert again == spec
    assert again.binning.name == "custom"


# --- a user's copy -------------------------------------------------------------------------------
def _user_copy(tmp_path: Path) -> Path:
    text = (SHIPPED_DIR / "xsec.toml").read_text(encoding="utf-8")
    text = text.replace('name = "xsec"', 'name = "my_xsec"')
    # a tighter flux prior (its own table replaces the shared one) ...
    text += '\n[nuisances.flux_norm]\nprior = "lognormal"\nmedian = 1.0\nsigma_log = 0.05\n'
    # ... no timing-offset nuisance (dropped from the shared ones: fixed at nominal) ...
    text = text.replace(
        'include = ["shared/csi2021_nuisances.toml"]',
        'include = ["shared/csi2021_nuisances.toml"]\ndrop = ["timing_offset_us"]',
    )
    # ... and its own binning
    text = text.replace(
        '[binning]\nname = "default"',
        "[binning]\npe_edges = [0, 10, 20, 30, 60]\nt_edges_us = [0, 0.5, 1, 6]",
    )
    text = text.replace('form_factor = "helm_a13"', 'form_factor = "klein_nystrand"')
    path = tmp_path / "my_xsec.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_user_copy_loads_with_its_changes(tmp_path, monkeypatch):
    path = _user_copy(tmp_path)
    spec = load_spec(path)
    assert spec.name == "my_xsec" and spec.path == path
    assert spec.nuisances["flux_norm"] == Prior("lognormal", median=1.0, sigma_log=0.05)
    assert "timing_offset_us" not in spec.nuisances and "timing_offset_us" not in spec.free_names
    assert spec.binning.shape == (4, 3)
    np.testing.assert_array_equal(spec.binning.t_edges_us, [0, 0.5, 1, 6])
    assert spec.model["form_factor"] == "klein_nystrand"
    # a folder of the user's own specs replaces models/ for names
    shutil.copy(SHIPPED_DIR / "nsi_ee.toml", tmp_path / "nsi_ee.toml")
    monkeypatch.setenv("CEVNS_BAYES_MODELS_DIR", str(tmp_path))
    assert list_specs() == ["my_xsec", "nsi_ee"]
    assert load_spec("my_xsec") == spec
    with pytest.raises(ConfigError, match="my_xsec, nsi_ee"):
        load_spec("xsec")


def test_shared_nuisances_are_included_once(tmp_path):
    """Every shipped spec takes its nuisances from one shared file; a spec overrides one by
    its own table, drops one, or fixes one, and errors in the shared file name that file."""
    shared = SHIPPED_DIR / "shared" / "csi2021_nuisances.toml"
    assert shared.is_file()
    for name in list_specs():
        text = (SHIPPED_DIR / f"{name}.toml").read_text(encoding="utf-8")
        assert "[nuisances." not in text, name  # no copy of the block
        expected = dict(NUISANCE_PRIORS)
        if name in RADIUS_POI_SPECS:
            del expected["r_n_scale"]  # `drop`ped: the radius is the POI
        assert load_spec(name).nuisances == expected
    base = _to_toml({"analysis": {"name": "inc", "include": ["shared/csi2021_nuisances.toml"]},
                     "pois": BASE["pois"]})  # fmt: skip
    path = tmp_path / "inc.toml"
    # a copy elsewhere finds the shipped shared file
    path.write_text(base, encoding="utf-8")
    assert load_spec(path).nuisances == NUISANCE_PRIORS
    # fixing one removes it from the nuisances
    path.write_text(base + "[fixed]\nr_n_scale = 1.02\n", encoding="utf-8")
    spec = load_spec(path)
    assert "r_n_scale" not in spec.nuisances and spec.fixed == {"r_n_scale": 1.02}
    # dropping one that is not shared is an error naming the key
    bad = base.replace('"]\n', '"]\ndrop = ["eps_ee_u"]\n', 1)
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"inc\.toml: analysis\.drop\[0\]: 'eps_ee_u'"):
        load_spec(path)
    # a broken shared file of the user's own is named with its dotted key
    (tmp_path / "mine.toml").write_text(
        '[nuisances.flux_norm]\nprior = "truncated_normal"\nmu = 1.0\nsigma = -0.1\nlower = 0.0\n',
        encoding="utf-8",
    )
    path.write_text(base.replace("shared/csi2021_nuisances.toml", "mine.toml"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"mine\.toml: nuisances\.flux_norm"):
        load_spec(path)
    path.write_text(base.replace("shared/csi2021_nuisances.toml", "none.toml"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"analysis\.include\[0\]: .*none\.toml: no such file"):
        load_spec(path)


def test_user_copy_drives_the_forward_model(tmp_path):
    """The spec's binning and model options reach the forward model (a few seconds)."""
    from cevns_bayes.model import build_model

    spec = load_spec(_user_copy(tmp_path))
    opts = dict(spec.model)
    model = build_model(
        binning=spec.binning,
        pulse_shape=opts.pop("pulse_shape"),
        pulse_fwhm_ns=opts.pop("pulse_fwhm_ns"),
        **opts,
    )
    assert model.observed.shape == spec.binning.shape == (4, 3)
    assert model.form_factor == "klein_nystrand" and model.time_efficiency is True
    assert model.observed.sum() > 0


def test_spec_is_not_hashable_but_compares_by_content():
    a, b = load_spec("xsec"), load_spec("xsec")
    assert a == b and a is not b
    assert a != load_spec("weak_mixing")
    assert isinstance(a, AnalysisSpec)
    assert set(free_parameter_names()) >= set(a.pois)
    with pytest.raises(TypeError):
        hash(a)


def test_direct_construction_fills_model_defaults_and_validates():
    prior = Prior("flat", lower=0.0, upper=3.0)
    pois = {"scale_e": PoiSpec("scale_e", prior, prior.default_initial(), "")}
    spec = AnalysisSpec("direct", "", pois, {}, {}, Binning.default(), model={})
    assert spec.model == MODEL_DEFAULTS and spec.free_names == ("scale_e",)
    assert spec.pois["scale_e"].initial == 1.5
    with pytest.raises(ConfigError, match=r"model\.pulse_shape"):
        AnalysisSpec("direct", "", pois, {}, {}, Binning.default(), model={"pulse_shape": "x"})
    with pytest.raises(ConfigError, match=r"nuisances\.ssb_norm\.prior"):
        AnalysisSpec(
            "direct",
            "",
            pois,
            {"ssb_norm": Prior("normal", mu=1, sigma=0.02)},
            {},
            Binning.default(),
        )


def test_with_fixed_sets_a_fixed_parameter_and_names_bad_ones():
    from cevns_bayes.spec import with_fixed

    spec = load_spec("light_vector")
    heavy = with_fixed(spec, {"m_zprime_mev": 1000.0})
    assert heavy.fixed["m_zprime_mev"] == 1000.0 and spec.fixed["m_zprime_mev"] == 10.0
    assert heavy.pois == spec.pois and heavy.nuisances == spec.nuisances
    with pytest.raises(ConfigError, match="--fix g_zprime: is free in light_vector"):
        with_fixed(spec, {"g_zprime": 1e-5})
    with pytest.raises(ConfigError, match="--fix m_nothing: unknown parameter"):
        with_fixed(spec, {"m_nothing": 1.0})
    with pytest.raises(ConfigError, match=r"--fix m_zprime_mev=-1: outside the range"):
        with_fixed(spec, {"m_zprime_mev": -1.0})
