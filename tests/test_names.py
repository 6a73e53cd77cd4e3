"""Agencies written several ways resolve to one id; ambiguity is refused, not guessed."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import DEFINITIONS
from workflow.definitions import load_file
from workflow.errors import NotFoundError, UsageError
from workflow.names import AgencyIndex, bare, spelled

AGENCIES = [
    ("ubnd-tinh", "Ủy ban nhân dân tỉnh Sơn La", ["UBND tỉnh"]),
    ("so-y-te", "Sở Y tế", []),
    ("so-tai-chinh", "Sở Tài chính", []),
    ("ttyt-moc-chau", "Trung tâm Y tế huyện Mộc Châu", []),
    ("bhxh", "Bảo hiểm xã hội tỉnh", []),
    ("ubnd-huyen", "UBND các huyện, thành phố", []),
]


@pytest.mark.parametrize(("written", "expected"), [
    ("so-y-te", "so-y-te"),
    ("Sở Y tế", "so-y-te"),
    ("SỞ Y TẾ", "so-y-te"),
    ("  sở   y tế ", "so-y-te"),
    (unicodedata.normalize("NFD", "Sở Y tế"), "so-y-te"),
    ("SYT", "so-y-te"),
    ("So Y te", "so-y-te"),
    ("Uỷ ban nhân dân tỉnh Sơn La", "ubnd-tinh"),  # the tone on the other vowel
    ("UBND tỉnh Sơn La", "ubnd-tinh"),
    ("ubnd tinh", "ubnd-tinh"),
    ("TTYT huyện Mộc Châu", "ttyt-moc-chau"),
    ("BHXH tỉnh", "bhxh"),
    ("Ủy ban nhân dân các huyện, thành phố", "ubnd-huyen"),
])
def test_agency_written_several_ways(written, expected):
    assert AgencyIndex(AGENCIES).lookup(written) == (expected, set())


def test_unknown_and_ambiguous():
    index = AgencyIndex([*AGENCIES, ("so-y-te-2", "Sở Y Tế", [])])
    assert index.lookup("Sở Nội vụ") == (None, set())
    assert index.lookup("SỞ Y TẾ") == (None, {"so-y-te", "so-y-te-2"})
    assert index.lookup("so-y-te") == ("so-y-te", set())  # an id is never ambiguous


# --------------------------------------------------------------------------- as people type them

KIEN_GIANG = [
    ("ubnd-tinh", "UBND tỉnh Kiên Giang", ["Ủy ban nhân dân tỉnh"]),
    ("hdnd-tinh", "Hội đồng nhân dân tỉnh Kiên Giang", []),
    ("mttq-tinh", "Ủy ban Mặt trận Tổ quốc Việt Nam tỉnh", []),
    ("so-tai-chinh", "Sở Tài chính", []),
    ("so-khcn", "Sở Khoa học và Công nghệ", []),
    ("so-tttt", "Sở TT&TT", []),
    ("bhxh-tinh", "Bảo hiểm xã hội tỉnh", []),
    ("ubnd-ha-tien", "UBND thành phố Hà Tiên", []),
    ("ubnd-phu-quoc", "UBND thành phố Phú Quốc", []),
    ("ttyt-phu-quoc", "Trung tâm Y tế thành phố Phú Quốc", []),
    ("phong-ky-thuat", "Phòng Kỹ thuật", []),
    ("cong-an", "Công an tỉnh", []),
    ("ca-mau", "Sở Y tế tỉnh Cà Mau", []),
]


@pytest.mark.parametrize(("written", "expected"), [
    ("ubnd ha tien", "ubnd-ha-tien"),           # a part, without diacritics
    ("thanh pho ha tien", "ubnd-ha-tien"),
    ("Hà Tiên", "ubnd-ha-tien"),
    ("UBND TP. Hà Tiên", "ubnd-ha-tien"),
    ("Ủy ban nhân dân TP Hà Tiên", "ubnd-ha-tien"),
    ("Uỷ ban nhân dân thành phố Hà Tiên", "ubnd-ha-tien"),
    ("UBND tỉnh", "ubnd-tinh"),                  # the alias, spelled out the other way
    ("HĐND tỉnh Kiên Giang", "hdnd-tinh"),
    ("HDND tinh", "hdnd-tinh"),
    ("UBMTTQ VN tỉnh", "mttq-tinh"),
    ("MTTQ", "mttq-tinh"),
    ("Sở Tài Chánh", "so-tai-chinh"),           # the southern spelling
    ("so tai chanh", "so-tai-chinh"),
    ("Sở KH&CN", "so-khcn"),
    ("KHCN", "so-khcn"),
    ("Sở Thông tin và Truyền thông", "so-tttt"),  # the name is the abbreviation
    ("Sở TT & TT", "so-tttt"),
    ("BHXH tỉnh", "bhxh-tinh"),
    ("bao hiem xa hoi", "bhxh-tinh"),
    ("Phòng Kĩ thuật", "phong-ky-thuat"),       # i for y
    ("phong ki thuat", "phong-ky-thuat"),
    ("CA MAU", "ca-mau"),                        # "CA" is not Công an: it is a word
    ("UBND-HA-TIEN", "ubnd-ha-tien"),            # an id in any case
])
def test_agency_as_people_type_it(written, expected):
    assert AgencyIndex(KIEN_GIANG).lookup(written) == (expected, set())


def test_a_part_naming_several_is_refused_naming_them():
    index = AgencyIndex(KIEN_GIANG)
    assert index.lookup("Phú Quốc") == (None, {"ubnd-phu-quoc", "ttyt-phu-quoc"})
    assert index.describe(sorted(index.lookup("phu quoc")[1])) == (
        "ttyt-phu-quoc (Trung tâm Y tế thành phố Phú Quốc), "
        "ubnd-phu-quoc (UBND thành phố Phú Quốc)")
    assert index.lookup("ubnd phu quoc") == ("ubnd-phu-quoc", set())


def test_a_part_is_whole_words_in_order():
    index = AgencyIndex(KIEN_GIANG)
    assert index.lookup("tien ha") == (None, set())
    assert index.lookup("ha tie") == (None, set())


def test_southern_spelling_only_where_it_means_the_same():
    assert spelled("Sở Tài chánh") == spelled("Sở Tài chính")
    assert spelled("Bịnh viện Đa khoa") == spelled("Bệnh viện đa khoa")
    # "Chánh Văn phòng" is a post (chief of the office), "Phước" a place: left alone.
    assert spelled("Chánh Văn phòng") != spelled("Chính văn phòng")
    assert bare("Bình Phước") == "binh phuoc"


def test_closest_names_without_diacritics():
    index = AgencyIndex(KIEN_GIANG)
    assert index.closest("so tai chin") == ["so-tai-chinh"]
    assert index.suggestion("Sở Tài Chín") == "did you mean so-tai-chinh (Sở Tài chính)?"
    assert index.closest("qwerty") == []
    assert index.closest("CA tỉnh") == ["cong-an"]
    assert index.suggestion("qwerty") == (
        "known: ubnd-tinh (UBND tỉnh Kiên Giang), hdnd-tinh (Hội đồng nhân dân tỉnh Kiên "
        "Giang), mttq-tinh (Ủy ban Mặt trận Tổ quốc Việt Nam tỉnh), so-tai-chinh (Sở Tài "
        "chính), so-khcn (Sở Khoa học và Công nghệ) and 8 more")


def test_resolve_raises_with_exit_codes():
    index = AgencyIndex(KIEN_GIANG)
    assert index.resolve("ha tien", "plan kg") == "ubnd-ha-tien"
    with pytest.raises(UsageError, match="names several agencies of plan kg"):
        index.resolve("Phú Quốc", "plan kg")
    with pytest.raises(NotFoundError, match=r"^no agency 'so tai chin' in plan kg; did you mean"):
        index.resolve("so tai chin", "plan kg")


def test_a_name_two_agencies_share_is_a_collision():
    index = AgencyIndex([
        ("ubnd-tinh", "Ủy ban nhân dân tỉnh", []),
        ("van-phong", "Văn phòng UBND", ["UBND tỉnh"]),    # the same name spelled otherwise
        ("so-tc", "Sở Tài chính", []),
        ("phong-tc", "Phòng Tài chính", ["Sở Tài chánh"]),  # the same name, southern
    ])
    found = {c.key: c.entries for c in index.collisions()}
    assert found == {
        "uỷ ban nhân dân tỉnh": (("ubnd-tinh", "Ủy ban nhân dân tỉnh"),
                                ("van-phong", "UBND tỉnh")),
        "sở tài chính": (("so-tc", "Sở Tài chính"), ("phong-tc", "Sở Tài chánh")),
    }
    assert AgencyIndex(KIEN_GIANG).collisions() == []


def test_the_shipped_plans_have_no_collisions():
    for path in sorted(DEFINITIONS.glob("*.yaml")):
        plan = load_file(path)
        index = AgencyIndex((a.id, a.name, a.aliases) for a in plan.agencies.values())
        assert index.collisions() == [], path.name


# --------------------------------------------------------------------------- property

def _written_forms() -> list[tuple[str, tuple[str, str, tuple[str, ...]], str]]:
    """(plan, its agencies, one id, name or alias of one of them) for every shipped plan and
    KIEN_GIANG; only forms no other agency of the plan has without diacritics."""
    plans = {"kien-giang": [(i, n, tuple(a)) for i, n, a in KIEN_GIANG]}
    for path in sorted(DEFINITIONS.glob("*.yaml")):
        plan = load_file(path)
        plans[plan.id] = [(a.id, a.name, a.aliases) for a in plan.agencies.values()]
    out = []
    for plan_id, agencies in plans.items():
        owners: dict[str, set[str]] = {}
        for agency_id, name, aliases in agencies:
            for text in (agency_id, name, *aliases):
                owners.setdefault(bare(text), set()).add(agency_id)
        out += [(plan_id, agency_id, text) for agency_id, name, aliases in agencies
                for text in (name, *aliases) if len(owners[bare(text)]) == 1]
    return out


FORMS = _written_forms()
INDEXES: dict[str, AgencyIndex] = {}


def _index(plan_id: str) -> AgencyIndex:
    if plan_id not in INDEXES:
        agencies = (KIEN_GIANG if plan_id == "kien-giang" else
                    [(a.id, a.name, a.aliases) for a in load_file(
                        next(p for p in DEFINITIONS.glob("*.yaml")
                             if load_file(p).id == plan_id)).agencies.values()])
        INDEXES[plan_id] = AgencyIndex(agencies)
    return INDEXES[plan_id]


TONES = "\u0300\u0301\u0303\u0309\u0323"


def _strip(text: str, how: str) -> str:
    if how == "none":
        return text
    nfd = unicodedata.normalize("NFD", text)
    if how == "tones":
        return "".join(c for c in nfd if c not in TONES)
    return "".join(c for c in nfd if not unicodedata.combining(c)).replace(
        "đ", "d").replace("Đ", "D")


@st.composite
def typed(draw):
    plan_id, agency_id, text = draw(st.sampled_from(FORMS))
    text = _strip(text, draw(st.sampled_from(["none", "tones", "all"])))
    case = draw(st.sampled_from(["as is", "lower", "upper", "title", "random"]))
    if case == "random":
        flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
        text = "".join(c.upper() if f else c.lower() for c, f in zip(text, flips, strict=True))
    elif case != "as is":
        text = getattr(text, case)()
    text = unicodedata.normalize(draw(st.sampled_from(["NFC", "NFD", "NFKC", "NFKD"])), text)
    gap = draw(st.sampled_from([" ", "  ", "\t", " \u00a0"]))
    return plan_id, agency_id, gap + gap.join(text.split()) + gap


@settings(max_examples=400, deadline=None, database=None)
@given(typed())
def test_a_declared_name_is_found_however_it_is_typed(case):
    """In any Unicode form, any case, with its tone marks or all its diacritics removed, with
    any spacing, a name or alias names its agency (when no other agency of the plan has that
    name without diacritics)."""
    plan_id, agency_id, text = case
    assert _index(plan_id).lookup(text) == (agency_id, set()), text
