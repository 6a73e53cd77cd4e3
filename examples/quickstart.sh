#!/usr/bin/env bash
# Loads the Sơn La plan into a fresh embedded SQLite file and walks it a few steps:
# moves, a refused move, a block that escalates, the history and its verification.
# The engine clock is fixed (WORKFLOW_NOW) so the output is the same on every machine.
set -u
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export WORKFLOW_DB="${WORKFLOW_DB:-$PWD/quickstart.db}" WORKFLOW_LOG_LEVEL=warning
rm -f "$WORKFLOW_DB" "$WORKFLOW_DB-wal" "$WORKFLOW_DB-shm"

step() { printf '\n$ %s\n' "$*"; "$@" 2>&1; code=$?; [ $code -eq 0 ] || echo "(exit $code)"; }

export WORKFLOW_NOW=2024-04-01T08:00:00+07:00
step workflow validate definitions/son-la-2024-ttyt.yaml
step workflow load definitions/son-la-2024-ttyt.yaml
step workflow tasks --lead so-y-te
export WORKFLOW_NOW=2024-04-02T09:00:00+07:00
step workflow start quyet-toan-2023 --as so-y-te
step workflow start dieu-chuyen-tai-san --as so-tai-chinh
step workflow report quyet-toan-2023 --as so-y-te --note "Đã tổng hợp quyết toán 2023, gửi Sở Tài chính thẩm định"
step workflow approve quyet-toan-2023 --as so-tai-chinh
step workflow approve quyet-toan-2023 --as ubnd-tinh
step workflow tasks 'kiem-ke-tai-san/*' --state assigned
step workflow block kiem-ke-tai-san/moc-chau --as moc-chau --note "Chưa có biên bản kiểm kê tài sản"
export WORKFLOW_NOW=2024-04-06T09:00:00+07:00
step workflow escalate
step workflow show kiem-ke-tai-san/moc-chau
step workflow summary --by task
step workflow history
step workflow audit verify
