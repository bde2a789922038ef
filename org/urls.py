from django.urls import path

from org import views

app_name = "org"
urlpatterns = [
    path("divisions/", views.division_list, name="division_list"),
    path("schools/", views.school_list, name="school_list"),
    path("institutions/", views.institution_list, name="institution_list"),
    path("communities/", views.community_list, name="community_list"),
]
