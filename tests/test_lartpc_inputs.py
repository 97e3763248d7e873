"""Event columns of the signal chains -> LAr-TPC response inputs.

References: for elastic scattering on a free proton at rest the recoil kinetic energy equals
the energy transfer and -t / (2 m_p) (two-body kinematics; m_p from the PDG via `particle`);
process codes and column names of mesonportal.detection.signal.
"""

from __future__ import annotations

import numpy as np
import pytest

from mesonportal import constants as C
from mesonportal.exceptions import ParameterError
from mesonportal.responses import LArTPCResponse, respond
from mesonportal.responses.inputs import lartpc_inputs_from_columns


def test_scalar_prediction_columns_to_response():
    from mesonportal.analysis.predict import predict_signal
    from mesonportal.models.registry import load_benchmark

    # the even species split (the meson sample this test was written for): 1g1p events are
    # rare (~1e-8 of the rate), so whether 3000 mesons contain one depends on the sample
    s = predict_signal("miniboone", "nu", load_benchmark("scalar"), samples=3000, allocation="even")
    cols = s.columns
    origin = (0.0, 0.0, 54100.0)  # MiniBooNE sphere centre (beam coordinates)
    inp = lartpc_inputs_from_columns(cols, detector_origin_cm=origin)
    n = len(cols["process"])
    assert inp["vertex"].shape == (n, 3) and inp["em_p4"].shape == (n, 2, 4)
    assert np.all(np.linalg.norm(inp["vertex"], axis=1) <= 610.6 + 1e-6)
    prim_p = (cols["process"] == 0) & (cols["target"] == 1)
    assert prim_p.any()
    # recoil kinetic energy = energy transfer = -t / (2 m_p) for a free proton at rest
    np.testing.assert_allclose(inp["proton_ke"][prim_p], -cols["t"][prim_p] / (2 * C.M_P), rtol=1e-6, atol=1e-9)
    assert np.all(inp["proton_ke"][cols["target"] != 1] == 0)
    assert np.all(inp["em_pdg"][cols["process"] == 0] == (22, 0))
    assert np.all(inp["em_pdg"][cols["process"] == 1] == (22, 22))
    # run the response on a box around the sphere: everything is classified, weights conserved
    box = [((-611.0, -611.0, -611.0), (611.0, 611.0, 611.0))]
    res = respond(LArTPCResponse(), inp["vertex"], inp["em_p4"], inp["em_pdg"], inp["proton_ke"], inp["weight"],
                  active=box, fiducial=box, rng=np.random.default_rng(1))
    assert res.weight.sum() == pytest.approx(cols["weight_before_efficiency"].sum())
    by = res.events_by_topology()
    assert by["1g0p"] > 0 and by["1g1p"] > 0


def test_upscattering_proton_attribution_and_errors():
    base = {
        "process": np.array([3, 3]), "target": np.array([1, 1]),
        "dark_e": np.array([800.0, 800.0]), "chip_e": np.array([780.0, 780.0]),
        "p1_e": np.array([300.0, 300.0]), "p1_px": np.zeros(2), "p1_py": np.zeros(2), "p1_pz": np.array([300.0, 300.0]),
        "p2_e": np.array([200.0, 200.0]), "p2_px": np.zeros(2), "p2_py": np.zeros(2), "p2_pz": np.array([200.0, 200.0]),
        "int_x": np.zeros(2), "int_y": np.zeros(2), "int_z": np.array([100.0, 100.0]),
        "decay_x": np.zeros(2), "decay_y": np.zeros(2), "decay_z": np.array([101.0, 150.0]),
        "weight_before_efficiency": np.ones(2),
    }
    for k in ("dark", "chip"):
        base[f"{k}_px"], base[f"{k}_py"], base[f"{k}_pz"] = np.zeros(2), np.zeros(2), base[f"{k}_e"] * 0.99
    inp = lartpc_inputs_from_columns(base, proton_vertex_tolerance_cm=2.0)
    # proton at the e+e- vertex only when the chi' flew less than 2 cm
    assert inp["proton_ke"].tolist() == [20.0, 0.0]
    np.testing.assert_array_equal(inp["vertex"][:, 2], [101.0, 150.0])
    assert np.all(inp["em_pdg"] == (11, -11))
    with pytest.raises(ParameterError, match="lack"):
        lartpc_inputs_from_columns({"process": np.zeros(1)})
    bad = dict(base, process=np.array([7, 3]))
    with pytest.raises(ParameterError, match="unknown process"):
        lartpc_inputs_from_columns(bad)
