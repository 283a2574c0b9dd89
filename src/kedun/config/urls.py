from django.urls import URLPattern, URLResolver, include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from kedun.audit import api as audit_api
from kedun.audit import views as audit_views
from kedun.budgets import api as budgets_api
from kedun.budgets import views as budgets_views
from kedun.comms import urls as comms_urls
from kedun.core import views as core_views
from kedun.customers import api as customers_api
from kedun.customers import views as customers_views
from kedun.exports import api as exports_api
from kedun.exports import views as exports_views
from kedun.field import api as field_api
from kedun.field import views as field_views
from kedun.insights import urls as insights_urls
from kedun.jobs import api as jobs_api
from kedun.lifecycle import api as lifecycle_api
from kedun.lifecycle import views as lifecycle_views
from kedun.notifications import api as notification_api
from kedun.notifications import views as notification_views
from kedun.org import api as org_api
from kedun.org import views as org_views
from kedun.sales import api as sales_api
from kedun.sales import views as sales_views

api_v1: list[URLPattern | URLResolver] = [
    path("me/", org_api.MeApi.as_view(), name="api-me"),
    path(
        "me/sessions/logout-all/",
        org_api.MySessionsLogoutAllApi.as_view(),
        name="api-me-logout-all",
    ),
    path("users/", org_api.UserListApi.as_view(), name="api-user-list"),
    path(
        "users/<int:user_id>/sessions/logout-all/",
        org_api.UserSessionsLogoutAllApi.as_view(),
        name="api-user-logout-all",
    ),
    path(
        "users/<int:user_id>/deactivate/",
        org_api.UserDeactivateApi.as_view(),
        name="api-user-deactivate",
    ),
    path("customers/", customers_api.CustomerListApi.as_view(), name="api-customer-list"),
    path(
        "customers/duplicate-check/",
        customers_api.DuplicateCheckApi.as_view(),
        name="api-duplicate-check",
    ),
    path(
        "customers/<int:customer_id>/",
        customers_api.CustomerDetailApi.as_view(),
        name="api-customer-detail",
    ),
    path(
        "customers/<int:customer_id>/contact/",
        customers_api.CustomerContactApi.as_view(),
        name="api-customer-contact",
    ),
    path(
        "customers/<int:customer_id>/contacts/",
        customers_api.CustomerContactPersonApi.as_view(),
        name="api-customer-contact-person",
    ),
    path(
        "customers/<int:customer_id>/notes/",
        customers_api.CollaborationNoteApi.as_view(),
        name="api-collaboration-note",
    ),
    path(
        "customers/<int:customer_id>/ownership-request/",
        customers_api.OwnershipRequestApi.as_view(),
        name="api-ownership-request",
    ),
    path("disputes/", customers_api.DisputeListApi.as_view(), name="api-dispute-list"),
    path(
        "disputes/<int:dispute_id>/resolve/",
        customers_api.DisputeResolveApi.as_view(),
        name="api-dispute-resolve",
    ),
    path("my/customers/", lifecycle_api.MyCustomersApi.as_view(), name="api-my-customers"),
    path("my/follow-ups-due/", lifecycle_api.FollowUpsDueApi.as_view(), name="api-follow-ups-due"),
    path("pool/", lifecycle_api.PoolListApi.as_view(), name="api-pool"),
    path("pool/settings/", lifecycle_api.PoolSettingsApi.as_view(), name="api-pool-settings"),
    path(
        "pool/<int:customer_id>/claim/",
        lifecycle_api.PoolClaimApi.as_view(),
        name="api-pool-claim",
    ),
    path(
        "pool/<int:customer_id>/assign/",
        lifecycle_api.PoolAssignApi.as_view(),
        name="api-pool-assign",
    ),
    path(
        "customers/<int:customer_id>/release/",
        lifecycle_api.CustomerReleaseApi.as_view(),
        name="api-customer-release",
    ),
    path(
        "customers/<int:customer_id>/transfer/",
        lifecycle_api.CustomerTransferApi.as_view(),
        name="api-customer-transfer",
    ),
    path(
        "customers/<int:customer_id>/hold/",
        lifecycle_api.CustomerHoldApi.as_view(),
        name="api-customer-hold",
    ),
    path(
        "customers/<int:customer_id>/follow-ups/",
        lifecycle_api.FollowUpListApi.as_view(),
        name="api-follow-ups",
    ),
    path(
        "customers/<int:customer_id>/team/",
        lifecycle_api.TeamApi.as_view(),
        name="api-customer-team",
    ),
    path(
        "customers/<int:customer_id>/team/<str:username>/",
        lifecycle_api.TeamMemberApi.as_view(),
        name="api-customer-team-member",
    ),
    path(
        "customers/<int:customer_id>/ownership/",
        lifecycle_api.OwnershipHistoryApi.as_view(),
        name="api-ownership-history",
    ),
    path(
        "customers/<int:customer_id>/stage/",
        lifecycle_api.CustomerStageApi.as_view(),
        name="api-customer-stage",
    ),
    path(
        "customers/<int:customer_id>/grade/",
        lifecycle_api.CustomerGradeApi.as_view(),
        name="api-customer-grade",
    ),
    path(
        "reports/key-customers/",
        lifecycle_api.KeyCustomersReportApi.as_view(),
        name="api-key-customers",
    ),
    path(
        "users/<str:username>/handover/",
        lifecycle_api.HandoverApi.as_view(),
        name="api-user-handover",
    ),
    path("products/", sales_api.ProductListApi.as_view(), name="api-sales-products"),
    path(
        "products/<int:product_id>/", sales_api.ProductDetailApi.as_view(), name="api-sales-product"
    ),
    path("lost-reasons/", sales_api.LostReasonListApi.as_view(), name="api-sales-lost-reasons"),
    path("quotes/", sales_api.QuoteListApi.as_view(), name="api-sales-quotes"),
    path("quotes/<int:quote_id>/", sales_api.QuoteDetailApi.as_view(), name="api-sales-quote"),
    path(
        "quotes/<int:quote_id>/submit/",
        sales_api.QuoteSubmitApi.as_view(),
        name="api-sales-quote-submit",
    ),
    path(
        "quotes/<int:quote_id>/approve/",
        sales_api.QuoteApproveApi.as_view(),
        name="api-sales-quote-approve",
    ),
    path(
        "quotes/<int:quote_id>/reject/",
        sales_api.QuoteRejectApi.as_view(),
        name="api-sales-quote-reject",
    ),
    path(
        "quotes/<int:quote_id>/send/", sales_api.QuoteSendApi.as_view(), name="api-sales-quote-send"
    ),
    path(
        "quotes/<int:quote_id>/accept/",
        sales_api.QuoteAcceptApi.as_view(),
        name="api-sales-quote-accept",
    ),
    path(
        "quotes/<int:quote_id>/lost/", sales_api.QuoteLostApi.as_view(), name="api-sales-quote-lost"
    ),
    path(
        "quotes/<int:quote_id>/revise/",
        sales_api.QuoteReviseApi.as_view(),
        name="api-sales-quote-revise",
    ),
    path(
        "quotes/<int:quote_id>/order/",
        sales_api.QuoteOrderApi.as_view(),
        name="api-sales-quote-order",
    ),
    path("orders/", sales_api.OrderListApi.as_view(), name="api-sales-orders"),
    path("orders/<int:order_id>/", sales_api.OrderDetailApi.as_view(), name="api-sales-order"),
    path(
        "orders/<int:order_id>/production/",
        sales_api.OrderProductionApi.as_view(),
        name="api-sales-order-production",
    ),
    path(
        "orders/<int:order_id>/contract/",
        sales_api.OrderContractApi.as_view(),
        name="api-sales-order-contract",
    ),
    path(
        "orders/<int:order_id>/shipments/",
        sales_api.OrderShipmentsApi.as_view(),
        name="api-sales-order-shipments",
    ),
    path(
        "orders/<int:order_id>/delivery/",
        sales_api.OrderDeliveryApi.as_view(),
        name="api-sales-order-delivery",
    ),
    path(
        "orders/<int:order_id>/invoices/",
        sales_api.OrderInvoicesApi.as_view(),
        name="api-sales-order-invoices",
    ),
    path(
        "orders/<int:order_id>/lost/", sales_api.OrderLostApi.as_view(), name="api-sales-order-lost"
    ),
    path(
        "orders/<int:order_id>/cancel/",
        sales_api.OrderCancelApi.as_view(),
        name="api-sales-order-cancel",
    ),
    path(
        "invoices/<int:invoice_id>/payments/",
        sales_api.InvoicePaymentsApi.as_view(),
        name="api-sales-invoice-payments",
    ),
    path(
        "payments/<int:payment_id>/reverse/",
        sales_api.PaymentReverseApi.as_view(),
        name="api-sales-payment-reverse",
    ),
    path("receivables/", sales_api.ReceivableListApi.as_view(), name="api-sales-receivables"),
    path("commission/", sales_api.CommissionLedgerApi.as_view(), name="api-sales-commission"),
    path("check-ins/", field_api.CheckInListApi.as_view(), name="api-check-ins"),
    path(
        "check-ins/<int:check_in_id>/",
        field_api.CheckInDetailApi.as_view(),
        name="api-check-in",
    ),
    path(
        "check-ins/<int:check_in_id>/check-out/",
        field_api.CheckOutApi.as_view(),
        name="api-check-out",
    ),
    path(
        "check-ins/<int:check_in_id>/review/",
        field_api.CheckInReviewApi.as_view(),
        name="api-check-in-review",
    ),
    path(
        "check-ins/<int:check_in_id>/photo/",
        field_api.CheckInPhotoApi.as_view(),
        name="api-check-in-photo",
    ),
    path(
        "check-ins/<int:check_in_id>/audio/",
        field_api.CheckInAudioApi.as_view(),
        name="api-check-in-audio",
    ),
    path(
        "customers/<int:customer_id>/location/",
        field_api.CustomerLocationApi.as_view(),
        name="api-customer-location",
    ),
    path("field/rules/", field_api.FieldRulesApi.as_view(), name="api-field-rules"),
    path(
        "notifications/",
        notification_api.NotificationListApi.as_view(),
        name="api-notification-list",
    ),
    path("audit/events/", audit_api.AuditEventListApi.as_view(), name="api-audit-list"),
    path("exports/", exports_api.ExportListApi.as_view(), name="api-export-list"),
    path(
        "exports/approvals/",
        exports_api.ExportApprovalListApi.as_view(),
        name="api-export-approvals",
    ),
    path(
        "exports/<int:export_id>/approve/",
        exports_api.ExportApproveApi.as_view(),
        name="api-export-approve",
    ),
    path(
        "exports/<int:export_id>/reject/",
        exports_api.ExportRejectApi.as_view(),
        name="api-export-reject",
    ),
    path(
        "exports/<int:export_id>/file/", exports_api.ExportFileApi.as_view(), name="api-export-file"
    ),
    path("canaries/", exports_api.CanaryFindApi.as_view(), name="api-canary-find"),
    path("budgets/", budgets_api.TeamBudgetsApi.as_view(), name="api-team-budgets"),
    path(
        "budgets/<int:user_id>/grants/",
        budgets_api.BudgetGrantApi.as_view(),
        name="api-budget-grant",
    ),
    path("people/<int:user_id>/leaver/", budgets_api.LeaverApi.as_view(), name="api-leaver"),
    path("insights/", include(insights_urls.api_v1)),
    *comms_urls.api_v1,
    path("health/", jobs_api.HealthApi.as_view(), name="api-health"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]

urlpatterns = [
    path("", core_views.home, name="home"),
    path("manifest.webmanifest", core_views.manifest, name="manifest"),
    path("sw.js", core_views.service_worker, name="service-worker"),
    path("offline/", core_views.offline, name="offline"),
    path("login/", org_views.login_view, name="login"),
    path("logout/", org_views.logout_view, name="logout"),
    path("login/two-factor/", org_views.login_two_factor_view, name="login-two-factor"),
    path("account/", org_views.account_view, name="account"),
    path("account/two-factor/", org_views.account_two_factor_view, name="account-two-factor"),
    path(
        "account/two-factor/disable/",
        org_views.account_two_factor_disable_view,
        name="account-two-factor-disable",
    ),
    path(
        "people/<int:user_id>/two-factor/reset/",
        org_views.user_two_factor_reset_view,
        name="user-two-factor-reset",
    ),
    path(
        "account/logout-everywhere/",
        org_views.account_logout_everywhere_view,
        name="account-logout-everywhere",
    ),
    path("people/", org_views.user_list, name="user-list"),
    path(
        "people/<int:user_id>/end-sessions/",
        org_views.user_end_sessions_view,
        name="user-end-sessions",
    ),
    path(
        "people/<int:user_id>/deactivate/", org_views.user_deactivate_view, name="user-deactivate"
    ),
    path("customers/", customers_views.customer_list, name="customer-list"),
    path("customers/new/", customers_views.customer_new, name="customer-new"),
    path("customers/check/", customers_views.duplicate_check, name="customer-check"),
    path("registry/", customers_views.registry_search, name="registry-search"),
    path("registry/screen/", customers_views.lead_list_screen_view, name="lead-list-screen"),
    path("registry/<int:customer_id>/", customers_views.registry_card, name="registry-card"),
    path(
        "registry/<int:customer_id>/request/",
        customers_views.ownership_request,
        name="ownership-request",
    ),
    path("disputes/", customers_views.dispute_queue, name="dispute-queue"),
    path("disputes/<int:dispute_id>/", customers_views.dispute_detail, name="dispute-detail"),
    path("notifications/", notification_views.notification_list, name="notification-list"),
    path("notifications/read/", notification_views.notifications_read, name="notifications-read"),
    path("customers/<int:customer_id>/", customers_views.customer_detail, name="customer-detail"),
    path("my/customers/", lifecycle_views.my_customers_view, name="my-customers"),
    path("my/follow-ups/", lifecycle_views.follow_ups_today_view, name="follow-ups-today"),
    path("pool/", lifecycle_views.pool_view, name="pool"),
    path("pool/<int:customer_id>/claim/", lifecycle_views.pool_claim_view, name="pool-claim"),
    path("pool/<int:customer_id>/assign/", lifecycle_views.pool_assign_view, name="pool-assign"),
    path("pool/settings/", lifecycle_views.pool_settings_view, name="pool-settings"),
    path("people/handover/", lifecycle_views.handover_view, name="handover"),
    path(
        "reports/key-customers/",
        lifecycle_views.key_customers_view,
        name="key-customers-report",
    ),
    path("quotes/", sales_views.quote_list, name="quote-list"),
    path("quotes/new/", sales_views.quote_new, name="quote-new"),
    path("quotes/<int:quote_id>/", sales_views.quote_detail, name="quote-detail"),
    path("quotes/<int:quote_id>/print/", sales_views.quote_print, name="quote-print"),
    path("orders/", sales_views.order_list, name="order-list"),
    path("orders/<int:order_id>/", sales_views.order_detail, name="order-detail"),
    path("receivables/", sales_views.receivables_view, name="receivables"),
    path("sales/commission/", sales_views.commission_view, name="commission"),
    path(
        "sales/commission/<int:rep_id>/",
        sales_views.commission_rep_view,
        name="commission-rep",
    ),
    path("reports/sales/", sales_views.sales_reports_view, name="sales-reports"),
    path("reports/sales/pipeline/", sales_views.report_pipeline, name="sales-report-pipeline"),
    path("reports/sales/execution/", sales_views.report_execution, name="sales-report-execution"),
    path("reports/sales/delivery/", sales_views.report_delivery, name="sales-report-delivery"),
    path(
        "reports/sales/collection/",
        sales_views.report_collection,
        name="sales-report-collection",
    ),
    path("reports/sales/wins/", sales_views.report_wins, name="sales-report-wins"),
    path("products/", sales_views.product_list, name="product-list"),
    path("products/new/", sales_views.product_new, name="product-new"),
    path("products/<int:product_id>/", sales_views.product_edit, name="product-edit"),
    path("products/price-lists/", sales_views.price_list_list, name="price-list-list"),
    path("products/price-lists/new/", sales_views.price_list_new, name="price-list-new"),
    path(
        "products/price-lists/<int:price_list_id>/",
        sales_views.price_list_edit,
        name="price-list-edit",
    ),
    path(
        "products/price-lists/<int:price_list_id>/prices/",
        sales_views.price_list_prices_view,
        name="price-list-prices",
    ),
    path("sales/settings/", sales_views.sales_settings, name="sales-settings"),
    path("sales/settings/lost-reasons/", sales_views.lost_reason_list, name="lost-reason-list"),
    path(
        "sales/settings/lost-reasons/<int:reason_id>/",
        sales_views.lost_reason_edit,
        name="lost-reason-edit",
    ),
    path("sales/settings/duties/", sales_views.duties_view, name="sales-duties"),
    path("sales/settings/rep-terms/", sales_views.rep_terms_view, name="rep-terms"),
    path("field/", field_views.field_dashboard, name="field-dashboard"),
    path("field/day/", field_views.rep_day_view, name="field-day"),
    path("field/settings/", field_views.field_settings_view, name="field-settings"),
    path(
        "field/check-ins/<int:check_in_id>/",
        field_views.check_in_detail,
        name="field-check-in",
    ),
    path(
        "field/check-ins/<int:check_in_id>/check-out/",
        field_views.check_out_view,
        name="field-check-out",
    ),
    path(
        "field/check-ins/<int:check_in_id>/review/",
        field_views.check_in_review_view,
        name="field-check-in-review",
    ),
    path(
        "customers/<int:customer_id>/check-in/",
        field_views.check_in_new,
        name="field-check-in-new",
    ),
    path(
        "customers/<int:customer_id>/location/",
        field_views.customer_location_view,
        name="customer-location",
    ),
    path("audit/", audit_views.audit_list, name="audit-list"),
    path("exports/", exports_views.export_list, name="export-list"),
    path("exports/approvals/", exports_views.export_approvals, name="export-approvals"),
    path(
        "exports/<int:export_id>/download/", exports_views.export_download, name="export-download"
    ),
    path("exports/canary/", exports_views.canary_lookup, name="canary-lookup"),
    path("people/budgets/", budgets_views.team_budgets_view, name="budget-team"),
    path("insights/", include(insights_urls.pages)),
    *comms_urls.pages,
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("api/v1/", include(api_v1)),
]

handler404 = "kedun.core.views.not_found"
