"""Teacher training funding: payroll and public budgets, local ratios, budgets and spend."""
from django.urls import path

from funding import views

app_name = "funding"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("gaps/", views.gaps, name="gaps"),
    path("figures/", views.division_figures, name="division_figures"),
    path("schools/", views.school_figures, name="school_figures"),
    path("budgets/", views.budgets, name="budgets"),
    path("budgets/<int:budget_id>/", views.budget_entry, name="budget_entry"),
    path("budgets/<int:budget_id>/delete/", views.budget_delete, name="budget_delete"),
    path("projects/", views.projects, name="projects"),
    path("projects/<int:project_id>/", views.project_spend, name="project_spend"),
    path("spend/<int:spend_id>/", views.spend_entry, name="spend_entry"),
    path("spend/<int:spend_id>/delete/", views.spend_delete, name="spend_delete"),
    path("spend/<int:spend_id>/evidence/", views.spend_evidence, name="spend_evidence"),
    path("spend/<int:spend_id>/evidence/upload/", views.spend_evidence_upload, name="spend_evidence_upload"),
    path("import/", views.funding_import, name="import"),
]
