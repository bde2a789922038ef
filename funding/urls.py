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
    path("projects/", views.projects, name="projects"),
    path("projects/<int:project_id>/", views.project_spend, name="project_spend"),
    path("spend/<int:spend_id>/evidence/", views.spend_evidence, name="spend_evidence"),
    path("import/", views.funding_import, name="import"),
]
