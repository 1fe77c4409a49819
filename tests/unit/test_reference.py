"""Reference data: the packaged provinces and the checks on a hand-edited file."""

from __future__ import annotations

from pathlib import Path

import pytest

from citypulse.schemas import load_reference
from citypulse.schemas.reference import SHIPPED, ReferenceDataError, load_references

DATA = Path(__file__).parents[2] / "schemas" / "data"
PACKAGED = DATA / "provinces" / "TTH.toml"
NATIONAL = DATA / "national.toml"


def test_packaged_province_is_shaped_like_thua_thien_hue() -> None:
    ref = load_reference()
    assert ref.province == "TTH"
    assert len(ref.districts) == 9
    assert 35 <= len(ref.agencies) <= 45  # CONTRACT §7: ~40 agencies
    per_day = sum(p.daily_volume * len(ref.handlers(p)) for p in ref.procedures)
    assert 700 <= per_day <= 1300  # ~1,000 dossiers a working day
    assert {p.service_level for p in ref.procedures} == {"full_process", "partial", "offline"}
    assert dict(ref.index_weights).keys() >= {"on_time_resolution", "electronic_document"}


def test_four_provinces_ship_each_with_its_districts_and_the_same_department_codes() -> None:
    """CONTRACT §7: TTH, HYN, QNH, AGG; the identity is (province, agency), because a
    department's code is the same in every province."""
    refs = load_references()
    assert [r.province for r in refs] == list(SHIPPED) == ["TTH", "HYN", "QNH", "AGG"]
    assert [r.province_name for r in refs] == [
        "Thừa Thiên Huế",
        "Hưng Yên",
        "Quảng Ninh",
        "An Giang",
    ]
    departments = [{a.code for a in r.agencies if a.level == "province"} for r in refs]
    assert all(d == departments[0] for d in departments)
    assert len(departments[0]) == 20
    districts = [set(r.districts) for r in refs]
    assert all(not a & b for i, a in enumerate(districts) for b in districts[i + 1 :])
    for r in refs:
        assert {a.level for a in r.agencies} == {"province", "district", "commune"}
        assert all(a.district in r.districts for a in r.agencies)
        assert (r.index_weights, r.scoring) == (refs[0].index_weights, refs[0].scoring)
    # the profiles of §7's figures: documents almost all electronic in QNH and AGG, more
    # dossiers online in HYN
    profiles = {r.province: dict(r.profile) for r in refs}
    assert profiles["QNH"]["electronic_share"] >= 0.97
    assert profiles["AGG"]["electronic_share"] >= 0.97
    assert profiles["HYN"]["online_share"] > 0.5


def test_a_single_file_with_its_own_national_tables_is_read_whole(tmp_path: Path) -> None:
    """A site's own reference file (CITYPULSE_REFERENCE_FILE) may carry the index weights and
    the scoring table; without them it takes the packaged national ones."""
    path = tmp_path / "mine.toml"
    path.write_text(PACKAGED.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_reference(path).scoring == load_reference().scoring
    own = NATIONAL.read_text(encoding="utf-8").replace("transparency = 18", "transparency = 30")
    path = tmp_path / "mine-with-tables.toml"
    path.write_text(PACKAGED.read_text(encoding="utf-8") + own, encoding="utf-8")
    assert dict(load_reference(path).scoring.groups)["transparency"] == 30


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
    whole = PACKAGED.read_text(encoding="utf-8") + NATIONAL.read_text(encoding="utf-8")
    path.write_text(whole.replace(*edit), encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=message):
        load_reference(path)
