from django.urls import path

from credits import compliance_views, views

app_name = "credits"
urlpatterns = [
    path("me/", views.my_hours, name="my_hours"),
    path("teachers/<int:teacher_id>/", views.teacher_hours, name="teacher_hours"),
    path("rules/", views.rules, name="rules"),
    path("claims/new/", views.claim_new, name="claim_new"),
    path("claims/", views.claims, name="claims"),
    path("entries/<int:entry_id>/evidence/", views.evidence, name="evidence"),
    path("compliance/", compliance_views.compliance_home, name="compliance"),
    path("compliance/d/<str:code>/", compliance_views.compliance_division, name="compliance_division"),
    path("compliance/s/<int:school_id>/", compliance_views.compliance_school, name="compliance_school"),
]
