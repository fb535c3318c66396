"""Weak-charge sign labels of the bands of an NSI or charge-radius posterior.

CEvNS depends on Q_α² only, so a posterior in couplings that move Q_α (the NSI ε_αα^{u,d}, the
neutrino charge radius ⟨r²_να⟩) has one band per sign pattern of the weak charges.
:func:`weak_charge_sign_label_points` names the band of each point ("ee+", "ee-",
"ee+,mumu-", ...) from the sign of Q_α summed over Cs and I at zero momentum transfer,
"+" being the Standard-Model sign; mode masses are the posterior probability of each label.

Used by the NUTS summaries and reflection folding (:mod:`cevns_bayes.inference.bayes`) and by
the Laplace grid reference (:mod:`cevns_bayes.inference.grid`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from cevns_bayes import constants as c
from cevns_bayes.errors import ConfigError
from cevns_bayes.physics.cross_section import weak_charge

#: flavor groups whose couplings can be POIs, and the POIs that move each group's weak charge
_GROUP_POIS = {
    "ee": ("eps_ee_u", "eps_ee_d", "r2_nu_e"),
    "mumu": ("eps_mumu_u", "eps_mumu_d", "r2_nu_mu"),
}
#: the neutrino whose weak charge labels each group's bands
_GROUP_FLAVOR = {"ee": "nu_e", "mumu": "nu_mu"}


def weak_charge_sum(
    values: Mapping[str, np.ndarray], group: str, couplings: str = "tree"
) -> np.ndarray:
    """Q_α (F = 1) summed over the CsI isotopes for flavor group ``"ee"`` or ``"mumu"`` (the
    neutrino's charge, ν_e or ν_μ, where the couplings convention depends on the flavor), with
    the NSI couplings and the charge radius of the group where ``values`` has them (the
    radius's ΔQ = 2 · 0.02380 ⟨r²⟩ Z, :class:`cevns_bayes.physics.bsm.ChargeRadius`)."""
    from cevns_bayes.physics.bsm import CHARGE_RADIUS_GVP_PER_1E32CM2

    s2w = np.asarray(values.get("sin2_theta_w", c.SIN2_THETA_W_LOW_Q2), float)
    eu = np.asarray(values.get(f"eps_{group}_u", 0.0), float)
    ed = np.asarray(values.get(f"eps_{group}_d", 0.0), float)
    r2 = np.asarray(values.get(_GROUP_POIS[group][2], 0.0), float)
    flavor = _GROUP_FLAVOR[group]
    return sum(
        weak_charge(iso.z, iso.n, 1.0, 1.0, s2w, eu, ed, couplings, flavor)
        + 2.0 * CHARGE_RADIUS_GVP_PER_1E32CM2 * r2 * iso.z
        for iso in c.ISOTOPES
    )


def weak_charge_sign_label_points(
    poi_names: Sequence[str], values: np.ndarray, couplings: str = "tree"
) -> np.ndarray:
    """Band label of each point (rows of ``values``, columns in ``poi_names`` order).

    Only the flavor groups whose couplings are among the POIs appear in a label; with none
    (or only sin²θ_W, which cannot flip a sign inside [0, 1]) every label is ``"all"``.
    """
    arr = np.asarray(values, float)
    if arr.ndim == 0 or arr.shape[-1] != len(poi_names):
        raise ConfigError(
            f"values of shape {arr.shape} have {arr.shape[-1] if arr.ndim else 0} columns "
            f"(last axis) for the POIs {tuple(poi_names)}"
        )
    lead = arr.shape[:-1]
    x = arr.reshape(-1, len(poi_names))
    named = {n: x[:, i] for i, n in enumerate(poi_names)}
    groups = [g for g, names in _GROUP_POIS.items() if any(n in named for n in names)]
    if not groups:
        return np.full(lead or (1,), "all", dtype=object)
    parts = []
    for g in groups:
        q = weak_charge_sum(named, g, couplings)
        parts.append(np.where(q >= 0, f"{g}+", f"{g}-"))
    out = parts[0].astype(object)
    for p in parts[1:]:
        out = out + "," + p.astype(object)
    return out.reshape(lead or (1,))
