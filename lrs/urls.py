"""The xAPI endpoints. No trailing slashes: clients append `/statements` etc. to the base IRL."""

from django.urls import path

import lrs.document_views as document_views
from lrs import views

app_name = "lrs"
urlpatterns = [
    path("about", views.about, name="about"),
    path("statements", views.statements, name="statements"),
    path("activities/state", document_views.activity_state, name="activity_state"),
    path("activities/profile", document_views.activity_profile, name="activity_profile"),
    path("activities", document_views.activities, name="activities"),
    path("agents/profile", document_views.agent_profile, name="agent_profile"),
    path("agents", document_views.agents, name="agents"),
]
