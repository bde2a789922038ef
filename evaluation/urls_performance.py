"""The performance pages' routes (included by evaluation.urls under the app's namespace)."""

from django.urls import path

from evaluation import performance_views as views

patterns: list = [
    path("weights/", views.weights_page, name="performance_weights"),
    path("rankings/", views.ranking_page, name="ranking_list"),
    path("rankings/<int:year>/compute/", views.ranking_compute, name="ranking_compute"),
    path("projects/<int:project_id>/score/", views.score_card, name="performance_score"),
    path("cases/", views.case_list, name="case_list"),
    path("cases/<int:case_id>/", views.case_detail, name="case_detail"),
    path("cases/<int:case_id>/appeal/", views.case_appeal, name="case_appeal"),
    path("cases/<int:case_id>/decide/", views.case_decide, name="case_decide"),
]
