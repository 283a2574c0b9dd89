"""The communication pages and API, included by config/urls.py."""

from __future__ import annotations

from django.urls import path

from . import api
from .views import documents, mail, settings, sms

pages = [
    path("mail/", mail.mail_list, name="mail-list"),
    path("mail/compose/", mail.mail_compose, name="mail-compose"),
    path("mail/deleted/", mail.mail_deleted, name="mail-deleted"),
    path("mail/deleted/<int:row_pk>/restore/", mail.mail_restore, name="mail-restore"),
    path("mail/<int:message_pk>/", mail.mail_thread, name="mail-thread"),
    path("mail/<int:message_pk>/delete/", mail.mail_delete, name="mail-delete"),
    path(
        "mail/attachments/<int:attachment_pk>/",
        mail.attachment_download,
        name="mail-attachment",
    ),
    path("settings/mailboxes/", settings.mailbox_list, name="mailbox-list"),
    path("settings/mailboxes/new/", settings.mailbox_edit, name="mailbox-new"),
    path("settings/mailboxes/<int:mailbox_pk>/", settings.mailbox_edit, name="mailbox-edit"),
    path(
        "settings/mailboxes/<int:mailbox_pk>/sync/",
        settings.mailbox_sync_now,
        name="mailbox-sync",
    ),
    path("settings/competitors/", settings.competitor_list, name="competitor-list"),
    path(
        "customers/<int:customer_id>/documents/new/",
        documents.document_new,
        name="document-new",
    ),
    path("documents/<int:document_pk>/", documents.document_detail, name="document-detail"),
    path(
        "documents/<int:document_pk>/delete/",
        documents.document_delete,
        name="document-delete",
    ),
    path(
        "documents/versions/<int:version_pk>/download/",
        documents.version_download,
        name="document-download",
    ),
    path(
        "documents/versions/<int:version_pk>/preview/",
        documents.version_preview,
        name="document-preview",
    ),
    path("quotes/<int:quote_id>/pdf/", documents.quote_pdf, name="quote-pdf"),
    path("customers/<int:customer_id>/sms/", sms.sms_customer, name="sms-send"),
    path("sms/templates/", sms.sms_templates, name="sms-templates"),
]

api_v1 = [
    path(
        "customers/<int:customer_id>/messages/",
        api.CustomerMessagesApi.as_view(),
        name="api-customer-messages",
    ),
    path("mail/", api.MyMailApi.as_view(), name="api-mail"),
    path("mail/send/", api.MailSendApi.as_view(), name="api-mail-send"),
    path("mail/deleted/", api.DeletedMailApi.as_view(), name="api-mail-deleted"),
    path(
        "mail/deleted/<int:row_id>/restore/",
        api.MessageRestoreApi.as_view(),
        name="api-mail-restore",
    ),
    path("mail/<int:message_pk>/thread/", api.ThreadApi.as_view(), name="api-mail-thread"),
    path("mail/<int:message_pk>/delete/", api.MessageDeleteApi.as_view(), name="api-mail-delete"),
    path(
        "mail/attachments/<int:attachment_pk>/",
        api.AttachmentDownloadApi.as_view(),
        name="api-mail-attachment",
    ),
    path("mailboxes/", api.MailboxListApi.as_view(), name="api-mailboxes"),
    path("mailboxes/<int:mailbox_pk>/", api.MailboxDetailApi.as_view(), name="api-mailbox"),
    path("mailboxes/<int:mailbox_pk>/sync/", api.MailboxSyncApi.as_view(), name="api-mailbox-sync"),
    path("competitors/", api.CompetitorListApi.as_view(), name="api-competitors"),
    path(
        "customers/<int:customer_id>/documents/",
        api.CustomerDocumentsApi.as_view(),
        name="api-customer-documents",
    ),
    path(
        "documents/<int:document_pk>/versions/",
        api.DocumentVersionsApi.as_view(),
        name="api-document-versions",
    ),
    path(
        "documents/versions/<int:version_pk>/download/",
        api.DocumentDownloadApi.as_view(),
        name="api-document-download",
    ),
    path("quotes/<int:quote_id>/pdf/", api.QuotePdfApi.as_view(), name="api-quote-pdf"),
    path("customers/<int:customer_id>/sms/", api.CustomerSmsApi.as_view(), name="api-customer-sms"),
    path("sms/templates/", api.SmsTemplatesApi.as_view(), name="api-sms-templates"),
]
