"""URLs of the app: ``path("personalization/", include("personalization.urls"))``."""

from django.urls import include, path

from .consent import views as consent_views
from .privacy import views as privacy_views

app_name = "personalization"

urlpatterns = [
    path("api/", include("personalization.api.urls")),
    path("consent/", consent_views.preferences, name="consent-preferences"),
    path("consent/do-not-sell/", consent_views.do_not_sell, name="consent-do-not-sell"),
    path("privacy/my-data/", privacy_views.download_my_data, name="privacy-export"),
    path("privacy/erase/", privacy_views.erase_my_data, name="privacy-erase"),
]
