"""Settings pages: company mailboxes (the boss), competitors (managers and the boss)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kedun.core.errors import DomainError, Forbidden, NotFound
from kedun.org.models import Role, User

from ..mailboxes import CONFIGURING_ROLES, MailboxSettings, mailbox_add, mailbox_update
from ..models import Competitor, Mailbox, Security
from ..problems import problem_text
from ..services import COMPETITOR_EDITORS, competitor_save
from ..sync import mailbox_sync
from .common import refused, viewer_of


class MailboxForm(forms.Form):
    address = forms.EmailField(label=gettext_lazy("Mail address"))
    user = forms.ModelChoiceField(
        label=gettext_lazy("Whose mail"),
        queryset=User.objects.filter(is_active=True).order_by("username"),
    )
    imap_host = forms.CharField(label=gettext_lazy("IMAP server"), max_length=200)
    imap_port = forms.IntegerField(
        label=gettext_lazy("IMAP port"), min_value=1, max_value=65535, initial=993
    )
    imap_security = forms.ChoiceField(
        label=gettext_lazy("IMAP security"), choices=Security.choices, initial=Security.SSL
    )
    smtp_host = forms.CharField(label=gettext_lazy("SMTP server"), max_length=200)
    smtp_port = forms.IntegerField(
        label=gettext_lazy("SMTP port"), min_value=1, max_value=65535, initial=465
    )
    smtp_security = forms.ChoiceField(
        label=gettext_lazy("SMTP security"), choices=Security.choices, initial=Security.SSL
    )
    login = forms.CharField(label=gettext_lazy("Login"), max_length=254)
    password = forms.CharField(
        label=gettext_lazy("Password (or authorisation code)"),
        widget=forms.PasswordInput(render_value=False),
        required=False,
        max_length=500,
    )
    active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    def settings(self) -> MailboxSettings:
        data = self.cleaned_data
        return MailboxSettings(
            address=data["address"],
            user=data["user"],
            imap_host=data["imap_host"],
            imap_port=data["imap_port"],
            smtp_host=data["smtp_host"],
            smtp_port=data["smtp_port"],
            login=data["login"],
            imap_security=data["imap_security"],
            smtp_security=data["smtp_security"],
        )


@login_required
def mailbox_list(request: HttpRequest) -> HttpResponse:
    viewer_of(request, *CONFIGURING_ROLES)
    mailboxes = list(Mailbox.objects.select_related("user").order_by("address"))
    for mailbox in mailboxes:
        mailbox.problem_texts = [problem_text(p) for p in mailbox.status_problems]  # type: ignore[attr-defined]
    return render(request, "comms/mailboxes.html", {"mailboxes": mailboxes})


@login_required
def mailbox_edit(request: HttpRequest, mailbox_pk: int | None = None) -> HttpResponse:
    viewer = viewer_of(request, *CONFIGURING_ROLES)
    mailbox = None
    if mailbox_pk is not None:
        mailbox = Mailbox.objects.filter(pk=mailbox_pk).first()
        if mailbox is None:
            raise NotFound()
    initial = {}
    if mailbox is not None:
        initial = {
            field: getattr(mailbox, field)
            for field in (
                "address",
                "imap_host",
                "imap_port",
                "imap_security",
                "smtp_host",
                "smtp_port",
                "smtp_security",
                "login",
                "active",
            )
        }
        initial["user"] = mailbox.user_id
    form = MailboxForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if mailbox is None:
                mailbox, warnings = mailbox_add(
                    actor=viewer, values=form.settings(), password=form.cleaned_data["password"]
                )
            else:
                mailbox, warnings = mailbox_update(
                    actor=viewer,
                    mailbox=mailbox,
                    values=form.settings(),
                    password=form.cleaned_data["password"],
                    active=form.cleaned_data["active"],
                )
        except DomainError as error:
            form.add_error(None, refused(error))
        else:
            for warning in warnings:
                messages.warning(request, problem_text(warning))
            messages.success(request, _("Saved; the IMAP login works."))
            return redirect("mailbox-edit", mailbox_pk=mailbox.pk)
    problems = [problem_text(p) for p in mailbox.status_problems] if mailbox else []
    context = {"form": form, "mailbox": mailbox, "problems": problems}
    return render(request, "comms/mailbox_form.html", context)


@login_required
@require_POST
def mailbox_sync_now(request: HttpRequest, mailbox_pk: int) -> HttpResponse:
    viewer_of(request, *CONFIGURING_ROLES)
    mailbox = Mailbox.objects.filter(pk=mailbox_pk).first()
    if mailbox is None:
        raise NotFound()
    report = mailbox_sync(mailbox=mailbox)
    if report.errors:
        messages.error(request, problem_text(report.errors[0]))
    else:
        messages.success(
            request,
            _("Synced: %(stored)s new messages, %(already)s already archived.")
            % {"stored": report.stored, "already": report.already_stored},
        )
    return redirect("mailbox-edit", mailbox_pk=mailbox.pk)


class CompetitorForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Competitor"), max_length=200)
    domains = forms.CharField(
        label=gettext_lazy("Mail domains (one per line, or separated by commas)"),
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def domain_list(self) -> list[str]:
        text = self.cleaned_data["domains"].replace("，", ",").replace("\n", ",")
        return [d.strip() for d in text.split(",") if d.strip()]


@login_required
def competitor_list(request: HttpRequest) -> HttpResponse:
    viewer = viewer_of(request)
    editable = viewer.has_role(*COMPETITOR_EDITORS)
    editing = None
    if request.GET.get("edit"):
        editing = Competitor.objects.filter(pk=request.GET["edit"]).first()
    initial = {}
    if editing is not None:
        initial = {
            "name": editing.name,
            "domains": "\n".join(sorted(editing.domains.values_list("domain", flat=True))),
        }
    if request.method == "POST" and not editable:
        raise Forbidden()
    form = CompetitorForm(request.POST or None, initial=initial) if editable else None
    if form is not None and request.method == "POST" and form.is_valid():
        if request.POST.get("competitor"):
            editing = Competitor.objects.filter(pk=request.POST["competitor"]).first()
        try:
            competitor_save(
                actor=viewer,
                name=form.cleaned_data["name"],
                domains=form.domain_list(),
                competitor=editing,
            )
        except DomainError as error:
            form.add_error(None, refused(error))
        else:
            messages.success(request, _("Saved. Mail to these domains is now a signal."))
            return redirect("competitor-list")
    competitors = Competitor.objects.prefetch_related("domains").order_by("name")
    context = {
        "competitors": competitors,
        "form": form,
        "editing": editing,
        "editable": editable,
        "boss": viewer.role == Role.ADMIN,
    }
    return render(request, "comms/competitors.html", context)
