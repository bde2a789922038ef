"""Providers, a catalogue file and a way to import it as a division administrator."""

import csv
import io

import pytest

from access.scope import scope_for_user
from learning.catalogue import catalogue_import, file_rows
from learning.services import provider_create

HEADER = ["提供方", "课程编号", "课程名称", "学段", "学科", "专题/能力", "必修内容", "学时", "学时类别", "形式", "层级",
          "精品资源共享课", "活动IRI", "简介"]


def row(code="C-1", title="课堂提问与学生思维发展", **values) -> list:
    base = {"提供方": "smartedu", "课程编号": code, "课程名称": title, "学段": "小学、初中", "学科": "语文",
            "专题/能力": "课堂教学", "必修内容": "", "学时": "3", "学时类别": "网络研修", "形式": "视频课", "层级": "省级",
            "精品资源共享课": "否", "活动IRI": "", "简介": "提问的层次与追问。"}
    base.update(values)
    return [base[column] for column in HEADER]


def catalogue(rows: list[list], kind: str = "csv") -> tuple[io.BytesIO, str]:
    """The file as a provider sends it (cells as they are: no formula guard on "-5")."""
    if kind == "csv":
        text = io.StringIO()
        csv.writer(text).writerows([HEADER, *rows])
        return io.BytesIO(text.getvalue().encode("utf-8")), "catalogue.csv"
    from openpyxl import Workbook

    book = Workbook()
    for line in [HEADER, *rows]:
        book.active.append(line)
    handle = io.BytesIO()
    book.save(handle)
    handle.seek(0)
    return handle, "catalogue.xlsx"


@pytest.fixture
def providers(province, users):
    scope = scope_for_user(users["province_admin"])
    national = provider_create(scope=scope, actor=users["province_admin"], division=province.province, code="smartedu",
                               name="国家智慧教育平台", kind="national", iri_base="https://basic.smartedu.example.cn/course/")
    university = provider_create(scope=scope, actor=users["province_admin"], division=province.province, code="henu",
                                 name="河南大学", kind="university")
    return {"national": national, "university": university}


@pytest.fixture
def import_rows(province, users, providers):
    def run(rows: list[list], who: str = "province_admin", kind: str = "csv"):
        user = users[who]
        handle, name = catalogue(rows, kind)
        parsed, digest = file_rows(handle, name)
        return catalogue_import(scope=scope_for_user(user), actor=user, division=user.division, rows=parsed,
                                source=name, digest=digest)

    return run


@pytest.fixture(autouse=True)
def push_model_file(settings, tmp_path):
    """Each test fits and reads its own push model, never the development one under var/."""
    from learning.push.services import library_forget

    settings.LEARNING_PUSH_MODEL = tmp_path / "push-model.npz"
    library_forget()
