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


# --- a large library (bench/learning_search.py): varied titles and descriptions ----------------

LIBRARY_STEMS = [
    (["kindergarten"], ["preschool"], "学前教育"), (["kindergarten"], ["preschool"], "幼儿园"),
    (["primary"], ["chinese"], "小学语文"), (["primary"], ["math"], "小学数学"), (["primary"], ["english"], "小学英语"),
    (["primary"], ["science"], "小学科学"), (["primary"], ["morality_law"], "小学道德与法治"),
    (["primary"], ["music"], "小学音乐"), (["primary"], ["art"], "小学美术"), (["primary"], ["pe"], "小学体育与健康"),
    (["primary"], ["it"], "小学信息科技"), (["primary"], ["labour"], "小学劳动"),
    (["junior"], ["chinese"], "初中语文"), (["junior"], ["math"], "初中数学"), (["junior"], ["english"], "初中英语"),
    (["junior"], ["physics"], "初中物理"), (["junior"], ["chemistry"], "初中化学"), (["junior"], ["biology"], "初中生物学"),
    (["junior"], ["history"], "初中历史"), (["junior"], ["geography"], "初中地理"),
    (["junior"], ["morality_law"], "初中道德与法治"), (["junior"], ["psychology"], "初中心理健康"),
    (["senior"], ["chinese"], "高中语文"), (["senior"], ["math"], "高中数学"), (["senior"], ["english"], "高中英语"),
    (["senior"], ["physics"], "高中物理"), (["senior"], ["chemistry"], "高中化学"), (["senior"], ["biology"], "高中生物学"),
    (["senior"], ["politics"], "高中思想政治"), (["senior"], ["history"], "高中历史"), (["senior"], ["geography"], "高中地理"),
    (["special"], ["special_ed"], "特殊教育"), (["primary", "junior"], ["practice"], "中小学综合实践活动"),
    (["primary", "junior"], ["pe"], "中小学体育与健康"), (["primary", "junior"], ["psychology"], "中小学心理健康"),
]
# (practice, its topic or capability or None)
PRACTICES = [
    ("大单元教学设计", Topic.CLASSROOM), ("核心素养导向的课堂教学", Topic.CLASSROOM), ("跨学科主题学习", Topic.CLASSROOM),
    ("项目式学习", Topic.CLASSROOM), ("情境教学", Topic.CLASSROOM), ("课堂提问与追问", Topic.CLASSROOM),
    ("教学评一体化", Topic.CLASSROOM), ("学习任务群设计", Topic.CLASSROOM), ("课堂观察与诊断", Topic.CLASSROOM),
    ("整本书阅读指导", None), ("深度学习", None), ("新课标解读", None), ("说课与评课", Topic.CLASSROOM),
    ("分层作业设计", Topic.HOMEWORK), ("“双减”背景下的作业设计", Topic.HOMEWORK), ("作业评价与反馈", Topic.HOMEWORK),
    ("实验教学创新", Topic.EXPERIMENT), ("实验操作规范", Topic.EXPERIMENT), ("探究实验设计", Topic.EXPERIMENT),
    ("家校共育", Topic.FAMILY), ("家庭教育指导", Topic.FAMILY), ("家长会的组织与沟通", Topic.FAMILY),
    ("学科育德", Topic.MORAL_IN_SUBJECT), ("课程思政", Topic.MORAL_IN_SUBJECT), ("价值引领与立德树人", Topic.MORAL_IN_SUBJECT),
    ("信息技术与学科融合", Topic.IT), ("人工智能辅助教学", Topic.IT), ("智慧课堂建设", Topic.IT), ("微课制作", Topic.IT),
    ("学生心理健康教育", Topic.MENTAL_HEALTH), ("防欺凌与班级管理", Topic.ANTI_BULLYING), ("生涯规划指导", Topic.CAREER),
    ("法治教育", Topic.RULE_OF_LAW), ("生态文明教育", Topic.ECOLOGY), ("国家安全教育", Topic.NATIONAL_SECURITY),
    ("少先队活动设计", Topic.YOUNG_PIONEERS), ("规范办学与教学常规", Topic.STANDARD_SCHOOLING),
]
FORMS = [
    "{stem}{practice}", "{practice}：{stem}案例研究", "{stem}{practice}的实践与反思", "新课标下的{stem}{practice}",
    "{practice}在{stem}中的应用", "{stem}名师课堂：{practice}", "{stem}{practice}专题讲座（第{n}讲）",
    "{place}{stem}{practice}经验分享", "{stem}{practice}工作坊", "走进{practice}：{stem}课例精析",
]
PLACES = ["郑州", "开封", "洛阳", "平顶山", "安阳", "新乡", "焦作", "濮阳", "许昌", "漯河", "三门峡", "南阳", "商丘", "信阳",
          "周口", "驻马店", "济源", "兰考", "固始", "乡村学校", "城区学校"]
CONCEPTS = ["核心素养", "学习任务群", "大概念", "深度学习", "评价改革", "学习共同体", "差异化教学", "学生主体", "问题链",
            "思维可视化", "真实情境", "单元整体", "学习进阶", "表现性评价", "课堂生成"]
DESCRIPTIONS = [
    "围绕{practice}，结合{stem}典型课例，帮助教师理解{concept}的内涵与实施路径。",
    "本课程面向{stem}教师，从{concept}出发，讲解{practice}的基本方法与常见误区。",
    "通过{place}一线教师的真实课堂，分析{practice}中的{concept}，提供可迁移的设计模板。",
    "课程包括专家讲座、课例观摩与研讨任务，引导教师在{stem}教学中落实{concept}。",
    "聚焦{concept}，梳理{practice}的关键环节，附教学设计与评价量表。",
]


def library_rows(rng: random.Random, count: int, *, prefix: str = "L") -> list[dict]:
    """`count` catalogue rows with varied Chinese titles and descriptions over the stages,
    subjects, practices (their topics and capabilities) and required content; long-tailed
    providers, about 8 % 精品. Codes are `{prefix}-00001` … (unique per provider)."""
    rows: list[dict] = []
    providers = [p[0] for p in PROVIDERS]
    for n in range(1, count + 1):
        provider = rng.choices(providers, weights=[5, 6, 2, 2, 1])[0]
        if rng.random() < 0.06:
            content, titles = rng.choice(list(REQUIRED_TITLES.items()))
            title = f"{rng.choice(titles)}（{rng.choice(PLACES)}专场）"
            row = {"stages": [], "subjects": [], "topics": [], "required_content": [content],
                   "description": f"{content.label}专题学习，结合{rng.choice(PLACES)}教师的案例。"}
        else:
            stages, subjects, stem = rng.choice(LIBRARY_STEMS)
            practice, topic = rng.choice(PRACTICES)
            values = {"stem": stem, "practice": practice, "n": rng.randint(1, 12), "place": rng.choice(PLACES),
                      "concept": rng.choice(CONCEPTS)}
            title = rng.choice(FORMS).format(**values)
            description = "".join(rng.sample(DESCRIPTIONS, rng.randint(1, 3))).format(**values)
            row = {"stages": stages, "subjects": subjects, "topics": [topic] if topic else [],
                   "required_content": [RequiredContent.ETHICS] if topic == Topic.MORAL_IN_SUBJECT else [],
                   "description": description}
        rows.append({**row, "provider": provider, "code": f"{prefix}-{n:05d}", "title": title[:200],
                     "hours": rng.choice([1, 2, 2, 3, 3, 4, 6, 8, 12, 24]),
                     "format": rng.choices(["video", "live", "blended", "reading"], weights=[6, 2, 2, 1])[0],
                     "featured": rng.random() < 0.08})
    return rows
