from django.urls import path

from credits import compliance_views, external_views, views
from credits.certificate_views import certificate_pdf, certificate_verify

app_name = "credits"
urlpatterns = [
    path("me/", views.my_hours, name="my_hours"),
    path("teachers/<int:teacher_id>/", views.teacher_hours, name="teacher_hours"),
    path("rules/", views.rules, name="rules"),
    path("claims/new/", views.claim_new, name="claim_new"),
    path("claims/", views.claims, name="claims"),
    path("claims/<int:entry_id>/", views.claim_detail, name="claim_detail"),
    path("claims/<int:entry_id>/resubmit/", views.claim_resubmit_view, name="claim_resubmit"),
    path("entries/<int:entry_id>/evidence/", views.evidence, name="evidence"),
    path("teachers/<int:teacher_id>/certificate.pdf", certificate_pdf, name="certificate_pdf"),
    path("verify/<str:token>/", certificate_verify, name="certificate_verify"),
    path("external/", external_views.external_import, name="external_import"),
    path("external/<int:batch_id>/", external_views.external_import_detail, name="external_import_detail"),
    path("organisers/", external_views.organisers, name="organisers"),
    path("compliance/", compliance_views.compliance_home, name="compliance"),
    path("compliance/d/<str:code>/", compliance_views.compliance_division, name="compliance_division"),
    path("compliance/s/<int:school_id>/", compliance_views.compliance_school, name="compliance_school"),
]
