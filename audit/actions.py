"""Names of audited actions, with their Chinese labels for the log page."""

from django.db import models


class Action(models.TextChoices):
    LOGIN_SUCCESS = "login.success", "登录成功"
    LOGIN_FAILURE = "login.failure", "登录失败"
    LOGIN_LOCKED = "login.locked", "账户锁定"
    LOGOUT = "logout", "退出登录"
    ACCOUNT_CHANGE = "account.change", "账户角色或范围变更"
    TOKEN_CREATE = "token.create", "创建 API 令牌"
    TEACHER_CREATE = "teacher.create", "新增教师"
    TEACHER_UPDATE = "teacher.update", "修改教师信息"
    ID_REVEAL = "teacher.id_reveal", "查看完整身份证号"
    ROSTER_IMPORT = "roster.import", "名册导入"
    ROSTER_EXPORT = "roster.export", "名册导出"
    EXPORT_REQUEST = "export.request", "申请导出完整证件号"
    EXPORT_APPROVE = "export.approve", "批准导出申请"
    EXPORT_REJECT = "export.reject", "驳回导出申请"
    SYNTH = "synth", "生成模拟数据"
    LEDGER_APPROVE = "ledger.approve", "认定学时"
    LEDGER_REJECT = "ledger.reject", "驳回学时申报"
    LEDGER_REVOKE = "ledger.revoke", "撤销学时"
    LEDGER_RECONCILE = "ledger.reconcile", "学时汇总校正"
    RULES_REVISE = "credits.rules", "修订学时规则"
    COMPLIANCE_EXPORT = "credits.compliance_export", "导出学时达标统计"
    CLAIM_SCHOOL_CHECK = "claim.school_check", "学校审核学时申报"
    CERTIFICATE_ISSUE = "credits.certificate", "签发学时证明"
