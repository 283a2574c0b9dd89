"""The insights' pages and API, included from config/urls.py."""

from django.urls import URLPattern, path

from . import api, views

pages: list[URLPattern] = [
    path("", views.risk_list, name="insights-risk"),
    path("reps/<int:rep_id>/", views.rep_risk, name="insights-rep"),
    path(
        "reps/<int:rep_id>/customers/<int:customer_id>/",
        views.customer_evidence,
        name="insights-customer",
    ),
    path("cases/", views.case_list, name="insights-cases"),
    path("cases/<int:case_id>/", views.case_detail, name="insights-case"),
    path("cases/<int:case_id>/pdf/", views.case_download, name="insights-case-pdf"),
]

api_v1: list[URLPattern] = [
    path("risk/", api.RiskApi.as_view(), name="api-insights-risk"),
    path("risk/reps/<int:rep_id>/", api.RepRiskApi.as_view(), name="api-insights-rep"),
    path(
        "findings/<int:finding_id>/dismiss/",
        api.DismissApi.as_view(),
        name="api-insights-dismiss",
    ),
    path("cases/", api.CaseListApi.as_view(), name="api-insights-cases"),
    path("cases/<int:case_id>/", api.CaseDetailApi.as_view(), name="api-insights-case"),
    path("cases/<int:case_id>/notes/", api.CaseNoteApi.as_view(), name="api-insights-case-note"),
    path("cases/<int:case_id>/close/", api.CaseCloseApi.as_view(), name="api-insights-case-close"),
    path("cases/<int:case_id>/pdf/", api.CasePdfApi.as_view(), name="api-insights-case-pdf"),
]
