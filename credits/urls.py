from django.urls import path

from credits import views

app_name = "credits"
urlpatterns = [
    path("me/", views.my_hours, name="my_hours"),
    path("teachers/<int:teacher_id>/", views.teacher_hours, name="teacher_hours"),
    path("rules/", views.rules, name="rules"),
    path("claims/new/", views.claim_new, name="claim_new"),
    path("claims/", views.claims, name="claims"),
    path("entries/<int:entry_id>/evidence/", views.evidence, name="evidence"),
]
