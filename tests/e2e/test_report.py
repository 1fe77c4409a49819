"""End to end: ``citypulse report --recording`` writes the meeting's page from a scenario, with
the figures the core engine computes for it, and a browser shows it (headless Chromium)."""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from citypulse.schemas import load_reference
from tests.support.binaries import need_binary
from tests.support.compare import expected_for_partitions
from tests.support.topics_under_test import CONFIG

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios/agency-behind.jsonl.gz"
REF = load_reference()


class Rows(HTMLParser):
    """The text of every table row of the page."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.images: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.images.append(dict(attrs)["src"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def report(out: Path, *args: str) -> Rows:
    run = subprocess.run(
        [sys.executable, "-m", "citypulse", "report", *args, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    rows = Rows()
    rows.feed((out / "index.html").read_text(encoding="utf-8"))
    return rows


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Rows]:
    out = tmp_path_factory.mktemp("report")
    return out, report(out, "--recording", str(SCENARIO), "--period", "day")


def oracle_today() -> dict[str, dict[str, Any]]:
    from citypulse.producers.recording import read_recording

    records = read_recording(SCENARIO)
    report = expected_for_partitions(
        ((r.topic, r.partition, r.offset, r.value or b"") for r in records), CONFIG
    ).report
    return {key.split("/")[1]: a for key, a in report["agencies"].items()}


def test_the_ranking_is_every_agency_by_index_with_the_oracles_figures(
    page: tuple[Path, Rows],
) -> None:
    _, rows = page
    header = ["#", "Agency", "Index", "On time", "Overdue"]
    ranking = rows.rows[rows.rows.index(header) + 1 :][: len(REF.agencies)]
    expected = oracle_today()
    seen = {}
    for number, agency, index, on_time, overdue in ranking:
        code = re.fullmatch(r".* \[(.+)\]", agency)
        assert code is not None, agency
        seen[code[1]] = (int(number), index, on_time, int(overdue))
        assert agency.startswith(REF.agency(code[1]).name)
    assert set(seen) == {a.code for a in REF.agencies}
    today = expected["CAT"]["today"]
    cat = seen["CAT"]
    assert cat[2] == f"{today['resolved_on_time'] / today['resolved']:.1%}"  # 86.7 %
    assert cat[3] == expected["CAT"]["overdue"]
    indexes = [float(i.rstrip("%")) for _, i, _, _ in sorted(seen.values()) if i != "–"]
    assert indexes == sorted(indexes, reverse=True)
    # the agencies with most overdue dossiers: CAT (falling behind) first
    top = rows.rows[rows.rows.index(["Agency", "Overdue"]) + 1]
    assert top[0].endswith("[CAT]")
    assert int(top[1]) == max(a["overdue"] for a in expected.values())


def test_the_charts_are_pictures_a_browser_shows(page: tuple[Path, Rows]) -> None:
    import matplotlib.image

    out, rows = page
    assert rows.images == ["trends.png", "ranking.png"]
    for name in rows.images:
        picture = matplotlib.image.imread(out / name)
        assert picture.shape[0] > 200, name
        assert picture.shape[1] > 500, name
    chromium = need_binary("chromium", "apt-get install chromium")
    shot = out / "screenshot.png"
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--window-size=1200,1600", f"--screenshot={shot}", (out / "index.html").as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )  # fmt: skip
    picture = matplotlib.image.imread(shot)
    assert picture.shape[:2] == (1600, 1200)
    # the tiles' colours are on screen: the green of a KPI above its threshold and the orange
    # of the overdue tile (the page rendered, with its styles, not a blank or an error page)
    top = (picture[:400, :, :3] * 255).round().astype(int).reshape(-1, 3)
    colours = {tuple(c) for c in top}
    assert (55, 135, 45) in colours  # .tile.ok
    assert (224, 117, 45) in colours  # .tile.low
