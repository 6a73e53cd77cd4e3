"""Agencies written several ways resolve to one id; ambiguity is refused, not guessed."""

from __future__ import annotations

import unicodedata

import pytest

from workflow.plan.names import AgencyIndex

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
