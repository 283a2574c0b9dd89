"""Mail pages: one's own mail, a thread, compose and reply, deleted mail for managers."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kedun.core.errors import DomainError, NotFound
from kedun.customers.access import ContactAccess, contact_access
from kedun.customers.presentation import contact_data
from kedun.customers.selectors import customer_get_for_viewer

from ..downloads import attachment_open
from ..models import DraftStatus, Mailbox, MailDraft, MessageOwner
from ..reading import own_mail_shown, thread_shown
from ..selectors import MANAGING_ROLES, deleted_mail_in_scope, mail_of
from ..sending import SendFailed, draft_save, draft_send, mailbox_of
from ..services import message_hide, message_restore
from .common import page_of, refused, uploads_of, viewer_of


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


class ComposeForm(forms.Form):
    to = forms.CharField(label=gettext_lazy("To"), max_length=4000)
    cc = forms.CharField(label=gettext_lazy("Cc"), max_length=4000, required=False)
    bcc = forms.CharField(label=gettext_lazy("Bcc"), max_length=4000, required=False)
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=1000, required=False)
    body = forms.CharField(
        label=gettext_lazy("Message"), required=False, widget=forms.Textarea(attrs={"rows": 10})
    )
    attachments = MultipleFileField(label=gettext_lazy("Attachments"), required=False)


@login_required
def mail_list(request: HttpRequest) -> HttpResponse:
    viewer = viewer_of(request)
    search = request.GET.get("q", "").strip()[:200]
    page = page_of(request, mail_of(viewer=viewer, search=search))
    drafts = MailDraft.objects.filter(author=viewer).exclude(status=DraftStatus.SENT)
    context = {
        "page": page,
        "shown": own_mail_shown(rows=list(page.object_list)),
        "q": search,
        "drafts": drafts.order_by("-updated_at")[:20],
        "has_mailbox": Mailbox.objects.filter(user=viewer, active=True).exists(),
        "is_manager": viewer.has_role(*MANAGING_ROLES),
    }
    return render(request, "comms/mail_list.html", context)


@login_required
def mail_thread(request: HttpRequest, message_pk: int) -> HttpResponse:
    viewer = viewer_of(request)
    reveal = request.method == "POST" and bool(request.POST.get("reveal"))
    access, thread = thread_shown(viewer=viewer, message_pk=message_pk, reveal=reveal)
    context = {
        "access": access,
        "thread": thread,
        "current": access.message.pk,
        "can_delete": access.own_row is not None,
        "can_reveal": any(m.masked for m in thread) and viewer.has_role(*MANAGING_ROLES),
        "can_reply": access.own_row is not None
        and Mailbox.objects.filter(user=viewer, active=True).exists(),
    }
    return render(request, "comms/mail_thread.html", context)


@login_required
@require_POST
def mail_delete(request: HttpRequest, message_pk: int) -> HttpResponse:
    viewer = viewer_of(request)
    row = MessageOwner.objects.filter(message_id=message_pk, user=viewer).first()
    if row is None:
        raise NotFound()
    message_hide(actor=viewer, message=row.message)
    messages.success(
        request, _("Deleted from your mail. Your manager can still see it and restore it.")
    )
    return redirect("mail-list")


@login_required
def mail_deleted(request: HttpRequest) -> HttpResponse:
    viewer = viewer_of(request, *MANAGING_ROLES)
    page = page_of(request, deleted_mail_in_scope(viewer=viewer))
    return render(request, "comms/mail_deleted.html", {"page": page})


@login_required
@require_POST
def mail_restore(request: HttpRequest, row_pk: int) -> HttpResponse:
    viewer = viewer_of(request, *MANAGING_ROLES)
    row = MessageOwner.objects.select_related("user").filter(pk=row_pk).first()
    if row is None:
        raise NotFound()
    try:
        message_restore(actor=viewer, row=row)
    except DomainError as error:
        messages.error(request, refused(error))
    else:
        messages.success(
            request,
            _("Restored: the message is back in %(name)s's mail.")
            % {"name": row.user.display_name},
        )
    return redirect(request.POST.get("next") or "mail-deleted")


@login_required
def attachment_download(request: HttpRequest, attachment_pk: int) -> FileResponse:
    return attachment_open(viewer=viewer_of(request), attachment_pk=attachment_pk)


def _prefill(request: HttpRequest, viewer, customer, reply) -> dict[str, str]:
    initial: dict[str, str] = {}
    if customer is not None and contact_access(viewer=viewer, customer=customer) == (
        ContactAccess.FULL
    ):
        data = contact_data(customer, masked=False)
        emails = [data.email, *(c.email for c in data.contacts)]
        initial["to"] = ", ".join(dict.fromkeys(e for e in emails if e))
    if reply is not None:
        initial["to"] = reply.from_address
        subject = reply.subject
        initial["subject"] = (
            subject if subject.lower().startswith(("re:", "回复")) else (f"Re: {subject}")
        )
        quoted = "\n".join(f"> {line}" for line in reply.body_text.splitlines()[:200])
        initial["body"] = f"\n\n{reply.sent_at:%Y-%m-%d %H:%M} {reply.from_address}:\n{quoted}"
    return initial


@login_required
def mail_compose(request: HttpRequest) -> HttpResponse:
    """A new message, from a customer's card (?customer=) or as a reply (?reply=)."""
    viewer = viewer_of(request)
    mailbox = mailbox_of(viewer)
    source = request.POST if request.method == "POST" else request.GET
    customer = None
    if source.get("customer"):
        customer = customer_get_for_viewer(viewer=viewer, customer_id=int(source["customer"]))
    reply = None
    if source.get("reply"):
        access, _thread = thread_shown(viewer=viewer, message_pk=int(source["reply"]))
        if access.own_row is None:
            raise NotFound()
        reply = access.message
    draft = None
    if source.get("draft"):
        draft = (
            MailDraft.objects.filter(pk=int(source["draft"]), author=viewer)
            .exclude(status=DraftStatus.SENT)
            .first()
        )
        if draft is None:
            raise NotFound()
        customer, reply = draft.customer, draft.reply_to
    if request.method == "POST":
        form = ComposeForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                draft = draft_save(
                    actor=viewer,
                    to=data["to"],
                    cc=data["cc"],
                    bcc=data["bcc"],
                    subject=data["subject"],
                    body=data["body"],
                    customer=customer,
                    reply_to=reply,
                    uploads=uploads_of(data["attachments"]),
                    mailbox=mailbox,
                    draft=draft,
                )
                if request.POST.get("save"):
                    messages.success(request, _("Saved as a draft."))
                    return redirect("mail-list")
                message = draft_send(actor=viewer, draft=draft)
            except SendFailed as error:
                messages.error(request, str(error.message))
                return redirect(f"{request.path}?draft={draft.pk}" if draft else request.path)
            except DomainError as error:
                form.add_error(None, refused(error))
            else:
                messages.success(request, _("Sent and archived."))
                return redirect("mail-thread", message_pk=message.pk)
    elif draft is not None:
        form = ComposeForm(
            initial={
                "to": draft.to,
                "cc": draft.cc,
                "bcc": draft.bcc,
                "subject": draft.subject,
                "body": draft.body,
            }
        )
    else:
        form = ComposeForm(initial=_prefill(request, viewer, customer, reply))
    context = {
        "form": form,
        "customer": customer,
        "reply": reply,
        "draft": draft,
        "mailbox": mailbox,
    }
    return render(request, "comms/compose.html", context)
