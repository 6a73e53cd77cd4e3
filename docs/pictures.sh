#!/usr/bin/env bash
# Redraws the README's pictures: docs/report.png (the page in headless chromium) and
# docs/phu-luc.png (the Excel sheet as LibreOffice Calc renders it). Needs chromium, graphviz
# libreoffice-calc and poppler-utils: apt-get install chromium graphviz libreoffice-calc
# poppler-utils
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export WORKFLOW_DB="$work/w.db" WORKFLOW_LOG_LEVEL=error
wf() { .venv/bin/workflow "$@" >/dev/null; }
WORKFLOW_NOW=2024-04-01T08:00:00+07:00 wf load definitions/son-la-2024-ttyt.yaml
export WORKFLOW_NOW=2024-04-02T09:00:00+07:00
wf start quyet-toan-2023 --as so-y-te
wf report quyet-toan-2023 --as so-y-te --note "Đã tổng hợp quyết toán 2023"
wf approve quyet-toan-2023 --as ubnd-tinh
wf start quyet-toan-2024 --as so-y-te
wf block kiem-ke-tai-san/moc-chau --as moc-chau --note "Chưa có biên bản kiểm kê tài sản"
wf start kiem-ke-tai-san/mai-son --as so-y-te
wf report kiem-ke-tai-san/mai-son --as so-y-te --note "Đã kiểm kê xong"
export WORKFLOW_NOW=2024-04-25T09:00:00+07:00
wf escalate
wf report --html "$work/report.html"
wf export -o "$work/phu-luc.xlsx"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,2600 \
    --screenshot="$PWD/docs/report.png" "file://$work/report.html" 2>/dev/null
soffice --headless "-env:UserInstallation=file://$work/lo" --convert-to pdf \
    --outdir "$work" "$work/phu-luc.xlsx" >/dev/null 2>&1
pdftoppm -png -r 130 -f 1 -l 1 -x 0 -y 0 -W 1500 -H 1000 -singlefile "$work/phu-luc.pdf" \
    docs/phu-luc
echo "wrote docs/report.png docs/phu-luc.png"
