"""The xAPI endpoints. No trailing slashes: clients append `/statements` etc. to the base IRL."""

from django.urls import path

from lrs import views

app_name = "lrs"
urlpatterns = [
    path("about", views.about, name="about"),
    path("statements", views.statements, name="statements"),
]
