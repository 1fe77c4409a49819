"""Reference data: the packaged province and the checks on a hand-edited file."""

from __future__ import annotations

from pathlib import Path

import pytest

from citypulse.schemas import load_reference
from citypulse.schemas.reference import ReferenceDataError

PACKAGED = Path(__file__).parents[2] / "schemas" / "data" / "reference.toml"


def test_packaged_province_is_shaped_like_thua_thien_hue() -> None:
    ref = load_reference()
    assert ref.province == "TTH"
    assert len(ref.districts) == 9
    assert 35 <= len(ref.agencies) <= 45  # CONTRACT §7: ~40 agencies
    per_day = sum(p.daily_volume * len(ref.handlers(p)) for p in ref.procedures)
    assert 700 <= per_day <= 1300  # ~1,000 dossiers a working day
    assert {p.service_level for p in ref.procedures} == {"full_process", "partial", "offline"}
    assert dict(ref.index_weights).keys() >= {"on_time_resolution", "electronic_document"}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('level = "province"', 'level = "ministry"', 1), "level must be one of"),
        (('district = "HUE"', 'district = "XXX"', 1), "unknown district XXX"),
        (('agency = "SKHDT"', 'agency = "NOPE"', 1), "needs a known agency"),
        (("processing_days = 3", "processing_days = 0", 1), "must be positive"),
        (("online_submission = 0.20", "online_submission = -1", 1), "index weights"),
    ],
)
def test_an_inconsistent_reference_file_is_refused_with_the_entry_named(
    tmp_path: Path, edit: tuple[str, str, int], message: str
) -> None:
    path = tmp_path / "reference.toml"
    path.write_text(PACKAGED.read_text(encoding="utf-8").replace(*edit), encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=message):
        load_reference(path)
