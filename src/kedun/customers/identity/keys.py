"""The identity keys of a customer record, computed when it is written and when it is probed."""

from __future__ import annotations

from dataclasses import dataclass, field

from kedun.customers import contact_identity as contacts

from .names import CompanyName, bigrams, parse_company_name


@dataclass(frozen=True)
class IdentityKeys:
    names: tuple[CompanyName, ...] = ()
    name_kinds: tuple[str, ...] = ()  # "name", "short", "english", parallel to names
    phones: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    tax_id: str = ""
    # Problems a person should fix (e.g. an invalid credit code); matching ignores such input.
    problems: tuple[str, ...] = field(default=(), compare=False)

    def grams(self) -> set[str]:
        found: set[str] = set()
        for name in self.names:
            found |= bigrams(name.core)
        return found


# Reserved for examples and tests (RFC 2606): they identify nobody.
_RESERVED_DOMAINS = ("example.com", "example.org", "example.net", "localhost")
_RESERVED_SUFFIXES = (".example", ".test", ".invalid", ".localhost")


def _identifying(domain: str | None) -> bool:
    return (
        bool(domain)
        and domain not in _RESERVED_DOMAINS
        and not str(domain).endswith(_RESERVED_SUFFIXES)
    )


def identity_keys(
    *,
    name: str = "",
    short_name: str = "",
    english_name: str = "",
    phones: list[str] | tuple[str, ...] = (),
    emails: list[str] | tuple[str, ...] = (),
    websites: list[str] | tuple[str, ...] = (),
    tax_id: str = "",
    strict: bool = False,
) -> IdentityKeys:
    """Parse what a person typed. `strict` raises InvalidCreditCode instead of noting it."""
    names: list[CompanyName] = []
    kinds: list[str] = []
    for kind, raw in (("name", name), ("short", short_name), ("english", english_name)):
        if raw and raw.strip():
            for parsed in parse_company_name(raw).variants():
                if len(parsed.core) >= 2 and all(parsed.core != n.core for n in names):
                    names.append(parsed)
                    kinds.append(kind)
    numbers: list[str] = []
    for raw in phones:
        for number in contacts.normalize_phones(raw or ""):
            if number not in numbers:
                numbers.append(number)
    domains: list[str] = []
    for raw in emails:
        domain = contacts.email_domain(raw or "")
        if domain and _identifying(domain) and domain not in domains:
            domains.append(domain)
    for raw in websites:
        domain = contacts.website_domain(raw or "")
        if domain and _identifying(domain) and domain not in domains:
            domains.append(domain)
    code = ""
    problems: list[str] = []
    if tax_id and tax_id.strip():
        try:
            code = contacts.normalize_credit_code(tax_id)
        except contacts.InvalidCreditCode as error:
            if strict:
                raise
            problems.append(str(error.message))
    return IdentityKeys(
        names=tuple(names),
        name_kinds=tuple(kinds),
        phones=tuple(numbers),
        domains=tuple(domains),
        tax_id=code,
        problems=tuple(problems),
    )
