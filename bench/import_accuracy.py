"""How well `workflow import` reads the shared plans, and how fast against its reader alone.

    .venv/bin/python bench/import_accuracy.py            # the accuracy table
    .venv/bin/python bench/import_accuracy.py --speed    # also: import vs text extraction

Accuracy compares each draft with tests/data/import/truth (ref, lead, support, due as a date,
one reader's careful reading of the source). Tasks are matched by ref. Due is compared as the
engine reads it (workflow.plan.dates); supporting agencies by name, as F1 over all tasks.
Speed builds the Đồng Nai plan (94 tasks) as .docx and .pdf, then times, in the same run,
the import against only extracting its text with the same library (median of 5).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.documents import write_docx, write_pdf  # noqa: E402
from workflow.plan.dates import parse_deadline  # noqa: E402
from workflow.plan.datevalues import DateParseError  # noqa: E402
from workflow.plan.importer import import_document  # noqa: E402
from workflow.plan.importer.sources import read_blocks  # noqa: E402

DATA = ROOT / "tests" / "data" / "import"


def measure(source: Path) -> dict:
    data = import_document(source).data()
    names = {i: a["name"] for i, a in data["agencies"].items()}
    got = {}
    for t in data["tasks"].values():
        leads = [t["lead"]] if isinstance(t["lead"], str) else t["lead"]
        due = _due(t["due"])
        got[t["ref"]] = ([names[x] for x in leads], {names[x] for x in t["support"]},
                         due.isoformat() if due else None)
    truth = yaml.safe_load((DATA / "truth" / f"{source.stem}.yaml").read_text("utf-8"))
    found = [r for r in truth if r["ref"] in got]
    tp = fp = fn = 0
    for r in found:
        g = got[r["ref"]][1]
        tp, fp, fn = tp + len(g & set(r["support"])), fp + len(g - set(r["support"])), \
            fn + len(set(r["support"]) - g)
    return {"plan": source.stem, "truth": len(truth), "found": len(found),
            "extra": len(got) - len(found),
            "lead": sum(got[r["ref"]][0] == r["lead"] for r in found),
            "due": sum(got[r["ref"]][2] == r["due"] for r in found),
            "tp": tp, "fp": fp, "fn": fn}


def _due(phrase: str | None):
    """The due date the engine reads from the draft's phrase (None: no date, or unreadable)."""
    try:
        return parse_deadline(phrase).due if phrase else None
    except DateParseError:
        return None


def table() -> None:
    rows = [measure(p) for p in sorted((DATA / "sources").glob("*.txt"))]
    total = {k: sum(r[k] for r in rows) for k in rows[0] if k != "plan"}
    print("| plan | tasks | found | extra | lead | due | support F1 |")
    print("|---|---|---|---|---|---|---|")
    for r in [*rows, {"plan": "**all 7**", **total}]:
        f1 = 2 * r["tp"] / max(2 * r["tp"] + r["fp"] + r["fn"], 1)
        print(f"| {r['plan']} | {r['truth']} | {r['found'] / r['truth']:.0%} | "
              f"{r['extra'] / r['truth']:.0%} | {r['lead'] / max(r['found'], 1):.0%} | "
              f"{r['due'] / max(r['found'], 1):.0%} | {f1:.2f} |")


def _docx_text(path: Path) -> None:
    import docx
    d = docx.Document(str(path))
    for item in d.iter_inner_content():
        if isinstance(item, docx.table.Table):
            _ = [c.text for row in item.rows for c in row.cells]
        else:
            _ = item.text


def _pdf_text(path: Path) -> None:
    import pdfplumber
    with pdfplumber.open(str(path)) as pdf:
        for page in pdf.pages:
            page.extract_tables()
            page.extract_text_lines()


def _median(fn, path: Path) -> float:
    times = []
    for _ in range(5):
        start = time.perf_counter()
        fn(path)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def speed() -> None:
    source = DATA / "sources" / "01-dong-nai-kh179-kinh-te-so.txt"
    _kind, blocks = read_blocks(source)
    with tempfile.TemporaryDirectory() as tmp:
        files = {"docx": (write_docx(blocks, Path(tmp) / "p.docx"), _docx_text),
                 "pdf": (write_pdf(blocks, Path(tmp) / "p.pdf"), _pdf_text)}
        print("\n| Đồng Nai, 94 tasks | import | text only, same library | ratio |")
        print("|---|---|---|---|")
        for kind, (path, extract) in files.items():
            full, base = _median(import_document, path), _median(extract, path)
            print(f"| .{kind} | {full:.2f} s | {base:.2f} s | {full / base:.2f}× |")


if __name__ == "__main__":
    table()
    if "--speed" in sys.argv:
        speed()
