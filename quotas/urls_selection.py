"""The selection pages' routes (included by quotas.urls under the app's namespace)."""

from django.urls import path

from quotas import selection_views as views

patterns: list = [
    path("selection/", views.selection_home, name="selection_home"),
    path("selection/rules/", views.rule_set_list, name="selection_rules"),
    path("selection/rules/new/", views.rule_set_new, name="selection_rule_new"),
    path("selection/rules/<int:rule_set_id>/", views.rule_set_detail, name="selection_rule_set"),
    path("selection/projects/<int:project_id>/", views.project_lists, name="selection_project"),
    path("selection/lists/<int:list_id>/", views.list_detail, name="selection_list"),
    path("selection/lists/<int:list_id>/drop/", views.list_drop, name="selection_drop"),
    path("selection/lists/<int:list_id>/add/", views.list_add, name="selection_add"),
    path("selection/lists/<int:list_id>/search/", views.list_search, name="selection_search"),
    path("selection/lists/<int:list_id>/submit/", views.list_submit, name="selection_submit"),
]
