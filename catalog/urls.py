from django.urls import path

from catalog import (
    dashboard_views,
    library_views,
    manage_views,
    nominate_views,
    overview_views,
    plan_views,
    views,
)

app_name = "catalog"
urlpatterns = [
    path("", views.project_list, name="project_list"),
    path("library/", library_views.library_grid, name="library_grid"),
    path("<int:project_id>/", views.project_detail, name="project_detail"),
    path("mine/", views.my_enrolments, name="my_enrolments"),
    path("mine/open/", views.open_to_me, name="open_to_me"),
    path("mine/schedule/", views.my_schedule, name="my_schedule"),
    path("mine/schedule.ics", views.my_schedule_ics, name="my_schedule_ics"),
    path("mine/withdraw/", views.enrolment_withdraw_view, name="enrolment_withdraw"),
    path("mine/check-in/", manage_views.check_in_view, name="check_in"),
    path("new/", manage_views.project_new, name="project_new"),
    path("<int:project_id>/manage/", manage_views.project_manage, name="project_manage"),
    path("<int:project_id>/completion/", manage_views.project_completion, name="project_completion"),
    path("<int:project_id>/edit/", manage_views.project_edit, name="project_edit"),
    path("<int:project_id>/dashboard/", dashboard_views.project_dashboard, name="project_dashboard"),
    path("<int:project_id>/nominate/", nominate_views.project_nominate_view, name="project_nominate"),
    path("overview/", overview_views.jurisdiction_overview_view, name="jurisdiction_overview"),
    path("plans/", plan_views.plan_list, name="plan_list"),
    path("plans/<int:plan_id>/", plan_views.plan_detail, name="plan_detail"),
    path("plans/overlaps/", plan_views.year_overlap_list, name="year_overlaps"),
]
