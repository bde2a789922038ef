"""The instruments pages' routes (included by evaluation.urls under the app's namespace)."""

from django.urls import path  # noqa: F401

patterns: list = []
