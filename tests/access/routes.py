"""Who may use every route: one entry per URL name, one actor set per HTTP method.

Actors (tests/access/calling.py ACTORS) are the roles and, for object routes, a salesperson's or
manager's relation to the customer at the centre of the world (tests/access/world.py):
owner, collaborator (account team, read-write), reader (account team, read only), colleague
(same department, not on the team), other_dept (a salesperson of another department), manager
(the owner's), other_manager (another department's); and the back office: orders, logistics,
finance; the auditor; the boss; anonymous.

An actor in the set must be let through: 2xx, a redirect that is not to the login page, or —
for a write called with a body the route rejects on its merits — 400 or 409 (the access
decision was made before the body was judged, so 400/409 show access was granted; the bodies
below are valid where the route's refusal would otherwise hide the decision). Everyone else must
get 403 or 404 (pages: anonymous is sent to the login page; API: 401) and change nothing.

A new route fails tests/access/test_matrix.py::test_every_route_has_an_entry until it is here.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .world import T0, TODAY, World

A = frozenset

ANONYMOUS = A({"anonymous"})
BOSS = A({"boss"})
SELLERS = A({"owner", "collaborator", "reader", "colleague", "other_dept"})
MANAGERS = A({"manager", "other_manager"})
BOSS_AND_MANAGERS = BOSS | MANAGERS
SALES_SIDE = BOSS_AND_MANAGERS | SELLERS
BACK_OFFICE = A({"orders", "logistics", "finance"})
STAFF = SALES_SIDE | BACK_OFFICE | {"auditor"}
EVERYONE = STAFF | ANONYMOUS
NOBODY: frozenset[str] = A()
# The owner's side of the customer: the owner, their manager, the boss above everyone.
OWNER_SIDE = A({"boss", "owner", "manager"})
OWNERS_MANAGERS = A({"boss", "manager"})
# Those who work the account: the owner's side and a collaborator with write access.
ACCOUNT = OWNER_SIDE | {"collaborator"}
# Those who open the customer's card: the account, a collaborator with read access, the back
# office (their data scope is the whole company: they handle every order) and the auditor
# (reads everything).
SEES_CUSTOMER = ACCOUNT | BACK_OFFICE | {"reader", "auditor"}
# Those who sell to the customer (quotes and orders): the account without the boss, who holds
# no selling duty by default (sales/duties.py).
SELLS = A({"owner", "collaborator", "manager"})


@dataclass(frozen=True)
class Entry:
    methods: dict[str, frozenset[str]]
    # Bodies for writes, by method: the world → data (JSON for the API, a form for pages).
    bodies: dict[str, Callable[[World], dict[str, Any]]] = field(default_factory=dict)
    multipart: bool = False
    query: Callable[[World], str] | None = None  # appended to the URL
    to_login: bool = False  # a granted call that ends on the login page (logging out)
    # Tables a refused call writes on purpose, with the reason in `why`.
    refused_writes: frozenset[str] = frozenset()
    why: str = ""  # what is not obvious about the decision


def E(get=None, post=None, *, both=None, **kw) -> Entry:
    methods = {}
    if both is not None:
        get = post = both
    if get is not None:
        methods["GET"] = A(get)
    if post is not None:
        methods["POST"] = A(post)
    for name in ("patch", "put", "delete"):
        if name in kw:
            methods[name.upper()] = A(kw.pop(name))
    return Entry(methods=methods, **kw)


def _photo():
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.field.conftest import jpeg

    return SimpleUploadedFile("photo.jpg", jpeg(taken_at=T0), "image/jpeg")


def _pdf(name: str = "v2.pdf"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, b"%PDF-1.4\n% v2\n%%EOF\n", "application/pdf")


def _check_in(w: World) -> dict[str, Any]:
    from .world import HANGZHOU

    return {
        "customer": str(w.ids["customer_id"]),
        "lat": repr(HANGZHOU[0]),
        "lng": repr(HANGZHOU[1]),
        "accuracy": "10",
        "captured_at": T0.isoformat(),
        "mock": "false",
        "photo": _photo(),
        "idempotency_key": uuid.uuid4().hex,
    }


LATER = (TODAY + dt.timedelta(days=20)).isoformat()
REASON = {"reason": "客户要求更换负责人，已和经理确认"}
LINES = lambda w: [{"product": w.ids["product_id"], "quantity": "1"}]  # noqa: E731

ROUTES: dict[str, Entry] = {
    # -- the shell: public files, login ------------------------------------------------------
    "home": E(both=STAFF),
    "manifest": E(both=EVERYONE),
    "service-worker": E(both=EVERYONE),
    "offline": E(both=EVERYONE),
    "login": E(both=EVERYONE, why="a logged-in user's POST re-renders the form"),
    "logout": E(post=STAFF, to_login=True),
    "login-two-factor": E(both=STAFF, why="without a pending code it sends the user home"),
    "javascript-catalog": E(get=EVERYONE),
    "i18n:set_language": E(both=EVERYONE, why="Django's language switch: a cookie, no data"),
    "api-health": E(get=EVERYONE),
    "api-schema": E(get=EVERYONE, why="the schema of an open-source API is no secret"),
    "api-docs": E(get=EVERYONE),
    # -- your own account ---------------------------------------------------------------------
    "account": E(both=STAFF),
    "account-two-factor": E(both=STAFF),
    "account-two-factor-disable": E(post=STAFF, why="your own; refused on its merits without"),
    "account-logout-everywhere": E(post=STAFF, to_login=True),
    "api-me": E(get=STAFF),
    "api-me-logout-all": E(post=STAFF),
    "notification-list": E(both=STAFF),
    "notifications-read": E(post=STAFF),
    "api-notification-list": E(get=STAFF, post=STAFF, why="POST marks your own as read"),
    # -- people -------------------------------------------------------------------------------
    "user-list": E(
        get=BOSS_AND_MANAGERS,
        post=BOSS,
        why="POST creates a user: the boss only (an empty form answers the boss 200)",
    ),
    "api-user-list": E(get=STAFF, why="the company directory (names, departments)"),
    "user-two-factor-reset": E(post=OWNERS_MANAGERS),
    "user-end-sessions": E(post=OWNERS_MANAGERS | {"owner"}, why="owner: their own sessions"),
    "api-user-logout-all": E(post=OWNERS_MANAGERS | {"owner"}, why="owner: their own sessions"),
    "user-deactivate": E(post=BOSS),
    "api-user-deactivate": E(post=BOSS),
    "handover": E(both=BOSS_AND_MANAGERS),
    "api-user-handover": E(
        post=OWNERS_MANAGERS, bodies={"POST": lambda w: {"pool": True, **REASON}}
    ),
    "budget-team": E(
        get=BOSS_AND_MANAGERS,
        post=OWNERS_MANAGERS,
        bodies={
            "POST": lambda w: {
                "user": w.users["east_rep"].pk,
                "action": "grant",
                "kind": "view",
                "extra": "5",
            }
        },
        why="more budget for east_rep: the managers over them",
    ),
    "api-team-budgets": E(get=STAFF, why="the people under you: an empty list for the rest"),
    "api-budget-grant": E(
        post=OWNERS_MANAGERS, bodies={"POST": lambda w: {"kind": "view", "extra": 5}}
    ),
    "api-leaver": E(
        post=OWNERS_MANAGERS,
        delete=OWNERS_MANAGERS,
        bodies={"POST": lambda w: {"reason": "下月离职"}},
        why="called on east_team_rep, who is leaving (POST: 409 already_leaving)",
    ),
    # -- customers and the registry -------------------------------------------------------------
    "customer-list": E(both=STAFF, why="a list scoped by the viewer"),
    "customer-new": E(
        both=SALES_SIDE,
        bodies={"POST": lambda w: {"name": "宁波海川阀门有限公司"}},
    ),
    "customer-check": E(both=STAFF),
    "registry-search": E(both=STAFF, why="anyone may look a company up (masked)"),
    "lead-list-screen": E(both=STAFF),
    "registry-card": E(
        get=STAFF,
        post=STAFF - {"auditor"},
        bodies={"POST": lambda w: {"content": "客户来电问泵的价格，请负责人回电"}},
        refused_writes=A({"audit_accessevent", "budgets_dailybudget"}),
        why="the masked card: everyone; its collaboration note: all but the read-only "
        "auditor (the back office takes customers' calls too). Opening the card is recorded "
        "in the access log and spends the day's view budget before the note is refused, as "
        "every opening does",
    ),
    "ownership-request": E(
        post=SELLERS | MANAGERS, bodies={"POST": lambda w: {"reason": "去年展会上先认识的客户"}}
    ),
    "customer-detail": E(
        get=SEES_CUSTOMER,
        post=ACCOUNT,
        bodies={
            "POST": lambda w: {
                "action": "follow_up",
                "kind": "call",
                "content": "电话确认了交期和数量要求",
            }
        },
        refused_writes=A({"budgets_dailybudget"}),
        why="opening the card spends the day's view budget before the action is decided: a "
        "refused action still counts the opening (the same customer again that day is free)",
    ),
    "api-customer-list": E(
        get=STAFF,
        post=SALES_SIDE,
        bodies={"POST": lambda w: {"name": "宁波海川阀门有限公司"}},
    ),
    "api-duplicate-check": E(post=STAFF, bodies={"POST": lambda w: {"name": "恒达机械"}}),
    "api-customer-detail": E(get=SEES_CUSTOMER),
    "api-customer-contact": E(patch=ACCOUNT, bodies={"PATCH": lambda w: {"phone": "057188889999"}}),
    "api-customer-contact-person": E(
        post=ACCOUNT, bodies={"POST": lambda w: {"name": "王喆", "phone": "13900139000"}}
    ),
    "api-collaboration-note": E(
        post=STAFF - {"auditor"},
        bodies={"POST": lambda w: {"content": "客户来电问泵的价格，请负责人回电"}},
        why="all but the read-only auditor (the back office takes customers' calls too)",
    ),
    "api-ownership-request": E(
        post=SELLERS | MANAGERS,
        bodies={"POST": lambda w: {"reason": "去年展会上先认识的客户"}},
        why="owner: 400 (already theirs)",
    ),
    "dispute-queue": E(both=BOSS_AND_MANAGERS),
    "dispute-detail": E(
        get=OWNERS_MANAGERS | {"owner", "other_dept", "other_manager"},
        post=OWNERS_MANAGERS | {"other_manager"},
        bodies={"POST": lambda w: {"resolution": "keep", "reason": "负责人一直在跟进，维持不变"}},
        why="the parties (owner, claimant south_rep) and the managers of both see it; the "
        "managers decide, never a party",
    ),
    "api-dispute-list": E(get=BOSS_AND_MANAGERS),
    "api-dispute-resolve": E(
        post=OWNERS_MANAGERS | {"other_manager"},
        bodies={"POST": lambda w: {"resolution": "keep", "reason": "负责人一直在跟进，维持不变"}},
    ),
    # -- lifecycle and the pool ------------------------------------------------------------------
    "my-customers": E(both=SALES_SIDE),
    "follow-ups-today": E(both=SALES_SIDE),
    "pool": E(both=SALES_SIDE),
    "pool-claim": E(post=SALES_SIDE),
    "pool-assign": E(
        post=BOSS_AND_MANAGERS,
        bodies={"POST": lambda w: {"to": w.users["east_rep2"].pk}},
        why="to east_rep2: the page offers a manager their own reps only, so another "
        "department's manager gets the form's error (a redirect with a message), not a 403",
    ),
    "pool-settings": E(both=BOSS_AND_MANAGERS),
    "key-customers-report": E(both=BOSS_AND_MANAGERS),
    "api-my-customers": E(get=STAFF),
    "api-follow-ups-due": E(get=STAFF),
    "api-pool": E(get=STAFF),
    "api-pool-settings": E(get=BOSS_AND_MANAGERS),
    "api-pool-claim": E(post=SALES_SIDE),
    "api-pool-assign": E(
        post=OWNERS_MANAGERS,
        bodies={"POST": lambda w: {"to": "east_rep2"}},
        why="to east_rep2: only a manager over east_rep2 assigns to them",
    ),
    "api-customer-release": E(post=OWNER_SIDE, bodies={"POST": lambda w: REASON}),
    "api-customer-transfer": E(
        post=OWNERS_MANAGERS, bodies={"POST": lambda w: {"to": "east_rep2", **REASON}}
    ),
    "api-customer-hold": E(
        post=OWNERS_MANAGERS, bodies={"POST": lambda w: {"hold": True, **REASON}}
    ),
    "api-follow-ups": E(
        get=SEES_CUSTOMER,
        post=ACCOUNT,
        bodies={"POST": lambda w: {"kind": "call", "content": "电话确认了交期和数量要求"}},
    ),
    "api-customer-team": E(
        get=SEES_CUSTOMER,
        post=OWNER_SIDE,
        bodies={"POST": lambda w: {"user": "east_peer", "access": "read"}},
    ),
    "api-customer-team-member": E(delete=OWNER_SIDE),
    "api-ownership-history": E(get=SEES_CUSTOMER),
    "api-customer-stage": E(
        post=OWNER_SIDE,
        bodies={"POST": lambda w: {"stage": "needs_confirmed"}},
        why="not a collaborator: stage and grade move the pool clock (A grade: 60 days)",
    ),
    "api-customer-grade": E(post=OWNER_SIDE, bodies={"POST": lambda w: {"grade": "B"}}),
    "api-key-customers": E(get=BOSS_AND_MANAGERS),
    # -- catalogue and sales settings ----------------------------------------------------------
    "product-list": E(both=STAFF),
    "product-new": E(both=BOSS),
    "product-edit": E(both=BOSS),
    "price-list-list": E(both=STAFF),
    "price-list-new": E(both=BOSS),
    "price-list-edit": E(both=BOSS),
    "price-list-prices": E(get=STAFF, post=BOSS),
    "sales-settings": E(both=STAFF, why="an index of the settings pages"),
    "lost-reason-list": E(both=STAFF),
    "lost-reason-edit": E(both=BOSS),
    "sales-duties": E(both=BOSS),
    "rep-terms": E(
        get=SALES_SIDE | {"finance", "auditor"},
        post=OWNERS_MANAGERS,
        bodies={"POST": lambda w: {"rep": w.users["east_rep"].pk}},
        why="east_rep's terms: the boss or their manager sets them",
    ),
    "api-sales-products": E(
        get=STAFF,
        post=BOSS,
        bodies={
            "POST": lambda w: {
                "sku": "FAN-1",
                "name": "风机",
                "unit": "台",
                "list_price": "10.00",
                "floor_price": "8.00",
                "tax_rate": "0.13",
            }
        },
    ),
    "api-sales-product": E(patch=BOSS, bodies={"PATCH": lambda w: {"name": "离心泵 II"}}),
    "api-sales-lost-reasons": E(get=STAFF),
    # -- quotes ----------------------------------------------------------------------------------
    "quote-list": E(both=STAFF),
    "quote-new": E(both=SALES_SIDE - BOSS, why="the boss holds no quoting duty by default"),
    "quote-detail": E(
        get=SEES_CUSTOMER,
        post=OWNERS_MANAGERS,
        bodies={"POST": lambda w: {"action": "approve"}},
        why="the quote waits for approval: approving is the step on offer",
    ),
    "quote-print": E(both=SEES_CUSTOMER),
    "quote-pdf": E(both=SEES_CUSTOMER),
    "api-sales-quotes": E(
        get=STAFF,
        post=SELLS,
        bodies={
            "POST": lambda w: {
                "customer": w.ids["customer_id"],
                "lines": LINES(w),
                "valid_until": LATER,
            }
        },
    ),
    "api-sales-quote": E(get=SEES_CUSTOMER),
    "api-sales-quote-submit": E(post=SELLS),
    "api-sales-quote-approve": E(post=OWNERS_MANAGERS),
    "api-sales-quote-reject": E(
        post=OWNERS_MANAGERS, bodies={"POST": lambda w: {"note": "价格太低，重新报"}}
    ),
    "api-sales-quote-send": E(post=SELLS),
    "api-sales-quote-accept": E(post=SELLS),
    "api-sales-quote-lost": E(
        post=SELLS,
        bodies={"POST": lambda w: {"reason": "price", "note": "对方价格低两成"}},
    ),
    "api-sales-quote-revise": E(post=SELLS),
    "api-sales-quote-order": E(post=SELLS, bodies={"POST": lambda w: {"promised_date": LATER}}),
    "api-quote-pdf": E(post=SEES_CUSTOMER),
    # -- orders and the road to cash -------------------------------------------------------------
    "order-list": E(both=STAFF),
    "order-detail": E(
        get=OWNER_SIDE | BACK_OFFICE | {"auditor"},
        post=A({"orders"}),
        bodies={
            "POST": lambda w: {
                "action": "contract",
                "contract_number": "HT-1",
                "signed_on": TODAY.isoformat(),
            }
        },
        why="not a collaborator: orders are the owner's side's and the back office's",
    ),
    "receivables": E(both=BOSS_AND_MANAGERS | {"finance", "auditor"}),
    "commission": E(get=STAFF, post=NOBODY),
    "commission-rep": E(
        get=OWNER_SIDE | BACK_OFFICE | {"auditor"},
        post=OWNERS_MANAGERS,
        why="the back office reads the company's ledger (tests/sales/test_commission_pages.py "
        "pins it); POST forfeits retained commission: the rep's manager or the boss",
    ),
    "sales-reports": E(both=BOSS_AND_MANAGERS | {"auditor"}),
    "sales-report-pipeline": E(both=BOSS_AND_MANAGERS | {"auditor"}),
    "sales-report-execution": E(both=BOSS_AND_MANAGERS | {"auditor"}),
    "sales-report-delivery": E(both=BOSS_AND_MANAGERS | {"auditor"}),
    "sales-report-collection": E(both=BOSS_AND_MANAGERS | {"auditor"}),
    "sales-report-wins": E(both=BOSS_AND_MANAGERS | {"auditor"}),
    "api-sales-orders": E(
        get=STAFF,
        post=SELLS,
        bodies={
            "POST": lambda w: {
                "customer": w.ids["customer_id"],
                "lines": [
                    {"product": w.ids["product_id"], "quantity": "1", "unit_price": "1000.00"}
                ],
                "promised_date": LATER,
            }
        },
    ),
    "api-sales-order": E(get=OWNER_SIDE | BACK_OFFICE | {"auditor"}),
    "api-sales-order-production": E(post=A({"orders"})),
    "api-sales-order-contract": E(
        post=A({"orders"}),
        bodies={"POST": lambda w: {"contract_number": "HT-1", "signed_on": TODAY.isoformat()}},
    ),
    "api-sales-order-shipments": E(
        post=A({"logistics"}),
        bodies={
            "POST": lambda w: {
                "lines": [{"line": w.ids["order_line_id"], "quantity": "1"}],
                "carrier": "顺丰",
                "tracking_number": "SF2",
            }
        },
    ),
    "api-sales-order-delivery": E(post=A({"logistics"})),
    "api-sales-order-invoices": E(
        post=A({"finance"}),
        bodies={
            "POST": lambda w: {
                "number": "FP00000002",
                "amount": "10.00",
                "issued_on": TODAY.isoformat(),
            }
        },
    ),
    "api-sales-order-lost": E(
        post=A({"owner", "manager"}),
        bodies={"POST": lambda w: {"reason": "price", "note": "对方价格低两成"}},
    ),
    "api-sales-order-cancel": E(
        post=A({"owner", "manager"}), bodies={"POST": lambda w: {"reason": "客户取消了采购计划"}}
    ),
    "api-sales-invoice-payments": E(
        post=A({"finance"}),
        bodies={
            "POST": lambda w: {
                "amount": "10.00",
                "received_on": TODAY.isoformat(),
                "payer_name": "杭州恒达机械有限公司",
                "payer_account": "6222 0202 0011 2233",
            }
        },
    ),
    "api-sales-payment-reverse": E(
        post=A({"finance"}),
        bodies={
            "POST": lambda w: {
                "kind": "bounced",
                "reason": "承兑汇票退回",
                "reversed_on": TODAY.isoformat(),
            }
        },
    ),
    "api-sales-receivables": E(get=BOSS_AND_MANAGERS | {"finance", "auditor"}),
    "api-sales-commission": E(get=STAFF, why="your own ledger (empty for the back office)"),
    # -- field -------------------------------------------------------------------------------------
    "field-dashboard": E(both=BOSS_AND_MANAGERS),
    "field-day": E(both=STAFF, why="your own day; managers pick one of their reps"),
    "field-settings": E(both=BOSS_AND_MANAGERS),
    "field-check-in": E(both=OWNER_SIDE),
    "field-check-out": E(
        post=A({"owner"}), bodies={"POST": lambda w: {"captured_at": T0.isoformat()}}
    ),
    "field-check-in-review": E(
        post=OWNERS_MANAGERS,
        bodies={"POST": lambda w: {f"review-{w.ids['check_in_id']}-decision": "accepted"}},
    ),
    "field-check-in-new": E(both=ACCOUNT),
    "customer-location": E(
        post=OWNER_SIDE,
        bodies={"POST": lambda w: {"lat": "30.2745", "lng": "120.1555", "coord_system": "wgs84"}},
    ),
    "api-check-ins": E(get=STAFF, post=ACCOUNT, bodies={"POST": _check_in}, multipart=True),
    "api-check-in": E(get=OWNER_SIDE),
    "api-check-out": E(
        post=A({"owner"}), bodies={"POST": lambda w: {"captured_at": T0.isoformat()}}
    ),
    "api-check-in-review": E(
        post=OWNERS_MANAGERS, bodies={"POST": lambda w: {"decision": "accept"}}
    ),
    "api-check-in-photo": E(get=OWNER_SIDE),
    "api-check-in-audio": E(get=OWNER_SIDE),
    "api-customer-location": E(
        get=SEES_CUSTOMER,
        post=OWNER_SIDE,
        bodies={"POST": lambda w: {"lat": 30.2745, "lng": 120.1555, "coord_system": "wgs84"}},
    ),
    "api-field-rules": E(
        get=BOSS_AND_MANAGERS,
        post=OWNERS_MANAGERS,
        bodies={
            "POST": lambda w: {"department": w.users["east_rep"].department_id, "radius_m": 800}
        },
        why="rules of the east department: its manager and the boss",
    ),
    # -- audit, exports, budgets -------------------------------------------------------------------
    "audit-list": E(both=A({"boss", "auditor"})),
    "api-audit-list": E(get=A({"boss", "auditor"})),
    "export-list": E(
        get=STAFF,
        post=BOSS_AND_MANAGERS,
        bodies={"POST": lambda w: {"kind": "customers", "format": "csv"}},
    ),
    "export-approvals": E(both=BOSS_AND_MANAGERS),
    "export-download": E(both=A({"manager"}), why="only the requester takes their file"),
    "canary-lookup": E(both=A({"boss", "auditor"})),
    "api-export-list": E(
        get=STAFF,
        post=BOSS_AND_MANAGERS,
        bodies={"POST": lambda w: {"kind": "customers", "format": "csv"}},
    ),
    "api-export-approvals": E(get=STAFF, why="exports waiting for you: empty for most"),
    "api-export-approve": E(post=OWNERS_MANAGERS, why="east_rep's pending export"),
    "api-export-reject": E(post=OWNERS_MANAGERS, bodies={"POST": lambda w: {"note": "太多了"}}),
    "api-export-file": E(get=A({"manager"})),
    "api-canary-find": E(
        get=A({"boss", "auditor"}), query=lambda w: f"?value={w.ids['canary_phone']}"
    ),
    # -- insights -----------------------------------------------------------------------------
    "insights-risk": E(both=BOSS_AND_MANAGERS),
    "insights-rep": E(both=OWNERS_MANAGERS),
    "insights-customer": E(both=OWNERS_MANAGERS),
    "insights-cases": E(both=BOSS_AND_MANAGERS),
    "insights-case": E(both=OWNERS_MANAGERS),
    "insights-case-pdf": E(both=OWNERS_MANAGERS),
    "api-insights-risk": E(get=BOSS_AND_MANAGERS),
    "api-insights-rep": E(get=OWNERS_MANAGERS),
    "api-insights-dismiss": E(
        post=OWNERS_MANAGERS, bodies={"POST": lambda w: {"reason": "客户换了采购负责人，正常"}}
    ),
    "api-insights-cases": E(
        get=BOSS_AND_MANAGERS,
        post=OWNERS_MANAGERS,
        bodies={"POST": lambda w: {"rep": "east_rep", "title": "核查东区订单"}},
    ),
    "api-insights-case": E(get=OWNERS_MANAGERS),
    "api-insights-case-note": E(
        post=OWNERS_MANAGERS, bodies={"POST": lambda w: {"text": "与业务员谈过"}}
    ),
    "api-insights-case-close": E(
        post=OWNERS_MANAGERS,
        bodies={"POST": lambda w: {"outcome": "no_issue", "note": "解释清楚了"}},
    ),
    "api-insights-case-pdf": E(get=OWNERS_MANAGERS),
    # -- mail, documents, SMS ------------------------------------------------------------------
    "mail-list": E(both=STAFF, why="your own mail"),
    "mail-compose": E(both=A({"owner"}), why="only east_rep has a mailbox"),
    "mail-deleted": E(both=BOSS_AND_MANAGERS),
    "mail-restore": E(post=OWNERS_MANAGERS),
    "mail-thread": E(both=OWNER_SIDE),
    "mail-delete": E(post=A({"owner"})),
    "mail-attachment": E(both=OWNER_SIDE),
    "mailbox-list": E(both=BOSS),
    "mailbox-new": E(both=BOSS),
    "mailbox-edit": E(both=BOSS),
    "mailbox-sync": E(post=BOSS),
    "competitor-list": E(
        get=STAFF,
        post=BOSS_AND_MANAGERS,
        bodies={"POST": lambda w: {"name": "立信工业", "domains": "lixin-ind.cn"}},
    ),
    "document-new": E(
        get=SEES_CUSTOMER,
        post=ACCOUNT | {"orders"},
        bodies={"POST": lambda w: {"title": "规格书", "kind": "spec", "file": _pdf("spec.pdf")}},
        why="the order desk keeps contracts and documents; the rest of the back office and the "
        "auditor read them",
    ),
    "document-detail": E(both=SEES_CUSTOMER),
    "document-delete": E(post=ACCOUNT | {"orders"}),
    "document-download": E(both=SEES_CUSTOMER),
    "document-preview": E(both=SEES_CUSTOMER),
    "sms-send": E(both=ACCOUNT),
    "sms-templates": E(
        get=STAFF,
        post=BOSS_AND_MANAGERS,
        bodies={"POST": lambda w: {"name": "回访", "text": "您好，{name}"}},
    ),
    "api-customer-messages": E(get=SEES_CUSTOMER),
    "api-mail": E(get=STAFF),
    "api-mail-send": E(
        post=A({"owner"}),
        bodies={
            "POST": lambda w: {"to": "wangzhe@hengda-jx.com", "subject": "报价", "body": "您好"}
        },
    ),
    "api-mail-deleted": E(get=BOSS_AND_MANAGERS),
    "api-mail-restore": E(post=OWNERS_MANAGERS),
    "api-mail-thread": E(get=OWNER_SIDE),
    "api-mail-delete": E(post=A({"owner"})),
    "api-mail-attachment": E(get=OWNER_SIDE),
    "api-mailboxes": E(get=BOSS, post=BOSS),
    "api-mailbox": E(put=BOSS),
    "api-mailbox-sync": E(post=BOSS),
    "api-competitors": E(
        get=STAFF,
        post=BOSS_AND_MANAGERS,
        bodies={"POST": lambda w: {"name": "立信工业", "domains": ["lixin-ind.cn"]}},
    ),
    "api-customer-documents": E(
        get=SEES_CUSTOMER,
        post=ACCOUNT | {"orders"},
        bodies={"POST": lambda w: {"title": "规格书", "kind": "spec", "file": _pdf("spec.pdf")}},
        multipart=True,
    ),
    "api-document-versions": E(
        get=SEES_CUSTOMER,
        post=ACCOUNT | {"orders"},
        bodies={"POST": lambda w: {"file": _pdf()}},
        multipart=True,
    ),
    "api-document-download": E(get=SEES_CUSTOMER),
    "api-customer-sms": E(
        get=SEES_CUSTOMER,
        post=ACCOUNT,
        bodies={"POST": lambda w: {"phone": "13900139000", "text": "您好，报价已发邮箱"}},
    ),
    "api-sms-templates": E(
        get=STAFF,
        post=BOSS_AND_MANAGERS,
        bodies={"POST": lambda w: {"name": "回访", "text": "您好，{name}"}},
    ),
}


@dataclass(frozen=True)
class Variant:
    """One more call of a route that does several things by its body (the customer's page
    takes every action on the customer), checked like an entry."""

    route: str
    label: str
    method: str
    allowed: frozenset[str]
    body: Callable[[World], dict[str, Any]] | None
    refused_writes: frozenset[str] = frozenset()
    why: str = ""
    query: Callable[[World], str] | None = None


def _on_card(action: str, allowed: frozenset[str], **fields: Callable[[World], Any] | str):
    def body(w: World) -> dict[str, Any]:
        return {"action": action, **{k: v(w) if callable(v) else v for k, v in fields.items()}}

    # Opening the card spends the day's view budget before the action is decided (see the
    # customer-detail entry).
    return Variant("customer-detail", action, "POST", allowed, body, A({"budgets_dailybudget"}))


REASON_TEXT = REASON["reason"]
VARIANTS: list[Variant] = [
    _on_card("contact", ACCOUNT, phone="057188889999", email="info@hengda-jx.com"),
    _on_card("contact_person", ACCOUNT, name="王喆", phone="13900139000"),
    _on_card("release", OWNER_SIDE, reason=REASON_TEXT),
    _on_card("transfer", OWNERS_MANAGERS, to=lambda w: w.users["east_rep2"].pk, reason=REASON_TEXT),
    _on_card("hold", OWNERS_MANAGERS, hold="on", reason=REASON_TEXT),
    _on_card("stage", OWNER_SIDE, stage="needs_confirmed"),
    _on_card("grade", OWNER_SIDE, grade="B"),
    _on_card("team_add", OWNER_SIDE, user=lambda w: w.users["east_peer"].pk, access="read"),
    _on_card("team_remove", OWNER_SIDE, user=lambda w: w.users["east_rep2"].pk),
    _on_card("follow_up_done", OWNER_SIDE),
    # Lists that take a person: someone else's day, check-ins, commission.
    Variant(
        "field-day",
        "another's day",
        "GET",
        OWNER_SIDE,
        None,
        query=lambda w: f"?user={w.users['east_rep'].pk}",
        why="the rep, their manager, the boss (README: who sees check-ins)",
    ),
]
