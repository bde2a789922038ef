from django.urls import include, path

from config.api import api
from core import views as core_views

urlpatterns = [
    path("", core_views.root),
    path("healthz", core_views.healthz, name="healthz"),
    path("home/", include("core.urls")),
    path("accounts/", include("accounts.urls")),
    path("teachers/", include("people.urls")),
    path("org/", include("org.urls")),
    path("audit/", include("audit.urls")),
    path("api/v1/", api.urls),
]
