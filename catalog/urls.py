from django.urls import path

from catalog import views

app_name = "catalog"
urlpatterns = [
    path("", views.project_list, name="project_list"),
    path("<int:project_id>/", views.project_detail, name="project_detail"),
    path("mine/", views.my_enrolments, name="my_enrolments"),
    path("mine/withdraw/", views.enrolment_withdraw_view, name="enrolment_withdraw"),
]
