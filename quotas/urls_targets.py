"""The targets pages' routes (included by quotas.urls under the app's namespace)."""

patterns: list = []
