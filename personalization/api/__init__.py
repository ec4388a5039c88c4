"""The REST API of the app (Django REST framework), described by drf-spectacular."""
