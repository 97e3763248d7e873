"""Malformed CLI invocations (issue #17, deliverable 3): every one must end with exit code 2 and
exactly one line on stderr naming the problem, no traceback, no NaN in any output, and no file
touched anywhere (the working directory, the files given on the command line, the cache).

Each case fails during validation, before any simulation, so the whole table runs in seconds.
``{d}`` is replaced by a scratch directory holding: ``plain.txt`` (an ordinary file),
``notascan/`` (a non-empty directory that is not a scan) and ``scan.parquet`` (a finished toy scan).
"""

from __future__ import annotations

import hashlib
import os
import shlex
from pathlib import Path

import pytest

from mesonportal.analysis.scan import ScanSpec, parse_axis, run_scan, toy_predictor
from mesonportal.cli.main import main

TOY = "--predictor toy --no-progress"
G = "--grid m_x=LOG:1:20:3 --grid coupling_product=LOG:1e-10:1e-7:3"

# (invocation, a fragment the one-line message must contain)
CASES = [
    # seeds
    ("flux --seed -1", "--seed"),
    ("flux --seed 1.5", "--seed"),
    ("predict --benchmark scalar --seed -3", "--seed"),
    ("fit --benchmark scalar --seed 99999999999999999999", "--seed"),
    (f"scan --model scalar {G} --seed -5 --out {{d}}/s1 {TOY}", "--seed"),
    # non-finite, overflowing, denormal and out-of-range parameters
    ("predict --benchmark scalar --param m_x=nan", "'m_x'"),
    ("predict --benchmark scalar --param m_x=inf", "'m_x'"),
    ("predict --benchmark scalar --param m_x=-inf", "'m_x'"),
    ("predict --benchmark scalar --param g_mu=1e400", "'g_mu'"),
    ("predict --benchmark scalar --param m_x=1e-300", "'m_x' = 1e-300 out of range"),
    ("predict --benchmark scalar --param m_x=4.9e-324", "'m_x'"),
    ("predict --benchmark scalar --param m_x=-1", "'m_x'"),
    ("predict --benchmark scalar --param lam=5", "'lam'"),
    ("fit --benchmark idm-double --param eps1=nan", "'eps1'"),
    ("flux --benchmark idm-single --param m_chi=0", "'m_chi'"),
    ("predict --benchmark scalar --param m_x", "name=value"),
    ("predict --benchmark scalar --param =1", "not a valid parameter name"),
    ("predict --benchmark scalar --param m_x=1 --param m_x=2", "more than once"),
    ("predict --model scalar --param m_x=1", "m_zprime"),
    ("predict --model nosuch --param m_x=1", "nosuch"),
    ("predict --benchmark nosuch", "nosuch"),
    ("predict --benchmark scalar --model idm", "not both"),
    ("predict --param m_x=1", "--param needs"),
    # options and values
    ("predict --benchmark scalar --mode foo", "--mode"),
    ("predict --benchmark scalar --samples 0", "--samples"),
    ("predict --benchmark scalar --samples 1e3", "--samples"),
    ("predict --benchmark scalar -e nosuch", "nosuch"),
    ("predict --benchmark scalar -e {d}/plain.txt", "plain.txt"),
    ("fit --benchmark scalar --modes nu,dump", "--modes"),
    ("fit --benchmark scalar --stat foo", "--stat"),
    ("flux --unknown-option", "--unknown-option"),
    ("nosuchcommand", "nosuchcommand"),
    ("data foo", "foo"),
    ("reproduce --benchmarks foo", "--benchmarks"),
    # output paths checked before any work
    ("predict --benchmark scalar --events {d}/out.txt", "--events"),
    ("predict --benchmark scalar --plot /proc/nope", "--plot"),
    ("predict --benchmark scalar --plot {d}/plain.txt", "--plot"),
    ("fit --benchmark scalar --plot /proc/nope", "--plot"),
    ("flux --plot {d}/out.xyz", "unsupported file extension"),
    ("flux --plot {d}/plain.txt/x.png", "--plot"),
    ("reproduce --out /proc/nope", "--out"),
    ("reproduce --out {d}/plain.txt", "--out"),
    ("plot-scan {d}/scan.parquet -o {d}/map.xyz", "unsupported file extension"),
    ("plot-scan {d}/notascan", "not a mesonportal scan"),
    ("plot-scan {d}/missing.parquet", "does not exist"),
    # scan grids: one-point LOG axes, invalid points inside the grid, bad axes, outputs
    (f"scan --model scalar --grid m_x=LOG:1:30:1 --out {{d}}/s2 {TOY}", "one point needs start == stop"),
    (f"scan --model scalar --grid m_x=1,5,-3 --out {{d}}/s3 {TOY}", "grid point m_x=-3 is invalid"),
    (f"scan --model scalar --grid m_x=1e-300,1 --out {{d}}/s4 {TOY}", "grid point m_x=1e-300 is invalid"),
    (f"scan --model scalar --grid m_x=LOG:1:30:3 --grid coupling_product=LOG:-1:1:3 --out {{d}}/s5 {TOY}", "LOG needs"),
    (f"scan --model scalar --grid m_x=LOG:1:nan:3 --out {{d}}/s6 {TOY}", "finite"),
    (f"scan --model scalar --grid m_x=LOG:1:30:3 --fixed g_mu=inf --out {{d}}/s7 {TOY}", "'g_mu'"),
    (f"scan --benchmark idm-single --grid m_v1=LOG:5:30:3 --grid coupling_product=LOG:1e-9:1e6:3 "
     f"--out {{d}}/s8 {TOY}", "grid point"),
    (f"scan --model scalar --grid m_x=LOG:1:30:3 --workers 0 --out {{d}}/s9 {TOY}", "--workers"),
    (f"scan --model scalar {G} --out {{d}}/plain.txt --overwrite {TOY}", "ordinary file"),
    (f"scan --model scalar {G} --out {{d}}/notascan --overwrite {TOY}", "not a scan"),
    (f"scan --model scalar {G} --out {{d}}/scan.parquet {TOY}", "already exists"),
    (f"scan --model scalar {G} --out {{d}}/scan.parquet --resume --seed 7 {TOY}", "different 'seed'"),
    (f"scan --model scalar {G} --out /proc/nope/s.parquet {TOY}", "--out"),
    # other experiments and models
    ("predict -e microboone --benchmark scalar --mode dump", "unknown mode 'dump'"),
    ("experiments --nosuch", "--nosuch"),
    ("t3r --m-aprime nan --m-phiprime 10 --m-dm 5", "'m_aprime'"),
    ("t3r --m-aprime -1 --m-phiprime 10 --m-dm 5", "'m_aprime'"),
    (f"scan --model longlived-vector --fixed m_phi=650 --grid m_chi=1,-2 --out {{d}}/s10 {TOY}", "grid point m_chi=-2"),
    # cache command
    ("cache clear --older-than -1", "--older-than"),
    ("cache clear --kind nosuch", "--kind"),
    ("cache nosuch", "nosuch"),
]


def _snapshot(*roots: Path) -> dict[str, str]:
    out = {}
    for root in roots:
        for p in sorted(root.rglob("*")):
            st = p.lstat()
            digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            out[str(p)] = f"{digest}:{st.st_mtime_ns}"
    return out


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    d = tmp_path_factory.mktemp("malformed")
    (d / "plain.txt").write_text("an ordinary file\n")
    (d / "notascan").mkdir()
    (d / "notascan" / "keep.txt").write_text("keep\n")
    axes = (parse_axis("m_x=LOG:1:20:3"), parse_axis("coupling_product=LOG:1e-10:1e-7:3"))
    spec = ScanSpec("miniboone", "scalar", axes,
                    {"m_zprime": 49.0, "g_mu": 1e-4, "g_e": 0.0, "g_n": 1e-4, "lam": 1e-5, "charge": "up"})
    run_scan(spec, d / "scan.parquet", predictor=toy_predictor)
    return d


def test_table_has_at_least_40_cases():
    assert len(CASES) >= 40 and len({c for c, _ in CASES}) == len(CASES)


@pytest.mark.parametrize("invocation,fragment", CASES, ids=[c for c, _ in CASES])
def test_malformed_invocation(invocation, fragment, scratch, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # anything written to the working directory would show up here
    cache = Path(os.environ["MESONPORTAL_CACHE_DIR"])
    args = shlex.split(invocation.format(d=scratch))
    before = _snapshot(scratch, tmp_path, cache)
    rc = main(args)
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert rc == 2, (rc, err)
    assert len(lines) == 1, err
    assert lines[0].startswith("mesonportal: error: ") and fragment in lines[0], lines[0]
    assert "Traceback" not in err
    assert out == ""  # no partial output at all (hence no NaN in any output)
    assert _snapshot(scratch, tmp_path, cache) == before
