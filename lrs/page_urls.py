"""The learning-records pages (the xAPI resources themselves are in lrs.urls, under /xapi/)."""

from django.urls import path

from lrs import pages

app_name = "learning"
urlpatterns = [
    path("me/", pages.my_records, name="my_records"),
    path("clients/", pages.client_list, name="client_list"),
    path("clients/<int:client_id>/", pages.client_detail, name="client_detail"),
    path("clients/<int:client_id>/revoke/", pages.client_revoke_view, name="client_revoke"),
    path("credited/", pages.credited_list, name="credited_list"),
    path("credited/<int:credited_id>/active/", pages.credited_toggle, name="credited_toggle"),
    path("credits/", pages.credit_queue, name="credit_queue"),
]
