"""The sentences a manager reads: each finding's facts in the reader's language.

Facts are stored, sentences are made when read, so the boss reading in English and a manager
in Traditional Chinese see the same evidence in their own words. Contact data stays masked
here as on every other surface (MISSION §1): the sentence says whose number it is; the
customer page reveals the number itself, audited, to those allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kedun.customers.contact_identity import mask_email, mask_phone


def money(value: Any) -> str:
    try:
        return f"¥{float(value):,.2f}"
    except (TypeError, ValueError):
        return str(value)


def _masked(field: str, value: str) -> str:
    if not value:
        return "—"
    return mask_email(value) if "email" in field else mask_phone(value)


def _verdict(kind: str, who: str) -> str:
    return {
        "rep_own": _("the rep's own"),
        "employee": _("a colleague's (%(who)s)") % {"who": who},
        "other_customer": _("another customer's (%(who)s)") % {"who": who},
        "company_to_private": _("a private mailbox instead of the company's address"),
        "private": _("a private mailbox"),
        "unknown_domain": _("an address at a domain unknown to Kedun"),
        "unknown_phone": _("a number unknown to Kedun"),
    }.get(kind, kind)


def _mail_verdict(kind: str, competitor: str) -> str:
    return {
        "competitor": _("the competitor %(name)s") % {"name": competitor}
        if competitor
        else _("a competitor's domain"),
        "competitor_like": _("a domain that spells the competitor %(name)s") % {"name": competitor},
        "private_own": _("a private mailbox that carries the rep's name"),
        "private": _("a private mailbox"),
        "outside": _("an outside address"),
        "forwarded_private": _("customer mail forwarded to a private address"),
        "material_outside": _("a quote or price list sent outside the customer"),
    }.get(kind, kind)


def finding_sentence(kind: str, facts: Mapping[str, Any], *, customer: str, rep: str) -> str:
    """One finding as a sentence; `customer` is "C00123 某某有限公司" (or "" for the rep)."""
    writer = _WRITERS.get(kind)
    try:
        if writer is not None:
            return writer(facts, customer, rep)
    except (KeyError, IndexError, TypeError, ValueError):
        pass  # facts stored by an older version: the label and the customer still say it
    return f"{customer}: {kind_label(kind)}" if customer else str(kind_label(kind))


def _orders_dried_up(f: Mapping[str, Any], customer: str, rep: str) -> str:
    return _(
        "%(customer)s: %(before)d orders (%(amount_before)s) in the %(weeks_before)d weeks "
        "before %(since)s, %(after)d (%(amount_after)s) in the %(weeks_after)d weeks since, "
        "where %(expected)s were expected; meanwhile %(rep)s kept in touch: %(follow_ups)d "
        "follow-ups and %(visits)d check-ins since (%(contact)d contacts, %(contact_expected)s "
        "expected from before)."
    ) % {
        "customer": customer,
        "before": f["orders_before"],
        "amount_before": money(f["amount_before"]),
        "weeks_before": f["weeks_before"],
        "since": f["since"],
        "after": f["orders_after"],
        "amount_after": money(f["amount_after"]),
        "weeks_after": f["weeks_after"],
        "expected": f["expected"],
        "rep": rep,
        "follow_ups": f["follow_ups_after"],
        "visits": f["check_ins_after"],
        "contact": f["contact_after"],
        "contact_expected": f["contact_expected"],
    }


def _losses_rising(f: Mapping[str, Any], customer: str, rep: str) -> str:
    return _(
        "%(customer)s: %(rep)s lost %(lost)d of %(decided)d deals decided since %(since)s "
        "(%(competitor)d to a named competitor), against %(lost_before)d of "
        "%(decided_before)d before."
    ) % {
        "customer": customer,
        "rep": rep,
        "lost": f["lost_after"],
        "decided": f["decided_after"],
        "since": f["since"],
        "competitor": f["to_competitor_after"],
        "lost_before": f["lost_before"],
        "decided_before": f["decided_before"],
    }


def _worked_harder(f: Mapping[str, Any], customer: str, rep: str) -> str:
    return _(
        "%(customer)s: %(rep)s was in touch %(after)d times in the %(weeks)d weeks since "
        "%(since)s, where %(expected)s were expected from before, while orders went from "
        "%(orders_before)d (%(amount_before)s) to %(orders_after)d (%(amount_after)s)."
    ) % {
        "customer": customer,
        "rep": rep,
        "after": f["contact_after"],
        "weeks": f["weeks_after"],
        "since": f["since"],
        "expected": f["expected"],
        "orders_before": f["orders_before"],
        "amount_before": money(f["amount_before"]),
        "orders_after": f["orders_after"],
        "amount_after": money(f["amount_after"]),
    }


def _contact_redirected(f: Mapping[str, Any], customer: str, rep: str) -> str:
    parts = [
        _("on %(on)s %(rep)s changed the %(field)s from %(old)s to %(new)s, %(whose)s")
        % {
            "on": change["on"],
            "rep": rep,
            "field": _field_name(change["field"]),
            "old": _masked(change["field"], change["old"]),
            "new": _masked(change["field"], change["new"]),
            "whose": _verdict(change["verdict"], change.get("belongs_to", "")),
        }
        for change in f["changes"][:3]
    ]
    more = len(f["changes"]) - len(parts)
    tail = (
        (ngettext(" (and %(n)d more change)", " (and %(n)d more changes)", more) % {"n": more})
        if more > 0
        else ""
    )
    return _("%(customer)s: %(changes)s%(more)s.") % {
        "customer": customer,
        "changes": "; ".join(parts),
        "more": tail,
    }


def _field_name(field: str) -> str:
    return {
        "phone": _("phone"),
        "email": _("email"),
        "contact_phone": _("contact's phone"),
        "contact_email": _("contact's email"),
        "website": _("website"),
        "address": _("address"),
    }.get(field, field)


def _money_through_others(f: Mapping[str, Any], customer: str, rep: str, *, paid: bool) -> str:
    records = f["records"]
    extras = []
    if f.get("customers_of_party", 0) >= 2:
        extras.append(
            _("the same party pays or receives for %(n)d customers")
            % {"n": f["customers_of_party"]}
        )
    if f.get("personal"):
        extras.append(_("a person's name, not a company's"))
    if f.get("rep_named"):
        extras.append(_("the name carries the rep's"))
    template = (
        _(
            "%(customer)s: %(n)d payments made by %(parties)s, not by the customer, "
            "first on %(first)s"
        )
        if paid
        else _(
            "%(customer)s: %(n)d deliveries shipped to %(parties)s, not to the customer, "
            "first on %(first)s"
        )
    )
    sentence = template % {
        "customer": customer,
        "n": len(records),
        "parties": "、".join(f["parties"][:3]),
        "first": records[0]["on"],
    }
    if extras:
        sentence += " (" + "; ".join(extras) + ")"
    return sentence + "."


def _mail_outside(f: Mapping[str, Any], customer: str, rep: str) -> str:
    example = f["messages"][0]
    deleted = sum(1 for m in f["messages"] if m.get("deleted"))
    sentence = _(
        "%(customer)s: %(rep)s sent %(n)d messages outside the company, e.g. on %(on)s "
        "“%(subject)s” to %(to)s (%(verdict)s)"
    ) % {
        "customer": customer or _("no customer linked"),
        "rep": rep,
        "n": f["count"],
        "on": example["on"],
        "subject": example["subject"],
        "to": mask_email(example["to"]),
        "verdict": _mail_verdict(example["verdict"], example.get("competitor", "")),
    }
    if deleted:
        sentence += ngettext(
            "; %(n)d of them deleted by the rep afterwards",
            "; %(n)d of them deleted by the rep afterwards",
            deleted,
        ) % {"n": deleted}
    return sentence + "."


def _data_harvest(f: Mapping[str, Any], customer: str, rep: str) -> str:
    parts = []
    if "views" in f:
        parts.append(
            _(
                "opened %(views)d records of customers outside their own book "
                "(%(outside)d customers; their usual: %(baseline)s, busiest colleagues: "
                "%(peers)s)"
            )
            % {
                "views": f["views"],
                "outside": f.get("outside_customers", 0),
                "baseline": f["views_baseline"],
                "peers": f["views_peers"],
            }
        )
    if "exported_rows" in f:
        parts.append(
            _("exported %(rows)d rows (their usual: %(baseline)s, busiest colleagues: %(peers)s)")
            % {
                "rows": f["exported_rows"],
                "baseline": f["exports_baseline"],
                "peers": f["exports_peers"],
            }
        )
    sentence = _("In the 30 days to %(to)s %(rep)s %(what)s") % {
        "to": f["window_to"],
        "rep": rep,
        "what": _(" and ").join(parts),
    }
    if "deactivated_on" in f:
        sentence += _("; deactivated on %(on)s") % {"on": f["deactivated_on"]}
    return sentence + "."


def _key_account_exposed(f: Mapping[str, Any], customer: str, rep: str) -> str:
    return _(
        "%(customer)s: %(amount)s of orders in the last year through %(rep)s (%(share)s of their "
        "business) and nobody else at the company in touch with it, while %(rep)s took "
        "customer data (%(from)s to %(to)s)."
    ) % {
        "customer": customer,
        "amount": money(f["amount_last_year"]),
        "rep": rep,
        "share": f"{f['share'] * 100:.0f}%",
        "from": f["window_from"],
        "to": f["window_to"],
    }


def _visits_elsewhere(f: Mapping[str, Any], customer: str, rep: str) -> str:
    example = f["check_ins"][0]
    return _(
        "%(customer)s: %(n)d check-ins by %(rep)s more than %(radius)d m from the customer's "
        "location, e.g. %(distance)d m away on %(on)s."
    ) % {
        "customer": customer,
        "n": f["count"],
        "rep": rep,
        "radius": f["radius_m"],
        "distance": example["distance_m"],
        "on": example["on"],
    }


def _many_customers(f: Mapping[str, Any], customer: str, rep: str) -> str:
    return _(
        "Orders dried up or quotes were lost more and more at %(traced)d of %(rep)s's %(of)d "
        "customers at about the same time, where %(expected)s would be usual in this company."
    ) % {"traced": f["traced"], "rep": rep, "of": f["of"], "expected": f["expected"]}


_WRITERS: dict[str, Callable[[Mapping[str, Any], str, str], str]] = {
    "orders_dried_up": _orders_dried_up,
    "losses_rising": _losses_rising,
    "worked_harder": _worked_harder,
    "contact_redirected": _contact_redirected,
    "paid_by_other": lambda f, c, r: _money_through_others(f, c, r, paid=True),
    "delivered_elsewhere": lambda f, c, r: _money_through_others(f, c, r, paid=False),
    "mail_outside": _mail_outside,
    "data_harvest": _data_harvest,
    "key_account_exposed": _key_account_exposed,
    "visits_elsewhere": _visits_elsewhere,
    "many_customers_at_once": _many_customers,
}


def kind_label(kind: str) -> str:
    return {
        "orders_dried_up": _("Orders dried up while the rep kept in touch"),
        "losses_rising": _("Quotes lost more and more"),
        "worked_harder": _("Worked harder for no more business"),
        "contact_redirected": _("Contact data redirected"),
        "paid_by_other": _("Paid by another party"),
        "delivered_elsewhere": _("Delivered to another party"),
        "mail_outside": _("Customer mail sent outside"),
        "data_harvest": _("Customer data taken"),
        "key_account_exposed": _("Key account exposed"),
        "visits_elsewhere": _("Check-ins away from the customer"),
        "many_customers_at_once": _("Many customers at once"),
    }.get(kind, kind)
