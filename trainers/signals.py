"""A booked session that moves to another day takes its bookings with it.

catalog changes a session's date by saving the session; these receivers run inside that save
(and so inside the caller's transaction): before it, the move is refused with a Chinese message
if a booked trainer is booked elsewhere or unavailable on the new day (nothing is written); after
it, the bookings take the new date. A date changed by QuerySet.update() bypasses them: catalog
changes sessions through save()."""

from django.core.exceptions import ValidationError
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from catalog.models import ProjectSession
from trainers.services import bookings_follow_session, session_move_refusal


@receiver(pre_save, sender=ProjectSession, dispatch_uid="trainers.session_moving")
def session_moving(sender, instance: ProjectSession, raw: bool = False, **kwargs) -> None:
    if raw or instance.pk is None:
        return
    refusal = session_move_refusal(instance)
    if refusal is not None:
        raise ValidationError({"held_on": refusal})


@receiver(post_save, sender=ProjectSession, dispatch_uid="trainers.session_moved")
def session_moved(sender, instance: ProjectSession, created: bool, raw: bool = False, **kwargs) -> None:
    if raw or created:
        return
    bookings_follow_session(instance)
