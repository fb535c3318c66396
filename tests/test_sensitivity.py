"""Prior sensitivity by importance reweighting, against a conjugate Gaussian where the answer is
known in closed form, and on a short xsec posterior through the command line (with its
PSIS-LOO summary).

Likelihood N(1, 1) for θ, prior N(0, 1): the posterior is N(1/2, 1/√2); power-scaling the prior
by α gives N(1/(1 + α), 1/√(1 + α)), so the mean moves by (1/(1 + α) − 1/2) √2 posterior sd. The
POI x of the fake model is θ itself with a flat box, so its log-uniform alternative weights the
draws by 1/x (above the cut) and its Jeffreys prior, for a Poisson mean linear in x, ∝ 1/√x.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import arviz as az
import numpy as np
import pytest

from cevns_bayes.inference.sensitivity import FLAG_SD, prior_sensitivity, reweigh
from cevns_bayes.spec import Prior


def _fake(draws):
    params = {
        "x": SimpleNamespace(prior=Prior("flat", lower=0.0, upper=10.0), lower=0.0, upper=10.0),
        "theta": SimpleNamespace(prior=Prior("normal", mu=0.0, sigma=1.0)),
    }
    sm = SimpleNamespace(
        name="fake",
        poi_names=("x",),
        parameter_names=("x", "theta"),
        parameters=params,
        # a Poisson mean linear in x: I(x) = s^2 / (s x + b) summed over one bin
        expected=lambda v: np.array([3.0 * v.get("x", 1.0) + 0.0]),
    )
    idata = az.from_dict(posterior={"x": draws[None, :], "theta": draws[None, :]})
    return sm, idata


def test_power_scaling_matches_the_conjugate_gaussian():
    rng = np.random.default_rng(1)
    theta = rng.normal(0.5, 1 / math.sqrt(2), 400_000) + 4.0  # shifted inside the flat box
    sm, idata = _fake(theta)
    sm.parameters["theta"] = SimpleNamespace(prior=Prior("normal", mu=4.0, sigma=1.0))
    doc = prior_sensitivity(sm, idata)
    for a, r in doc["power_scaling"]["theta"].items():
        alpha = float(a)
        exact = (1.0 / (1.0 + alpha) - 0.5) * math.sqrt(2.0)
        assert r["x"]["shift_sd"]["mean"] == pytest.approx(exact, abs=0.01)
        assert r["x"]["sd_ratio"] == pytest.approx(math.sqrt(2.0 / (1.0 + alpha)), abs=0.01)
        assert r["reliable"]
    assert doc["power_scaling"]["x"] == {"note": "flat: unchanged by power scaling"}
    # Jeffreys for a linear Poisson mean is 1/sqrt(x): the weights lower the mean by about
    # sd^2 / (2 mean) = 0.5 / (2 * 4.5) in value
    jeff = doc["alternatives"]["x"]["jeffreys"]["x"]["summary"]["mean"]
    assert jeff - theta.mean() == pytest.approx(-0.5 / (2 * 4.5), rel=0.1)
    # log-uniform (1/x) moves it about twice as far
    logu = doc["alternatives"]["x"]["log_uniform"]["x"]["summary"]["mean"]
    assert logu - theta.mean() == pytest.approx(-0.5 / 4.5, rel=0.1)


def test_unreliable_weights_are_reported():
    rng = np.random.default_rng(2)
    x = rng.normal(0.0, 1.0, 4000)
    r = reweigh({"x": x}, 8.0 * x, ["x"])  # weights e^{8x}: a few draws carry everything
    assert r["pareto_k"] > 0.7 and not r["reliable"]
    r = reweigh({"x": x}, 0.05 * x, ["x"])
    assert r["reliable"] and abs(r["x"]["shift_sd"]["mean"] - 0.05) < 0.01
    assert not r["x"]["flagged"] and FLAG_SD == 0.2


def test_the_command_line_on_a_short_xsec_posterior(tmp_path, capsys):
    import json

    from cevns_bayes.cli import main

    out = tmp_path / "xsec"
    args = ["sample", "xsec", "--out", str(out), "--chains", "2", "--draws", "150"]
    assert main([*args, "--tune", "150", "--progress", "off", "--no-plots"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    # PSIS-LOO over the 99 bins from the stored pointwise ln L
    assert summary["loo"]["n_bins"] == 99 and summary["loo"]["p_loo"] > 0
    assert main(["sensitivity", "xsec", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "xsec: prior sensitivity" in text and "flux_norm" in text
    doc = json.loads((out / "sensitivity.json").read_text())
    assert {r["prior"] for r in doc["rows"]} >= {"flux_norm", "sigma"}
    assert (out / "sensitivity.png").stat().st_size > 10_000
