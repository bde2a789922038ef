"""The targets pages' routes (included by quotas.urls under the app's namespace)."""

from django.urls import path

from quotas import target_views as views

patterns: list = [
    path("targets/", views.targets_page, name="targets"),
    path("targets/rates/", views.rates_page, name="target_rates"),
    path("targets/baseline/", views.baseline_freeze, name="baseline_freeze"),
    path("allocations/", views.allocation_list, name="allocation_list"),
    path("allocations/new/", views.allocation_new, name="allocation_new"),
    path("allocations/<int:allocation_id>/", views.allocation_detail, name="allocation_detail"),
]
