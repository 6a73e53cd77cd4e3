"""Words the plans use for agencies: folding, abbreviations, what starts an agency's name."""

from __future__ import annotations

import re

from workflow.plan.names import folded
from workflow.text import strip_accents

# Abbreviations of a Sở's field, written with & or run together ("Sở KH&CN").
FIELDS = {
    r"KH\s*&\s*CN|KHCN": "Khoa học và Công nghệ",
    r"KH\s*&\s*ĐT|KHĐT": "Kế hoạch và Đầu tư",
    r"TT\s*&\s*TT|TTTT": "Thông tin và Truyền thông",
    r"VH\s*,?\s*TT\s*&\s*DL|VHTTDL|VH-TT-DL": "Văn hóa, Thể thao và Du lịch",
    r"LĐ\s*-?\s*TB\s*&\s*XH|LĐTBXH": "Lao động - Thương binh và Xã hội",
    r"NN\s*&\s*PTNT|NNPTNT": "Nông nghiệp và Phát triển nông thôn",
    r"NN\s*&\s*MT": "Nông nghiệp và Môi trường",
    r"TN\s*&\s*MT|TNMT": "Tài nguyên và Môi trường",
    r"GD\s*&\s*ĐT|GDĐT": "Giáo dục và Đào tạo",
    r"GTVT": "Giao thông vận tải",
}
_FIELDS = [(re.compile(rf"(?<![\w&])(?:{k})(?![\w&])"), v) for k, v in FIELDS.items()]
_SHORT = {"SYT": "Sở Y tế", "STC": "Sở Tài chính", "SNV": "Sở Nội vụ", "STP": "Sở Tư pháp",
          "SKHCN": "Sở Khoa học và Công nghệ", "BQL": "Ban Quản lý",
          "VPUBND": "Văn phòng UBND", "MTTQ": "Mặt trận Tổ quốc"}
_SHORT_RE = re.compile(rf"\b(?:{'|'.join(_SHORT)})\b")
# Word variants that name the same thing (southern spelling, old names).
_VARIANTS = {"chanh": "chinh"}
_DROP = {"va", "cac", "cua"}
_ID_SHORT = [("uy ban nhan dan", "ubnd"), ("hoi dong nhan dan", "hdnd"),
             ("bao hiem xa hoi", "bhxh"), ("kho bac nha nuoc", "kbnn"), ("ban quan ly", "bql"),
             ("mat tran to quoc", "mttq"), ("trung tam y te", "ttyt")]

# First words of an agency's name, as written (case matters: "Sở" starts a name, "sở" in
# "Các sở, ban, ngành" does not).
HEADS = (
    r"Sở|UBND|Ủy ban|Uỷ ban|Ban|Văn phòng|VP|Công an|Bảo hiểm|BHXH|Kho bạc|KBNN|Trung tâm|TTYT|"
    r"Bệnh viện|Cục|Chi cục|Hội|Hiệp hội|Liên đoàn|Liên minh|Đoàn|Tỉnh đoàn|Mặt trận|Báo|Đài|"
    r"Ngân hàng|Trạm|Viện|Trường|Thanh tra|Tòa án|Toà án|Bộ|Thuế|Phòng|Khoa|Các|HĐND|Hội đồng|"
    r"Giám đốc|Doanh nghiệp|Tổng [Cc]ông ty|Công ty|Tổ công tác|Ngành|"
    r"các (?:sở|cơ quan|đơn vị|doanh nghiệp|trường|tổ chức|địa phương|phòng|khoa|hội|ban|ngành|"
    r"UBND|Ủy ban|Uỷ ban|Trạm|Trung tâm|Bệnh viện)"
)
HEAD_RE = re.compile(rf"(?:{HEADS})\b")
_NOT_HEAD = re.compile(
    r"^(?:Báo cáo|Bảo đảm|Ban hành|Trường hợp|Hội nghị|Hội thảo|Phòng chống|Phòng,|Khoa học|"
    r"Bộ tiêu chí|Bộ chỉ số|Các nhiệm vụ|Các nội dung|Các giải pháp|Các chương trình|"
    r"Các mục tiêu|Các hoạt động|Các dự án|Các đề án)", re.IGNORECASE)
_VERBS = re.compile(r"\b(?:xây dựng|triển khai|thực hiện|nâng cao|tăng cường|hoàn thiện|"
                    r"đẩy mạnh|phát triển|tuyên truyền|rà soát|kiện toàn|bảo đảm|đảm bảo|"
                    r"nghiên cứu|tổ chức thực hiện|quy định)\b", re.IGNORECASE)
# A deadline inside a sentence: "... trình Giám đốc phê duyệt trước ngày 18/9/2020".
DUE_IN_TEXT = re.compile(
    r"(?:trước ngày|chậm nhất (?:là |vào )?(?:ngày )?)\s*\d{1,2}/\d{1,2}/\d{4}"
    r"|trong tháng\s*\d{1,2}/\d{4}|(?:đến hết|trong) năm\s*\d{4}", re.IGNORECASE)


def fold(text: str) -> str:
    """Lower case, no diacritics, đ → d, punctuation → spaces, single spaces."""
    bare = strip_accents(text.casefold())
    return " ".join(re.sub(r"[^\w\s]", " ", bare).split())


def spelled_out(name: str) -> str:
    """"Sở KH&CN" → "Sở Khoa học và Công nghệ"; other words as written."""
    for pattern, words in _FIELDS:
        name = pattern.sub(words, name)
    return _SHORT_RE.sub(lambda m: _SHORT[m[0]], name)


def agency_key(name: str, place: str = "", *, strip_level: bool = True) -> str:
    """One key for every way one agency is written in one plan."""
    words = [_VARIANTS.get(w, w) for w in folded(spelled_out(name)).split() if w not in _DROP]
    while len(words) > 1 and words[0] == words[1]:
        words = words[1:]  # "Sở Sở Công thương"
    tail = fold(place).split()
    if tail and len(words) > len(tail) and words[-len(tail):] == tail:
        words = words[: -len(tail)]
    if strip_level and len(words) > 2 and words[-1] == "tinh":
        words = words[:-1]  # "Báo ... tỉnh Đồng Nai" = "Báo ... Đồng Nai"
    return " ".join(words)


def agency_id(name: str, place: str = "") -> str:
    """A readable ASCII id: "Sở Y tế" → so-y-te, "UBND cấp huyện" → ubnd-cap-huyen."""
    text = " " + agency_key(name, place, strip_level=False) + " "
    for long, short in _ID_SHORT:
        text = text.replace(f" {long} ", f" {short} ")
    slug = "-".join(re.sub(r"[^a-z0-9]+", " ", text).split())
    while len(slug) > 40 and "-" in slug:
        slug = slug.rsplit("-", 1)[0]
    return slug or "co-quan"


def looks_like_agency(text: str) -> bool:
    """A heading that names an agency ("1. Phòng Tổ chức - Hành chính"), not a task."""
    text = text.strip()
    return (bool(HEAD_RE.match(text)) and not _NOT_HEAD.match(text)
            and len(text.split()) <= 14 and not _VERBS.search(text))
