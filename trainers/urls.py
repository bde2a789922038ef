from django.urls import path

from trainers import views

app_name = "trainers"

urlpatterns = [
    path("", views.trainer_list, name="list"),
    path("new/", views.trainer_new, name="new"),
    path("me/", views.my_trainer, name="mine"),
    path("<int:trainer_id>/", views.trainer_detail, name="detail"),
    path("<int:trainer_id>/edit/", views.trainer_edit, name="edit"),
    path("<int:trainer_id>/promote/", views.trainer_promote, name="promote"),
    path("<int:trainer_id>/unavailable/", views.trainer_unavailable, name="unavailable"),
    path("sessions/<int:session_id>/", views.session_staffing, name="session_staffing"),
    path("projects/<int:project_id>/staffing/", views.project_staffing, name="project_staffing"),
]
