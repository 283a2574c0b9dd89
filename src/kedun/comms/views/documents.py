"""Document pages: a customer's documents, one document with its versions and downloads, the
preview (images and PDFs) and the quote's PDF."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from kedun.core.errors import DomainError
from kedun.customers.selectors import customer_get_for_viewer
from kedun.sales.selectors import quote_get_for_viewer

from ..documents import (
    document_create,
    document_get_for_viewer,
    document_hide,
    document_restore,
    document_version_add,
    may_add_documents,
    sniffed_type,
)
from ..downloads import version_open
from ..models import DocumentDownload, DocumentKind
from ..quote_pdf import quote_pdf_store
from .common import refused, uploads_of, viewer_of


class DocumentForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Document title"), max_length=200, required=False)
    kind = forms.ChoiceField(label=gettext_lazy("Document type"), choices=DocumentKind.choices)
    order = forms.IntegerField(label=gettext_lazy("Order (optional)"), required=False)
    file = forms.FileField(label=gettext_lazy("File"))
    note = forms.CharField(label=gettext_lazy("Note"), max_length=300, required=False)


class VersionForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("New version"))
    note = forms.CharField(label=gettext_lazy("What changed"), max_length=300, required=False)


@login_required
def document_new(request: HttpRequest, customer_id: int) -> HttpResponse:
    viewer = viewer_of(request)
    customer = customer_get_for_viewer(viewer=viewer, customer_id=customer_id)
    form = DocumentForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            document = document_create(
                actor=viewer,
                customer=customer,
                title=data["title"],
                kind=data["kind"],
                upload=uploads_of([data["file"]])[0],
                note=data["note"],
                order_id=data["order"],
            )
        except DomainError as error:
            form.add_error(None, refused(error))
        else:
            messages.success(request, _("Document saved."))
            return redirect("document-detail", document_pk=document.pk)
    context = {"form": form, "customer": customer, "may_add": may_add_documents(viewer, customer)}
    return render(request, "comms/document_new.html", context)


@login_required
def document_detail(request: HttpRequest, document_pk: int) -> HttpResponse:
    viewer = viewer_of(request)
    document = document_get_for_viewer(viewer=viewer, document_pk=document_pk)
    may_add = may_add_documents(viewer, document.customer)
    form = VersionForm(request.POST or None, request.FILES or None) if may_add else None
    if form is not None and request.method == "POST" and form.is_valid():
        try:
            document_version_add(
                actor=viewer,
                document=document,
                upload=uploads_of([form.cleaned_data["file"]])[0],
                note=form.cleaned_data["note"],
            )
        except DomainError as error:
            form.add_error(None, refused(error))
        else:
            messages.success(request, _("New version saved; the older ones are kept."))
            return redirect("document-detail", document_pk=document.pk)
    versions = list(document.versions.select_related("uploaded_by").order_by("-number"))
    latest = versions[0] if versions else None
    preview = None
    if latest is not None:
        from django.core.files.storage import default_storage

        with default_storage.open(str(latest.file.name), "rb") as handle:
            preview = sniffed_type(handle.read(16))
    downloads = (
        DocumentDownload.objects.filter(version__document=document)
        .select_related("user", "version")
        .order_by("-at")[:100]
    )
    context = {
        "document": document,
        "versions": versions,
        "latest": latest,
        "preview": preview,
        "downloads": downloads,
        "form": form,
        "may_add": may_add,
        "is_manager": viewer.has_role("admin", "manager"),
    }
    return render(request, "comms/document_detail.html", context)


@login_required
def version_download(request: HttpRequest, version_pk: int) -> FileResponse:
    return version_open(viewer=viewer_of(request), version_pk=version_pk)


@login_required
@xframe_options_sameorigin
def version_preview(request: HttpRequest, version_pk: int) -> FileResponse:
    """Images and PDFs shown in the document's page (a PDF in a same-origin frame: the site's
    policy forbids <object>, and this response alone may be framed, by our own pages)."""
    response = version_open(viewer=viewer_of(request), version_pk=version_pk, preview=True)
    response["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'self'"
    return response


@login_required
@require_POST
def document_delete(request: HttpRequest, document_pk: int) -> HttpResponse:
    viewer = viewer_of(request)
    document = document_get_for_viewer(viewer=viewer, document_pk=document_pk)
    if request.POST.get("restore"):
        document_restore(actor=viewer, document=document)
        messages.success(request, _("Restored."))
        return redirect("document-detail", document_pk=document.pk)
    document_hide(actor=viewer, document=document)
    messages.success(request, _("Deleted. A manager can still see it and restore it."))
    return redirect("customer-detail", customer_id=document.customer_id)


@login_required
def quote_pdf(request: HttpRequest, quote_id: int) -> FileResponse:
    """The quote as a PDF; stored as a version of the quote's document, download logged."""
    viewer = viewer_of(request)
    quote = quote_get_for_viewer(viewer=viewer, quote_id=quote_id)
    version = quote_pdf_store(actor=viewer, quote=quote)
    response = version_open(viewer=viewer, version_pk=version.pk)
    response["Content-Type"] = "application/pdf"
    return response
