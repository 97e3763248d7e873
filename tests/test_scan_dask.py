"""Reliability of Dask scans on a real ``distributed.LocalCluster`` (loopback, 2 worker
processes, 1 thread each), with the deterministic synthetic predictor (small sleep to keep
tasks in flight):

* a worker killed mid-scan → the scan completes, every point present exactly once;
* the client interrupted mid-scan → ``resume`` completes it without recomputing finished points;
* results bitwise identical to a serial run (same seed).
"""

from __future__ import annotations

import functools
import os
import threading
import time

import pytest

from mesonportal.analysis import scan_io
from mesonportal.analysis.scan import ScanSpec, parse_axis, run_scan, toy_predictor
from mesonportal.exceptions import ScanInterrupted

import distributed  # a test dependency (pyproject [test]): a missing Dask is an error, not a skip

FIXED = {"m_zprime": 49.0, "g_mu": 1e-4, "g_e": 0.0, "g_n": 1e-4, "lam": 1e-5, "charge": "up"}
SPEC = ScanSpec("miniboone", "scalar", (parse_axis("m_x=LOG:1:30:10"), parse_axis("coupling_product=LOG:1e-10:1e-6:8")),
                FIXED)
SLOW = functools.partial(toy_predictor, delay=0.1)  # 3 modes → 0.3 s per mass point


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                       host="127.0.0.1")
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def serial_reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "serial.parquet"
    run_scan(SPEC, out, predictor=toy_predictor)
    return scan_io.read_scan(out)


def _ids(out):
    return scan_io.read_scan(out).column("point_id").to_pylist()


def test_dask_equals_serial_bitwise(client, tmp_path, serial_reference):
    out = tmp_path / "dask.parquet"
    s = run_scan(SPEC, out, client=client, predictor=toy_predictor)
    assert s.backend == "dask:client" and s.computed_mass_points == 10
    assert scan_io.read_scan(out).equals(serial_reference)


def test_worker_killed_mid_scan(client, tmp_path, serial_reference):
    out = tmp_path / "kill.parquet"
    killed = []

    def kill_busy_worker(done, total):
        if killed:
            return
        busy = [w for w, keys in client.processing().items() if keys]
        if busy:  # hard-kill the process (the nanny restarts it; its tasks are rescheduled)
            # (a lambda is pickled by value; the worker exits 50 ms after replying)
            client.run(lambda: threading.Timer(0.05, os._exit, (1,)).start(), workers=[busy[0]])
            killed.append(busy[0])

    s = run_scan(SPEC, out, client=client, predictor=SLOW, on_point=kill_busy_worker)
    assert killed, "no worker was busy after the first point"
    assert s.computed_mass_points == 10
    ids = _ids(out)
    assert ids == list(range(SPEC.n_points))  # every point exactly once
    assert len([f for f in out.iterdir() if f.name.startswith("part-")]) == 10
    assert scan_io.read_scan(out).equals(serial_reference)
    client.wait_for_workers(2, timeout=30)


def test_client_interrupted_then_resume(client, tmp_path, serial_reference):
    out = tmp_path / "int.parquet"
    seen = []

    def interrupt(done, total):
        seen.append(done)
        if len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.raises(ScanInterrupted):
        run_scan(SPEC, out, client=client, predictor=SLOW, on_point=interrupt)
    time.sleep(0.5)  # in-flight tasks finishing on the workers must not write anything
    before = {f.name: (f.stat().st_mtime_ns, f.stat().st_ino) for f in out.iterdir() if f.name.startswith("part-")}
    assert len(before) == 3
    s = run_scan(SPEC, out, client=client, predictor=SLOW, resume=True)
    assert (s.computed_mass_points, s.skipped_mass_points) == (7, 3)
    for name, st in before.items():  # finished points were not recomputed / rewritten
        f = out / name
        assert (f.stat().st_mtime_ns, f.stat().st_ino) == st
    assert _ids(out) == list(range(SPEC.n_points))
    assert scan_io.read_scan(out).equals(serial_reference)


def test_local_cluster_backend_started_by_run_scan(tmp_path, serial_reference):
    """workers=2 without a client: run_scan starts and closes its own LocalCluster."""
    out = tmp_path / "own.parquet"
    s = run_scan(SPEC, out, workers=2, predictor=toy_predictor)
    assert s.backend == "dask:local(2)"
    assert scan_io.read_scan(out).equals(serial_reference)


def test_ctrl_c_in_local_dask_scan_gives_one_clean_line(tmp_path):
    """SIGINT to the whole process group (what Ctrl-C in a terminal does) during a LocalCluster
    scan: exit code 130, exactly one stderr line naming the saved points and --resume, no worker
    traceback; the saved parts are valid."""
    import os
    import signal
    import subprocess
    import sys

    helper = tmp_path / "slowtoy_mod.py"
    helper.write_text("import functools\nfrom mesonportal.analysis.scan import toy_predictor\n"
                      "slow = functools.partial(toy_predictor, delay=0.5)\n")
    out = tmp_path / "s.parquet"
    cmd = [sys.executable, "-c", "import sys; from mesonportal.cli.main import main; sys.exit(main())",
           "scan", "--model", "scalar", "--grid", "m_x=LOG:1:20:40", "--grid", "coupling_product=LOG:1e-10:1e-7:3",
           "--out", str(out), "--predictor", "slowtoy_mod:slow", "--workers", "2", "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(tmp_path) + os.pathsep + os.environ.get("PYTHONPATH", "")}

    def pre():
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.setsid()

    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, preexec_fn=pre)
    deadline = time.time() + 60
    while time.time() < deadline and not list(out.glob("part-*.parquet")):
        time.sleep(0.2)
    os.killpg(p.pid, signal.SIGINT)
    _, err = p.communicate(timeout=60)
    lines = err.strip().splitlines()
    assert p.returncode == 130, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("mesonportal: scan aborted: ") and "rerun with --resume" in lines[0]
    st = scan_io.scan_status(out)
    assert st.valid and not st.invalid and len(st.valid) < 40
