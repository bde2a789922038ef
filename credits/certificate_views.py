"""学时证明: the PDF for a teacher (self or administrators of the jurisdiction) and
the public page its QR code opens."""

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from accounts.decorators import scoped_view
from accounts.throttle import Throttled, rate_limited
from core.middleware import throttled_response
from core.requests import client_ip
from credits.certificate_pdf import certificate_pdf as render_certificate_pdf
from credits.certificates import (
    ISSUE_MAX_PER_HOUR,
    VERIFY_MAX_PER_MINUTE,
    certificate_check,
    certificate_issue,
)
from credits.models import Cycle
from people.selectors import teacher_get


@scoped_view
@require_GET
def certificate_pdf(request, scope, teacher_id: int):
    """Sign and download a certificate of the teacher's hours in ?cycle= (default: the current cycle)."""
    teacher = teacher_get(scope=scope, teacher_id=teacher_id)
    if teacher is None:
        raise Http404("教师不存在或不在本辖区")
    code = request.GET.get("cycle", "")[:20]
    cycle = Cycle.objects.filter(code=code).first() if code else None
    if code and cycle is None:
        raise Http404("没有该继续教育周期")
    if rate_limited("certificate", str(request.user.pk), limit=ISSUE_MAX_PER_HOUR, seconds=3600):
        raise Throttled("学时证明下载过于频繁，请稍后再试。", retry_after=3600)
    issued = certificate_issue(teacher=teacher, cycle=cycle, actor=request.user, ip=client_ip(request))
    if issued is None:
        raise Http404("没有继续教育周期")
    verify_url = request.build_absolute_uri(reverse("credits:certificate_verify", args=[issued.token]))
    pdf = render_certificate_pdf(issued=issued, teacher=teacher, verify_url=verify_url)
    response = HttpResponse(pdf, content_type="application/pdf")
    filename = f"学时证明-{issued.certificate.cycle_code}-{issued.certificate.serial}.pdf"
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return response


@login_not_required  # public on purpose: anyone holding the certificate checks it (core/tests/test_routes.py)
@require_GET
def certificate_verify(request, token: str):
    """Whether a certificate is genuine: masked name, school, cycle and hours, or 证书无效."""
    if rate_limited("certificate-verify", client_ip(request) or "unknown", limit=VERIFY_MAX_PER_MINUTE, seconds=60):
        response = throttled_response(request, Throttled("核验过于频繁，请稍后再试。", retry_after=60))
    else:
        verified = certificate_check(token)
        response = render(request, "credits/certificate_verify.html", {"verified": verified},
                          status=200 if verified else 404)
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
