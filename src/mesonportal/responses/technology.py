"""Detector response chosen by ``detector.technology``, applied after the technology-neutral
signal chains (:mod:`mesonportal.detection.signal`).

==================  ====================================================  ==================
technology          response                                              topologies
==================  ====================================================  ==================
``cherenkov-oil``   :class:`~mesonportal.responses.cherenkov.CherenkovResponse`  single shower
``lartpc``          :class:`LArTPCChainResponse` (wraps                   1g0p 1g1p ee0p 1e0p
                    :func:`mesonportal.responses.lartpc.respond`)
``scintillator``    :class:`ScintillatorChainResponse` (wraps             single deposit
                    :mod:`mesonportal.responses.scintillator`)
``tracking-         :class:`GeneratorLevelResponse` (selection applied    single-em
calorimeter``       downstream, :mod:`mesonportal.analysis.highenergy`)
==================  ====================================================  ==================

Every response offers ``name``, ``min_energy_mev`` (dark particles below it cannot give a
visible event, so the chains do not follow them; their weight is reported), ``select_pairs``
(which two-particle final states the chains keep, and the summed shower) and ``reconstruct``
(the reconstructed columns ``e_true, e_vis, cos_theta, e_qe, efficiency, weight``, plus
technology-specific columns).  A new technology is a new response module registered in
:data:`RESPONSES`.

Units: MeV, cm; weights in events per POT.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mesonportal.constants import M_E
from mesonportal.exceptions import ConfigError
from mesonportal.responses.cherenkov import CherenkovResponse
from mesonportal.responses.inputs import lartpc_inputs_from_columns
from mesonportal.responses.lartpc import TOPOLOGIES, LArTPCResponse, respond

__all__ = ["LArTPCChainResponse", "RESPONSES", "response_for"]


class LArTPCChainResponse:
    """The LAr-TPC response (:mod:`mesonportal.responses.lartpc`) as a pipeline stage.

    * ``min_energy_mev`` = the shower threshold: a dark particle of energy E gives photons /
      leptons of total energy ≤ E, so below the threshold no shower can be reconstructed;
    * ``select_pairs`` keeps every pair (no MiniBooNE single-shower cut: the LAr response
      resolves or merges the pair itself); the shower column is the summed four-momentum;
    * ``reconstruct`` builds the visible final state (:func:`lartpc_inputs_from_columns`:
      recoil protons from free-proton targets) and applies :func:`respond` with the detector's
      exact active volume and fiducial volume (beam coordinates; beam axis +z).

    Added columns: ``topology`` (int code, ``LABELS[code]``; 4 = none), ``n_showers``,
    ``proton_ke`` [MeV], ``proton_visible``, ``in_fiducial``.  ``e_true`` is the true visible
    shower energy, ``e_vis`` the smeared one, ``cos_theta`` the smeared direction to the beam
    (NaN without a shower), ``efficiency`` the topology's selection efficiency (0 for none),
    ``e_qe`` the CCQE-formula energy of the shower (for the MiniBooNE-binned histograms only).
    """

    technology = "lartpc"
    name = "lartpc"

    def __init__(self, detector, params: LArTPCResponse | None = None):
        self.detector = detector
        self.params = params if params is not None else (getattr(detector, "response", None) or LArTPCResponse())
        self.min_energy_mev = float(self.params.shower_threshold_mev)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "parameters": self.params.describe(), "topologies": list(TOPOLOGIES)}

    def select_pairs(self, a: NDArray[np.float64], b: NDArray[np.float64]):
        return np.ones(len(a), bool), a + b

    def reconstruct(self, rng: np.random.Generator, columns: dict[str, np.ndarray], shower_p4: np.ndarray,
                    weight: np.ndarray, mode: str, smear: bool = True) -> dict[str, np.ndarray]:
        from mesonportal.analysis.reconstruction import e_qe

        params = self.params
        if not smear:
            params = dataclasses.replace(params, energy_resolution_stochastic=0.0, energy_resolution_constant=0.0,
                                         angular_resolution_deg=0.0)
        cols = dict(columns)
        cols["weight_before_efficiency"] = np.asarray(weight, float)
        inp = lartpc_inputs_from_columns(cols)
        det = self.detector
        res = respond(params, inp["vertex"], inp["em_p4"], inp["em_pdg"], inp["proton_ke"], inp["weight"],
                      active=det.geometry, fiducial=det.fiducial if det.fiducial is not None else det.geometry,
                      rng=rng, beam_direction=(0.0, 0.0, 1.0))
        p4 = inp["em_p4"]
        kin = np.where(np.abs(inp["em_pdg"]) == 11, p4[..., 0] - M_E, p4[..., 0])
        visible = (inp["em_pdg"] != 0) & (kin > params.shower_threshold_mev)
        visible &= (inp["em_pdg"] != 22) | res.converts_inside
        e_true = np.sum(np.where(visible, p4[..., 0], 0.0), axis=1)
        has = res.n_showers > 0
        eqe = np.full(len(e_true), np.inf)
        if np.any(has):
            eqe[has] = e_qe(res.shower_energy_mev[has], np.clip(res.cos_theta_beam[has], -1.0, 1.0), mode)
        return {
            "e_true": e_true, "e_vis": res.shower_energy_mev, "cos_theta": res.cos_theta_beam, "e_qe": eqe,
            "efficiency": res.efficiency, "weight": res.weight_selected, "topology": res.topology_code,
            "n_showers": res.n_showers, "proton_ke": inp["proton_ke"], "proton_visible": res.proton_visible,
            "in_fiducial": res.in_fiducial,
        }


class ScintillatorChainResponse:
    """The scintillator response (:class:`mesonportal.responses.scintillator.ScintillatorResponse`,
    the detector's ``[detector.response]``) as a pipeline stage: calorimetric, no ring imaging,
    so every pair (γγ or e⁺e⁻) is one deposit of the summed four-momentum; dark particles are
    followed down to half the lowest accepted visible energy (room for the energy smearing);
    ``reconstruct`` smears the energy and applies threshold, window and efficiency."""

    technology = "scintillator"
    name = "scintillator"

    def __init__(self, detector):
        self.detector = detector
        self.params = getattr(detector, "response", None)
        if self.params is None:
            raise ConfigError("detector.technology = 'scintillator' needs a [detector.response] section")
        self.min_energy_mev = 0.5 * float(self.params.min_energy_mev)

    def describe(self) -> dict[str, Any]:
        return self.params.describe()

    def select_pairs(self, a: NDArray[np.float64], b: NDArray[np.float64]):
        return np.ones(len(a), bool), a + b

    def reconstruct(self, rng: np.random.Generator, columns: dict[str, np.ndarray], shower_p4: np.ndarray,
                    weight: np.ndarray, mode: str, smear: bool = True) -> dict[str, np.ndarray]:
        return self.params.reconstruct(rng, shower_p4, weight, smear=smear)


class GeneratorLevelResponse:
    """Truth-level stand-in for technologies whose selection is applied downstream of the
    prediction (``tracking-calorimeter``: the high-energy beams' selections in
    :mod:`mesonportal.analysis.highenergy`): every dark particle is followed
    (``min_energy_mev`` = 0), every pair is kept as one EM object (summed four-momentum), and
    ``reconstruct`` returns the true shower energy and direction with efficiency 1 — no
    MiniBooNE cut or efficiency is applied to a non-Cherenkov detector."""

    name = "generator-level"

    def __init__(self, technology: str):
        self.technology = technology
        self.min_energy_mev = 0.0

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "technology": self.technology, "min_energy_mev": 0.0}

    def select_pairs(self, a: NDArray[np.float64], b: NDArray[np.float64]):
        return np.ones(len(a), bool), a + b

    def reconstruct(self, rng: np.random.Generator, columns: dict[str, np.ndarray], shower_p4: np.ndarray,
                    weight: np.ndarray, mode: str, smear: bool = True) -> dict[str, np.ndarray]:
        from mesonportal.analysis.reconstruction import e_qe

        p4 = np.asarray(shower_p4, float).reshape(-1, 4)
        p = np.linalg.norm(p4[:, 1:], axis=1)
        cos = np.clip(np.divide(p4[:, 3], p, out=np.ones(len(p)), where=p > 0), -1.0, 1.0)
        e = p4[:, 0].copy()
        w = np.asarray(weight, float)
        return {"e_true": e, "e_vis": e.copy(), "cos_theta": cos, "e_qe": e_qe(e, cos, mode),
                "efficiency": np.ones(len(e)), "weight": w.copy()}


#: technology name → response class.
RESPONSES: dict[str, Any] = {"cherenkov-oil": CherenkovResponse, "lartpc": LArTPCChainResponse,
                             "scintillator": ScintillatorChainResponse,
                             "tracking-calorimeter": GeneratorLevelResponse}


def response_for(detector, criterion: str = "circle"):
    """The response of ``detector.technology`` (``criterion``: MiniBooNE single-shower
    criterion, used by the Cherenkov response only)."""
    tech = getattr(detector, "technology", "cherenkov-oil")
    if tech == "cherenkov-oil":
        return CherenkovResponse(criterion)
    if tech == "lartpc":
        return LArTPCChainResponse(detector)
    if tech == "scintillator":
        return ScintillatorChainResponse(detector)
    if tech in RESPONSES:
        return RESPONSES[tech](tech)
    raise ConfigError(f"detector.technology = {tech!r} has no response module; allowed: {', '.join(RESPONSES)}")

