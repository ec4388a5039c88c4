"""URLs of the app: ``path("personalization/", include("personalization.urls"))``."""

from django.urls import path  # noqa: F401

app_name = "personalization"

urlpatterns: list = []
