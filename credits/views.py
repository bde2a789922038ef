from django.http import Http404
from django.shortcuts import redirect, render

from accounts.decorators import scoped_view
from credits import selectors
from credits.models import Cycle
from people.selectors import teacher_get


@scoped_view
def my_hours(request, scope):
    if not request.user.teacher_id:
        raise Http404("账户未绑定教师档案")
    return redirect("credits:teacher_hours", teacher_id=request.user.teacher_id)


@scoped_view
def teacher_hours(request, scope, teacher_id: int):
    """A teacher's hours for a cycle: progress, categories, entries (self or admins of the jurisdiction)."""
    teacher = teacher_get(scope=scope, teacher_id=teacher_id)
    if teacher is None:
        raise Http404("教师不存在或不在本辖区")
    cycle = Cycle.objects.filter(code=request.GET.get("cycle", "")[:20]).first()
    summary = selectors.teacher_cycle_summary(teacher=teacher, cycle=cycle)
    if summary is None:
        raise Http404("没有继续教育周期")
    return render(request, "credits/teacher_hours.html", {
        "teacher": teacher, "summary": summary, "cycles": Cycle.objects.all(),
        "entries": selectors.teacher_entries(teacher=teacher, cycle=summary.cycle),
    })
