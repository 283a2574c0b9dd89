"""The duplicate check: candidates from indexed keys, then rules a person can read.

Levels (MISSION §2):
- duplicate: the same company beyond reasonable doubt — same credit code; the same name once
  region, legal form, script and noise are folded away (in a compatible region); or the same
  phone / company domain together with a compatible name.
- possible: a reason to look — same pronunciation, same trade name in another industry, the
  name contained in another, the same name in another region, a shared phone or domain alone.

No step scans the table: every candidate comes from a B-tree lookup (exact keys, a prefix
range, phones, domains, credit code) or from the bigram index with common bigrams skipped.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils.translation import gettext as _
from rapidfuzz import fuzz

from kedun.customers import contact_identity as contacts

from .identity.keys import IdentityKeys
from .identity.names import CompanyName
from .identity.regions import Region
from .models import (
    Customer,
    CustomerDomain,
    CustomerName,
    CustomerNameGram,
    CustomerNameGramStat,
    CustomerPhone,
)

DUPLICATE = "duplicate"
POSSIBLE = "possible"

# How many rows one key may bring back; a key shared by more is weak evidence anyway.
_PER_KEY = 50
_GRAM_CANDIDATES = 100
# More customers than this on one phone or domain: shared, not identity.
_SHARED = 3


@dataclass
class Candidate:
    customer_id: int
    level: str
    score: int
    reasons: list[str] = field(default_factory=list)

    @property
    def is_duplicate(self) -> bool:
        return self.level == DUPLICATE


@dataclass
class _Evidence:
    tax_id: bool = False
    phones: set[str] = field(default_factory=set)
    domains: set[str] = field(default_factory=set)


def duplicates_find(
    keys: IdentityKeys, *, limit: int = 5, exclude_ids: frozenset[int] = frozenset()
) -> list[Candidate]:
    """The customers `keys` may be, best first (duplicates before possibles)."""
    evidence: dict[int, _Evidence] = defaultdict(_Evidence)
    live = Customer.objects.filter(merged_into__isnull=True)

    if keys.tax_id:
        for customer_id in live.filter(tax_id=keys.tax_id).values_list("pk", flat=True)[:5]:
            evidence[customer_id].tax_id = True
    phone_sharing: Counter[str] = Counter()
    if keys.phones:
        rows = CustomerPhone.objects.filter(number__in=keys.phones).values_list(
            "customer_id", "number"
        )[: _PER_KEY * len(keys.phones)]
        for customer_id, number in rows:
            evidence[customer_id].phones.add(number)
            phone_sharing[number] += 1
    domain_sharing: Counter[str] = Counter()
    if keys.domains:
        domain_rows = CustomerDomain.objects.filter(domain__in=keys.domains).values_list(
            "customer_id", "domain"
        )[: _PER_KEY * len(keys.domains)]
        for customer_id, domain in domain_rows:
            evidence[customer_id].domains.add(domain)
            domain_sharing[domain] += 1

    name_ids = _name_candidates(keys)
    ids = (set(evidence) | name_ids) - set(exclude_ids)
    if not ids:
        return []
    names_of: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in CustomerName.objects.filter(customer_id__in=ids).values(
        "customer_id", "core", "region", "trade_name", "pinyin", "fuzzy"
    ):
        names_of[row["customer_id"]].append(dict(row))
    tax_ids = dict(live.filter(pk__in=ids).values_list("pk", "tax_id"))

    candidates = []
    for customer_id in ids:
        if customer_id not in tax_ids:  # merged away
            continue
        candidate = _judge(
            customer_id,
            keys,
            names_of[customer_id],
            evidence.get(customer_id),
            tax_ids[customer_id],
            phone_sharing + domain_sharing,
        )
        if candidate is not None:
            candidates.append(candidate)
    candidates.sort(key=lambda c: (c.level != DUPLICATE, -c.score, c.customer_id))
    return candidates[:limit]


def _name_candidates(keys: IdentityKeys) -> set[int]:
    ids: set[int] = set()
    if not keys.names:
        return ids
    table = CustomerName._meta.db_table
    clauses: list[str] = []
    params: list[str] = []
    for name in keys.names:
        clauses += ["core = %s", "pinyin = %s", "fuzzy = %s"]
        params += [name.core, name.pinyin, name.fuzzy]
        if len(name.trade_name) >= 2:
            clauses.append("trade_name = %s")
            params.append(name.trade_name)
        # The name typed in part ("左岸右转" for 左岸右转货物运输): an index range, not LIKE.
        clauses.append("(core > %s AND core < %s)")
        params += [name.core, name.core + "\uffff"]
    # One indexed lookup per key, combined: each arm uses its own B-tree index.
    sql = " UNION ".join(
        f"SELECT customer_id, core FROM (SELECT customer_id, core FROM {table} "
        f"WHERE {clause} LIMIT {_PER_KEY}) AS k{i}"
        for i, clause in enumerate(clauses)
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        hits = cursor.fetchall()
    ids |= {customer_id for customer_id, _core in hits}
    # The bigram index finds what the keys cannot: a name inside another, a parse that went
    # differently. Skipped when the exact keys already found the same core.
    cores = {name.core for name in keys.names}
    if not any(core in cores for _id, core in hits):
        ids |= _gram_candidates(keys)
    return ids


# Per process: the registry's size changes slowly; a bigram is "common" relative to it.
_size_cache: dict[str, float] = {}


def _registry_size() -> int:
    now = time.monotonic()
    if now - _size_cache.get("at", -1e9) > 600:
        _size_cache["size"] = CustomerName.objects.count()
        _size_cache["at"] = now
    return int(_size_cache["size"])


# At most this many bigrams, the rarest, go into the lookup: they carry the trade name.
_RAREST_GRAMS = 4


def _gram_candidates(keys: IdentityKeys) -> set[int]:
    grams = sorted(keys.grams())
    if not grams:
        return set()
    # A bigram in more than ~2% of names (有限, 科技 …) says nothing and costs a long scan;
    # capped at 300 names too: at a million, 2% would be 20,000 rows a bigram, and a bigram
    # that common does not single out a company anyway (measured: bench/registry_scale.py).
    common_at = min(300, max(100, _registry_size() // 50))
    counts = dict(CustomerNameGramStat.objects.filter(gram__in=grams).values_list("gram", "count"))
    useful = sorted((count, gram) for gram, count in counts.items() if 0 < count <= common_at)
    useful_grams = [gram for _count, gram in useful[:_RAREST_GRAMS]]
    if not useful_grams:
        return set()
    needed = 2 if len(useful_grams) >= 3 else 1
    marks = ", ".join(["%s"] * len(useful_grams))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT customer_id FROM {CustomerNameGram._meta.db_table} "
            f"WHERE gram IN ({marks}) GROUP BY customer_id HAVING COUNT(*) >= %s "
            f"ORDER BY COUNT(*) DESC LIMIT {_GRAM_CANDIDATES}",
            [*useful_grams, needed],
        )
        return {row[0] for row in cursor.fetchall()}


# --- the rules --------------------------------------------------------------------------------


@dataclass
class _NameRelation:
    kind: str  # same, pinyin, fuzzy, contains, trade, none
    similarity: float
    region_ok: bool
    query: CompanyName
    stored: dict[str, Any]


_NAME_RANK = {"same": 5, "pinyin": 4, "fuzzy": 3, "contains": 2, "trade": 1, "none": 0}


def _relate(query: CompanyName, stored: dict[str, Any]) -> _NameRelation:
    core = stored["core"]
    similarity = fuzz.ratio(query.core, core)
    region_ok = query.region.compatible_with(Region.from_key(stored["region"]))
    if query.core == core:
        kind = "same"
    elif query.pinyin == stored["pinyin"]:
        kind = "pinyin"
    elif query.fuzzy == stored["fuzzy"]:
        kind = "fuzzy"
    elif len(query.core) >= 2 and (query.core in core or (len(core) >= 2 and core in query.core)):
        kind = "contains"
    elif len(query.trade_name) >= 2 and query.trade_name == stored["trade_name"]:
        kind = "trade"
    else:
        kind = "none"
    return _NameRelation(kind, similarity, region_ok, query, stored)


def _best_relation(keys: IdentityKeys, stored_names: list[dict[str, Any]]) -> _NameRelation | None:
    best = None
    for query in keys.names:
        for stored in stored_names:
            relation = _relate(query, stored)
            if best is None or (
                _NAME_RANK[relation.kind],
                relation.region_ok,
                relation.similarity,
            ) > (_NAME_RANK[best.kind], best.region_ok, best.similarity):
                best = relation
    return best


def _judge(
    customer_id: int,
    keys: IdentityKeys,
    stored_names: list[dict[str, Any]],
    evidence: _Evidence | None,
    stored_tax_id: str,
    sharing: Counter[str],
) -> Candidate | None:
    evidence = evidence or _Evidence()
    relation = _best_relation(keys, stored_names) if keys.names else None
    kind = relation.kind if relation else "none"
    reasons: list[str] = []
    tax_conflict = bool(keys.tax_id and stored_tax_id and keys.tax_id != stored_tax_id)

    if evidence.tax_id:
        reasons.append(_("same unified social credit code %(code)s") % {"code": keys.tax_id})
        _add_name_reason(reasons, relation)
        return Candidate(customer_id, DUPLICATE, 100, reasons)

    compatible_name = kind in ("same", "pinyin", "fuzzy", "contains", "trade") or (
        relation is not None and relation.similarity >= 80
    )
    # A phone or domain shared by several customers (an accounting agent's number, a group's
    # mail domain) is weak evidence: alone it raises nothing.
    phones = sorted(evidence.phones)
    strong_phones = [p for p in phones if sharing[p] <= _SHARED]
    strong_domains = [d for d in sorted(evidence.domains) if sharing[d] <= _SHARED]
    if phones:
        masked = ", ".join(contacts.mask_phone(p) for p in phones)
        reasons.append(_("same phone %(phone)s") % {"phone": masked})
    if evidence.domains:
        reasons.append(
            _("same company domain %(domain)s") % {"domain": ", ".join(sorted(evidence.domains))}
        )

    if kind == "same" and relation is not None:
        _add_name_reason(reasons, relation)
        if relation.region_ok and not tax_conflict:
            return Candidate(customer_id, DUPLICATE, 98, reasons)
        if tax_conflict:
            reasons.append(_("but the credit codes differ"))
        return Candidate(customer_id, POSSIBLE, 80 + 5 * bool(phones), reasons)

    if (strong_phones or strong_domains) and compatible_name and not tax_conflict:
        _add_name_reason(reasons, relation)
        return Candidate(customer_id, DUPLICATE, 95 if strong_phones else 93, reasons)

    if kind in ("pinyin", "fuzzy", "contains", "trade") and relation is not None:
        _add_name_reason(reasons, relation)
        base = {"pinyin": 85, "fuzzy": 78, "contains": 72, "trade": 65}[kind]
        return Candidate(
            customer_id,
            POSSIBLE,
            base + 5 * bool(phones or evidence.domains) + (3 if relation.region_ok else 0),
            reasons,
        )
    if strong_phones or strong_domains:
        return Candidate(customer_id, POSSIBLE, 60, reasons)
    return None


def _add_name_reason(reasons: list[str], relation: _NameRelation | None) -> None:
    if relation is None:
        return
    query, stored = relation.query, relation.stored
    if relation.kind == "same":
        notes = []
        if query.raw.strip() != query.normalized:
            notes.append(_("written differently (script, spacing, brackets)"))
        if not relation.region_ok:
            notes.append(_("but in another region"))
        text = _("same name %(name)s") % {"name": stored["core"]}
        reasons.append(text + ("; " + "; ".join(notes) if notes else ""))
    elif relation.kind == "pinyin":
        reasons.append(
            _("same pronunciation %(pinyin)s: %(query)s / %(stored)s")
            % {"pinyin": stored["pinyin"], "query": query.core, "stored": stored["core"]}
        )
    elif relation.kind == "fuzzy":
        reasons.append(
            _("similar pronunciation: %(query)s / %(stored)s")
            % {"query": query.core, "stored": stored["core"]}
        )
    elif relation.kind == "contains":
        reasons.append(
            _("name contains or is contained in %(stored)s") % {"stored": stored["core"]}
        )
    elif relation.kind == "trade":
        reasons.append(
            _("same trade name %(trade)s in another line of business")
            % {"trade": stored["trade_name"]}
        )


# --- many at once (import, screening) ---------------------------------------------------------

_CHUNK = 500  # values per IN (…): well under every engine's parameter limit


def _chunks(values: list[Any]) -> list[list[Any]]:
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]


def _select_where_in(
    table: str, columns: tuple[str, ...], key: str, values: list[Any], *, extra: str = ""
) -> list[tuple[Any, ...]]:
    """Rows whose `key` is one of `values`: one array parameter per 20,000 values on
    PostgreSQL (a long IN list costs more to send and parse than to run), IN chunks on SQLite."""
    if not values:
        return []
    quote = connection.ops.quote_name
    head = f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(table)} WHERE " + (
        f"{extra} AND " if extra else ""
    )
    rows: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for start in range(0, len(values), 20_000):
                cursor.execute(head + f"{quote(key)} = ANY(%s)", [values[start : start + 20_000]])
                rows += cursor.fetchall()
        else:
            for chunk in _chunks(values):
                cursor.execute(head + f"{quote(key)} IN ({', '.join(['%s'] * len(chunk))})", chunk)
                rows += cursor.fetchall()
    return rows


def duplicates_find_many(all_keys: list[IdentityKeys], *, limit: int = 5) -> list[list[Candidate]]:
    """duplicates_find for a whole batch, with set-based lookups of the exact keys (credit
    code, phones, domains, name core, pinyin and fuzzy pinyin) instead of queries per row.

    The prefix and bigram lookups of a single check are left out: a batch screens for what
    is certain or sounds the same; the registration form still runs the full check.
    """
    by_tax: dict[str, set[int]] = defaultdict(set)
    by_phone: dict[str, set[int]] = defaultdict(set)
    by_domain: dict[str, set[int]] = defaultdict(set)
    by_name: dict[str, set[int]] = defaultdict(set)
    customer_table = Customer._meta.db_table
    for pk, tax_id in _select_where_in(
        customer_table,
        ("id", "tax_id"),
        "tax_id",
        sorted({k.tax_id for k in all_keys if k.tax_id}),
        extra="merged_into_id IS NULL",
    ):
        by_tax[tax_id].add(pk)
    for pk, number in _select_where_in(
        CustomerPhone._meta.db_table,
        ("customer_id", "number"),
        "number",
        sorted({p for k in all_keys for p in k.phones}),
    ):
        by_phone[number].add(pk)
    for pk, domain in _select_where_in(
        CustomerDomain._meta.db_table,
        ("customer_id", "domain"),
        "domain",
        sorted({d for k in all_keys for d in k.domains}),
    ):
        by_domain[domain].add(pk)
    # One lookup per indexed column, each with its own values: an OR of the three, or every
    # value in every column, defeats or wastes the indexes.
    for column in ("core", "pinyin", "fuzzy"):
        values = sorted({getattr(n, column) for k in all_keys for n in k.names})
        for pk, value in _select_where_in(
            CustomerName._meta.db_table, ("customer_id", column), column, values
        ):
            by_name[value].add(pk)

    ids_per_row: list[set[int]] = []
    for keys in all_keys:
        ids: set[int] = set()
        ids |= by_tax.get(keys.tax_id, set())
        for number in keys.phones:
            ids |= set(sorted(by_phone.get(number, ()))[:_PER_KEY])
        for domain in keys.domains:
            ids |= set(sorted(by_domain.get(domain, ()))[:_PER_KEY])
        for name in keys.names:
            for value in (name.core, name.pinyin, name.fuzzy):
                ids |= set(sorted(by_name.get(value, ()))[:_PER_KEY])
        ids_per_row.append(ids)

    every_id = sorted(set().union(*ids_per_row)) if ids_per_row else []
    names_of: dict[int, list[dict[str, Any]]] = defaultdict(list)
    tax_of: dict[int, str] = {}
    name_columns = ("customer_id", "core", "region", "trade_name", "pinyin", "fuzzy")
    for row in _select_where_in(CustomerName._meta.db_table, name_columns, "customer_id", every_id):
        names_of[row[0]].append(dict(zip(name_columns, row, strict=True)))
    tax_of.update(
        _select_where_in(
            customer_table, ("id", "tax_id"), "id", every_id, extra="merged_into_id IS NULL"
        )
    )

    sharing: Counter[str] = Counter()
    for number, holders in by_phone.items():
        sharing[number] = len(holders)
    for domain, holders in by_domain.items():
        sharing[domain] = len(holders)

    results: list[list[Candidate]] = []
    for keys, ids in zip(all_keys, ids_per_row, strict=True):
        candidates = []
        for customer_id in ids:
            if customer_id not in tax_of:
                continue
            evidence = _Evidence(
                tax_id=bool(keys.tax_id) and customer_id in by_tax.get(keys.tax_id, ()),
                phones={p for p in keys.phones if customer_id in by_phone.get(p, ())},
                domains={d for d in keys.domains if customer_id in by_domain.get(d, ())},
            )
            candidate = _judge(
                customer_id, keys, names_of[customer_id], evidence, tax_of[customer_id], sharing
            )
            if candidate is not None:
                candidates.append(candidate)
        candidates.sort(key=lambda c: (c.level != DUPLICATE, -c.score, c.customer_id))
        results.append(candidates[:limit])
    return results
