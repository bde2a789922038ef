from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("tokens/", views.token_list, name="token_list"),
    path("me/", views.account_view, name="account"),
    path("password/", views.password_change, name="password_change"),
    path("users/", views.user_list, name="user_list"),
    path("users/<int:user_id>/reset-password/", views.user_reset, name="user_reset"),
]
