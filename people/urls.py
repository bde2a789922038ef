from django.urls import path

from people import views

app_name = "people"
urlpatterns = [
    path("", views.teacher_list, name="teacher_list"),
    path("<int:teacher_id>/", views.teacher_detail, name="teacher_detail"),
    path("<int:teacher_id>/edit/", views.teacher_edit, name="teacher_edit"),
    path("<int:teacher_id>/reveal-id/", views.teacher_reveal, name="teacher_reveal"),
    path("roster/import/", views.roster_import_view, name="roster_import"),
    path("roster/import/<int:batch_id>/", views.roster_batch_detail, name="roster_batch"),
    path("roster/import/<int:batch_id>/rejections.xlsx", views.roster_rejections_download, name="roster_rejections"),
    path("roster/template.xlsx", views.roster_template_download, name="roster_template"),
    path("roster/export/", views.roster_export_view, name="roster_export"),
    path("roster/export-requests/", views.export_requests, name="export_requests"),
]
