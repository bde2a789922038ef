from django.urls import path

from guidance import views

app_name = "guidance"

urlpatterns = [
    path("ask/", views.ask, name="ask"),
    path("similar/", views.similar, name="similar"),
    path("mine/", views.my_questions, name="my_questions"),
    path("answered/<int:question_id>/", views.consult, name="consult"),
    path("inbox/", views.expert_inbox, name="expert_inbox"),
    path("questions/", views.question_list, name="question_list"),
    path("questions/<int:question_id>/", views.question_detail, name="question_detail"),
    path("questions/<int:question_id>/answer/", views.question_answer, name="question_answer"),
    path("questions/<int:question_id>/follow-up/", views.question_follow_up, name="question_follow_up"),
    path("questions/<int:question_id>/resolve/", views.question_resolve, name="question_resolve"),
    path("questions/<int:question_id>/rate/", views.question_rate, name="question_rate"),
    path("questions/<int:question_id>/reassign/", views.question_reassign, name="question_reassign"),
    path("questions/<int:question_id>/attachment/", views.question_attachment, name="question_attachment"),
    path("teams/", views.team_list, name="team_list"),
    path("teams/<int:team_id>/", views.team_detail, name="team_detail"),
    path("teams/<int:team_id>/update/", views.team_update, name="team_update"),
    path("teams/<int:team_id>/members/", views.member_save, name="member_save"),
    path("teams/<int:team_id>/members/<int:member_id>/remove/", views.member_remove, name="member_remove"),
    path("teams/<int:team_id>/schools/", views.schools_pair, name="schools_pair"),
    path("teams/<int:team_id>/schools/<int:school_id>/remove/", views.school_unpair, name="school_unpair"),
    path("coverage/", views.coverage, name="coverage"),
    path("dashboard/", views.dashboard_view, name="dashboard"),
    path("problems/", views.problems, name="problems"),
    path("problems/<int:cluster_id>/project/", views.problem_to_project, name="problem_to_project"),
    path("hours-rule/", views.hours_rule, name="hours_rule"),
]
