"""yanxiu questions evaluate --pairs FILE.csv
yanxiu questions fit --questions FILE.txt
yanxiu questions reindex [--fit]

evaluate prints one JSON object: ROC-AUC and best-threshold F1 of the question similarity on
labelled pairs (q1,q2,label; 1 = same meaning), with sizes and timings.
fit learns the matcher's projection from past questions (one a line, no labels) and saves it
to GUIDANCE_MATCHER_MODEL; stored question vectors must then be re-encoded.
reindex re-encodes every stored question with the matcher in force (with --fit, after fitting
it on the stored questions themselves)."""

import json

from django.core.management.base import BaseCommand, CommandError

from guidance.bank import bank_reindex
from guidance.matching import PairFileError, evaluate_pairs, fit_matcher
from guidance.matching.matcher import model_path


class Command(BaseCommand):
    help = "问题匹配：evaluate 在标注问题对（q1,q2,label）上评估相似度；fit 用历史问题（每行一个）拟合匹配模型"

    def add_arguments(self, parser):
        parser.add_argument("operation", choices=["evaluate", "fit", "reindex"])
        parser.add_argument("--fit", action="store_true", help="reindex：先用库中全部问题拟合匹配模型")
        parser.add_argument("--pairs", help="evaluate：CSV 文件，表头 q1,q2,label（或无表头的 q1<TAB>q2<TAB>label）")
        parser.add_argument("--questions", help="fit：UTF-8 文本文件，每行一个历史问题")

    def handle(self, *args, **options):
        if options["operation"] == "evaluate":
            self.evaluate(options["pairs"])
        elif options["operation"] == "reindex":
            try:
                result = bank_reindex(fit=options["fit"])
            except ValueError as error:
                raise CommandError(str(error)) from error
            self.stdout.write(json.dumps(result, ensure_ascii=False))
        else:
            self.fit(options["questions"])

    def evaluate(self, path):
        if not path:
            raise CommandError("evaluate 需要 --pairs 文件")
        try:
            result = evaluate_pairs(path)
        except PairFileError as error:
            raise CommandError(f"无法读取问题对：{error}") from error
        self.stdout.write(json.dumps(result, ensure_ascii=False))

    def fit(self, path):
        if not path:
            raise CommandError("fit 需要 --questions 文件")
        try:
            with open(path, encoding="utf-8-sig") as handle:
                questions = [line.strip() for line in handle if line.strip()]
        except UnicodeDecodeError as error:
            raise CommandError(f"文件不是 UTF-8 文本：{error.reason}") from error
        except OSError as error:
            raise CommandError(f"无法读取文件：{path}（{error.strerror}）") from error
        try:
            matcher = fit_matcher(questions)
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(json.dumps({"model": str(model_path()), "fingerprint": matcher.fingerprint,
                                      "dimension": matcher.dimension, "method": matcher.method}, ensure_ascii=False))
