"""The ratings pages' routes (included by evaluation.urls under the app's namespace)."""

from django.urls import path

from evaluation import rating_views

patterns: list = [
    path("ratings/mine/", rating_views.rating_mine, name="rating_mine"),
    path("ratings/projects/<int:project_id>/", rating_views.rating_form, name="rating_form"),
    path("ratings/projects/<int:project_id>/windows/", rating_views.rating_windows, name="rating_windows"),
    path("ratings/windows/<int:window_id>/delete/", rating_views.rating_window_delete, name="rating_window_delete"),
    path("ratings/results/", rating_views.rating_results_page, name="rating_results"),
]
