"""The supervision pages' routes (included by evaluation.urls under the app's namespace)."""

from django.urls import path

from evaluation import supervision_views as views

patterns: list = [
    path("supervision/mine/", views.supervision_mine, name="supervision_mine"),
    path("supervision/projects/<int:project_id>/", views.supervision_project, name="supervision_project"),
    path("supervision/projects/<int:project_id>/supervisors/", views.supervision_supervisors,
         name="supervision_supervisors"),
    path("supervision/projects/<int:project_id>/records/<str:kind>/", views.supervision_record_add,
         name="supervision_record_add"),
    path("supervision/records/<str:kind>/<int:record_id>/", views.supervision_record_edit,
         name="supervision_record_edit"),
    path("supervision/records/outcome/<int:record_id>/file/", views.supervision_outcome_file,
         name="supervision_outcome_file"),
    path("supervision/rubrics/", views.rubric_list, name="rubric_list"),
    path("supervision/rubrics/new/", views.rubric_new, name="rubric_new"),
    path("supervision/rubrics/<int:rubric_id>/", views.rubric_detail, name="rubric_detail"),
    path("supervision/rubrics/<int:rubric_id>/state/", views.rubric_state, name="rubric_state"),
]
