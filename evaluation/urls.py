from evaluation import urls_instruments, urls_performance, urls_ratings, urls_supervision

app_name = "evaluation"

urlpatterns = [
    *urls_instruments.patterns,
    *urls_ratings.patterns,
    *urls_supervision.patterns,
    *urls_performance.patterns,
]
