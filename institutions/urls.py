from django.urls import path

from institutions import views

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
