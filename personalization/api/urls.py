"""API routes, included by ``personalization.urls`` under ``api/``."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from .consent import ConsentView
from .privacy import MyDataErasureView, MyDataExportView
from .recommendations import (
    RecommendationFeedbackView,
    RecommendationsView,
    recommendation_click,
)
from .segments import MySegmentsView
from .views import EventIngestView, VisitorTokenView

urlpatterns = [
    path("events/", EventIngestView.as_view(), name="api-events"),
    path("token/", VisitorTokenView.as_view(), name="api-token"),
    path("consent/", ConsentView.as_view(), name="api-consent"),
    path("me/export/", MyDataExportView.as_view(), name="api-me-export"),
    path("me/erase/", MyDataErasureView.as_view(), name="api-me-erase"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("segments/me/", MySegmentsView.as_view(), name="api-segments-me"),
    path("recommendations/", RecommendationsView.as_view(), name="api-recommendations"),
    path(
        "recommendations/feedback/",
        RecommendationFeedbackView.as_view(),
        name="api-recommendations-feedback",
    ),
    path(
        "recommendations/click/<uuid:rec_id>/<str:product_id>/",
        recommendation_click,
        name="recommendation-click",
    ),
]
