"""The core's errors in Vietnamese: moves refused, lookups that find nothing, definitions that
do not validate, deadline phrases and durations, the store. The exit code never depends on the
language. English stays the default (every other test file asserts it)."""

from __future__ import annotations

import pytest

from tests.conftest import SMALL_PLAN, write_plan
from workflow.i18n import set_language

NOW = "2024-04-02T09:00:00+07:00"


@pytest.fixture
def vi(monkeypatch):
    """Vietnamese, as the CLI chooses it (WORKFLOW_LANG) and as the engine speaks it."""
    monkeypatch.setenv("WORKFLOW_LANG", "vi")
    set_language("vi")
    yield
    set_language("en")


def both(run, *args, **kw):
    """The same command in English, then in Vietnamese: (English result, Vietnamese result)."""
    english = run(*args, **kw)
    set_language("vi")
    with pytest.MonkeyPatch.context() as m:
        m.setenv("WORKFLOW_LANG", "vi")
        try:
            vietnamese = run(*args, **kw)
        finally:
            set_language("en")
    assert english.code == vietnamese.code != 0
    return english, vietnamese


def test_refused_move_in_vietnamese(small):
    en, vi = both(small, "approve", "a", "--as", "so-y-te", now=NOW)
    assert en.code == 4
    assert "a cannot approve: it is assigned; from assigned it may start" in en.error
    assert "không thể phê duyệt nhiệm vụ a: nhiệm vụ đang ở trạng thái đã giao" in vi.error
    assert "bắt đầu thực hiện" in vi.error


def test_wrong_agency_and_missing_note_in_vietnamese(small):
    en, vi = both(small, "start", "a", "--as", "so-y-te", now=NOW)
    assert en.code == 4
    assert "so-y-te không được bắt đầu thực hiện nhiệm vụ a; cơ quan chủ trì là so-tai-chinh" \
        in vi.error
    assert small("start", "a", "--as", "so-tai-chinh", now=NOW).code == 0
    en, vi = both(small, "report", "a", "--as", "so-tai-chinh", now=NOW)
    assert en.code == 4
    assert "cần có ghi chú để báo cáo nhiệm vụ a (đã làm được gì)" in vi.error


def test_waiting_dependency_in_vietnamese(small):
    en, vi = both(small, "start", "b", "--as", "so-tai-chinh", now=NOW)
    assert en.code == 4
    assert "a đang ở trạng thái đã giao" in vi.error


def test_unknown_task_and_agency_in_vietnamese(small):
    en, vi = both(small, "show", "zzz")
    assert en.code == 5
    assert "không có nhiệm vụ 'zzz' trong kế hoạch small" in vi.error
    en, vi = both(small, "start", "a", "--as", "so-giao-thong", now=NOW)
    assert en.code == 5
    assert "không có cơ quan 'so-giao-thong' trong kế hoạch small" in vi.error


def test_bad_yaml_and_definition_problems_in_vietnamese(run, tmp_path):
    bad = write_plan(tmp_path, "id: x\ntasks: [\n", "bad.yaml")
    en, vi = both(run, "validate", bad)
    assert en.code == 3
    assert "lỗi cú pháp YAML" in vi.error
    plan = SMALL_PLAN.replace("    due: 2024-04-20\n", "    due: 2024-04-20\n    owner: x\n", 1)
    en, vi = both(run, "validate", write_plan(tmp_path, plan, "unknown-key.yaml"))
    assert en.code == 3
    assert "tasks.a.owner: khóa không hợp lệ; các khóa được dùng là title, ref" in vi.error


def test_bad_deadline_phrase_and_duration_in_vietnamese(run, tmp_path):
    plan = SMALL_PLAN.replace('due: "Quý III/2024"', 'due: "Quý V/2024"')
    en, vi = both(run, "validate", write_plan(tmp_path, plan, "quarter.yaml"))
    assert en.code == 3
    assert 'không đọc được "Quý V/2024" thành ngày: không có quý V (các quý là I–IV)' in vi.error
    assert "hãy ghi ví dụ 2024-04-20" in vi.error
    plan = SMALL_PLAN.replace('due: "Quý III/2024"', 'due: "Sớm nhất có thể"')
    en, vi = both(run, "validate", write_plan(tmp_path, plan, "phrase.yaml"))
    assert "không phải dạng thời hạn đọc được" in vi.error
    assert '"Thường xuyên"' in vi.error and "bỏ trống due" in vi.error
    plan = SMALL_PLAN.replace("stall_after: 7d", "stall_after: 7 tháng")
    en, vi = both(run, "validate", write_plan(tmp_path, plan, "duration.yaml"))
    assert en.code == 3
    assert 'không đọc được "7 tháng" thành khoảng thời gian' in vi.error
    assert "wd (ngày làm việc)" in vi.error


def test_unknown_agency_in_a_definition_in_vietnamese(run, tmp_path):
    plan = SMALL_PLAN.replace("lead: ttyt", "lead: so-giao-thong").replace(
        "approver: so-noi-vu", "approver: so-noi-chinh")
    en, vi = both(run, "load", write_plan(tmp_path, plan, "agency.yaml"))
    assert en.code == 3
    assert "(and 1 more problem)" in en.error
    assert 'tasks.d.lead: không có cơ quan "so-giao-thong"' in vi.error
    assert vi.error.endswith("(và 1 lỗi khác)")


def test_missing_file_in_vietnamese(run, tmp_path):
    en, vi = both(run, "load", tmp_path / "none.yaml")
    assert en.code == 5
    assert "không có tệp này" in vi.error


@pytest.mark.sqlite_only
def test_store_errors_in_vietnamese(run, tmp_path):
    en, vi = both(run, "tasks", env={"WORKFLOW_DB": str(tmp_path)})
    assert en.code == 5
    assert "là thư mục, không phải cơ sở dữ liệu" in vi.error
    en, vi = both(run, "tasks", env={"WORKFLOW_DB": str(tmp_path / "none.db")})
    assert en.code == 5
    assert "không có cơ sở dữ liệu tại" in vi.error and "workflow load FILE" in vi.error
    en, vi = both(run, "tasks", env={"WORKFLOW_BUSY_TIMEOUT": "soon"})
    assert en.code == 2
    assert "không phải là số giây trong khoảng 0 đến 3600" in vi.error


def test_changed_definition_conflict_in_vietnamese(small, tmp_path):
    plan = SMALL_PLAN.replace('title: "Kế hoạch thử"', 'title: "Kế hoạch thử (sửa)"')
    en, vi = both(small, "load", write_plan(tmp_path, plan, "changed.yaml"))
    assert en.code == 6
    assert "kế hoạch small đã được nạp từ một bản định nghĩa khác" in vi.error
