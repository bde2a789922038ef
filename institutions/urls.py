from django.urls import path

from institutions import base_views, registry_views, views

app_name = "institutions"

urlpatterns = [
    path("accreditations/", views.accreditation_list, name="list"),
    path("accreditations/apply/", views.accreditation_apply, name="apply"),
    path("accreditations/<int:accreditation_id>/", views.accreditation_detail, name="detail"),
    path("accreditations/<int:accreditation_id>/evidence/", views.evidence_upload, name="evidence_upload"),
    path("accreditations/<int:accreditation_id>/evidence/<int:evidence_id>/", views.evidence_download,
         name="evidence_download"),
    path("accreditations/<int:accreditation_id>/submit/", views.accreditation_submit, name="submit"),
    path("accreditations/<int:accreditation_id>/renew/", views.accreditation_renew, name="renew"),
    path("accreditations/<int:accreditation_id>/decide/", views.accreditation_decide, name="decide"),
    path("accreditations/<int:accreditation_id>/suspend/", views.accreditation_suspend, name="suspend"),
    path("accreditations/<int:accreditation_id>/reinstate/", views.accreditation_reinstate, name="reinstate"),
    path("accreditations/<int:accreditation_id>/revoke/", views.accreditation_revoke, name="revoke"),
]

urlpatterns += [
    path("bases/", base_views.base_list, name="base_list"),
    path("bases/new/", base_views.base_form, name="base_new"),
    path("bases/<int:base_id>/", base_views.base_detail, name="base_detail"),
    path("bases/<int:base_id>/edit/", base_views.base_form, name="base_edit"),
    path("registry/", registry_views.registry_list, name="registry"),
    path("registry/expiring/", registry_views.expiring_list, name="expiring"),
    path("registry/export/", registry_views.registry_export, name="registry_export"),
]
