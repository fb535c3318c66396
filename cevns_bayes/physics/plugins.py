"""Physics models as plug-ins: how a hypothesis changes the CEvNS rate.

The forward model (:class:`~cevns_bayes.model.ForwardModel`) computes, per neutrino flavor f
(ν_μ, ν̄_μ, ν_e), isotope i (¹³³Cs, ¹²⁷I) and recoil cell T_k,

    s_f(T_k) = N_CsI · Φ · ΔT · Σ_i G_F² M_i/(4π) · [ K^cevns_{i,f}(T_k) · Q²_{i,f}(T_k)
                                                    + Σ_m K^m_{i,f}(T_k) · A^m_{i,f}(T_k) ]
    Q_{i,f}   = Q^SM_{i,f}(q; R_n) + Σ_models ΔQ_{i,f}(q)
    K^m_{i,f}(T) = Σ_E p_f(E) · kernel_m(E, T, M_i, f)   over E with T ≤ T_max(E)

and multiplies each flavor's counts, after the detector, by the product of the models' flavor
scales. Q^SM = −2 [g_V^p Z F_p + g_V^n N F_n] is the weak charge of the spec's couplings
convention at the nominal sin²θ_W (docs/physics.md §3), K^cevns is the flux average of the
CEvNS kinematic factor 1 − M T/(2E²) − T/E, and everything not depending on a parameter (the
K tables, F_p, q) is precomputed once. A physics model (:class:`PhysicsModel`) declares

* its parameters (:class:`~cevns_bayes.model.parameters.Parameter`: name, nominal value,
  bounds, unit, label, role), which specs can then free, fix or give priors;
* :meth:`~PhysicsModel.charge`: a contribution ΔQ to the weak charge, any function of the
  momentum transfer, flavor and isotope (sin²θ_W, NSI, a light vector mediator's
  g²/(q² + m²), a neutrino charge radius);
* :meth:`~PhysicsModel.rate_terms` with :meth:`~PhysicsModel.moments`: terms with their own
  kinematic factor K^m (an incoherent term such as a magnetic moment's 1/T − 1/E, a scalar
  mediator's M T/(2E²), or an energy-dependent survival probability folded into the flux
  average), each an amplitude A^m in units of the CEvNS prefactor G_F² M/(4π);
* :meth:`~PhysicsModel.flavor_scale`: a multiplier of each flavor's CEvNS counts (the flavored
  scales, the ⟨σ⟩_Φ normalization).

Every hook works on pytensor tensors (only arithmetic and ``pytensor.tensor`` functions) and
receives a :class:`PhysicsContext`; unset parameters take their nominal values, and a model
whose parameters are all nominal must leave the rate unchanged (a test checks the shipped
ones). Register a model with :func:`register_physics_model`; a spec uses it by naming its
parameters (or listing it under ``[physics] models``), and a spec's ``[physics] modules``
imports the Python files or modules that register models, so the CLI can run them too.

Example, a model of one's own (a flavor-universal shift of the proton coupling)::

    import cevns_bayes
    from cevns_bayes.model.parameters import Parameter

    class ProtonShift(cevns_bayes.PhysicsModel):
        name = "proton_shift"
        parameters = (Parameter("delta_gp", 0.0, "", "shift of g_V^p", lower=-1, upper=1),)

        def charge(self, ctx):
            return -2.0 * ctx.value("delta_gp") * ctx.z * ctx.f_p

    cevns_bayes.register_physics_model(ProtonShift())
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from cevns_bayes import constants as c
from cevns_bayes.errors import ConfigError
from cevns_bayes.model.parameters import (
    Parameter,
    get_parameter,
    register_parameters,
    unregister_parameters,
)

#: The moment every model has: the flux average of the CEvNS kinematic factor
CEVNS_MOMENT = "cevns"
_NAME_RE = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Moment:
    """A precomputed flux average a physics model needs.

    ``kernel(e_mev, t_mev, mass_mev, flavor)`` is evaluated in numpy on arrays that broadcast to
    (n_E, n_T) (neutrino energies in a column, recoil energies in a row, both MeV; the nuclear
    mass in MeV; the flavor name) and returns the factor that replaces the CEvNS kinematic
    factor 1 − M T/(2E²) − T/E in dσ/dT = G_F² M/(4π) · kernel · amplitude. The forward model
    averages it over each flavor's energy spectrum, where T ≤ T_max(E), once.
    """

    kernel: Callable[..., Any]
    description: str = ""


class PhysicsContext:
    """What a physics model's hooks see (module docstring).

    On a recoil grid (:meth:`PhysicsModel.charge`, :meth:`PhysicsModel.rate_terms`), arrays
    broadcast to (n_isotope, n_flavor, n_recoil):

    Attributes:
        flavors: the neutrino flavors, ``("nu_mu", "nu_mu_bar", "nu_e")``.
        lepton: the charged-lepton flavor of each (``"mu"``, ``"mu"``, ``"e"``).
        antineutrino_sign: +1 for neutrinos, −1 for antineutrinos, shape (1, n_flavor, 1).
        isotopes: the target nuclei (:data:`cevns_bayes.constants.ISOTOPES`).
        z, n, mass_mev: proton number, neutron number, nuclear mass (MeV), shape (n_iso, 1, 1).
        recoil_mev: the recoil kinetic energies T, shape (1, 1, n_recoil).
        q_fm_inv: momentum transfer q = √(2 M T) in fm⁻¹, shape (n_iso, 1, n_recoil).
        q2_mev2: q² in MeV², shape (n_iso, 1, n_recoil).
        f_p: proton form factor (numpy); f_n: neutron form factor (tensor, moves with R_n).
        couplings: the spec's couplings convention (:func:`~cevns_bayes.physics.
            cross_section.nucleon_couplings`).
    On the flavor-scale hook the grid attributes are None and :meth:`sigma_sm` is available.
    """

    flavors: tuple[str, ...]

    def __init__(self, values: Mapping[str, Any], flavors, **grid) -> None:
        self._values = values
        self.flavors = tuple(flavors)
        self.lepton = tuple("e" if f.startswith("nu_e") else "mu" for f in self.flavors)
        sign = [-1.0 if f.endswith("_bar") else 1.0 for f in self.flavors]
        self.antineutrino_sign = np.array(sign, float)[None, :, None]
        self._sigma_sm = grid.pop("sigma_sm", None)
        for key in (
            "isotopes",
            "z",
            "n",
            "mass_mev",
            "recoil_mev",
            "q_fm_inv",
            "f_p",
            "f_n",
            "couplings",
        ):
            setattr(self, key, grid.pop(key, None))
        if grid:  # pragma: no cover - internal callers only
            raise TypeError(f"unknown context fields {sorted(grid)}")
        self.q2_mev2 = None if self.q_fm_inv is None else (self.q_fm_inv * c.HBARC_MEV_FM) ** 2

    def given(self, name: str) -> bool:
        """Whether parameter ``name`` was set (else :meth:`value` is its nominal)."""
        return name in self._values

    def value(self, name: str):
        """Parameter ``name`` as a scalar tensor (its registry nominal when not set)."""
        import pytensor.tensor as pt

        if name in self._values:
            return self._values[name]
        par = get_parameter(name)
        if par.nominal is None:
            raise ConfigError(f"parameter {name!r} has no nominal value and was not given")
        return pt.constant(float(par.nominal), dtype="float64")

    def per_flavor(self, rows: Mapping[str, Any]):
        """One tensor per flavor (name → a scalar or anything broadcasting to (n_iso, 1,
        n_recoil)) as one tensor with the flavor axis, shape (n_iso | 1, n_flavor, n_recoil | 1).
        Flavors given the same tensor object share it (ν̄_μ and ν_μ, say)."""
        out = None
        seen: dict[int, tuple[Any, np.ndarray]] = {}
        for j, f in enumerate(self.flavors):
            x = rows[f]
            entry = seen.setdefault(id(x), (x, np.zeros((1, len(self.flavors), 1))))
            entry[1][0, j, 0] = 1.0
        for x, onehot in seen.values():
            term = x * onehot
            out = term if out is None else out + term
        return out

    def sigma_sm(self):
        """⟨σ⟩_Φ of the SM (1e-40 cm², all flavors) at the R_n of this point (flavor-scale
        hook only)."""
        if self._sigma_sm is None:
            raise ConfigError("sigma_sm() is available to flavor_scale only")
        return self._sigma_sm()


class PhysicsModel:
    """Base class of a physics model (module docstring): override what the model changes.

    Attributes:
        name: its name in specs and errors ([a-z][a-z0-9_]*).
        description: one line on what it is.
        parameters: the :class:`~cevns_bayes.model.parameters.Parameter` it declares.
    """

    name: str = ""
    description: str = ""
    parameters: tuple[Parameter, ...] = ()

    def moments(self) -> Mapping[str, Moment]:
        """Extra flux averages (name → :class:`Moment`) that :meth:`rate_terms` uses."""
        return {}

    def charge(self, ctx: PhysicsContext):
        """ΔQ added to the weak charge, broadcasting to (n_iso, n_flavor, n_recoil), or None."""
        return None

    def rate_terms(self, ctx: PhysicsContext, q2) -> Mapping[str, Any]:
        """Extra rate terms: moment name → amplitude A^m (broadcasting to (n_iso, n_flavor,
        n_recoil), in units of G_F² M/(4π)); ``q2`` is the full Q² (after every model's
        :meth:`charge`). The built-in moment :data:`CEVNS_MOMENT` may be named too (an amplitude
        on the CEvNS kinematic factor, e.g. −P Q² for a survival probability P)."""
        return {}

    def flavor_scale(self, ctx: PhysicsContext):
        """A multiplier of each flavor's CEvNS counts: a scalar or a (n_flavor,) tensor, or
        None."""
        return None

    def __repr__(self) -> str:
        names = ", ".join(p.name for p in self.parameters)
        return f"{type(self).__name__}({self.name!r}: {names})"


_MODELS: dict[str, PhysicsModel] = {}


def _check_model(model: PhysicsModel) -> None:
    if not isinstance(model, PhysicsModel):
        raise ConfigError(f"a physics model must be a PhysicsModel instance, got {model!r}")
    name = model.name
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ConfigError(
            f"physics model {type(model).__name__}: name {name!r} must match [a-z][a-z0-9_]*"
        )
    if not isinstance(model.parameters, tuple) or not model.parameters:
        raise ConfigError(f"physics model {name!r}: parameters must be a non-empty tuple")
    for par in model.parameters:
        if not isinstance(par, Parameter):
            raise ConfigError(f"physics model {name!r}: {par!r} is not a Parameter")
        if par.role == "internal":
            raise ConfigError(
                f"physics model {name!r}: parameter {par.name!r} cannot have role 'internal'"
            )
    moments = model.moments()
    if not isinstance(moments, Mapping):
        raise ConfigError(f"physics model {name!r}: moments() must return a mapping")
    for key, moment in moments.items():
        if not isinstance(key, str) or not _NAME_RE.fullmatch(key) or key == CEVNS_MOMENT:
            raise ConfigError(
                f"physics model {name!r}: moment name {key!r} must match [a-z][a-z0-9_]* and "
                f"not be {CEVNS_MOMENT!r}"
            )
        if not isinstance(moment, Moment) or not callable(moment.kernel):
            raise ConfigError(f"physics model {name!r}: moment {key!r} must be a Moment")


def register_physics_model(model: PhysicsModel, *, replace: bool = False) -> PhysicsModel:
    """Make a physics model available to specs (module docstring); returns it.

    Its parameters join the registry (:mod:`cevns_bayes.model.parameters`): a name already
    declared elsewhere is an error. ``replace=True`` replaces a model of the same name (e.g.
    when a notebook cell is re-run).
    """
    _check_model(model)
    if model.name in _MODELS:
        if not replace and _MODELS[model.name] is not model:
            raise ConfigError(
                f"a physics model named {model.name!r} is already registered "
                "(pass replace=True to replace it)"
            )
        unregister_physics_model(model.name)
    register_parameters(model.parameters, model.name)
    _MODELS[model.name] = model
    return model


def unregister_physics_model(name: str) -> None:
    """Remove a registered model and its parameters."""
    if name not in _MODELS:
        raise ConfigError(f"no physics model {name!r} is registered")
    del _MODELS[name]
    unregister_parameters(name)


def get_physics_model(name: str) -> PhysicsModel:
    try:
        return _MODELS[name]
    except KeyError:
        raise ConfigError(
            f"unknown physics model {name!r}; registered: {', '.join(_MODELS)}"
        ) from None


def physics_model_names() -> tuple[str, ...]:
    """The registered models, in registration order (the built-in ones first)."""
    return tuple(_MODELS)


def models_of(parameter_names: Iterable[str]) -> tuple[str, ...]:
    """The registered models that declare any of ``parameter_names``, in registration order."""
    wanted = set(parameter_names)
    return tuple(name for name, m in _MODELS.items() if any(p.name in wanted for p in m.parameters))


def kinematic_moment(kernel, flavor: str, energy_mev, energy_prob, recoil_mev, mass_mev):
    """Σ_E p(E) kernel(E, T, M, flavor) over the energies that can reach each recoil T (numpy,
    shape (n_T,)): the flux average the forward model precomputes for each :class:`Moment`."""
    keep = np.asarray(energy_prob) > 0
    e = np.asarray(energy_mev, float)[keep][:, None]
    p = np.asarray(energy_prob, float)[keep]
    t = np.asarray(recoil_mev, float)[None, :]
    reach = t <= 2.0 * e**2 / (mass_mev + 2.0 * e)
    values = np.broadcast_to(np.asarray(kernel(e, t, mass_mev, flavor), float), reach.shape)
    return p @ np.where(reach, values, 0.0)


# --- the built-in models --------------------------------------------------------------------------
class CrossSection(PhysicsModel):
    """⟨σ⟩_Φ as the parameter of interest: every flavor's rate scaled by σ / ⟨σ⟩_SM(R_n)."""

    name = "xsec"
    description = "the flux-averaged CEvNS cross section as a free normalization"
    parameters = (
        Parameter(
            "sigma",
            None,
            "1e-40 cm2",
            "flux-averaged CEvNS cross section <sigma>_Phi (scales the SM rate by sigma / "
            "<sigma>_SM(R_n); R_n moves the spectral shape, not the normalization)",
            lower=0.0,
            label=r"$\langle\sigma\rangle_\Phi$ [$10^{-40}$ cm$^2$]",
        ),
    )

    def flavor_scale(self, ctx):
        if not ctx.given("sigma"):
            return None
        return ctx.value("sigma") / ctx.sigma_sm()


class WeakMixing(PhysicsModel):
    """sin²θ_W at low Q²: g_V^p = 1/2 − 2 sin²θ_W moves Q by 4 Δsin²θ_W Z F_p (in every
    couplings convention, which all move g_V^p as at tree level)."""

    name = "weak_mixing"
    description = "the weak mixing angle at low momentum transfer"
    parameters = (
        Parameter(
            "sin2_theta_w",
            c.SIN2_THETA_W_LOW_Q2,
            "",
            "weak mixing angle at low Q^2",
            lower=0.0,
            upper=1.0,
            label=r"$\sin^2\theta_W$",
        ),
    )

    def charge(self, ctx):
        shift = ctx.value("sin2_theta_w") - c.SIN2_THETA_W_LOW_Q2
        return 4.0 * shift * ctx.z * ctx.f_p


class FlavoredScales(PhysicsModel):
    """Separate scales of the ν_μ + ν̄_μ and the ν_e CEvNS rates."""

    name = "flavored"
    description = "scales of the muon- and electron-flavor CEvNS rates"
    parameters = (
        Parameter(
            "scale_mu",
            1.0,
            "",
            "scale of the nu_mu and anti-nu_mu CEvNS rates",
            lower=0.0,
            label=r"$\sigma_\mu/\sigma_\mu^{SM}$",
        ),
        Parameter(
            "scale_e",
            1.0,
            "",
            "scale of the nu_e CEvNS rate",
            lower=0.0,
            label=r"$\sigma_e/\sigma_e^{SM}$",
        ),
    )
    #: which scale each flavor takes (ν̄_μ shares scale_mu with ν_μ)
    scale_of = {"mu": "scale_mu", "e": "scale_e"}

    def flavor_scale(self, ctx):
        import pytensor.tensor as pt

        return pt.stack([ctx.value(self.scale_of[lep]) for lep in ctx.lepton])


class VectorNSI(PhysicsModel):
    """Flavor-diagonal vector NSI ε_αα^q (q = u, d) with the quarks:
    ΔQ_α = −2 [(2 ε^u + ε^d) Z F_p + (ε^u + 2 ε^d) N F_n]; ν̄_μ shares ε_μμ with ν_μ."""

    name = "nsi"
    description = "flavor-diagonal vector non-standard interactions with u and d quarks"
    parameters = tuple(
        Parameter(
            f"eps_{g}_{q}",
            0.0,
            "",
            f"vector NSI coupling eps_{g}^{q}",
            label=rf"$\varepsilon_{{{tex}}}^{{{q}}}$",
        )
        for g, tex in (("ee", "ee"), ("mumu", r"\mu\mu"))
        for q in ("u", "d")
    )
    #: the coupling group of each charged-lepton flavor
    group_of = {"e": "ee", "mu": "mumu"}

    def charge(self, ctx):
        rows, groups = {}, {}
        for f, lep in zip(ctx.flavors, ctx.lepton):
            g = self.group_of[lep]
            if g not in groups:
                eu, ed = ctx.value(f"eps_{g}_u"), ctx.value(f"eps_{g}_d")
                groups[g] = -2.0 * (
                    (2.0 * eu + ed) * ctx.z * ctx.f_p + (eu + 2.0 * ed) * ctx.n * ctx.f_n
                )
            rows[f] = groups[g]
        return ctx.per_flavor(rows)


#: The models the package ships, registered on import
BUILTIN_MODELS: tuple[PhysicsModel, ...] = (
    CrossSection(),
    WeakMixing(),
    FlavoredScales(),
    VectorNSI(),
)
for _model in BUILTIN_MODELS:
    register_physics_model(_model)
del _model

__all__ = [
    "BUILTIN_MODELS",
    "CEVNS_MOMENT",
    "Moment",
    "PhysicsContext",
    "PhysicsModel",
    "get_physics_model",
    "kinematic_moment",
    "models_of",
    "physics_model_names",
    "register_physics_model",
    "unregister_physics_model",
]
