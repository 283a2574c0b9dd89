"""Collisions and merges: disputes opened, evidence side by side, keep / transfer / merge by a
manager with a reason, both reps told; a merged record stays findable and points onward."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kedun.audit.chain import chain_verify
from kedun.audit.models import AuditEvent
from kedun.core.errors import Conflict, Forbidden, Invalid
from kedun.customers.collaboration import collaboration_note_add
from kedun.customers.disputes import (
    customer_merge,
    dispute_request_ownership,
    dispute_resolve,
    disputes_for_arbiter,
)
from kedun.customers.identity.keys import identity_keys
from kedun.customers.models import Contact, Customer, Dispute
from kedun.customers.selectors import customer_list_visible_to
from kedun.customers.services import ContactInput, customer_register, matches_for
from kedun.notifications.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def collision(cast):
    """east_rep owns 恒达; east_rep2 registers 恒大 (sounds the same) after confirming."""
    first = customer_register(
        actor=cast.east_rep, name="杭州市恒达机械有限公司", contacts=[ContactInput(name="老王")]
    )
    second = customer_register(
        actor=cast.east_rep2,
        name="杭州市恒大机械有限公司",
        contacts=[ContactInput(name="小陈")],
        confirm_possible=True,
    )
    return first, second, Dispute.objects.get()


def test_a_confirmed_possible_opens_a_dispute_the_owner_and_managers_hear_of(cast, collision):
    first, second, dispute = collision
    assert (dispute.customer, dispute.other_customer, dispute.claimant) == (
        first,
        second,
        cast.east_rep2,
    )
    assert "heng da" in dispute.evidence
    told = set(
        Notification.objects.filter(kind="dispute_opened").values_list(
            "recipient__username", flat=True
        )
    )
    assert told == {"east_rep", "east_mgr"}
    assert list(disputes_for_arbiter(viewer=cast.east_mgr)) == [dispute]
    assert list(disputes_for_arbiter(viewer=cast.south_mgr)) == []
    assert list(disputes_for_arbiter(viewer=cast.boss)) == [dispute]
    with pytest.raises(Forbidden):
        disputes_for_arbiter(viewer=cast.east_rep)


def test_the_manager_sees_both_sides_and_decides_keep(cast, collision, client):
    first, second, dispute = collision
    collaboration_note_add(actor=cast.south_rep, customer=first, content="上周来电询价")
    client.force_login(cast.east_mgr)
    page = client.get(reverse("dispute-detail", args=[dispute.pk])).content.decode()
    assert first.code in page and second.code in page and "上周来电询价" in page
    response = client.post(
        reverse("dispute-detail", args=[dispute.pk]),
        {"resolution": "keep", "reason": "两家是不同公司，核实过营业执照"},
    )
    assert response.status_code == 302
    dispute.refresh_from_db()
    assert (dispute.status, dispute.resolution, dispute.resolved_by) == (
        "resolved",
        "keep",
        cast.east_mgr,
    )
    told = set(
        Notification.objects.filter(kind="dispute_resolved").values_list(
            "recipient__username", flat=True
        )
    )
    assert told == {"east_rep", "east_rep2"}
    with pytest.raises(Conflict):
        dispute_resolve(
            actor=cast.boss, dispute=dispute, resolution="transfer", reason="再改一次看看"
        )


def test_an_ownership_request_and_a_transfer(cast):
    customer = customer_register(actor=cast.east_rep, name="宁波市远航物流有限公司")
    dispute = dispute_request_ownership(
        actor=cast.east_rep2, customer=customer, reason="三个月前我就在跟进这家客户"
    )
    with pytest.raises(Conflict):
        dispute_request_ownership(actor=cast.east_rep2, customer=customer, reason="再申请一次")
    with pytest.raises(Invalid):
        dispute_request_ownership(actor=cast.east_rep, customer=customer, reason="我自己的客户")
    dispute_resolve(
        actor=cast.east_mgr, dispute=dispute, resolution="transfer", reason="小李的跟进记录更早"
    )
    customer.refresh_from_db()
    assert customer.owner == cast.east_rep2
    event = AuditEvent.objects.get(action="customer.transferred")
    assert event.changes_data["owner"] == [cast.east_rep.pk, cast.east_rep2.pk]


def test_nobody_arbitrates_their_own_dispute(cast):
    customer = customer_register(actor=cast.east_rep, name="宁波市远航物流有限公司")
    dispute = dispute_request_ownership(
        actor=cast.east_mgr, customer=customer, reason="这是我以前的老客户"
    )
    with pytest.raises(Forbidden):
        dispute_resolve(
            actor=cast.east_mgr, dispute=dispute, resolution="transfer", reason="给我自己吧谢谢"
        )
    with pytest.raises(Forbidden):
        dispute_resolve(
            actor=cast.east_rep2, dispute=dispute, resolution="keep", reason="业务员不能裁决"
        )
    dispute.refresh_from_db()
    assert dispute.status == "open"


def test_a_merge_moves_everything_and_the_merged_record_points_on(cast, collision):
    first, second, dispute = collision
    collaboration_note_add(actor=cast.south_rep, customer=second, content="询价 20 台")
    dispute_resolve(
        actor=cast.east_mgr, dispute=dispute, resolution="merge", reason="同一家公司，名字打错了"
    )
    second.refresh_from_db()
    assert second.merged_into == first and second.owner is None
    assert sorted(Contact.objects.filter(customer=first).values_list("name", flat=True)) == [
        "小陈",
        "老王",
    ]
    assert first.collaboration_notes.count() == 1
    # Gone from the lists, still findable: its name now leads to the survivor.
    assert not customer_list_visible_to(viewer=cast.boss).filter(pk=second.pk).exists()
    found = matches_for(identity_keys(name="杭州市恒大机械有限公司"))
    assert found[0].customer == first and found[0].level == "duplicate"
    assert set(
        AuditEvent.objects.filter(action__startswith="customer.merge").values_list(
            "object_id", flat=True
        )
    ) == {str(first.pk), str(second.pk)}
    assert Customer.objects.count() == 2
    assert chain_verify().ok


def test_a_record_cannot_be_merged_twice_or_into_itself(cast, collision):
    first, second, _dispute = collision
    with pytest.raises(Invalid):
        customer_merge(actor=cast.east_mgr, survivor=first, merged=first, reason="自己合并自己")
    customer_merge(actor=cast.east_mgr, survivor=first, merged=second, reason="同一家公司")
    with pytest.raises(Conflict):
        customer_merge(actor=cast.east_mgr, survivor=first, merged=second, reason="再合并一次")
    with pytest.raises(Forbidden):
        customer_merge(actor=cast.east_rep, survivor=second, merged=first, reason="业务员合并")


def test_a_rep_asks_for_a_customer_from_its_card(cast, client):
    customer = customer_register(actor=cast.east_rep, name="宁波市远航物流有限公司")
    client.force_login(cast.south_rep)
    card = client.get(reverse("registry-card", args=[customer.pk])).content.decode()
    assert reverse("ownership-request", args=[customer.pk]) in card
    client.post(
        reverse("ownership-request", args=[customer.pk]), {"reason": "展会上认识的，我一直在联系"}
    )
    assert Dispute.objects.get().claimant == cast.south_rep
    client.force_login(cast.east_rep)
    assert client.get(reverse("dispute-queue")).status_code == 403
