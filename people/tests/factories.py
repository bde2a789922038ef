"""Factories for teachers: valid ID numbers (GB 11643) derived from a sequence."""

import datetime as dt

import factory

from org.constants import Stage
from people.identity import id_blind_index, id_check_character, id_encrypt
from people.models import Teacher, TeacherSubject


def make_id_number(sequence: int, *, birth: dt.date = dt.date(1985, 3, 14), sex: str = "F", area: str = "410225") -> str:
    serial = (sequence % 499) * 2 + (1 if sex == "M" else 0) + 2
    first17 = f"{area}{birth:%Y%m%d}{serial % 1000:03d}"
    return first17 + id_check_character(first17)


class TeacherFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Teacher
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"教师{n:04d}")
    # Born 1965-1989, so the 2010 hire date is always past 16 (the importer rejects younger hires).
    birth_date = factory.Sequence(lambda n: dt.date(1965 + n % 25, 1 + n % 12, 1 + n % 28))
    sex = factory.Sequence(lambda n: "M" if n % 2 else "F")
    stage = Stage.PRIMARY
    title = "first"
    hire_date = dt.date(2010, 9, 1)
    status = "active"
    school = None  # required: pass school=

    class Params:
        id_number = factory.LazyAttributeSequence(lambda o, n: make_id_number(n, birth=o.birth_date, sex=o.sex))

    id_cipher = factory.LazyAttribute(lambda o: id_encrypt(o.id_number))
    id_index = factory.LazyAttribute(lambda o: id_blind_index(o.id_number))
    division_path = factory.LazyAttribute(lambda o: o.school.division_path)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return model_class.objects.create(*args, **kwargs)

    @factory.post_generation
    def subjects(self, create, extracted, **kwargs):
        if create:
            for index, code in enumerate(extracted or ["chinese"]):
                TeacherSubject.objects.create(teacher=self, subject=code, is_main=index == 0)
