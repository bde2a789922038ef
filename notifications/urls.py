from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:notification_id>/open/", views.notice_open, name="open"),
    path("<int:notification_id>/read/", views.notice_read, name="read"),
    path("read-all/", views.read_all, name="read_all"),
    path("settings/", views.settings_view, name="settings"),
]
