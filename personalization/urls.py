"""URLs of the app: ``path("personalization/", include("personalization.urls"))``."""

from django.urls import include, path

from .privacy import views as privacy_views

app_name = "personalization"

urlpatterns = [
    path("api/", include("personalization.api.urls")),
    path("privacy/my-data/", privacy_views.download_my_data, name="privacy-export"),
    path("privacy/erase/", privacy_views.erase_my_data, name="privacy-erase"),
]
