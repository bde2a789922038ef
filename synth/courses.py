"""A demo course library: five providers (the national platform, the province's, another
platform, a university, a training institution) and about a hundred courses over the stages,
subjects, topics, capabilities and required content, some 精品资源共享课, imported and
curated through the library's own services (so their IRIs are credited activities). Most are
the province's and published; a few belong to the first county (one a draft, one merged
into a duplicate of a province course). Ratings and completions are seeded so lists show them."""

from __future__ import annotations

import random
from dataclasses import dataclass

from access.scope import Scope
from catalog.constants import Topic
from learning.catalogue import catalogue_import
from learning.constants import CAPABILITIES, RequiredContent
from learning.models import Course, Provider
from learning.services import course_merge, course_publish, provider_create
from org.models import Division

PROVIDERS = [
    ("smartedu", "国家中小学智慧教育平台", "national", "https://basic.smartedu.example.cn/course/"),
    ("henan-study", "河南省教师研修网", "provincial", "https://study.henan.example.org/library/"),
    ("teacher-online", "全国教师网络研修平台", "other_platform", "https://teacher-online.example.com/c/"),
    ("henu", "河南大学", "university", "https://mooc.henu.example.edu.cn/course/"),
    ("zz-institute", "郑州教师培训学院", "institution", "https://zz-institute.example.org/c/"),
]
# (stages, subjects, title stem) of the stage × subject combinations courses are written for.
SUBJECT_STEMS = [
    (["primary"], ["chinese"], "小学语文"), (["primary"], ["math"], "小学数学"), (["primary"], ["english"], "小学英语"),
    (["junior"], ["chinese"], "初中语文"), (["junior"], ["math"], "初中数学"), (["junior"], ["physics"], "初中物理"),
    (["junior"], ["history"], "初中历史"), (["senior"], ["chemistry"], "高中化学"), (["senior"], ["biology"], "高中生物学"),
    (["senior"], ["politics"], "高中思想政治"), (["kindergarten"], ["preschool"], "学前教育"),
    (["primary", "junior"], ["science"], "中小学科学"), (["primary", "junior"], ["pe"], "中小学体育与健康"),
]
THEMES = {
    Topic.MORAL_IN_SUBJECT: "学科育德：{stem}中的价值引领", Topic.CLASSROOM: "{stem}课堂教学设计与实施",
    Topic.HOMEWORK: "{stem}作业设计与评价", Topic.EXPERIMENT: "{stem}实验教学与操作规范",
    Topic.FAMILY: "家庭教育指导：{stem}家校协同", Topic.IT: "信息技术与{stem}教学融合",
    Topic.MENTAL_HEALTH: "{stem}教学中的学生心理健康", Topic.ANTI_BULLYING: "防欺凌与{stem}班级管理",
}
REQUIRED_TITLES = {
    RequiredContent.XI_THOUGHT: ["习近平新时代中国特色社会主义思想专题学习", "深入学习习近平关于教育的重要论述"],
    RequiredContent.CORE_VALUES: ["社会主义核心价值观融入课堂", "核心价值观教育的校本实践"],
    RequiredContent.FOUR_HISTORIES: ["“四史”学习教育专题", "党史中的教育故事"],
    RequiredContent.ETHICS: ["新时代师德师风建设", "教师职业行为十项准则解读", "师德失范案例警示教育"],
}


# What the platform's player plays in the demo: one short clip served from static/ (a real VP8
# .webm), and a reading text. A clip of 96 s for a course of hours: the LRS holds such a quick
# completion for an administrator's look; the demo course below (0.1 h) is credited outright.
DEMO_CLIP, DEMO_CLIP_MINUTES = "/static/learning/demo-lesson.webm", "1.6"
READING_MINUTES = "3"
DEMO_COURSE = {"provider": "henan-study", "code": "DEMO-PLAYER", "title": "本平台播放器演示课：课堂提问的层次",
               "hours": "0.1", "stages": [], "subjects": [], "topics": [Topic.CLASSROOM], "required_content": [],
               "format": "video", "level": "province", "featured": False,
               "description": "一段 96 秒的演示视频：看完即完成，学时由学习记录系统计入学时账本。"}


def _reading_text(row: dict) -> str:
    return "\n\n".join([
        f"《{row['title']}》学习材料",
        row.get("description") or "本材料围绕课程主题，梳理政策要求、核心概念与课堂实践要点。",
        "一、学习目标：理解主题的政策背景与基本要求，结合本校实际形成改进思路。",
        "二、要点梳理：请逐段阅读，在关键处做批注；遇到与自身教学相关的案例，记下可借鉴之处。",
        "三、反思与实践：阅读结束后，写下一条可以在下周课堂中尝试的具体做法。",
    ])


def _playable(rows: list[dict]) -> list[dict]:
    """Video courses play the demo clip, reading courses get a text: the player has something."""
    for row in rows:
        if row.get("format", "video") == "video":
            row.update(media_url=DEMO_CLIP, duration_minutes=DEMO_CLIP_MINUTES)
        elif row.get("format") == "reading":
            row.update(content=_reading_text(row), duration_minutes=READING_MINUTES)
    return rows


@dataclass
class CoursesResult:
    providers: int = 0
    courses: int = 0
    published: int = 0


def _catalogue(rng: random.Random) -> list[dict]:
    rows: list[dict] = []
    for content, titles in REQUIRED_TITLES.items():
        for title in titles:
            provider = rng.choice(["smartedu", "henan-study"])
            rows.append({"provider": provider, "code": f"R-{len(rows) + 1:03d}", "title": title, "hours": rng.choice([2, 3, 4]),
                         "required_content": [content], "topics": [], "stages": [], "subjects": [],
                         "format": rng.choice(["video", "reading"]), "level": "province",
                         "featured": content == RequiredContent.ETHICS})
    themes = list(THEMES.items())
    for stages, subjects, stem in SUBJECT_STEMS:
        for topic, pattern in rng.sample(themes, 6):
            provider = rng.choices([p[0] for p in PROVIDERS], weights=[4, 5, 2, 2, 1])[0]
            capability = topic in CAPABILITIES
            rows.append({
                "provider": provider, "code": f"S-{len(rows) + 1:03d}", "title": pattern.format(stem=stem),
                "hours": rng.choice([2, 3, 4, 6, 8, 12]), "stages": stages, "subjects": subjects, "topics": [topic],
                "required_content": [RequiredContent.ETHICS] if topic == Topic.MORAL_IN_SUBJECT else [],
                "format": rng.choices(["video", "live", "blended", "reading"], weights=[6, 2, 2, 1])[0],
                "level": "province", "featured": capability and rng.random() < 0.25,
                "description": f"面向{stem}教师的{topic.label}研修课程。",
            })
    return rows


def courses_synthesize(*, seed: int, county_code: str | None = None) -> CoursesResult:
    """Idempotent: nothing happens when the demo providers exist already."""
    result = CoursesResult()
    if Provider.objects.dangerously_unscoped().filter(code=PROVIDERS[0][0]).exists():
        return result
    rng = random.Random(f"{seed}:courses")
    province = Division.objects.get(level="province")
    scope = Scope.division(province)
    for code, name, kind, iri_base in PROVIDERS:
        provider_create(scope=scope, actor=None, division=province, code=code, name=name, kind=kind, iri_base=iri_base)
        result.providers += 1
    rows = _playable([*_catalogue(rng), dict(DEMO_COURSE)])
    report = catalogue_import(scope=scope, actor=None, division=province, rows=list(enumerate(rows, start=1)),
                              source="synth")
    if not report.applied:  # the generator's own rows: a refusal is a bug here
        raise RuntimeError("; ".join(f"{r.row}: {r.reason}" for r in report.refused))
    counters = []
    for row_result in report.rows:
        if row_result.course_id is not None and (rng.random() < 0.9 or row_result.code == DEMO_COURSE["code"]):
            course_publish(scope=scope, actor=None, course_id=row_result.course_id)
            result.published += 1
        ratings = rng.randint(0, 60)
        counters.append((row_result.course_id, int(rng.paretovariate(1.2) * 20), ratings,
                         sum(rng.choice([3, 4, 4, 5, 5]) for _ in range(ratings))))
    for course_id, completions, rating_count, rating_sum in counters:
        Course.objects.dangerously_unscoped().filter(pk=course_id).update(
            completion_count=completions, rating_count=rating_count, rating_sum=rating_sum)
    result.courses = len(report.rows)
    county = Division.objects.filter(code=county_code).first() if county_code else None
    if county is not None:
        county_scope = Scope.division(county)
        county_rows = [
            {"provider": "henan-study", "code": f"K{county.code}-1", "title": f"{county.name}乡村教师课堂教学能力提升",
             "hours": 6, "stages": ["primary"], "topics": [Topic.CLASSROOM], "level": "county"},
            {"provider": "henan-study", "code": f"K{county.code}-2", "title": f"{county.name}家校共育实践（待发布）",
             "hours": 3, "topics": [Topic.FAMILY], "level": "county"},
            {"provider": "henan-study", "code": f"K{county.code}-3", "title": "新时代师德师风建设（县级重复）",
             "hours": 2, "required_content": [RequiredContent.ETHICS], "level": "county"},
        ]
        county_report = catalogue_import(scope=county_scope, actor=None, division=county,
                                         rows=list(enumerate(_playable(county_rows), start=1)), source="synth")
        ids = [r.course_id for r in county_report.rows if r.course_id is not None]
        if county_report.applied and len(ids) == 3:
            course_publish(scope=county_scope, actor=None, course_id=ids[0])
            course_publish(scope=county_scope, actor=None, course_id=ids[2])
            into = Course.objects.dangerously_unscoped().filter(title="新时代师德师风建设").first()
            if into is not None:
                course_merge(scope=Scope.division(province), actor=None, course_id=ids[2], into_id=into.pk)
                result.published -= 1  # the duplicate, retired by the merge
            result.courses += 3
            result.published += 2
    return result
