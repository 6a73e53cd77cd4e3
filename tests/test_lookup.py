"""Agencies and tasks named as people type them, through the CLI (issue 15 item 5)."""

from __future__ import annotations

import unicodedata

import pytest

from tests.conftest import write_plan

# The plan itself writes its references as people do: a southern spelling, abbreviations, a
# part of a name; the document's numbering with "." and ")".
PLAN = """\
id: kien-giang
title: "Kế hoạch thử"
issuer: ubnd-tinh
coordinator: so-tai-chinh
agencies:
  ubnd-tinh: {name: "UBND tỉnh Kiên Giang"}
  so-tai-chinh: {name: "Sở Tài chính"}
  so-khcn: {name: "Sở Khoa học và Công nghệ"}
  so-tttt: {name: "Sở Thông tin và Truyền thông"}
  bhxh-tinh: {name: "Bảo hiểm xã hội tỉnh"}
  ubnd-ha-tien: {name: "UBND thành phố Hà Tiên"}
  ubnd-phu-quoc: {name: "UBND thành phố Phú Quốc"}
  ttyt-phu-quoc: {name: "Trung tâm Y tế thành phố Phú Quốc"}
units:
  tp:
    ha-tien: {name: "Thành phố Hà Tiên", agency: ubnd-ha-tien}
    phu-quoc: {name: "Thành phố Phú Quốc", agency: "UBND TP. Phú Quốc"}
tasks:
  kiem-tra:
    ref: "1"
    title: "Kiểm tra"
    for_each: tp
    lead: each
    due: 2024-05-31
  bao-cao:
    ref: "2."
    title: "Báo cáo"
    lead: "Sở Tài Chánh"
    support: ["Sở KH&CN", "BHXH tỉnh"]
    due: 2024-06-30
  tong-hop:
    ref: "3)"
    title: "Tổng hợp"
    lead: "ubnd ha tien"
    support: ["Sở TT&TT"]
  phu-luc-a:
    ref: "4"
    title: "Phụ lục A"
    lead: so-khcn
  phu-luc-b:
    ref: "4."
    title: "Phụ lục B"
    lead: so-khcn
"""
T0 = "2024-04-01T08:00:00+07:00"
HA_TIEN = "UBND thành phố Hà Tiên"


@pytest.fixture
def kg(run, tmp_path):
    run.ok("load", write_plan(tmp_path, PLAN), now=T0)
    return run


def test_the_plan_names_agencies_as_written(kg):
    shown = kg.ok("show", "bao-cao", "--json").json
    assert (shown["lead"], shown["support"]) == ("so-tai-chinh", ["so-khcn", "bhxh-tinh"])
    assert (shown["lead_name"], shown["support_names"], shown["approver_name"]) == (
        "Sở Tài chính", ["Sở Khoa học và Công nghệ", "Bảo hiểm xã hội tỉnh"],
        "UBND tỉnh Kiên Giang")
    tong_hop = kg.ok("show", "tong-hop", "--json").json
    assert (tong_hop["lead"], tong_hop["lead_name"]) == ("ubnd-ha-tien", HA_TIEN)
    assert tong_hop["support"] == ["so-tttt"]
    unit = kg.ok("show", "kiem-tra/phu-quoc", "--json").json
    assert (unit["lead"], unit["lead_name"]) == ("ubnd-phu-quoc", "UBND thành phố Phú Quốc")


def test_tasks_json_carries_names_beside_ids(kg):
    rows = {t["id"]: t for t in kg.ok("tasks", "--json").json}
    assert rows["tong-hop"]["lead"] == "ubnd-ha-tien"
    assert rows["tong-hop"]["lead_name"] == HA_TIEN
    assert rows["tong-hop"]["support_names"] == ["Sở Thông tin và Truyền thông"]
    at = {t["id"]: t for t in kg.ok("tasks", "--at", "2024-04-02", "--json").json}
    assert at["tong-hop"]["lead_name"] == HA_TIEN  # the as-of view as the live one
    assert kg.ok("show", "bao-cao", "--at", "2024-04-02", "--json").json["lead_name"] == (
        "Sở Tài chính")


def test_show_prints_names_beside_ids(kg):
    out = kg.ok("show", "bao-cao").out
    assert "  lead:         so-tai-chinh (Sở Tài chính)\n" in out
    assert ("  support:      so-khcn (Sở Khoa học và Công nghệ), bhxh-tinh (Bảo hiểm xã hội\n"
            "                tỉnh)\n") in out


@pytest.mark.parametrize("written", [
    "ubnd ha tien", "thanh pho ha tien", "Hà Tiên", "UBND TP. Hà Tiên",
    "Ủy ban nhân dân thành phố Hà Tiên", "ỦY BAN NHÂN DÂN THÀNH PHỐ HÀ TIÊN",
    unicodedata.normalize("NFD", "Uỷ ban nhân dân thành phố Hà Tiên"), "UBND-HA-TIEN",
])
def test_lead_as_people_type_it(kg, written):
    rows = kg.ok("tasks", "--lead", written, "--json").json
    assert [t["id"] for t in rows] == ["kiem-tra/ha-tien", "tong-hop"]


def test_moves_as_people_type_the_agency_and_the_task(kg):
    assert kg.ok("start", "2", "--as", "so tai chanh", "--json").json["task"] == "bao-cao"
    moved = kg.ok("start", "1/phu-quoc", "--as", "UBND TP Phú Quốc", "--json").json
    assert moved["task"] == "kiem-tra/phu-quoc"
    assert kg.ok("start", "KIEM-TRA/HA-TIEN", "--as", "Hà Tiên", "--json").json["to"] == (
        "in_progress")
    assert kg.ok("show", "3.", "--json").json["id"] == "tong-hop"
    assert kg.ok("show", "3", "--json").json["id"] == "tong-hop"
    assert kg.ok("show", "Bao-Cao", "--json").json["id"] == "bao-cao"
    assert kg.ok("history", "1/ha-tien", "--json").json[-1]["task"] == "kiem-tra/ha-tien"


def test_an_agency_part_naming_several_is_refused_with_names(kg):
    r = kg("tasks", "--agency", "Phú Quốc")
    assert (r.code, r.error) == (2, (
        "Error: 'Phú Quốc' names several agencies of plan kien-giang: ttyt-phu-quoc (Trung tâm "
        "Y tế thành phố Phú Quốc), ubnd-phu-quoc (UBND thành phố Phú Quốc); use the id"))


def test_an_unknown_agency_answers_with_the_closest(kg):
    r = kg("tasks", "--agency", "so tai chin")
    assert (r.code, r.error) == (5, "Error: no agency 'so tai chin' in plan kien-giang; did "
                                    "you mean so-tai-chinh (Sở Tài chính)?")
    r = kg("start", "bao-cao", "--as", "Bộ Quốc phòng")
    assert (r.code, r.error) == (5, (
        "Error: no agency 'Bộ Quốc phòng' in plan kien-giang; known: bhxh-tinh (Bảo hiểm xã hội "
        "tỉnh), so-khcn (Sở Khoa học và Công nghệ), so-tai-chinh (Sở Tài chính), so-tttt (Sở "
        "Thông tin và Truyền thông), ttyt-phu-quoc (Trung tâm Y tế thành phố Phú Quốc) and 3 "
        "more"))


def test_a_number_naming_several_tasks_is_refused(kg):
    r = kg("show", "4")
    assert (r.code, r.error) == (2, "Error: '4' numbers several tasks of plan kien-giang "
                                    "(phu-luc-a, phu-luc-b); give the task id")
    r = kg("show", "1/rach-gia")
    assert r.code == 5 and r.error.startswith("Error: no task '1/rach-gia' in plan kien-giang")
    assert kg("show", ".").code == 5


def test_the_as_of_view_finds_tasks_the_same_ways(kg):
    for written, task in (("1/phu-quoc", "kiem-tra/phu-quoc"), ("KIEM-TRA/HA-TIEN",
                          "kiem-tra/ha-tien"), ("2", "bao-cao"), ("3.", "tong-hop")):
        assert kg.ok("show", written, "--at", "2024-04-02", "--json").json["id"] == task


def test_a_definition_suggests_the_closest_agency(tmp_path, run):
    path = write_plan(tmp_path, PLAN.replace('lead: "ubnd ha tien"', 'lead: "UBND Ha Tienn"'))
    r = run("validate", path)
    assert r.code == 3
    assert ('tasks.tong-hop.lead: unknown agency "UBND Ha Tienn"; did you mean ubnd-ha-tien '
            "(UBND thành phố Hà Tiên)?") in r.err


def test_a_name_two_agencies_share_spelled_otherwise_is_an_error_naming_both_lines(run, tmp_path):
    path = write_plan(tmp_path, PLAN.replace(
        '  bhxh-tinh: {name: "Bảo hiểm xã hội tỉnh"}',
        '  bhxh-tinh: {name: "Bảo hiểm xã hội tỉnh"}\n'
        '  phong-tc: {name: "Phòng Tài chính", aliases: ["Sở Tài Chánh"]}\n'
        '  vp-ubnd: {name: "Văn phòng", aliases: ["Uỷ ban nhân dân TP Hà Tiên"]}'))
    r = run("validate", path)
    assert r.code == 3
    assert r.err.splitlines()[:2] == [
        f'Error: {path}:11: agencies.phong-tc.aliases: "Sở Tài Chánh" also names agency '
        '"so-tai-chinh" (agencies.so-tai-chinh.name, line 7); an id, name or alias may name one '
        "agency only",
        f'  {path}:13: agencies.ubnd-ha-tien.name: "UBND thành phố Hà Tiên" also names agency '
        '"vp-ubnd" (agencies.vp-ubnd.aliases, line 12); an id, name or alias may name one '
        "agency only"]
