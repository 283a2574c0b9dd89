"""Company names: normalised, split into region / trade name (字号) / industry / legal form,
with the pinyin keys that catch homophone typos from pinyin input methods.

Everything here is deterministic and computed once when a customer is written; the matcher
compares these parts, never the raw strings (IDENTITY-NOTES.md).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import companynameparser
import opencc
from pypinyin import Style, pinyin

from .regions import Region, region_index

_T2S = opencc.OpenCC("t2s")
_ZERO_WIDTH = re.compile("[\u200b-\u200f\u2060\ufeff\u00ad]")
# Everything that is not a letter, digit, CJK character or bracket is noise in a name.
_NOISE = re.compile(r"[^\w()\u3400-\u9fff]|_", re.UNICODE)
_BRACKETS = str.maketrans(
    {
        "（": "(",
        "）": ")",
        "【": "(",
        "】": ")",
        "[": "(",
        "]": ")",
        "〔": "(",
        "〕": ")",
        "{": "(",
        "}": ")",
        "《": "",
        "》": "",
    }
)
_BRACKETED = re.compile(r"\(([^()]*)\)")

# Legal forms and organisation words at the end of a name, longest first. "集团" counts: the
# same company is written 妃兰酒店集团有限公司 and 妃兰酒店有限责任公司.
LEGAL_FORMS = tuple(
    sorted(
        {
            "集团股份有限公司",
            "集团有限责任公司",
            "集团有限公司",
            "股份有限公司",
            "有限责任公司",
            "股份合作公司",
            "股份公司",
            "有限公司",
            "集团公司",
            "总公司",
            "公司",
            "集团",
            "有限合伙",
            "普通合伙",
            "合伙企业",
            "个人独资企业",
            "个体工商户",
            "工作室",
            "商行",
            "经营部",
            "门市部",
            "厂",
            "店",
            "co ltd",
            "coltd",
            "ltd",
            "limited",
            "inc",
            "corp",
            "company",
            "llc",
        },
        key=len,
        reverse=True,
    )
)
# A branch is the same customer relationship as its head office.
_BRANCH = re.compile(r"(第[一二三四五六七八九十\d]+)?(分公司|分店|分厂|办事处|营业部|子公司)$")


@functools.cache
def _industries() -> frozenset[str]:
    path = Path(companynameparser.__file__).resolve().parent / "data" / "trade.txt"
    words = {line.strip() for line in path.read_text(encoding="utf-8").splitlines()}
    words |= {
        "实业",
        "科技",
        "技术",
        "贸易",
        "商贸",
        "发展",
        "投资",
        "控股",
        "国际",
        "工程",
        "设备",
        "制品",
        "材料",
        "服务",
        "咨询",
        "管理",
        "电子",
        "信息",
        "网络",
    }
    return frozenset(w for w in words if len(w) >= 2)


@functools.cache
def _industry_max_len() -> int:
    return max(len(word) for word in _industries())


def normalize_text(raw: str) -> str:
    """NFKC, no zero-width characters, simplified script, lower case, brackets unified,
    spaces and punctuation removed."""
    text = unicodedata.normalize("NFKC", raw or "")
    text = _ZERO_WIDTH.sub("", text)
    text = _T2S.convert(text).lower().translate(_BRACKETS)
    return _NOISE.sub("", text)


@dataclass(frozen=True)
class CompanyName:
    raw: str
    normalized: str  # the whole name, normalised (brackets kept)
    core: str  # trade name + industry: region, brackets, legal form and branch removed
    region: Region
    trade_name: str  # 字号
    industry: str
    legal_form: str
    # The core as it would be had a short place name at the start not been read as a region:
    # "临沂物流" may be 临沂's 物流 company or a company whose trade name is 临沂物流.
    ambiguous_core: str = ""

    def variants(self) -> list[CompanyName]:
        if not self.ambiguous_core:
            return [self]
        trade_name, industry = split_trade_name(self.ambiguous_core)
        return [
            self,
            CompanyName(
                raw=self.raw,
                normalized=self.normalized,
                core=self.ambiguous_core,
                region=Region(),
                trade_name=trade_name,
                industry=industry,
                legal_form=self.legal_form,
            ),
        ]

    # Computed once per name: the index writer, the batch screening and every candidate
    # comparison ask for them (cached_property writes __dict__, which frozen allows).
    @functools.cached_property
    def pinyin(self) -> str:
        return pinyin_key(self.core)

    @functools.cached_property
    def fuzzy(self) -> str:
        return fuzzy_pinyin_key(self.core)


def parse_company_name(raw: str) -> CompanyName:
    text = normalize_text(raw)
    regions = region_index()
    region = Region()

    # A region in brackets: 腾讯计算机系统(深圳)有限公司. Other bracketed words are dropped
    # when they are legal forms or branch words, kept otherwise.
    def bracket(match: re.Match[str]) -> str:
        nonlocal region
        inner = match.group(1)
        place = regions.lookup(inner) if inner else None
        if place is not None:
            if not region:
                region = place
            return ""
        if inner in LEGAL_FORMS or _BRANCH.search(inner):
            return ""
        return inner

    body = _BRACKETED.sub(bracket, text).replace("(", "").replace(")", "")

    legal_form = ""
    for _ in range(3):  # 某某有限公司深圳分公司: branch, its place, then the legal form
        changed = False
        branch = _BRANCH.search(body)
        if branch and len(body) - len(branch.group(0)) >= 2:
            body = body[: branch.start()]
            changed = True
            branch_place = _trailing_place(body)
            if branch_place:
                body = body[: -len(branch_place)]
        for form in LEGAL_FORMS:
            if body.endswith(form) and len(body) - len(form) >= 2:
                legal_form = legal_form or form
                body = body[: -len(form)]
                changed = True
                break
        if not changed:
            break

    # Region prefixes, most general first: 浙江省杭州市西湖区…
    ambiguous_core = ""
    prefix = regions.match_prefix(body)
    while prefix is not None and len(body) - len(prefix[0]) >= 2:
        head, place = prefix
        rest = body[len(head) :]
        # A place that contradicts the bracketed one, or that leaves only an industry word
        # behind, is the trade name itself: 攀枝花电机（乌鲁木齐市）, 深圳电子有限公司.
        if (region and not place.compatible_with(region)) or rest in _industries():
            break
        if not ambiguous_core and head in regions.short and head not in regions.full:
            ambiguous_core = body
        region = _merge(region, place)
        body = rest
        prefix = regions.match_prefix(body, within=place, short_ok=True)

    # A branch named after its place, after the legal form: 腾讯科技(深圳)有限公司深圳分公司
    trade_name, industry = split_trade_name(body)
    return CompanyName(
        raw=raw,
        normalized=text,
        core=body,
        region=region,
        trade_name=trade_name,
        industry=industry,
        legal_form=legal_form,
        ambiguous_core=ambiguous_core,
    )


def _trailing_place(text: str) -> str:
    regions = region_index()
    for length in range(min(regions.max_len, len(text) - 2), 1, -1):
        if regions.lookup(text[-length:]) is not None:
            return text[-length:]
    return ""


def _merge(first: Region, second: Region) -> Region:
    return Region(
        first.province or second.province,
        first.city or second.city,
        first.district or second.district,
    )


def split_trade_name(core: str) -> tuple[str, str]:
    """腾讯计算机系统 → (腾讯, 计算机系统): industry words peeled from the end."""
    trade = core
    industry = ""
    words = _industries()
    longest = _industry_max_len()
    while True:
        for length in range(min(longest, len(trade) - 2), 1, -1):
            if trade[-length:] in words:
                industry = trade[-length:] + industry
                trade = trade[:-length]
                break
        else:
            return trade, industry


# --- pinyin -----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=65536)
def _syllable(char: str) -> str:
    if "\u3400" <= char <= "\u9fff":
        return pinyin(char, style=Style.NORMAL, heteronym=False)[0][0]
    return char


_LATIN_RUN = re.compile(r"[a-z0-9]+|.", re.S)


def syllables(text: str) -> list[str]:
    """One syllable per Chinese character; a run of Latin letters or digits is one token."""
    return [_syllable(token) if len(token) == 1 else token for token in _LATIN_RUN.findall(text)]


def pinyin_key(text: str) -> str:
    """Toneless pinyin, one syllable per character: 腾讯 → "teng xun"."""
    return " ".join(syllables(text))


_FUZZY_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"), ("f", "h"), ("r", "l"))
_FUZZY_FINALS = (("iang", "ian"), ("uang", "uan"), ("ang", "an"), ("eng", "en"), ("ing", "in"))


@functools.lru_cache(maxsize=65536)
def fuzzy_syllable(syllable: str) -> str:
    """Sounds a southern accent or a hurried pinyin user confuses: zh/z, n/l, eng/en …"""
    for long, short in _FUZZY_INITIALS:
        if syllable.startswith(long):
            syllable = short + syllable[len(long) :]
            break
    for long, short in _FUZZY_FINALS:
        if syllable.endswith(long):
            syllable = syllable[: -len(long)] + short
            break
    return syllable


def fuzzy_pinyin_key(text: str) -> str:
    return " ".join(fuzzy_syllable(s) for s in syllables(text))


def bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)} if len(text) > 1 else {text} - {""}
