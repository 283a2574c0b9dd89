"""SMS through a gateway: a console backend (the default: logs only) and an HTTP adapter set up
by URL template, method, body template and a success pattern, as Chinese providers' HTTP APIs
(or a small signing proxy in front of Aliyun/Tencent) expect. Templates with variables; a rate
limit per sender per hour and per day; every message on the customer's timeline, audited.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import string
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record
from kedun.core import clock
from kedun.core.errors import Conflict, Forbidden, Invalid
from kedun.customers import contact_identity
from kedun.customers.models import Contact, Customer
from kedun.lifecycle.services import works_the_account
from kedun.org.models import Department, Role, User

from .models import SmsMessage, SmsStatus, SmsTemplate

log = logging.getLogger(__name__)
MAX_LENGTH = 500
TEMPLATE_EDITORS = (Role.ADMIN, Role.MANAGER)


@dataclass(frozen=True)
class SmsResult:
    ok: bool
    reference: str = ""
    error: str = ""


class SmsBackend(Protocol):
    name: str

    def send(
        self, *, phone: str, text: str, template_code: str, params: dict[str, str]
    ) -> SmsResult: ...


class ConsoleBackend:
    """Writes the message to the log: for trying Kedun out and for development."""

    name = "console"

    def send(
        self, *, phone: str, text: str, template_code: str, params: dict[str, str]
    ) -> SmsResult:
        log.info("SMS to %s: %s", phone, text)
        return SmsResult(ok=True, reference="console")


class HttpBackend:
    """Calls a gateway URL. Placeholders in the URL and the body: {phone} (E.164), {mobile}
    (the number without +86), {text}, {template} (the provider's template code) and {params}
    (the variables as JSON); in the URL they are URL-encoded, in a JSON body JSON-escaped."""

    name = "http"

    def __init__(
        self,
        *,
        url: str,
        method: str = "POST",
        body: str = "",
        content_type: str = "application/x-www-form-urlencoded",
        success: str = "",
        timeout: float = 10,
    ) -> None:
        self.url, self.method, self.body = url, method.upper(), body
        self.content_type, self.timeout = content_type, timeout
        self.success = re.compile(success) if success else None

    def _values(self, phone: str, text: str, template_code: str, params: dict[str, str]):
        mobile = phone[3:] if phone.startswith("+86") else phone.lstrip("+")
        return {
            "phone": phone,
            "mobile": mobile,
            "text": text,
            "template": template_code,
            "params": json.dumps(params, ensure_ascii=False),
        }

    @staticmethod
    def _fill(template: str, values: dict[str, str], escape) -> str:
        return string.Formatter().vformat(template, (), {k: escape(v) for k, v in values.items()})

    def send(
        self, *, phone: str, text: str, template_code: str, params: dict[str, str]
    ) -> SmsResult:
        values = self._values(phone, text, template_code, params)
        url = self._fill(self.url, values, lambda v: urllib.parse.quote(v, safe=""))
        data = None
        headers = {"User-Agent": "Kedun-SMS/1"}
        if self.method == "POST":
            if "json" in self.content_type:
                escape = lambda v: json.dumps(v, ensure_ascii=False)[1:-1]  # noqa: E731
            else:
                escape = lambda v: urllib.parse.quote(v, safe="")  # noqa: E731
            data = self._fill(self.body, values, escape).encode()
            headers["Content-Type"] = self.content_type
        request = urllib.request.Request(url, data=data, method=self.method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = response.read(65536).decode("utf-8", "replace")
                code = response.status
        except urllib.error.HTTPError as error:
            answer = error.read(2000).decode("utf-8", "replace")
            return SmsResult(ok=False, error=f"HTTP {error.code}: {answer[:300]}")
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            return SmsResult(
                ok=False, error=_("the SMS gateway could not be reached: %(r)s") % {"r": reason}
            )
        if code >= 300 or (self.success is not None and not self.success.search(answer)):
            return SmsResult(ok=False, error=f"HTTP {code}: {answer[:300]}")
        return SmsResult(ok=True, reference=answer[:200])


def sms_backend() -> SmsBackend:
    if settings.KEDUN_SMS_BACKEND == "http":
        return HttpBackend(
            url=settings.KEDUN_SMS_HTTP_URL,
            method=settings.KEDUN_SMS_HTTP_METHOD,
            body=settings.KEDUN_SMS_HTTP_BODY,
            content_type=settings.KEDUN_SMS_HTTP_CONTENT_TYPE,
            success=settings.KEDUN_SMS_HTTP_SUCCESS,
        )
    return ConsoleBackend()


# -- templates ----------------------------------------------------------------------------------


_FIELD_RE = re.compile(r"\{(\w+)\}")


def template_variables(text: str) -> list[str]:
    return list(dict.fromkeys(_FIELD_RE.findall(text)))


def sms_render(text: str, variables: dict[str, str]) -> str:
    """Fill {name} placeholders; a missing one is named in the refusal."""
    missing = [
        name for name in template_variables(text) if not str(variables.get(name, "")).strip()
    ]
    if missing:
        raise Invalid(
            _("Fill in: %(names)s") % {"names": ", ".join(missing)}, detail={"variables": missing}
        )
    return _FIELD_RE.sub(lambda m: str(variables[m.group(1)]), text)


def sms_template_save(
    *,
    actor: User,
    name: str,
    text: str,
    provider_code: str = "",
    template: SmsTemplate | None = None,
    active: bool = True,
) -> SmsTemplate:
    if not actor.has_role(*TEMPLATE_EDITORS):
        raise Forbidden(_("Only managers and the boss keep SMS templates."))
    name, text = " ".join(name.split()), text.strip()
    if not name or not text:
        raise Invalid(_("Give the template a name and a text."))
    if len(text) > MAX_LENGTH:
        raise Invalid(_("An SMS is %(n)s characters at most.") % {"n": MAX_LENGTH})
    with transaction.atomic():
        others = SmsTemplate.objects.filter(name=name)
        if template is not None:
            others = others.exclude(pk=template.pk)
        if others.exists():
            raise Conflict(_("There is a template called %(name)s already.") % {"name": name})
        if template is None:
            template = SmsTemplate.objects.create(
                name=name,
                text=text,
                provider_code=provider_code.strip(),
                active=active,
                created_by=actor,
                created_at=clock.now(),
            )
        else:
            template.name, template.text = name, text
            template.provider_code, template.active = provider_code.strip(), active
            template.save(update_fields=["name", "text", "provider_code", "active"])
        audit_record(
            actor=actor,
            action="sms.template_saved",
            target=template,
            changes={"name": name, "text": text, "active": active},
        )
    return template


# -- sending ------------------------------------------------------------------------------------


def customer_numbers(customer: Customer) -> list[str]:
    """The customer's and its contacts' mobiles, in E.164."""
    found: list[str] = []
    raws = [
        customer.phone,
        *Contact.objects.filter(customer=customer).values_list("phone", flat=True),
    ]
    for raw in raws:
        for number in contact_identity.normalize_phones(raw or ""):
            if contact_identity.phone_kind(number) == "mobile" and number not in found:
                found.append(number)
    return found


def _standard_variables(customer: Customer, actor: User, phone: str) -> dict[str, str]:
    company = Department.objects.filter(parent__isnull=True).order_by("pk").first()
    contact = next(
        (
            c.name
            for c in Contact.objects.filter(customer=customer)
            if phone in contact_identity.normalize_phones(c.phone or "")
        ),
        "",
    )
    return {
        "customer": customer.short_name or customer.name,
        "contact": contact,
        "sender": actor.display_name,
        "company": company.name if company else "",
    }


def sms_send(
    *,
    actor: User,
    customer: Customer,
    phone: str,
    text: str = "",
    template: SmsTemplate | None = None,
    variables: dict[str, str] | None = None,
) -> SmsMessage:
    """Send an SMS to one of the customer's mobiles, within the sender's hourly and daily
    limits (counted under a lock on the sender, so parallel sends cannot exceed them)."""
    if not works_the_account(actor, customer):
        raise Forbidden(_("Only the customer's owner, a collaborator or their manager send SMS."))
    number = contact_identity.normalize_phone(phone)
    if number is None or number not in customer_numbers(customer):
        raise Invalid(_("Choose one of the customer's mobile numbers."), detail={"phone": [phone]})
    values = {**_standard_variables(customer, actor, number), **(variables or {})}
    if template is not None:
        if not template.active:
            raise Invalid(_("This template is no longer in use."))
        text = sms_render(template.text, values)
    text = text.strip()
    if not text:
        raise Invalid(_("The message is empty."))
    if len(text) > MAX_LENGTH:
        raise Invalid(_("An SMS is %(n)s characters at most.") % {"n": MAX_LENGTH})
    now = clock.now()
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=actor.pk).values_list("pk").first()
        sent = SmsMessage.objects.filter(sender=actor)
        if (
            sent.filter(sent_at__gt=now - dt.timedelta(hours=1)).count()
            >= settings.KEDUN_SMS_PER_HOUR
        ):
            raise Conflict(
                _("You have sent %(n)s SMS in the last hour, the limit; try again later.")
                % {"n": settings.KEDUN_SMS_PER_HOUR},
                code="rate_limited",
            )
        if (
            sent.filter(sent_at__gt=now - dt.timedelta(days=1)).count()
            >= settings.KEDUN_SMS_PER_DAY
        ):
            raise Conflict(
                _("You have sent %(n)s SMS in the last 24 hours, the limit.")
                % {"n": settings.KEDUN_SMS_PER_DAY},
                code="rate_limited",
            )
        backend = sms_backend()
        message = SmsMessage.objects.create(
            customer=customer,
            sender=actor,
            phone=number,
            text=text,
            template=template,
            status=SmsStatus.QUEUED,
            backend=backend.name,
            sent_at=now,
        )
    params = {
        k: str(v) for k, v in values.items() if template and k in template_variables(template.text)
    }
    result = backend.send(
        phone=number,
        text=text,
        template_code=template.provider_code if template else "",
        params=params,
    )
    with transaction.atomic():
        message.status = SmsStatus.SENT if result.ok else SmsStatus.FAILED
        message.error = result.error
        message.provider_reference = result.reference
        message.save(update_fields=["status", "error", "provider_reference"])
        audit_record(
            actor=actor,
            action="sms.sent" if result.ok else "sms.failed",
            target=message,
            changes={
                "customer": customer.pk,
                "phone": number,
                "text": text,
                "template": template.name if template else None,
                "error": result.error,
            },
        )
    return message


def sms_of_customer(customer: Customer) -> Any:
    return (
        SmsMessage.objects.filter(customer=customer)
        .select_related("sender")
        .order_by("-sent_at", "-pk")
    )
