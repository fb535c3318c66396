"""The randomized LOO-PIT of :func:`cevns_bayes.inference.bayes.loo_pit` on count data whose
predictive distribution is known: uniform when the model generated the data, not when the
model's rate is wrong."""

from __future__ import annotations

import arviz as az
import numpy as np
from scipy import stats

from cevns_bayes.inference.bayes import DATA_DIMS, loo_pit


def _idata(y, mu_true_model, rng, draws=400):
    """A posterior of 2 chains x ``draws`` whose every draw predicts Poisson(μ) in each bin
    (a model without free parameters: the LOO predictive is Poisson(μ) itself)."""
    shape = (2, draws, *y.shape)
    mu = np.broadcast_to(mu_true_model, shape)
    rep = rng.poisson(mu)
    ll = stats.poisson.logpmf(y, mu)
    dims = {"observed": list(DATA_DIMS)}
    return az.from_dict(
        posterior={"a": rng.normal(size=(2, draws))},
        posterior_predictive={"observed": rep},
        log_likelihood={"observed": ll},
        observed_data={"observed": y},
        dims=dims,
    )


def test_loo_pit_is_uniform_for_the_generating_model_and_not_for_a_wrong_one():
    rng = np.random.default_rng(5)
    mu = rng.uniform(0.5, 30.0, size=(40, 25))  # 1000 bins, many with few counts
    y = rng.poisson(mu)
    good = loo_pit(_idata(y, mu, rng), seed=1)
    assert len(good["values"]) == y.size and sum(good["histogram_5"]) == y.size
    assert min(good["values"]) >= 0.0 and max(good["values"]) <= 1.0
    assert good["ks_pvalue"] > 0.01
    # a model whose rate is 30% low: the data sit high in its predictive, u piles near 1
    bad = loo_pit(_idata(y, 0.7 * mu, rng), seed=1)
    assert bad["ks_pvalue"] < 1e-6
    assert bad["histogram_5"][-1] > 2 * bad["histogram_5"][0]


def test_predictive_comparison_ranks_the_generating_model_first(tmp_path):
    """Two analyses of the same counts: the one whose rate made the data has the higher
    elpd_loo, rank 0, and its LOO-PIT p-value (from its summary.json) in the row."""
    import json

    from cevns_bayes.report import predictive_comparison

    rng = np.random.default_rng(8)
    mu = rng.uniform(0.5, 30.0, size=(9, 11))
    y = rng.poisson(mu)
    for name, scale in (("right", 1.0), ("low", 0.7)):
        idata = _idata(y, scale * mu, rng)
        (tmp_path / name).mkdir()
        idata.to_netcdf(tmp_path / name / "posterior.nc")
        summary = {"loo": {"pit": loo_pit(idata)}}
        (tmp_path / name / "summary.json").write_text(json.dumps(summary))
    doc = predictive_comparison(tmp_path)
    rows = {r["analysis"]: r for r in doc["rows"]}
    assert rows["right"]["rank"] == 0 and rows["low"]["rank"] == 1
    assert rows["right"]["elpd_loo"] > rows["low"]["elpd_loo"]
    assert rows["right"]["pit_ks_pvalue"] > rows["low"]["pit_ks_pvalue"]
