"""Synthetic questions teachers ask their expert guidance team, with the theme each one is on.

A question is a paraphrase of its theme (synth.question_themes): an optional context from
the teacher's own situation (我带初二两个班，…), one of several sentence frames around one of
the theme's topic names and one of its reported difficulties, and an optional closing (请专家
指点). Frames, contexts and closings are shared by all themes, so themes differ by their
content words, as real questions do, not by their wording. The answer is the expert's: two to
four of the theme's points between an opening and a closing.

`individual_share` mixes in one-off questions (a particular lesson, a particular pupil, the
school's printer) under the theme INDIVIDUAL: 个性问题 that no common theme should absorb.

Everything random comes from the `random.Random` passed in: same seed, same questions.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from itertools import accumulate

from synth.generate import SUBJECTS
from synth.question_themes import THEMES, Theme

INDIVIDUAL = "individual"
MIN_LENGTH, MAX_LENGTH = 15, 200

STAGE_NAMES = {"kindergarten": "幼儿园", "primary": "小学", "junior": "初中", "senior": "高中", "special": "特教"}
GRADES = {
    "kindergarten": ("小班", "中班", "大班"),
    "primary": ("一年级", "二年级", "三年级", "四年级", "五年级", "六年级"),
    "junior": ("初一", "初二", "初三", "七年级", "八年级", "九年级"),
    "senior": ("高一", "高二", "高三"),
    "special": ("培智低年级", "培智中年级", "培智高年级", "培智班"),
}
# How teachers name their subject when they speak (not always the catalogue's label).
SPOKEN_SUBJECTS = {
    "preschool": "幼教", "morality_law": "道德与法治", "politics": "思政", "chinese": "语文", "math": "数学",
    "english": "英语", "japanese": "日语", "russian": "俄语", "history": "历史", "geography": "地理",
    "science": "科学", "physics": "物理", "chemistry": "化学", "biology": "生物", "it": "信息科技",
    "pe": "体育", "music": "音乐", "art": "美术", "labour": "劳动", "practice": "综合实践",
    "psychology": "心理健康", "special_ed": "特教",
}
PLACES = ("乡镇", "县城", "城区", "农村", "山区", "城乡接合部")
CONTEXTS = (
    "我带{grade}两个班，", "我是一名{place}{stage}的{subject}老师，", "我今年刚入职，教{grade}{subject}，",
    "教{subject}十几年了，还是头一次遇到这种情况：", "我是{grade}的班主任，也教{subject}，", "{grade}{subject}，",
    "新接了{grade}的课，", "我们{subject}组{n}个老师都遇到这个情况：", "开学第{n}周了，", "我们学校在{place}，学生基础比较弱，",
    "我是{place}学校的老师，", "最近学校要求我们研究这个问题，", "这学期教{grade}，一个班{size}个学生，",
    "作为一名{stage}{subject}老师，", "在{place}学校教了{n}年{subject}，", "上次教研活动大家讨论过，",
)
FRAMES = (
    "{topic}这一块，{problem}，该怎么办？", "关于{topic}：{problem}。", "{problem}，在{topic}上有什么好的做法？",
    "想请教一下{topic}的问题，{problem}。", "{topic}怎么落实？{problem}。", "{topic}方面{problem}，求指导。",
    "我们教研组最近在研究{topic}，{problem}，想听听专家的意见。", "请问{topic}有没有可以借鉴的案例？{problem}。",
    "{problem}。这是{topic}上的问题吗？应该从哪里入手？", "{problem}，{topic}到底该怎么做？",
    "请问{topic}怎么做比较好？", "{topic}：{problem}。", "{problem}，怎么办？", "一直困惑{topic}，{problem}。",
)
TRIED = (
    "我试过多讲几遍，效果不明显。", "找学生个别谈过话，好了几天又回到老样子。", "上网找了一些资料，但不太适合我们的学生。",
    "也请教过学校的老教师，还是没有找到好办法。", "听了几节示范课，回来一用就走样。", "学校条件有限，很多做法用不了。",
)
CLOSINGS = (
    "", "", "", "谢谢！", "有什么好的办法吗？", "请专家指点。", "求具体可操作的做法。", "希望能给个思路。",
    "谢谢各位老师。", "急。", "麻烦专家有空回复一下。", "有没有相关的资料推荐？", "盼复。",
)
ANSWER_OPENINGS = ("这个问题很有代表性。", "您好，", "感谢提问。", "不少老师都遇到过类似情况。", "")
ANSWER_CLOSINGS = (
    "建议先在一个班试行两三周，再根据学生的反馈调整。", "如有需要，可以参加本学期的专题研修活动。",
    "欢迎把实践中的新问题继续发到专家组。", "",
)

# One-off questions: a particular thing and a particular request, from pools wide enough that
# two of them rarely share more than a word.
INDIVIDUAL_THINGS = (
    "明天公开课要用的那段视频", "下周的家长开放日", "期中考试卷的第{n}题", "教材第{page}页的插图", "我们班转来的{surname}同学",
    "学校新订的教辅", "这次月考的成绩分析表", "上周区里的教研课录像", "我做的校本课程课件", "办公室的打印机",
    "暑假研修的结业证书", "我的继续教育学时", "今年的职称评审材料", "下学期的课表", "县里通知的优质课报名",
    "{surname}老师借走的实验器材", "食堂午餐的陪餐安排", "春游的安全预案", "学生体检的表格", "图书角捐来的旧书",
    "教师节的表彰名单", "校园网的账号", "期末的素质报告单", "运动会的入场式", "班级群里转发的一个链接",
    "第{n}单元的配套练习", "学籍系统里的一条信息", "我申请的调课", "寒假作业的印刷", "一份家长写来的感谢信",
)
INDIVIDUAL_ASKS = (
    "答案是不是印错了", "能不能换一个版本", "截止日期是哪天", "应该找哪个部门", "有没有现成的模板",
    "这样处理合不合规定", "需要提交纸质版吗", "可以延期吗", "用什么格式上传", "是否算作工作量",
    "要不要提前报备", "丢了怎么补办", "能不能两个人合用", "该由谁来签字", "放在哪里保存合适",
    "可不可以用手机拍照代替", "费用从哪里出", "能不能周末补上", "需要盖学校的章吗", "系统里怎么一直显示错误",
)
INDIVIDUAL_SURNAMES = ("王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭")
INDIVIDUAL_ANSWER = "这属于个别情况，建议先联系学校教务处或县级教师发展中心核实，专家组也会在线跟进。"


@dataclass(frozen=True)
class SyntheticQuestion:
    text: str
    theme: str  # a key of synth.question_themes.THEMES, or INDIVIDUAL
    stage: str
    subject: str
    answer: str


def stage_subjects() -> list[tuple[str, str]]:
    """Every (stage, subject) a teacher of the synthetic province can have."""
    return [(stage, code) for stage, table in SUBJECTS.items() for code, _ in table]


def themes_for(stage: str, subject: str) -> list[Theme]:
    """The themes of one expert team (stage × subject): its subject's and the cross-subject ones."""
    if (stage, subject) not in set(stage_subjects()):
        raise ValueError(f"no teachers of {subject} at {stage}")
    return [t for t in THEMES.values() if stage in t.stages and (t.subjects is None or subject in t.subjects)]


def _theme_weights(count: int) -> list[int]:
    # Zipf-like: a team's first themes come up far more often than its last ones. The table
    # lists subject themes after the cross-subject ones, so the order is shuffled per team.
    return list(accumulate(1000 // (rank + 2) for rank in range(count)))


def _question(rng: random.Random, theme: Theme, stage: str, subject: str) -> str:
    values = {
        "grade": rng.choice(GRADES[stage]), "stage": STAGE_NAMES[stage], "subject": SPOKEN_SUBJECTS[subject],
        "place": rng.choice(PLACES), "n": rng.randint(2, 15), "size": rng.randint(25, 60),
    }
    topic, problem = rng.choice(theme.topics), rng.choice(theme.problems)
    core = rng.choice(FRAMES).format(topic=topic, problem=problem)
    if rng.random() < 0.2:  # a second difficulty, as longer questions do
        core += f"另外，{rng.choice(theme.problems)}。"
    if rng.random() < 0.15:
        core += rng.choice(TRIED)
    context = rng.choice(CONTEXTS).format(**values) if rng.random() < 0.55 else ""
    return _bounded(context + core + rng.choice(CLOSINGS), core)


def _individual(rng: random.Random, stage: str, subject: str) -> str:
    context = rng.choice(CONTEXTS).format(
        grade=rng.choice(GRADES[stage]), stage=STAGE_NAMES[stage], subject=SPOKEN_SUBJECTS[subject],
        place=rng.choice(PLACES), n=rng.randint(2, 15), size=rng.randint(25, 60))
    thing = rng.choice(INDIVIDUAL_THINGS).format(
        n=rng.randint(1, 25), page=rng.randint(3, 120), surname=rng.choice(INDIVIDUAL_SURNAMES))
    core = f"{thing}{rng.choice(INDIVIDUAL_ASKS)}？"
    return _bounded(context + core, core)


def _bounded(text: str, core: str) -> str:
    if len(text) > MAX_LENGTH:
        text = core[:MAX_LENGTH]
    return text if len(text) >= MIN_LENGTH else (text + "请专家帮忙看看，谢谢！")[:MAX_LENGTH]


def _answer(rng: random.Random, theme: Theme) -> str:
    points = sorted(rng.sample(range(len(theme.answer)), rng.randint(2, min(4, len(theme.answer)))))
    return rng.choice(ANSWER_OPENINGS) + "".join(theme.answer[i] for i in points) + rng.choice(ANSWER_CLOSINGS)


def generate_questions(
    rng: random.Random, stage: str, subject: str, n: int, *, individual_share: float = 0.0
) -> list[SyntheticQuestion]:
    """`n` questions to the (stage, subject) team, themes long-tailed; `individual_share` of
    them one-off questions under INDIVIDUAL."""
    themes = themes_for(stage, subject)
    rng.shuffle(themes)
    cumulative = _theme_weights(len(themes))
    questions = []
    for _ in range(n):
        if rng.random() < individual_share:
            questions.append(SyntheticQuestion(_individual(rng, stage, subject), INDIVIDUAL, stage, subject,
                                               INDIVIDUAL_ANSWER))
            continue
        theme = rng.choices(themes, cum_weights=cumulative)[0]
        questions.append(SyntheticQuestion(_question(rng, theme, stage, subject), theme.key, stage, subject,
                                           _answer(rng, theme)))
    return questions


def paraphrase_pairs(rng: random.Random, n: int) -> list[tuple[str, str, int]]:
    """`n` labelled pairs of questions, half 1 (the same theme, asked to the same team) and half
    0; of the 0s, half are hard (the same team, another theme), half another team's."""
    pairs = stage_subjects()
    result: list[tuple[str, str, int]] = []
    for index in range(n):
        stage, subject = rng.choice(pairs)
        themes = themes_for(stage, subject)
        theme = rng.choice(themes)
        first = _question(rng, theme, stage, subject)
        if index % 2 == 0:
            result.append((first, _question(rng, theme, stage, subject), 1))
        elif index % 4 == 1:
            other = rng.choice([t for t in themes if t.key != theme.key])
            result.append((first, _question(rng, other, stage, subject), 0))
        else:
            other_stage, other_subject = rng.choice(pairs)
            other = rng.choice([t for t in themes_for(other_stage, other_subject) if t.key != theme.key])
            result.append((first, _question(rng, other, other_stage, other_subject), 0))
    return result
