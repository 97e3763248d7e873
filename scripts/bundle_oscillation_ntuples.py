"""Convert the MiniBooNE 2021 release's oscillation ntuples into the package's bundled format.

Developer script (run once; the package never reads the release at run time):

    python scripts/bundle_oscillation_ntuples.py /path/to/data_release_2021

Writes ``src/mesonportal/data/miniboone/oscillation/{nu,nubar}_fullosc_ntuple.txt.gz``: the
release's rows verbatim (same number strings) behind a ``#`` header naming the source, with

* nu:    ``fhc/miniboone_numunuefullosc_ntuple.txt`` (byte-identical to ``combined/``'s copy);
* nubar: ``combined/miniboone_nubarfullosc_ntuple.txt`` plus a 5th column ``in_rhc_file`` = 1 for
  the rows that also appear (same order, weights x N_rhc/N_combined) in
  ``rhc/miniboone_numubarnuebarfullosc_ntuple.txt`` and 0 for the 31 546 rows only in the
  combined file.
"""

from __future__ import annotations

import gzip
import hashlib
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src/mesonportal/data/miniboone/oscillation"

COMMON = [
    "Source: MiniBooNE 2021 nu_e / nubar_e low-energy-excess data release (arXiv:2006.16883),",
    "  fully oscillated (100% nu_mu -> nu_e transmutation) Monte Carlo ntuple.",
    "Columns: E_QE reconstructed [MeV], E_nu true [MeV], baseline (decay point to interaction) [cm], weight.",
    "Normalisation (release convention, as used by MiniBooNE's fit code): an event contributes",
    "  weight / N_rows expected events at the release exposure for sin^2 2theta = 1 and",
    "  sin^2(1.267 dm2 L/E) = 1, where N_rows is the number of rows in this file.",
]


def _rows(path: Path) -> list[str]:
    return [ln.split() for ln in path.read_text().splitlines() if ln.strip()]


def main(release: str) -> None:
    rel = Path(release)
    OUT.mkdir(parents=True, exist_ok=True)
    fhc = rel / "fhc/miniboone_numunuefullosc_ntuple.txt"
    rows = _rows(fhc)
    md5 = hashlib.md5(fhc.read_bytes()).hexdigest()
    head = ["# " + s for s in COMMON] + [
        f"# File: fhc/miniboone_numunuefullosc_ntuple.txt (md5 {md5}; identical to combined/), neutrino mode,",
        "#   18.75e20 POT.  N_rows = %d" % len(rows),
        "# columns: e_qe_mev  e_true_mev  baseline_cm  weight",
    ]
    with gzip.open(OUT / "nu_fullosc_ntuple.txt.gz", "wt", compresslevel=9) as f:
        f.write("\n".join(head) + "\n")
        f.writelines(" ".join(r) + "\n" for r in rows)

    comb = rel / "combined/miniboone_nubarfullosc_ntuple.txt"
    rhc = rel / "rhc/miniboone_numubarnuebarfullosc_ntuple.txt"
    crow, rrow = _rows(comb), _rows(rhc)
    rkeys = [tuple(round(float(v), 3) for v in r[:3]) for r in rrow]
    j = 0
    flags = []
    for r in crow:
        k = tuple(round(float(v), 3) for v in r[:3])
        if j < len(rkeys) and k == rkeys[j]:
            flags.append("1")
            j += 1
        else:
            flags.append("0")
    if j != len(rkeys):
        raise SystemExit("rhc rows are not an ordered subset of the combined nubar ntuple")
    head = ["# " + s for s in COMMON] + [
        f"# File: combined/miniboone_nubarfullosc_ntuple.txt (md5 {hashlib.md5(comb.read_bytes()).hexdigest()}),",
        "#   antineutrino mode, 11.27e20 POT.  N_rows = %d" % len(crow),
        f"# Column 5 in_rhc_file: 1 for the {len(rrow)} rows that are also (same order) in",
        "#   rhc/miniboone_numubarnuebarfullosc_ntuple.txt, whose weights there are scaled by N_rhc/N_combined",
        "#   so that weight/N_rows per event is the same in both files; 0 for the rows only in the combined file",
        "#   (not labelled by the release; the combined-fit file holds every oscillating component of the",
        "#   antineutrino-mode beam, the rhc file only the nubar_mu -> nubar_e part).",
        "# columns: e_qe_mev  e_true_mev  baseline_cm  weight  in_rhc_file",
    ]
    with gzip.open(OUT / "nubar_fullosc_ntuple.txt.gz", "wt", compresslevel=9) as f:
        f.write("\n".join(head) + "\n")
        f.writelines(" ".join(r) + " " + fl + "\n" for r, fl in zip(crow, flags))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/miniboone/data_release_2021")
