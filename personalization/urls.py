"""URLs of the app: ``path("personalization/", include("personalization.urls"))``."""

from django.urls import include, path

app_name = "personalization"

urlpatterns = [
    path("api/", include("personalization.api.urls")),
]
