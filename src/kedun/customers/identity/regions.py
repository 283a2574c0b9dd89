"""China's administrative regions (province / city / district), from the `companynameparser`
package's pca.csv, with the short forms people write ("杭州" for 杭州市, "恩施" for
恩施土家族苗族自治州)."""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from pathlib import Path

import companynameparser

_PCA = Path(companynameparser.__file__).resolve().parent / "data" / "pca.csv"

# Longest first: "自治州" before "州", an ethnic group before its autonomy word.
_SUFFIXES = (
    "特别行政区",
    "自治区",
    "自治州",
    "自治县",
    "自治旗",
    "地区",
    "省",
    "市",
    "盟",
    "区",
    "县",
    "旗",
)
_ETHNIC = re.compile(
    r"(壮|回|维吾尔|藏|蒙古|朝鲜|满|苗|彝|土家|侗|布依|瑶|白|哈尼|傣|黎|傈僳|佤|畲|高山|拉祜|"
    r"水|东乡|纳西|景颇|柯尔克孜|土|达斡尔|仫佬|羌|布朗|撒拉|毛南|仡佬|锡伯|阿昌|普米|塔吉克|"
    r"怒|乌孜别克|俄罗斯|鄂温克|德昂|保安|裕固|京|塔塔尔|独龙|鄂伦春|赫哲|门巴|珞巴|基诺)族"
)


@dataclass(frozen=True)
class Region:
    """A place, as the short names of its levels: ("浙江", "杭州", "西湖")."""

    province: str = ""
    city: str = ""
    district: str = ""

    def __bool__(self) -> bool:
        return bool(self.province or self.city or self.district)

    def key(self) -> str:
        return "/".join((self.province, self.city, self.district)).rstrip("/")

    @classmethod
    def from_key(cls, key: str) -> Region:
        parts = [*key.split("/"), "", "", ""][:3] if key else ["", "", ""]
        return cls(*parts)

    def compatible_with(self, other: Region) -> bool:
        """Two places can be the same company's: every level both name is the same."""
        return all(
            not mine or not theirs or mine == theirs
            for mine, theirs in (
                (self.province, other.province),
                (self.city, other.city),
                (self.district, other.district),
            )
        )

    def label(self) -> str:
        return "".join(part for part in (self.province, self.city, self.district) if part)


_PROVINCE_SHORT = {
    "内蒙古自治区": "内蒙古",
    "广西壮族自治区": "广西",
    "西藏自治区": "西藏",
    "宁夏回族自治区": "宁夏",
    "新疆维吾尔自治区": "新疆",
    "香港特别行政区": "香港",
    "澳门特别行政区": "澳门",
}


def short_form(full: str) -> str:
    if full in _PROVINCE_SHORT:
        return _PROVINCE_SHORT[full]
    name = full
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            name = name[: -len(suffix)]
            break
    # "恩施土家族苗族" → "恩施": drop the ethnic groups named before the autonomy word.
    while True:
        stripped = _ETHNIC.sub("", name) if _ETHNIC.search(name) else name
        if stripped == name or len(stripped) < 2:
            break
        name = stripped
    return name


@dataclass(frozen=True)
class _Place:
    level: int  # 0 province, 1 city, 2 district
    region: Region


class RegionIndex:
    """Prefix lookup of place names, full ("杭州市") and, where safe, short ("杭州")."""

    def __init__(self, rows: list[tuple[str, str, str]]):
        # name → places it can mean (a short name may be ambiguous: 朝阳 区/市)
        self.full: dict[str, list[_Place]] = {}
        self.short: dict[str, list[_Place]] = {}
        self.bracket_short: dict[str, list[_Place]] = {}
        for province, city, district in rows:
            p_short = short_form(province)
            c_short = short_form(city) if city and city != province else ""
            d_short = short_form(district) if district else ""
            if province:
                self._add(province, p_short, _Place(0, Region(p_short)), allow_short=True)
            if c_short:
                # Short forms only for 市/自治州 cities: "阿里" (阿里地区) starts 阿里巴巴.
                self._add(
                    city,
                    c_short,
                    _Place(1, Region(p_short, c_short)),
                    allow_short=city.endswith(("市", "自治州")),
                )
            elif city == province and province:
                # Municipalities: 北京市 is both province and city.
                self._add(city, p_short, _Place(1, Region(p_short, p_short)), allow_short=True)
            if district:
                self._add(
                    district,
                    d_short,
                    _Place(2, Region(p_short, c_short or p_short, d_short)),
                    allow_short=False,
                )
        self.max_len = max(len(name) for name in self.full)

    def _add(self, full: str, short: str, place: _Place, *, allow_short: bool) -> None:
        _append(self.full, full, place)
        if len(short) >= 2 and short != full:
            # In brackets any short form is safe: 腾讯(深圳), 艾诺煮粉(阿克苏).
            _append(self.bracket_short, short, place)
            if allow_short:
                _append(self.short, short, place)
        # "德宏傣族景颇族" (自治州 dropped, the peoples kept) is unambiguous anywhere.
        for suffix in ("自治州", "自治县", "自治旗", "自治区"):
            if full.endswith(suffix) and "族" in full:
                _append(self.short, full[: -len(suffix)], place)
                _append(self.bracket_short, full[: -len(suffix)], place)

    def match_prefix(
        self,
        text: str,
        *,
        within: Region | None = None,
        short_ok: bool = True,
        bracketed: bool = False,
    ) -> tuple[str, Region] | None:
        """The longest place name `text` starts with (inside `within` when given)."""
        shorts = self.bracket_short if bracketed else self.short
        for length in range(min(self.max_len, len(text) - 1), 1, -1):
            head = text[:length]
            places = self.full.get(head) or (shorts.get(head) if short_ok else None)
            if not places:
                continue
            for place in places:
                if within is None or (
                    place.region.compatible_with(within) and _deeper(place.region, within)
                ):
                    return head, place.region
        return None

    def lookup(self, text: str) -> Region | None:
        """A whole string that is a place ("嘉峪关", "杭州市", "浙江杭州")."""
        found = self.match_prefix(text + "\0", bracketed=True)
        if found and found[0] == text:
            return found[1]
        first = self.match_prefix(text, bracketed=True)
        if first:
            rest = text[len(first[0]) :]
            second = self.match_prefix(rest + "\0", within=first[1], bracketed=True)
            if second and second[0] == rest:
                return second[1]
        return None


def _append(index: dict[str, list[_Place]], name: str, place: _Place) -> None:
    places = index.setdefault(name, [])
    if place not in places:
        places.append(place)
        # An ambiguous short name means the larger place first: 西安 is the city, not the
        # district of 辽源 that shares the name.
        places.sort(key=lambda p: p.level)


def _deeper(place: Region, within: Region) -> bool:
    """`place` names a level below what `within` already says."""
    depth = lambda r: 3 if r.district else 2 if r.city else 1 if r.province else 0  # noqa: E731
    return depth(place) > depth(within)


@functools.cache
def region_index() -> RegionIndex:
    with _PCA.open(encoding="utf-8") as handle:
        rows = [(row["sheng"], row["shi"], row["qu"]) for row in csv.DictReader(handle)]
    return RegionIndex(rows)
