"""Physical constants and the exposure of the CsI[Na] 2021 data set: each number lives here only.

Units are in the names: ``_mev``, ``_fm``, ``_cm``, ``_ns``, ``_us``. Sources:
PDG 2022 (masses, G_F, hbar*c), CODATA 2018 (proton radius), AME2020 (atomic masses),
Fricke et al. / Angeli & Marinova 2013 (charge radii), and the COHERENT CsI 2021 release
(arXiv:2110.07730, Appendix A) for everything about the detector and the beam.
"""

from __future__ import annotations

import math

# --- Fundamental constants (PDG 2022) --------------------------------------------------------
FERMI_CONSTANT_MEV2 = 1.1663788e-11  # G_F / (hbar c)^3, MeV^-2
HBARC_MEV_FM = 197.3269804  # hbar c, MeV fm
HBARC_MEV_CM = HBARC_MEV_FM * 1e-13  # hbar c, MeV cm
ATOMIC_MASS_UNIT_MEV = 931.49410242
ELECTRON_MASS_MEV = 0.51099895
PROTON_MASS_MEV = 938.27208816
NEUTRON_MASS_MEV = 939.56542052
MUON_MASS_MEV = 105.6583755
W_MASS_MEV = 80377.0
CHARGED_PION_MASS_MEV = 139.57039
AVOGADRO = 6.02214076e23
PION_LIFETIME_NS = 26.033
MUON_LIFETIME_NS = 2196.9811

#: Fine-structure constant at zero momentum transfer (CODATA 2018)
FINE_STRUCTURE_CONSTANT = 1.0 / 137.035999084
#: PDG 2022 MS-bar light-quark masses at 2 GeV, MeV (the scalar-mediator charges,
#: cevns_bayes/physics/bsm.py)
QUARK_MASS_MEV = {"u": 2.16, "d": 4.67, "s": 93.4}

# --- Electroweak couplings --------------------------------------------------------------------
#: Low-Q^2 weak mixing angle in the MS-bar scheme (PDG; COHERENT 2021 quotes 0.23857(5)).
SIN2_THETA_W_LOW_Q2 = 0.23857
#: Couplings with radiative corrections (Erler & Su; used as the "radiative" convention):
#: g_V^p = 0.0229, g_V^n = -0.5117 (README, *Cross-section conventions*).
GV_PROTON_RADIATIVE = 0.0229
GV_NEUTRON_RADIATIVE = -0.5117
#: The flavor-dependent charge-radius convention of COHERENT's public rate code (dukecevns,
#: ``xscns.cc``: ``sm_vector_couplings`` and ``chgradcorr``): g_V^n = -0.5117 and
#: g_V^p = 0.0227 + delta_alpha, with the neutrino charge-radius corrections delta_alpha of
#: Giunti et al. added to the proton coupling. The code has two sets: the legacy one, which
#: flips the sign of delta for antineutrinos (the convention the paper's SM cross sections rest
#: on, and which the code itself marks as an error, "see Errata 2020 for Giunti"), and the
#: corrected one, the same for neutrino and antineutrino.
GV_PROTON_CHARGE_RADIUS_BASE = 0.0227
GV_NEUTRON_CHARGE_RADIUS = -0.5117
CHARGE_RADIUS_DELTA_LEGACY = {"e": 0.02191, "mu": 0.01267}
CHARGE_RADIUS_DELTA_CORRECTED = {"e": 0.0212196, "mu": 0.0122716}

# --- Nucleon size corrections (CODATA 2018 / PDG) ---------------------------------------------
PROTON_CHARGE_RADIUS_FM = 0.8414
NEUTRON_CHARGE_RADIUS_SQ_FM2 = -0.1161
#: Darwin-Foldy term 3/4 (hbar/(m_p c))^2, fm^2
DARWIN_FOLDY_FM2 = 0.75 * (HBARC_MEV_FM / PROTON_MASS_MEV) ** 2
#: Helm surface thickness, fm (Lewin & Smith 1996)
HELM_SKIN_FM = 0.9
#: Helm box radius R_0 = HELM_A13_FM * A^(1/3) of COHERENT's rate code (dukecevns), the same
#: for protons and neutrons (rms radii 4.994 fm for 133Cs, 4.925 fm for 127I with s = 0.9 fm)
HELM_A13_FM = 1.2


class Isotope:
    """A target nucleus: proton and neutron numbers, nuclear mass and radii."""

    def __init__(
        self,
        name: str,
        z: int,
        n: int,
        atomic_mass_u: float,
        charge_radius_fm: float,
        neutron_radius_fm: float,
    ) -> None:
        self.name = name
        self.z = z
        self.n = n
        self.atomic_mass_u = atomic_mass_u
        self.charge_radius_fm = charge_radius_fm
        self.neutron_radius_fm = neutron_radius_fm

    @property
    def mass_mev(self) -> float:
        """Nuclear mass in MeV (atomic mass less the electrons; binding of electrons neglected)."""
        return self.atomic_mass_u * ATOMIC_MASS_UNIT_MEV - self.z * ELECTRON_MASS_MEV

    @property
    def proton_radius_fm(self) -> float:
        """Point-proton rms radius from the charge radius, with the nucleon-size corrections.

        R_p^2 = R_ch^2 - r_p^2 - 3/(4 m_p^2) - (N/Z) <r_n^2>.
        """
        r2 = (
            self.charge_radius_fm**2
            - PROTON_CHARGE_RADIUS_FM**2
            - DARWIN_FOLDY_FM2
            - (self.n / self.z) * NEUTRON_CHARGE_RADIUS_SQ_FM2
        )
        return math.sqrt(r2)

    def __repr__(self) -> str:
        return f"Isotope({self.name}, Z={self.z}, N={self.n})"


#: Target nuclei. Charge radii 4.804 fm (133Cs) and 4.750 fm (127I) (Angeli & Marinova 2013);
#: nominal neutron rms radii 5.01 fm and 4.94 fm from the relativistic mean-field NL-Z2
#: calculation used by Cadeddu et al. (PRL 120, 072501; PRD 102, 015030). The R_n nuisance scales
#: both by the same factor (prior +-5%).
CS133 = Isotope(
    "Cs133", z=55, n=78, atomic_mass_u=132.905451961, charge_radius_fm=4.804, neutron_radius_fm=5.01
)
I127 = Isotope(
    "I127", z=53, n=74, atomic_mass_u=126.904473, charge_radius_fm=4.750, neutron_radius_fm=4.94
)
ISOTOPES = (CS133, I127)

# --- Exposure and detector (COHERENT CsI 2021 release, Appendix A) ----------------------------
PROTONS_ON_TARGET = 3.198e23
NEUTRINOS_PER_FLAVOR_PER_POT = 0.0848
BASELINE_CM = 1930.0
DETECTOR_MASS_KG = 14.6
CSI_MOLAR_MASS_G = 259.81
#: CsI molecules in the detector (one Cs and one I nucleus each)
N_MOLECULES = DETECTOR_MASS_KG * 1000.0 / CSI_MOLAR_MASS_G * AVOGADRO
#: Time-integrated neutrino fluence per flavor at the detector, cm^-2
FLUENCE_PER_FLAVOR_CM2 = (
    NEUTRINOS_PER_FLAVOR_PER_POT * PROTONS_ON_TARGET / (4.0 * math.pi * BASELINE_CM**2)
)

#: Light yield, PE per keVee
LIGHT_YIELD_PE_PER_KEVEE = 13.35
#: Gamma smearing: shape parameter b = SMEARING_B_PER_PE * mean PE (Appendix A, Eq. A5)
SMEARING_B_PER_PE = 0.716
#: Time efficiency eps_T(t) = 1 for t < a, exp(-b (t - a)) after (Appendix A, Eq. A1)
TIME_EFFICIENCY_ONSET_US = 0.52
TIME_EFFICIENCY_DECAY_PER_US = 0.0494
#: Steady-state background time shape exp(k t), k = -0.0494 / µs (Appendix A)
SSB_DECAY_PER_US = 0.0494

#: Proton pulse averaged over the CsI run: FWHM (arXiv:2110.07730, Sec. 2)
PROTON_PULSE_FWHM_NS = 378.0

#: Region of interest of the cross-section fit
ROI_PE_MAX = 60.0
ROI_T_MIN_US = 0.0
ROI_T_MAX_US = 6.0

#: Unit conversion: cross sections are reported in 1e-40 cm^2
CM2_PER_1E40 = 1e-40
