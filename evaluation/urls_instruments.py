"""The instruments pages' routes (included by evaluation.urls under the app's namespace)."""

from django.urls import path

from evaluation import instrument_views as views

patterns: list = [
    path("instruments/", views.instrument_list, name="instrument_list"),
    path("instruments/new/", views.instrument_new, name="instrument_new"),
    path("instruments/<int:instrument_id>/", views.instrument_detail, name="instrument_detail"),
    path("instruments/<int:instrument_id>/edit/", views.instrument_edit, name="instrument_edit"),
    path("instruments/<int:instrument_id>/publish/", views.instrument_publish, name="instrument_publish"),
    path("instruments/<int:instrument_id>/new-version/", views.instrument_new_version, name="instrument_new_version"),
    path("instruments/<int:instrument_id>/retire/", views.instrument_retire, name="instrument_retire"),
    path("projects/<int:project_id>/assessments/", views.project_assessments, name="project_assessments"),
    path("assessments/attachments/<int:attachment_id>/", views.attachment_change, name="attachment_change"),
    path("me/assessments/", views.my_assessments, name="my_assessments"),
    path("assessments/<int:attachment_id>/", views.assessment_take, name="assessment_take"),
    path("projects/<int:project_id>/comparison/", views.project_comparison, name="project_comparison"),
    path("outcomes/import/", views.outcome_import, name="outcome_import"),
    path("outcomes/", views.outcome_list, name="outcome_list"),
]
