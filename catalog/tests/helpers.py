"""Acting as the people the services expect, in tests: a teacher for themself, a project's
organiser for publishing it."""

from access.scope import Scope
from catalog.models import Project
from catalog.services import project_open, project_serving_scope


def as_teacher(teacher) -> Scope:
    """The scope of the teacher's own account."""
    return Scope(teacher_id=teacher.pk, role="teacher", label="本人")


def organiser_scope(project: Project) -> Scope:
    """The scope of an administrator of the project's organising unit."""
    return project_serving_scope(project)


def publish(project: Project) -> Project:
    return project_open(scope=organiser_scope(project), actor=None, project_id=project.pk)
