"""The course-library pages (under /learning/courses/; the learning-record pages are lrs.page_urls)."""

from django.urls import path

from learning import study_views, views

app_name = "courses"
urlpatterns = [
    path("", views.course_list, name="course_list"),
    path("<int:course_id>/", views.course_detail, name="course_detail"),
    path("<int:course_id>/publish/", views.course_publish_view, name="course_publish"),
    path("<int:course_id>/retire/", views.course_retire_view, name="course_retire"),
    path("<int:course_id>/merge/", views.course_merge_view, name="course_merge"),
    path("import/", views.catalogue_import_view, name="catalogue_import"),
    path("providers/", views.provider_list, name="provider_list"),
    path("mine/", study_views.my_study, name="my_study"),
    path("<int:course_id>/enrol/", study_views.course_enrol_view, name="course_enrol"),
    path("<int:course_id>/study/", study_views.course_study, name="course_study"),
    path("<int:course_id>/study/start/", study_views.study_start_view, name="study_start"),
    path("<int:course_id>/study/beat/", study_views.study_beat_view, name="study_beat"),
    path("<int:course_id>/rate/", study_views.course_rate_view, name="course_rate"),
]
