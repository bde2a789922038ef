from quotas import urls_selection, urls_targets

app_name = "quotas"

urlpatterns = [
    *urls_targets.patterns,
    *urls_selection.patterns,
]
