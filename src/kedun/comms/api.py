"""The mail archive's API: a customer's messages, one's own mail and threads, deleting and
restoring, sending, attachments, mailboxes (the boss) and competitors.

Thin views: reads through comms.selectors/reading (scoped to the viewer, masked as the pages
are), writes through the services; refusals are DomainErrors (kedun.core.api's error shape).
"""

from __future__ import annotations

from typing import Any

from django.http import FileResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kedun.core.errors import Forbidden, NotFound
from kedun.core.pagination import Pagination
from kedun.customers import contact_identity
from kedun.customers.access import ContactAccess, contact_access
from kedun.customers.selectors import customer_get_for_viewer
from kedun.org.access import acting_user
from kedun.org.models import User
from kedun.sales.selectors import quote_get_for_viewer

from .documents import document_create, document_get_for_viewer, document_version_add, documents_of
from .downloads import attachment_open, version_open
from .mailboxes import CONFIGURING_ROLES, MailboxSettings, mailbox_add, mailbox_update
from .models import Competitor, Mailbox, MessageOwner, Security, SmsTemplate
from .presentation import ShownMessage
from .problems import problem_text
from .quote_pdf import quote_pdf_store
from .reading import customer_mail_shown, own_mail_shown, thread_shown
from .selectors import customer_messages, deleted_mail_in_scope, mail_of
from .sending import Upload, mail_send, mailbox_of
from .services import competitor_save, message_hide, message_restore
from .sms import sms_of_customer, sms_send, sms_template_save
from .sync import mailbox_sync

PAGE = [OpenApiParameter("page", int), OpenApiParameter("page_size", int)]


def _page(request: Request, view: APIView, rows: Any) -> tuple[Pagination, list[Any]]:
    paginator = Pagination()
    page: list[Any] | None = paginator.paginate_queryset(rows, request, view=view)
    return paginator, list(page or [])


class AttachmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    filename = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    url = serializers.CharField()


class MessageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    message_id = serializers.CharField()
    subject = serializers.CharField()
    # The field names are the contract's: from, to, cc (addresses masked unless allowed).
    date = serializers.DateTimeField()
    deleted = serializers.BooleanField()
    masked = serializers.BooleanField()
    thread = serializers.CharField()
    attachments = AttachmentOutput(many=True)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return instance  # built by message_output


def message_output(shown: ShownMessage, *, body: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": shown.pk,
        "message_id": shown.message_id,
        "subject": shown.subject,
        "from": str(shown.sender),
        "to": [str(a) for a in shown.to],
        "cc": [str(a) for a in shown.cc],
        "date": shown.sent_at.isoformat(),
        "deleted": shown.deleted,
        "deleted_by": [
            {"user": d.user, "at": d.hidden_at.isoformat(), "restore": d.owner_row_id}
            for d in shown.deletions
        ],
        "masked": shown.masked,
        "thread": shown.thread_root,
        "attachments": [
            {
                "id": a.pk,
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "sha256": a.sha256,
                "url": f"/api/v1/mail/attachments/{a.pk}/",
            }
            for a in shown.attachments
        ],
    }
    if shown.bcc:
        data["bcc"] = [str(a) for a in shown.bcc]
    if body:
        data["body"] = shown.body
        data["problem"] = shown.parse_problem
    return data


class CustomerMessagesApi(APIView):
    pagination_class = Pagination  # its GET answers with a page (and the schema says so)

    @extend_schema(
        parameters=PAGE,
        responses=MessageOutput(many=True),
        summary="A customer's mail, newest first (addresses masked unless the customer is yours)",
    )
    def get(self, request: Request, customer_id: int) -> Response:
        viewer = acting_user(request)
        customer = customer_get_for_viewer(viewer=viewer, customer_id=customer_id)
        paginator, page = _page(request, self, customer_messages(viewer=viewer, customer=customer))
        shown = customer_mail_shown(viewer=viewer, customer=customer, messages=page)
        return paginator.get_paginated_response([message_output(s) for s in shown])


class MyMailApi(APIView):
    pagination_class = Pagination  # its GET answers with a page (and the schema says so)

    @extend_schema(
        parameters=[*PAGE, OpenApiParameter("q", str)],
        responses=MessageOutput(many=True),
        summary="Your own mail, newest first (what you deleted is not here)",
    )
    def get(self, request: Request) -> Response:
        viewer = acting_user(request)
        rows = mail_of(viewer=viewer, search=request.query_params.get("q", ""))
        paginator, page = _page(request, self, rows)
        return paginator.get_paginated_response(
            [message_output(s) for s in own_mail_shown(rows=page)]
        )


class ThreadApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("reveal", bool, description="managers: unmask (audited)")],
        responses=MessageOutput(many=True),
        summary="A message's thread, oldest first, with the texts",
    )
    def get(self, request: Request, message_pk: int) -> Response:
        viewer = acting_user(request)
        reveal = request.query_params.get("reveal", "").lower() in ("1", "true", "yes")
        _access, shown = thread_shown(viewer=viewer, message_pk=message_pk, reveal=reveal)
        return Response([message_output(s, body=True) for s in shown])


class MessageDeleteApi(APIView):
    @extend_schema(
        request=None,
        responses={204: None},
        summary="Delete a message from your mail (managers can still see and restore it)",
    )
    def post(self, request: Request, message_pk: int) -> Response:
        viewer = acting_user(request)
        row = MessageOwner.objects.filter(message_id=message_pk, user=viewer).first()
        if row is None:
            raise NotFound()
        message_hide(actor=viewer, message=row.message)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeletedMailOutput(serializers.Serializer):
    id = serializers.IntegerField()
    message = serializers.IntegerField(source="message_id")
    subject = serializers.CharField(source="message.subject")
    date = serializers.DateTimeField(source="sent_at")
    user = serializers.CharField(source="user.username")
    deleted_at = serializers.DateTimeField(source="hidden_at")


class DeletedMailApi(APIView):
    pagination_class = Pagination  # its GET answers with a page (and the schema says so)

    @extend_schema(
        parameters=PAGE,
        responses=DeletedMailOutput(many=True),
        summary="Mail your reps deleted (managers and the boss)",
    )
    def get(self, request: Request) -> Response:
        viewer = acting_user(request)
        if not viewer.has_role("admin", "manager"):
            raise Forbidden(_("Only managers and the boss see deleted mail."))
        paginator, page = _page(request, self, deleted_mail_in_scope(viewer=viewer))
        return paginator.get_paginated_response(DeletedMailOutput(page, many=True).data)


class MessageRestoreApi(APIView):
    @extend_schema(request=None, responses={204: None}, summary="Restore a rep's deleted message")
    def post(self, request: Request, row_id: int) -> Response:
        viewer = acting_user(request)
        row = MessageOwner.objects.filter(pk=row_id).first()
        if row is None:
            raise NotFound()
        message_restore(actor=viewer, row=row)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SendInput(serializers.Serializer):
    to = serializers.CharField(max_length=4000)
    cc = serializers.CharField(max_length=4000, required=False, default="", allow_blank=True)
    bcc = serializers.CharField(max_length=4000, required=False, default="", allow_blank=True)
    subject = serializers.CharField(max_length=1000, required=False, default="", allow_blank=True)
    body = serializers.CharField(max_length=200_000, required=False, default="", allow_blank=True)
    customer = serializers.IntegerField(required=False, allow_null=True, default=None)
    reply_to = serializers.IntegerField(required=False, allow_null=True, default=None)
    attachments = serializers.ListField(child=serializers.FileField(), required=False, default=list)


class MailSendApi(APIView):
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        request=SendInput,
        responses={201: MessageOutput},
        summary="Send a message from your mailbox (kept as a draft with the reason if it fails)",
    )
    def post(self, request: Request) -> Response:
        viewer = acting_user(request)
        form = SendInput(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        customer = (
            customer_get_for_viewer(viewer=viewer, customer_id=data["customer"])
            if data["customer"]
            else None
        )
        reply_to = None
        if data["reply_to"]:
            access, _shown = thread_shown(viewer=viewer, message_pk=data["reply_to"])
            reply_to = access.message
        uploads = [
            Upload(f.name, f.content_type or "application/octet-stream", f.read())
            for f in data["attachments"]
        ]
        message = mail_send(
            actor=viewer,
            to=data["to"],
            cc=data["cc"],
            bcc=data["bcc"],
            subject=data["subject"],
            body=data["body"],
            customer=customer,
            reply_to=reply_to,
            uploads=uploads,
            mailbox=mailbox_of(viewer),
        )
        _access, shown = thread_shown(viewer=viewer, message_pk=message.pk)
        mine = next(s for s in shown if s.pk == message.pk)
        return Response(message_output(mine, body=True), status=status.HTTP_201_CREATED)


class AttachmentDownloadApi(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): bytes}, summary="An attachment")
    def get(self, request: Request, attachment_pk: int) -> FileResponse:
        return attachment_open(viewer=acting_user(request), attachment_pk=attachment_pk)


# -- mailboxes (the boss) -------------------------------------------------------------------------


class MailboxOutput(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username")
    imap_security = serializers.CharField()
    smtp_security = serializers.CharField()
    problems = serializers.SerializerMethodField()

    class Meta:
        model = Mailbox
        fields = [
            "id",
            "address",
            "user",
            "imap_host",
            "imap_port",
            "imap_security",
            "smtp_host",
            "smtp_port",
            "smtp_security",
            "login",
            "active",
            "status",
            "status_counts",
            "problems",
            "status_at",
            "synced_at",
        ]

    def get_problems(self, mailbox: Mailbox) -> list[str]:
        return [problem_text(p) for p in mailbox.status_problems]


class MailboxInput(serializers.Serializer):
    address = serializers.CharField(max_length=254)
    user = serializers.CharField(max_length=150)
    imap_host = serializers.CharField(max_length=200)
    imap_port = serializers.IntegerField(min_value=1, max_value=65535)
    # Strings, not enums: the services validate them (ssl, starttls, none), and one choice set
    # on two fields gives the schema two names for it.
    imap_security = serializers.CharField(max_length=8, default=Security.SSL)
    smtp_host = serializers.CharField(max_length=200)
    smtp_port = serializers.IntegerField(min_value=1, max_value=65535)
    smtp_security = serializers.CharField(max_length=8, default=Security.SSL)
    login = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)
    active = serializers.BooleanField(default=True)


def _boss(viewer: User) -> None:
    if not viewer.has_role(*CONFIGURING_ROLES):
        raise Forbidden(_("Only the boss configures company mailboxes."))


def _settings_from(data: dict[str, Any]) -> MailboxSettings:
    user = User.objects.filter(username__iexact=data["user"]).first()
    if user is None:
        from kedun.core.errors import Invalid

        raise Invalid(_("There is no user %(name)s.") % {"name": data["user"]})
    return MailboxSettings(
        address=data["address"],
        user=user,
        imap_host=data["imap_host"],
        imap_port=data["imap_port"],
        smtp_host=data["smtp_host"],
        smtp_port=data["smtp_port"],
        login=data["login"],
        imap_security=data["imap_security"],
        smtp_security=data["smtp_security"],
    )


class MailboxListApi(APIView):
    @extend_schema(responses=MailboxOutput(many=True), summary="Company mailboxes (the boss)")
    def get(self, request: Request) -> Response:
        _boss(acting_user(request))
        mailboxes = Mailbox.objects.select_related("user").order_by("address")
        return Response(MailboxOutput(mailboxes, many=True).data)

    @extend_schema(
        request=MailboxInput,
        responses={201: MailboxOutput},
        summary="Add a mailbox (its IMAP login is checked; an unreachable SMTP is a warning)",
    )
    def post(self, request: Request) -> Response:
        viewer = acting_user(request)
        _boss(viewer)
        form = MailboxInput(data=request.data)
        form.is_valid(raise_exception=True)
        mailbox, warnings = mailbox_add(
            actor=viewer,
            values=_settings_from(form.validated_data),
            password=form.validated_data["password"],
        )
        data = MailboxOutput(mailbox).data
        data["warnings"] = [problem_text(w) for w in warnings]
        return Response(data, status=status.HTTP_201_CREATED)


class MailboxDetailApi(APIView):
    @extend_schema(request=MailboxInput, responses=MailboxOutput, summary="Change a mailbox")
    def put(self, request: Request, mailbox_pk: int) -> Response:
        viewer = acting_user(request)
        _boss(viewer)
        mailbox = Mailbox.objects.filter(pk=mailbox_pk).first()
        if mailbox is None:
            raise NotFound()
        form = MailboxInput(data=request.data)
        form.is_valid(raise_exception=True)
        mailbox, warnings = mailbox_update(
            actor=viewer,
            mailbox=mailbox,
            values=_settings_from(form.validated_data),
            password=form.validated_data["password"],
            active=form.validated_data["active"],
        )
        data = MailboxOutput(mailbox).data
        data["warnings"] = [problem_text(w) for w in warnings]
        return Response(data)


class MailboxSyncApi(APIView):
    @extend_schema(request=None, responses=MailboxOutput, summary="Sync a mailbox now")
    def post(self, request: Request, mailbox_pk: int) -> Response:
        _boss(acting_user(request))
        mailbox = Mailbox.objects.filter(pk=mailbox_pk).first()
        if mailbox is None:
            raise NotFound()
        mailbox_sync(mailbox=mailbox)
        mailbox.refresh_from_db()
        return Response(MailboxOutput(mailbox).data)


# -- competitors ----------------------------------------------------------------------------------


class CompetitorOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    domains = serializers.SerializerMethodField()

    def get_domains(self, competitor: Competitor) -> list[str]:
        return sorted(d.domain for d in competitor.domains.all())


class CompetitorInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    domains = serializers.ListField(child=serializers.CharField(max_length=200), min_length=1)


class CompetitorListApi(APIView):
    @extend_schema(responses=CompetitorOutput(many=True), summary="Competitors and their domains")
    def get(self, request: Request) -> Response:
        acting_user(request)
        competitors = Competitor.objects.prefetch_related("domains").order_by("name")
        return Response(CompetitorOutput(competitors, many=True).data)

    @extend_schema(
        request=CompetitorInput, responses={201: CompetitorOutput}, summary="Add a competitor"
    )
    def post(self, request: Request) -> Response:
        form = CompetitorInput(data=request.data)
        form.is_valid(raise_exception=True)
        competitor = competitor_save(
            actor=acting_user(request),
            name=form.validated_data["name"],
            domains=form.validated_data["domains"],
        )
        return Response(CompetitorOutput(competitor).data, status=status.HTTP_201_CREATED)


# -- documents ----------------------------------------------------------------------------------


class DocumentVersionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField()
    filename = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    note = serializers.CharField()
    uploaded_by = serializers.CharField(source="uploaded_by.username")
    uploaded_at = serializers.DateTimeField()
    downloads = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    def get_downloads(self, version: Any) -> list[dict[str, Any]]:
        return [
            {"user": d.user.username, "at": d.at.isoformat(), "preview": d.preview}
            for d in version.downloads.select_related("user").order_by("at")
        ]

    def get_url(self, version: Any) -> str:
        return f"/api/v1/documents/versions/{version.pk}/download/"


class DocumentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    kind = serializers.CharField()
    customer = serializers.IntegerField(source="customer_id")
    order = serializers.IntegerField(source="order_id", allow_null=True)
    quote = serializers.IntegerField(source="quote_id", allow_null=True)
    deleted = serializers.SerializerMethodField()
    versions = serializers.SerializerMethodField()

    def get_deleted(self, document: Any) -> bool:
        return document.hidden_at is not None

    def get_versions(self, document: Any) -> list[dict[str, Any]]:
        versions = document.versions.select_related("uploaded_by").order_by("number")
        return list(DocumentVersionOutput(versions, many=True).data)


class DocumentInput(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    kind = serializers.CharField(max_length=10, help_text="contract, quote, spec or other")
    order = serializers.IntegerField(required=False, allow_null=True, default=None)
    note = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)
    file = serializers.FileField()


class VersionInput(serializers.Serializer):
    note = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)
    file = serializers.FileField()


def _upload(file: Any) -> Upload:
    return Upload(file.name, file.content_type or "application/octet-stream", file.read())


class CustomerDocumentsApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(responses=DocumentOutput(many=True), summary="A customer's documents")
    def get(self, request: Request, customer_id: int) -> Response:
        viewer = acting_user(request)
        customer = customer_get_for_viewer(viewer=viewer, customer_id=customer_id)
        return Response(
            DocumentOutput(documents_of(viewer=viewer, customer=customer), many=True).data
        )

    @extend_schema(request=DocumentInput, responses={201: DocumentOutput}, summary="Add a document")
    def post(self, request: Request, customer_id: int) -> Response:
        viewer = acting_user(request)
        customer = customer_get_for_viewer(viewer=viewer, customer_id=customer_id)
        form = DocumentInput(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        document = document_create(
            actor=viewer,
            customer=customer,
            title=data["title"],
            kind=data["kind"],
            upload=_upload(data["file"]),
            note=data["note"],
            order_id=data["order"],
        )
        return Response(DocumentOutput(document).data, status=status.HTTP_201_CREATED)


class DocumentVersionsApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(responses=DocumentOutput, summary="A document with its versions and downloads")
    def get(self, request: Request, document_pk: int) -> Response:
        document = document_get_for_viewer(viewer=acting_user(request), document_pk=document_pk)
        return Response(DocumentOutput(document).data)

    @extend_schema(
        request=VersionInput, responses={201: DocumentVersionOutput}, summary="Add a version"
    )
    def post(self, request: Request, document_pk: int) -> Response:
        viewer = acting_user(request)
        document = document_get_for_viewer(viewer=viewer, document_pk=document_pk)
        form = VersionInput(data=request.data)
        form.is_valid(raise_exception=True)
        version = document_version_add(
            actor=viewer,
            document=document,
            upload=_upload(form.validated_data["file"]),
            note=form.validated_data["note"],
        )
        return Response(DocumentVersionOutput(version).data, status=status.HTTP_201_CREATED)


class DocumentDownloadApi(APIView):
    @extend_schema(
        responses={(200, "application/octet-stream"): bytes},
        summary="Download a document version (logged)",
    )
    def get(self, request: Request, version_pk: int) -> FileResponse:
        return version_open(viewer=acting_user(request), version_pk=version_pk)


class QuotePdfApi(APIView):
    @extend_schema(
        request=None,
        responses={201: DocumentVersionOutput},
        summary="Generate the quote's PDF and store it as a document version",
    )
    def post(self, request: Request, quote_id: int) -> Response:
        viewer = acting_user(request)
        quote = quote_get_for_viewer(viewer=viewer, quote_id=quote_id)
        version = quote_pdf_store(actor=viewer, quote=quote)
        return Response(DocumentVersionOutput(version).data, status=status.HTTP_201_CREATED)


# -- SMS ------------------------------------------------------------------------------------------


class SmsOutput(serializers.Serializer):
    id = serializers.IntegerField()
    phone = serializers.SerializerMethodField()
    text = serializers.CharField()
    status = serializers.CharField()
    error = serializers.CharField()
    template = serializers.CharField(source="template.name", default=None, allow_null=True)
    sender = serializers.CharField(source="sender.username")
    sent_at = serializers.DateTimeField()

    def get_phone(self, message: Any) -> str:
        masked = self.context.get("masked", True)
        return contact_identity.mask_phone(message.phone) if masked else message.phone


class SmsInput(serializers.Serializer):
    phone = serializers.CharField(max_length=40)
    text = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)
    template = serializers.IntegerField(required=False, allow_null=True, default=None)
    variables = serializers.DictField(child=serializers.CharField(), required=False, default=dict)


class CustomerSmsApi(APIView):
    pagination_class = Pagination  # its GET answers with a page (and the schema says so)

    @extend_schema(parameters=PAGE, responses=SmsOutput(many=True), summary="A customer's SMS")
    def get(self, request: Request, customer_id: int) -> Response:
        viewer = acting_user(request)
        customer = customer_get_for_viewer(viewer=viewer, customer_id=customer_id)
        masked = contact_access(viewer=viewer, customer=customer) != ContactAccess.FULL
        paginator, page = _page(request, self, sms_of_customer(customer))
        data = SmsOutput(page, many=True, context={"masked": masked}).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        request=SmsInput, responses={201: SmsOutput}, summary="Send an SMS to the customer"
    )
    def post(self, request: Request, customer_id: int) -> Response:
        viewer = acting_user(request)
        customer = customer_get_for_viewer(viewer=viewer, customer_id=customer_id)
        form = SmsInput(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        template = None
        if data["template"]:
            template = SmsTemplate.objects.filter(pk=data["template"]).first()
            if template is None:
                raise NotFound()
        message = sms_send(
            actor=viewer,
            customer=customer,
            phone=data["phone"],
            text=data["text"],
            template=template,
            variables=data["variables"],
        )
        return Response(
            SmsOutput(message, context={"masked": False}).data, status=status.HTTP_201_CREATED
        )


class SmsTemplateOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    text = serializers.CharField()
    provider_code = serializers.CharField()
    active = serializers.BooleanField()


class SmsTemplatesApi(APIView):
    @extend_schema(responses=SmsTemplateOutput(many=True), summary="SMS templates")
    def get(self, request: Request) -> Response:
        acting_user(request)
        return Response(SmsTemplateOutput(SmsTemplate.objects.order_by("name"), many=True).data)

    @extend_schema(
        request=SmsTemplateOutput, responses={201: SmsTemplateOutput}, summary="Add a template"
    )
    def post(self, request: Request) -> Response:
        form = SmsTemplateOutput(data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        template = sms_template_save(
            actor=acting_user(request),
            name=data.get("name", ""),
            text=data.get("text", ""),
            provider_code=data.get("provider_code", ""),
            active=data.get("active", True),
        )
        return Response(SmsTemplateOutput(template).data, status=status.HTTP_201_CREATED)
