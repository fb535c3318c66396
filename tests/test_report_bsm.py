"""The report's section on analyses beyond the paper's: numbers from the files, as written."""

from __future__ import annotations

import json

from cevns_bayes.report import beyond_sm_markdown


def test_beyond_sm_section_reads_profile_posterior_and_scan(tmp_path):
    a = tmp_path / "magnetic_moment_universal"
    a.mkdir()
    (a / "profile.json").write_text(
        json.dumps(
            {
                "pois": {
                    "mu_nu": {"units": "1e-10 mu_B", "profile": {"best": 0.0, "ci_90": [0, 20.4]}}
                }
            }
        )
    )
    (a / "summary.json").write_text(
        json.dumps(
            {
                "pois": {"mu_nu": {"bayes": {"median": 7.5, "hdi_90": [0.0, 18.2]}}},
                "diagnostics": {
                    "chains": 4,
                    "draws": 1000,
                    "r_hat_max": 1.0004,
                    "ess_bulk_min": 2100.0,
                    "divergences": 0,
                },
            }
        )
    )
    s = tmp_path / "sterile"
    s.mkdir()
    (s / "limits.json").write_text(
        json.dumps(
            {
                "parameter": "dm2_41_ev2",
                "limit_on": "ue4_sq",
                "scanned": [1.0, 10.0],
                "units": {"x": "eV2", "limit": ""},
                "profile": [
                    {"x": 1.0, "upper_90": 0.5, "at_bound": True, "allowed": [[0.0, 0.5]]},
                    {
                        "x": 10.0,
                        "upper_90": 0.31,
                        "at_bound": False,
                        "allowed": [[0.0, 0.31], [0.4, 0.45]],
                    },
                ],
                "bayes": [
                    {"x": 1.0, "upper_90_flat": 0.45, "upper_90_log": 0.2},
                    {"x": 10.0, "upper_90_flat": 0.29, "upper_90_log": 0.11},
                ],
            }
        )
    )
    (s / "limits.png").write_bytes(b"png")
    (tmp_path / "xsec").mkdir()  # a paper analysis: left to its own section
    (tmp_path / "xsec" / "profile.json").write_text("{}")
    text = "\n".join(beyond_sm_markdown(tmp_path, exclude=("xsec",)))
    assert "### magnetic_moment_universal" in text and "### xsec" not in text
    assert "| mu_nu | 1e-10 mu_B | 0 | [0, 20.4] | 7.5 | [0, 18.2] |" in text
    assert "r̂ ≤ 1.000, ESS_bulk ≥ 2100, 0 divergences" in text
    assert "| 1 | 0.5 (box edge) | 0.45 | 0.2 |" in text
    assert "| 10 | 0.31 | 0.29 | 0.11 |" in text
    assert "![sterile: limits.png](sterile/limits.png)" in text
    # a second allowed band is named with its interval
    assert "A second allowed band" in text and "10: [0, 0.31], [0.4, 0.45]" in text
    assert "No published limit from the CsI 2021 data is quoted" in text
    assert beyond_sm_markdown(tmp_path / "xsec") == []


def test_model_comparison_reads_every_evidence_file(tmp_path):
    from cevns_bayes.report import model_comparison, model_comparison_markdown

    assert model_comparison(tmp_path) is None
    a = tmp_path / "xsec"
    a.mkdir()
    ev = {
        "model": "xsec",
        "log_z": {
            "nested": {"value": -230.4, "error": 0.1},
            "smc": {"value": -230.5, "error": 0.03},
        },
        "sm": {"log_z": {"nested": {"value": -228.0, "error": 0.1}}},
        "log_bayes_factor_vs_sm": {"nested": {"value": -2.4, "error": 0.14}},
        "savage_dickey": {"value": -2.45},
        "boxes": {"sigma": [0.0, 600.0]},
    }
    (a / "evidence.json").write_text(json.dumps(ev))
    doc = model_comparison(tmp_path)
    assert doc["analyses"]["xsec"]["log_bayes_factor_vs_sm"]["nested"]["value"] == -2.4
    text = "\n".join(model_comparison_markdown(doc))
    assert "## Model comparison" in text
    assert (
        "| `xsec` | sigma [0, 600] | -230.40 ± 0.10 | -230.50 ± 0.03 | — | -2.40 ± 0.14 | — "
        "| -2.45 |" in text
    )


def test_sensitivity_section_lists_the_largest_shift_and_the_flags(tmp_path):
    from cevns_bayes.report import sensitivity_markdown

    a = tmp_path / "xsec"
    a.mkdir()
    row = {"prior": "flux_norm", "poi": "sigma", "pareto_k": 0.3, "reliable": True}
    doc = {
        "model": "xsec",
        "base": {"sigma": {"mean": 170.0}},
        "rows": [
            {
                **row,
                "change": "power 0.8",
                "mean": 0.06,
                "q05": -0.05,
                "q95": 0.22,
                "flagged": True,
            },
            {
                **row,
                "change": "power 1.25",
                "mean": -0.04,
                "q05": 0.0,
                "q95": -0.29,
                "flagged": True,
            },
            {
                **row,
                "prior": "sigma",
                "change": "jeffreys",
                "mean": -0.04,
                "q05": 0.0,
                "q95": -0.09,
                "flagged": False,
                "reliable": False,
            },
        ],
    }
    (a / "sensitivity.json").write_text(json.dumps(doc))
    text = "\n".join(sensitivity_markdown(tmp_path))
    assert "## Prior sensitivity" in text
    assert (
        "| `xsec` | sigma | 0.29 | flux_norm power 1.25 | flux_norm power 0.8; "
        "flux_norm power 1.25 |" in text
    )
    # each kind of flag is explained, naming where it occurs; the unflagged Jeffreys is not
    assert "**power-scaled nuisance prior**" in text
    assert "`xsec` (flux_norm power 0.8), `xsec` (flux_norm power 1.25)" in text
    assert "**alternative POI prior**" not in text
    assert sensitivity_markdown(tmp_path / "none") == []
