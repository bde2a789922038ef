"""django-prometheus's request metrics, labelled by the URL pattern's name (`view`), never by the
path: no ids or personal data in a label."""

from django_prometheus.middleware import PrometheusAfterMiddleware, PrometheusBeforeMiddleware

__all__ = ["PrometheusAfterMiddleware", "PrometheusBeforeMiddleware", "RouteLabelledAfterMiddleware"]


class RouteLabelledAfterMiddleware(PrometheusAfterMiddleware):
    """The latency histogram takes the raw HTTP method as its label: a client inventing methods
    would add series without end. Every metric here gets the sanitised method."""

    def label_metric(self, metric, request, response=None, **labels):
        if "method" in labels:
            labels["method"] = self._method(request)
        return super().label_metric(metric, request, response, **labels)
