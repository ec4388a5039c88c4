"""Data-driven personalization for Django stores."""

__version__ = "0.1.0"
