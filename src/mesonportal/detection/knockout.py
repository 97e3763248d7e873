"""Neutron knock-out by incoherent dark Primakoff scattering (LSND's neutron-capture tag).

LSND tags ν̄_e p → e⁺ n by the 2.2 MeV γ of n p → d γ.  A scalar/pseudoscalar X converting on a
*bound nucleon* of carbon (X N → γ N, incoherent) can also free a neutron and fake that tag.
This module estimates, for a long-lived (pseudo)scalar with the Z′ dark Primakoff interaction of
:mod:`mesonportal.detection.primakoff`, the share of the signal that ejects a neutron.

Model (stated; every number is an explicit argument):

* Targets per nucleus of each element with Z > 1: the coherent nucleus (Helm), Z bound protons
  and N bound neutrons; hydrogen: free protons.  Bound nucleons scatter as free Dirac nucleons
  (dipole form factor) of Z′ charge g_n(2c_u + c_d) (proton) and g_n(c_u + 2c_d) (neutron) —
  the model's quark-charge convention (for the default up-quark Z′ the neutron has ¼ of the
  proton's cross section).  Coherent and incoherent rates are simply added (no Pauli blocking,
  no suppression of the coherent part at large |t|, no Fermi motion, no final-state interactions).
* A struck **neutron** is ejected when its free-nucleon recoil kinetic energy |t|/(2m_n) exceeds
  the neutron separation energy of the nucleus, ``S_n`` (¹²C: 18.72 MeV, AME2020 mass
  evaluation; an explicit argument).  A struck proton never gives a neutron here.

Consequence for decay-at-rest sources: E_X ≤ 29.8 MeV gives |t| ≤ (2E_X)² and a recoil energy
≤ ~2 MeV < S_n: X from π⁺ at rest cannot knock out a neutron in this model; only X from decays in
flight can.  Units: MeV, cm; rates per POT.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mesonportal.constants import M_N
from mesonportal.exceptions import ParameterError

__all__ = ["S_N_MEV", "neutron_target", "knockout_fractions"]

#: Neutron separation energies S_n [MeV] (AME2020 atomic-mass evaluation): ¹²C 18.722, ¹⁶O 15.664, ⁴⁰Ar 9.869.
S_N_MEV: dict[int, float] = {6: 18.722, 8: 15.664, 18: 9.869}


def neutron_target():
    """A free Dirac neutron as a :class:`~mesonportal.detection.targets.NuclearTarget` (Z = 0, A = 1)."""
    from mesonportal.detection.targets import NuclearTarget

    return NuclearTarget("n", 0, 1, M_N, 0.5)


def knockout_fractions(model, detector, arrivals, rng: np.random.Generator,
                       separation_energy_mev: dict[int, float] | None = None) -> dict[str, Any]:
    """Primakoff interaction rates per POT of ``arrivals`` (long-lived X at the detector,
    :func:`mesonportal.detection.signal.scalar_arrivals`) by target class — ``coherent``,
    ``free_proton``, ``bound_proton``, ``bound_neutron`` — the rate with an ejected neutron, and
    ``neutron_fraction_of_incoherent`` / ``neutron_fraction_of_total`` (see the module docstring)."""
    from mesonportal.detection import primakoff as pk
    from mesonportal.detection.targets import TARGETS, nucleus_target
    from mesonportal.experiments.media import elements

    if not all(hasattr(model, k) for k in ("m_zprime", "lam_eff", "nuclear_charge", "proton_charge")):
        raise ParameterError(f"model {getattr(model, 'name', model)!r}: neutron knock-out needs the Z' dark "
                             "Primakoff interaction (scalar or pseudoscalar)")
    s_n = dict(S_N_MEV if separation_energy_mev is None else separation_energy_mev)
    m_x, m_zp, lam = float(model.m_x), float(model.m_zprime), float(model.lam_eff)
    hit = arrivals.chord > 0.0
    p4 = arrivals.p4[hit]
    w = arrivals.weight[hit] * arrivals.survival[hit] * arrivals.chord[hit]
    e = p4[:, 0]
    rates = {"coherent": 0.0, "free_proton": 0.0, "bound_proton": 0.0, "bound_neutron": 0.0,
             "bound_neutron_ejected": 0.0}
    q_p = model.proton_charge()
    q_n = model.nuclear_charge(0, 1)
    n_tgt = neutron_target()
    proton = TARGETS["p"]
    for sym, dens in detector.number_densities_cm3().items():
        el = elements()[sym]
        if len(e) == 0:
            break
        if el.Z == 1:
            rates["free_proton"] += float(np.sum(w * dens * pk.total_cross_section(e, m_x, m_zp, lam, q_p, proton)))
            continue
        nuc = nucleus_target(el.Z, el.isotope)
        rates["coherent"] += float(np.sum(w * dens * pk.total_cross_section(
            e, m_x, m_zp, lam, model.nuclear_charge(nuc.Z, nuc.A), nuc)))
        rates["bound_proton"] += float(np.sum(w * dens * el.Z * pk.total_cross_section(e, m_x, m_zp, lam, q_p, proton)))
        n_per = nuc.A - nuc.Z
        sig_n = pk.total_cross_section(e, m_x, m_zp, lam, q_n, n_tgt)
        r_n = w * dens * n_per * sig_n
        rates["bound_neutron"] += float(np.sum(r_n))
        if el.Z not in s_n:
            raise ParameterError(f"no neutron separation energy for Z = {el.Z}; pass separation_energy_mev")
        ok = sig_n > 0
        if np.any(ok):
            _, t = pk.sample_photon(rng, p4[ok], m_x, m_zp, n_tgt)
            t_rec = np.abs(np.asarray(t, float)) / (2.0 * M_N)
            rates["bound_neutron_ejected"] += float(np.sum(r_n[ok][t_rec > s_n[el.Z]]))
    incoh = rates["free_proton"] + rates["bound_proton"] + rates["bound_neutron"]
    total = incoh + rates["coherent"]
    return {"rates_per_pot": rates,
            "neutron_fraction_of_incoherent": rates["bound_neutron_ejected"] / incoh if incoh > 0 else 0.0,
            "neutron_fraction_of_total": rates["bound_neutron_ejected"] / total if total > 0 else 0.0,
            "separation_energy_mev": s_n,
            "model": "free Dirac nucleons (dipole), knock-out if |t|/(2 m_n) > S_n; no Fermi motion, Pauli "
                     "blocking or final-state interactions"}
