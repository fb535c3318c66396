"""Physics models as plug-ins: a model defined outside the package, used from a TOML spec.

``tests/user_physics/nu_magnetic_moment.py`` is written as a user would write it (the public
API only); ``magnetic_moment_demo.toml`` imports it under ``[physics] modules``. The tests load
that spec, check the model's rate against an independent numpy computation, its SM limit, and
fit it (profile on Asimov data recovers the injected moment; the observed data give a finite
upper limit). The built-in models' own checks are in test_statistical / test_conventions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import cevns_bayes
from cevns_bayes import ConfigError
from cevns_bayes import constants as c
from cevns_bayes.inference.bayes import build_forward_model
from cevns_bayes.model.parameters import get_parameter, parameter_owner
from cevns_bayes.physics import cross_section as xs
from cevns_bayes.physics.flux import FIT_FLAVORS
from cevns_bayes.physics.plugins import PhysicsModel, physics_model_names
from cevns_bayes.spec import import_physics_module, load_spec, spec_from_dict

HERE = Path(__file__).parent / "user_physics"
SPEC = HERE / "magnetic_moment_demo.toml"


@pytest.fixture(scope="module")
def demo():
    """The statistical model of the user's spec (loading it registers the plug-in)."""
    return cevns_bayes.load_analysis(SPEC)


def test_the_spec_imports_the_users_module_and_names_its_parameter(demo):
    spec = load_spec(SPEC)
    assert spec.physics_models == ("magnetic_moment_demo",)
    assert spec.physics_modules == (str((HERE / "nu_magnetic_moment.py").resolve()),)
    assert "magnetic_moment_demo" in physics_model_names()
    assert parameter_owner("mu_nu_demo") == "magnetic_moment_demo"
    info = demo.parameters["mu_nu_demo"]
    assert (info.role, info.unit, info.lower, info.upper) == ("poi", "1e-10 mu_B", 0.0, 200.0)
    assert info.label == get_parameter("mu_nu_demo").label
    assert demo.poi_names == ("mu_nu_demo",) and len(demo.nuisance_names) == 9
    # the forward graph holds the built-in models and the user's
    assert [m.name for m in demo.forward.physics][-1] == "magnetic_moment_demo"


def test_at_zero_moment_the_prediction_is_the_sm(demo):
    sm = demo.forward.evaluate()  # every physics parameter nominal
    # the same spec's forward model without any physics model
    ref = build_forward_model(load_spec(SPEC), physics=()).evaluate()
    for k in ("cevns_nu_mu", "cevns_nu_mu_bar", "cevns_nu_e", "brn", "nin", "ssb"):
        np.testing.assert_allclose(sm[k], ref[k], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        demo.expected({"mu_nu_demo": 0.0}), ref["cevns"] + ref["brn"] + ref["nin"] + ref["ssb"]
    )


def test_the_rate_change_matches_an_independent_numpy_computation(demo):
    """Extra events per recoil cell at κ = 50 (1e-10 μ_B) against the formula summed over
    the flux spectrum directly: N_CsI Φ ΔT Σ_i Σ_E p_f(E) dσ_i/dT(E, T), T ≤ T_max(E)."""
    fwd = demo.forward
    kappa = 50.0
    with_mu = fwd.recoil_counts({"mu_nu_demo": kappa}).eval()
    without = fwd.recoil_counts({}).eval()
    graph = with_mu - without  # (3 flavors, n_T)
    alpha = 1.0 / 137.035999084
    t = fwd.recoil_mev
    for j, name in enumerate(FIT_FLAVORS):
        f = fwd.flux[name]
        keep = f.energy_prob > 0
        e, p = f.energy_mev[keep][:, None], f.energy_prob[keep][:, None]
        ref = np.zeros_like(t)
        for iso in c.ISOTOPES:
            rp, _ = xs.nuclear_radii_fm(iso, "helm")
            fp = xs.helm_form_factor(np.sqrt(2.0 * iso.mass_mev * t) / c.HBARC_MEV_FM, rp)
            dsig = (
                np.pi
                * alpha**2
                * (kappa * 1e-10) ** 2
                / c.ELECTRON_MASS_MEV**2
                * (1.0 / t - 1.0 / e)
                * iso.z**2
                * fp**2
                * c.HBARC_MEV_CM**2
            )  # cm²/MeV
            reach = t <= 2.0 * e**2 / (iso.mass_mev + 2.0 * e)
            ref = ref + np.sum(p * np.where(reach, dsig, 0.0), axis=0)
        ref *= c.N_MOLECULES * c.FLUENCE_PER_FLAVOR_CM2 * fwd.recoil_step_mev
        np.testing.assert_allclose(graph[j], ref, rtol=1e-9)
    # an incoherent term adds events; the 1/T kernel puts them at low recoil
    assert np.all(graph > 0) and np.all(np.diff(graph[:, :20], axis=1) < 0)


def test_fitting_the_users_model_recovers_an_injected_moment_and_sets_a_limit(demo):
    truth = 60.0
    asimov = demo.expected({"mu_nu_demo": truth})
    fit = cevns_bayes.profile(demo, data=asimov, scan_points=11)
    assert fit.best.values["mu_nu_demo"] == pytest.approx(truth, rel=0.02)
    lo, hi = fit.interval("mu_nu_demo", "90")
    assert lo < truth < hi
    observed = cevns_bayes.profile(demo, scan_points=11)
    lo, hi = observed.interval("mu_nu_demo", "90")
    assert np.isfinite(hi) and 0.0 <= lo < hi < 200.0
    assert np.isfinite(demo.logpdf({"mu_nu_demo": 20.0}, demo.observed))


def test_registration_errors_name_the_model_and_the_problem():
    class NoParameters(PhysicsModel):
        name = "no_parameters"

    with pytest.raises(ConfigError, match="no_parameters.*non-empty tuple"):
        cevns_bayes.register_physics_model(NoParameters())

    class Clash(PhysicsModel):
        name = "clash"
        parameters = (cevns_bayes.Parameter("sin2_theta_w", 0.2, "", "again"),)

    with pytest.raises(ConfigError, match="sin2_theta_w.*already declared by weak_mixing"):
        cevns_bayes.register_physics_model(Clash())
    assert "clash" not in physics_model_names()

    class BadName(PhysicsModel):
        name = "Bad-Name"
        parameters = (cevns_bayes.Parameter("bad_name_x", 0.0, "", "x"),)

    with pytest.raises(ConfigError, match="must match"):
        cevns_bayes.register_physics_model(BadName())


def test_spec_errors_name_the_physics_key(tmp_path):
    base = {"pois": {"sigma": {"prior": "flat", "lower": 0.0, "upper": 500.0}}}
    with pytest.raises(ConfigError, match=r"physics\.models\[0\].*no physics model 'nope'"):
        spec_from_dict({**base, "physics": {"models": ["nope"]}}, "x.toml")
    with pytest.raises(ConfigError, match=r"physics\.modules\[0\].*no such Python file"):
        spec_from_dict(
            {**base, "physics": {"modules": ["missing.py"]}}, "x.toml", path=tmp_path / "x.toml"
        )
    with pytest.raises(ConfigError, match=r"physics\.modules\[0\].*cannot import"):
        spec_from_dict({**base, "physics": {"modules": ["no_such_module_xyz"]}}, "x.toml")
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(ConfigError, match=r"physics\.modules\[0\].*broken\.py.*boom"):
        spec_from_dict({**base, "physics": {"modules": [str(broken)]}}, "x.toml")
    # a parameter of a model the forward graph was not built with
    fwd = build_forward_model(load_spec("xsec"), physics=("xsec",))
    with pytest.raises(ConfigError, match="eps_ee_u.*'nsi'.*not built with"):
        fwd.evaluate({"eps_ee_u": 0.1})


def test_the_module_is_imported_once_per_process():
    a = import_physics_module(str(HERE / "nu_magnetic_moment.py"), "t", "k")
    b = import_physics_module(str(HERE / "nu_magnetic_moment.py"), "t", "k")
    assert a is b and a.MODEL is cevns_bayes.get_physics_model("magnetic_moment_demo")


def test_a_spec_with_a_users_model_unpickles_in_a_fresh_process(tmp_path):
    """A spawned worker has none of the parent's registrations: unpickling the spec imports
    its [physics] modules again, so the user's model is there (the toys' process pool)."""
    import pickle
    import subprocess
    import sys

    blob = tmp_path / "spec.pkl"
    blob.write_bytes(pickle.dumps(load_spec(SPEC)))
    code = (
        "import pickle, sys; s = pickle.loads(open(sys.argv[1], 'rb').read()); "
        "import cevns_bayes; print(s.physics_models, 'magnetic_moment_demo' in "
        "cevns_bayes.physics_model_names())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(blob)], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["('magnetic_moment_demo',)", "True"]


def test_a_profile_without_nuisances(demo):
    """Every nuisance fixed: the profile likelihood has only the POI."""
    spec = load_spec(SPEC)
    bare = spec_from_dict(
        {
            "physics": {"modules": list(spec.physics_modules)},
            "pois": {"mu_nu_demo": {"prior": "flat", "lower": 0.0, "upper": 200.0}},
        },
        "bare.toml",
    )
    model = cevns_bayes.load_analysis(bare)
    assert model.nuisance_names == ()
    fit = cevns_bayes.profile(model, data=model.expected({"mu_nu_demo": 50.0}), scan_points=5)
    assert fit.best.values["mu_nu_demo"] == pytest.approx(50.0, rel=0.02)
