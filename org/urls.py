from django.urls import path

from org import views

app_name = "org"
urlpatterns = [
    path("divisions/", views.division_list, name="division_list"),
    path("schools/", views.school_list, name="school_list"),
]
