"""From findings to a ranking (scoring.py): only agreeing evidence counts — another family, on
the same customer, at the same time; the activity families never corroborate each other; a
faint partner corroborates nothing; a customer needs MIN_CUSTOMER_SCORE; the pattern and the
front rules agree across customers; data taken before leaving counts on its own. Honest reps,
with one high number each, score 0."""

from __future__ import annotations

import datetime as dt

import pytest

from kedun.insights.data import AnalysisData, Rep, Series
from kedun.insights.detectors import Found
from kedun.insights.models import Family, finding_key
from kedun.insights.scoring import (
    MIN_CUSTOMER_SCORE,
    MIN_PARTNER_STRENGTH,
    PATTERN_WEIGHT,
    REP_LEVEL_WEIGHT,
    SLACK_DAYS,
    risk_score,
)

DAY = dt.date(2026, 3, 2)
AS_OF = dt.date(2026, 6, 30)
HONEST, DIVERTER, OTHER = 1, 2, 3


def _data() -> AnalysisData:
    reps = {
        pk: Rep(pk, name, name, frozenset(), frozenset(), True, None, 1)
        for pk, name in ((HONEST, "honest"), (DIVERTER, "diverter"), (OTHER, "other"))
    }
    return AnalysisData(
        as_of=AS_OF,
        first_week=DAY,
        n_weeks=1,
        exposure=[1.0],
        reps=reps,
        customers={},
        by_pair={},
        by_customer={},
        company=Series(1),
        first_active={},
    )


FAMILY = {
    "orders_dried_up": Family.BUSINESS,
    "losses_rising": Family.BUSINESS,
    "worked_harder": Family.CONTACT,
    "contact_redirected": Family.REDIRECT,
    "paid_by_other": Family.MONEY,
    "delivered_elsewhere": Family.DELIVERY,
    "mail_outside": Family.MAIL,
    "visits_elsewhere": Family.FIELD,
    "data_harvest": Family.ACCESS,
    "key_account_exposed": Family.ACCESS,
    "many_customers_at_once": Family.PATTERN,
}


def found(kind, rep, customer, strength, *, start=DAY, days=30, **facts) -> Found:
    return Found(
        kind=kind,
        family=FAMILY[kind],
        rep_id=rep,
        customer_id=customer,
        start=start,
        end=start + dt.timedelta(days=days),
        strength=strength,
        facts=facts,
    )


def scores(findings, dismissed=None):
    results = risk_score(_data(), findings, dismissed or {})
    return {r.rep_id: r for r in results}, [r.rep_id for r in results]


def test_one_high_number_on_one_axis_scores_nothing():
    by_rep, _ranked = scores(
        [
            # A weak rep: quotes lost everywhere; dormant customers; one parent company paying.
            found("losses_rising", HONEST, 10, 1.0),
            found("losses_rising", HONEST, 11, 1.0),
            found("orders_dried_up", HONEST, 12, 1.0),
            found("paid_by_other", HONEST, 13, 0.4, customers_of_party=1),
            found("contact_redirected", HONEST, 14, 1.0),
        ]
    )
    assert by_rep[HONEST].score == 0 and by_rep[HONEST].customers == 0
    assert not any(s.corroborated for s in by_rep[HONEST].findings)


def test_agreeing_families_on_the_same_customer_at_the_same_time_count():
    by_rep, ranked = scores(
        [
            found("orders_dried_up", DIVERTER, 10, 0.8),
            found("contact_redirected", DIVERTER, 10, 1.0, start=DAY + dt.timedelta(days=20)),
            found("losses_rising", HONEST, 20, 1.0),
        ]
    )
    diverter = by_rep[DIVERTER]
    assert diverter.score == pytest.approx(1.8) and diverter.customers == 1
    assert all(s.corroborated for s in diverter.findings)
    assert ranked[0] == DIVERTER and by_rep[HONEST].score == 0


def test_no_agreement_across_customers_or_far_apart_in_time():
    later = DAY + dt.timedelta(days=30 + SLACK_DAYS + 1)
    by_rep, _ = scores(
        [
            found("orders_dried_up", DIVERTER, 10, 0.8),
            found("contact_redirected", DIVERTER, 11, 1.0),  # another customer
            found("mail_outside", DIVERTER, 10, 0.8, start=later),  # months after
        ]
    )
    assert by_rep[DIVERTER].score == 0


def test_within_the_slack_they_agree():
    near = DAY + dt.timedelta(days=30 + SLACK_DAYS - 1)
    by_rep, _ = scores(
        [
            found("orders_dried_up", DIVERTER, 10, 0.8),
            found("mail_outside", DIVERTER, 10, 0.8, start=near),
        ]
    )
    assert by_rep[DIVERTER].score == pytest.approx(1.6)


def test_activity_families_never_corroborate_each_other():
    # Orders fall and the rep tries harder to win them back: honest life, read from one table.
    by_rep, _ = scores(
        [found("orders_dried_up", HONEST, 10, 1.0), found("worked_harder", HONEST, 10, 0.8)]
    )
    assert by_rep[HONEST].score == 0


def test_a_faint_partner_corroborates_nothing():
    faint = MIN_PARTNER_STRENGTH - 0.15  # a number nobody knows
    by_rep, _ = scores(
        [found("orders_dried_up", HONEST, 10, 0.9), found("contact_redirected", HONEST, 10, faint)]
    )
    assert by_rep[HONEST].score == 0
    assert not any(s.corroborated for s in by_rep[HONEST].findings)


def test_a_customer_counts_only_from_the_minimum_score():
    at_least = [
        found("orders_dried_up", DIVERTER, 10, 0.3),
        found("visits_elsewhere", DIVERTER, 10, 0.3),
    ]
    below = [found("orders_dried_up", HONEST, 10, 0.25), found("visits_elsewhere", HONEST, 10, 0.3)]
    by_rep, _ = scores(at_least + below)
    assert MIN_CUSTOMER_SCORE <= 0.3 + 0.3  # two real traces; 0.25 is no partner for 0.3
    assert by_rep[DIVERTER].score == pytest.approx(0.6) and by_rep[DIVERTER].customers == 1
    assert by_rep[HONEST].score == 0 and not any(s.corroborated for s in by_rep[HONEST].findings)


def test_the_pattern_across_customers_lets_activity_traces_count_at_reduced_weight():
    customers = [10, 11, 12, 13]
    traces = [
        f
        for c in customers
        for f in (
            found("orders_dried_up", DIVERTER, c, 0.9),
            found("worked_harder", DIVERTER, c, 0.8),
        )
    ]
    pattern = found("many_customers_at_once", DIVERTER, None, 0.8, customers=customers)
    by_rep, _ = scores([*traces, pattern])
    diverter = by_rep[DIVERTER]
    assert diverter.customers == 4
    assert diverter.score == pytest.approx(4 * PATTERN_WEIGHT * (0.9 + 0.8))
    assert all(s.corroborated for s in diverter.findings)  # the pattern too, through them

    # Without the pattern, or with a pattern over one kind of trace only, nothing counts.
    by_rep, _ = scores(traces)
    assert by_rep[DIVERTER].score == 0
    dried_only = [found("orders_dried_up", DIVERTER, c, 0.9) for c in customers]
    by_rep, _ = scores([*dried_only, pattern])
    assert by_rep[DIVERTER].score == 0
    assert not [s for s in by_rep[DIVERTER].findings if s.corroborated]


def test_a_front_paying_and_receiving_for_several_customers_agrees_across_them():
    apart = DAY + dt.timedelta(days=120)  # the money and the goods months apart
    front = [
        f
        for c in (10, 11, 12)
        for f in (
            found("paid_by_other", DIVERTER, c, 0.9, customers_of_party=3),
            found("delivered_elsewhere", DIVERTER, c, 0.7, start=apart, customers_of_party=3),
        )
    ]
    single = [
        found("paid_by_other", HONEST, 20, 0.9, customers_of_party=1),
        found("delivered_elsewhere", HONEST, 20, 0.7, start=apart, customers_of_party=1),
    ]
    by_rep, _ = scores(front + single)
    assert by_rep[DIVERTER].customers == 3
    assert by_rep[DIVERTER].score == pytest.approx(3 * PATTERN_WEIGHT * (0.9 + 0.7))
    assert by_rep[HONEST].score == 0


def test_data_taken_before_leaving_counts_with_the_key_accounts_it_exposes():
    leaving = found(
        "data_harvest", DIVERTER, None, 0.9, views=120, exported_rows=900,
        deactivated_on="2026-04-01",
    )  # fmt: skip
    exposed = found("key_account_exposed", DIVERTER, 10, 0.4)
    by_rep, _ = scores([leaving, exposed])
    assert by_rep[DIVERTER].score == pytest.approx(REP_LEVEL_WEIGHT * 0.9 + 0.4)
    assert by_rep[DIVERTER].customers == 1

    # Views alone, nobody leaving, nothing agreeing: shown, not counted; nor are the accounts.
    browsing = found("data_harvest", HONEST, None, 0.5, views=60)
    by_rep, _ = scores([browsing, found("key_account_exposed", HONEST, 20, 0.4)])
    assert by_rep[HONEST].score == 0


def test_a_dismissed_finding_stops_counting_for_its_episode_only():
    pair = [
        found("orders_dried_up", DIVERTER, 10, 0.8),
        found("contact_redirected", DIVERTER, 10, 1.0),
    ]
    key = finding_key("contact_redirected", DIVERTER, 10)
    by_rep, _ = scores(pair, {key: DAY + dt.timedelta(days=5)})
    assert by_rep[DIVERTER].score == 0
    assert [s.dismissed for s in by_rep[DIVERTER].findings] == [False, True]

    # A redirect that starts after the dismissal is a new episode.
    again = [
        pair[0],
        found("contact_redirected", DIVERTER, 10, 1.0, start=DAY + dt.timedelta(days=10)),
    ]
    by_rep, _ = scores(again, {key: DAY + dt.timedelta(days=5)})
    assert by_rep[DIVERTER].score == pytest.approx(1.8)


def test_a_record_after_the_dismissal_is_new_evidence():
    def redirect(*days):
        changes = [{"on": (DAY + dt.timedelta(days=d)).isoformat()} for d in days]
        return found("contact_redirected", DIVERTER, 10, 1.0, changes=changes)

    dried = found("orders_dried_up", DIVERTER, 10, 0.8)
    key = finding_key("contact_redirected", DIVERTER, 10)
    judged = {key: DAY + dt.timedelta(days=5)}
    by_rep, _ = scores([dried, redirect(0, 3)], judged)
    assert by_rep[DIVERTER].score == 0
    # The same customer's number changed again a month after the manager's judgement.
    by_rep, _ = scores([dried, redirect(0, 3, 35)], judged)
    assert by_rep[DIVERTER].score == pytest.approx(1.8)


def test_the_last_of_many_messages_is_new_evidence_though_the_facts_keep_the_first_ones():
    first = [{"on": (DAY + dt.timedelta(days=d)).isoformat()} for d in range(3)]
    mail = found("mail_outside", DIVERTER, 10, 0.8, days=40, messages=first)  # last: day 40
    dried = found("orders_dried_up", DIVERTER, 10, 0.8)
    judged = {finding_key("mail_outside", DIVERTER, 10): DAY + dt.timedelta(days=20)}
    by_rep, _ = scores([dried, mail], judged)
    assert by_rep[DIVERTER].score == pytest.approx(1.6)


def test_every_rep_is_ranked_highest_first_then_by_name():
    _, ranked = scores(
        [found("orders_dried_up", OTHER, 10, 0.8), found("mail_outside", OTHER, 10, 0.8)]
    )
    assert ranked == [OTHER, DIVERTER, HONEST]  # 1.6, then the zeros by username
