"""Data dictionary of personal information (PIPL Art. 6/34: purpose and minimisation).

Every concrete field of every model that holds personal data is listed with
its purpose and the roles that may see it; `core/tests/test_data_dictionary.py`
fails when a field is added without an entry here. Roles: T teacher (self),
E expert (self), S school admin, C county admin, M city admin, P province
admin, I institution staff, X nobody through the UI (system use only).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldEntry:
    purpose: str
    roles: str  # letters as in the module docstring
    personal: bool = True
    note: str = ""


ADMINS = "SCMP"

DICTIONARY: dict[str, dict[str, FieldEntry]] = {
    "people.Teacher": {
        "id": FieldEntry("教师编号，名册导入导出时匹配", "TE" + ADMINS, personal=False),
        "name": FieldEntry("实名登记，学时与证书", "TE" + ADMINS),
        "id_cipher": FieldEntry("身份证号密文（AES-256-GCM），仅经审计的查看操作解密", "X",
                                note="页面、API、导出一律脱敏（前3位与末位校验码，people.identity.id_mask）"),
        "id_index": FieldEntry("身份证号 HMAC 盲索引：查重、按证件号更新与按证件号查找", "X",
                               note="按证件号查找逐次审计、按账户限次（people.id_lookup）"),
        "birth_date": FieldEntry("由身份证号校验；年龄结构统计", "TE" + ADMINS,
                                 note="页面只显示出生年份；API 不提供（与脱敏号码合用会缩小候选范围）"),
        "sex": FieldEntry("由身份证号校验；性别结构统计", "TE" + ADMINS,
                          note="API 提供：脱敏规则的候选数已按性别已知计算"),
        "stage": FieldEntry("学段：培训对象与统计", "TE" + ADMINS, personal=False),
        "title": FieldEntry("职称：培训分层与统计", "TE" + ADMINS),
        "hire_date": FieldEntry("入职日期：新教师认定、学时周期折算", "TE" + ADMINS),
        "school": FieldEntry("任职学校：数据范围", "TE" + ADMINS),
        "division_path": FieldEntry("所属区划路径：数据范围过滤", "X", personal=False),
        "status": FieldEntry("在岗状态：学时要求与统计", "TE" + ADMINS),
        "updated_at": FieldEntry("最后修改时间", ADMINS, personal=False),
    },
    "people.TeacherSubject": {
        "id": FieldEntry("主键", "X", personal=False),
        "teacher": FieldEntry("所属教师", "TE" + ADMINS),
        "subject": FieldEntry("任教学科：培训对象与推荐", "TE" + ADMINS),
        "is_main": FieldEntry("是否主教学科", "TE" + ADMINS),
    },
    "people.TeacherHonour": {
        "id": FieldEntry("主键", "X", personal=False),
        "teacher": FieldEntry("所属教师", "TE" + ADMINS),
        "title": FieldEntry("荣誉称号：骨干/名师等分层培训对象", "TE" + ADMINS),
        "level": FieldEntry("荣誉级别", "TE" + ADMINS),
        "awarded_on": FieldEntry("认定日期", "TE" + ADMINS),
        "expires_on": FieldEntry("有效期", "TE" + ADMINS),
    },
    "people.ImportRejection": {
        "id": FieldEntry("主键", "X", personal=False),
        "batch": FieldEntry("所属导入批次", ADMINS, personal=False),
        "row_number": FieldEntry("出错行号", ADMINS, personal=False),
        "column": FieldEntry("出错列", ADMINS, personal=False),
        "reason": FieldEntry("出错原因", ADMINS, personal=False),
        "values": FieldEntry("原始行（身份证号已脱敏），供导入人下载修改", ADMINS, note="仅导入人可下载"),
    },
    "accounts.User": {
        "id": FieldEntry("主键", "X", personal=False),
        "password": FieldEntry("Argon2 口令哈希", "X"),
        "last_login": FieldEntry("最近登录时间：安全审计", "P"),
        "is_superuser": FieldEntry("Django 超级用户标志（仅运维）", "X", personal=False),
        "username": FieldEntry("登录名", "TE" + ADMINS),
        "first_name": FieldEntry("显示名称", "TE" + ADMINS),
        "last_name": FieldEntry("未使用", "X"),
        "email": FieldEntry("联系邮箱（可选）", "P"),
        "is_staff": FieldEntry("Django 管理后台标志（仅运维）", "X", personal=False),
        "is_active": FieldEntry("账户停用", "P", personal=False),
        "date_joined": FieldEntry("账户创建时间", "P", personal=False),
        "role": FieldEntry("角色：权限", "TE" + ADMINS, personal=False),
        "division": FieldEntry("管理员所属区划：数据范围", ADMINS, personal=False),
        "school": FieldEntry("学校管理员所属学校：数据范围", ADMINS, personal=False),
        "institution": FieldEntry("机构人员所属机构：数据范围", "I" + ADMINS, personal=False),
        "teacher": FieldEntry("教师/专家账户对应的教师档案", "TE" + ADMINS),
        "groups": FieldEntry("Django 组（未使用）", "X", personal=False),
        "user_permissions": FieldEntry("Django 权限（未使用）", "X", personal=False),
    },
    "audit.AuditEvent": {
        "id": FieldEntry("主键", "X", personal=False),
        "at": FieldEntry("时间（UTC）", "CMP", personal=False),
        "actor": FieldEntry("操作人", "CMP"),
        "actor_username": FieldEntry("操作人登录名", "CMP"),
        "action": FieldEntry("操作", "CMP", personal=False),
        "scope_path": FieldEntry("数据范围", "CMP", personal=False),
        "object_type": FieldEntry("对象类型", "CMP", personal=False),
        "object_id": FieldEntry("对象编号", "CMP", personal=False),
        "result": FieldEntry("结果", "CMP", personal=False),
        "ip": FieldEntry("来源 IP：安全审计（等保 8.1.4.3）", "CMP"),
        "detail": FieldEntry("变更内容（身份证号脱敏，不含口令、令牌）", "CMP",
                             note="按证件号查找只记渠道与是否命中，不记号码及其摘要"),
        "prev_hash": FieldEntry("哈希链", "X", personal=False),
        "hash": FieldEntry("哈希链", "X", personal=False),
    },
    "credits.LedgerEntry": {
        "id": FieldEntry("主键", "X", personal=False),
        "teacher": FieldEntry("学时所属教师", "TE" + ADMINS),
        "cycle": FieldEntry("所属五年周期", "TE" + ADMINS, personal=False),
        "category": FieldEntry("学时类别：分类上限与最低要求", "TE" + ADMINS, personal=False),
        "hours": FieldEntry("学时数：达标统计", "TE" + ADMINS),
        "occurred_on": FieldEntry("学习日期：每日上限与折算", "TE" + ADMINS),
        "source_type": FieldEntry("来源类型（项目、申报、外部导入……）", "TE" + ADMINS, personal=False),
        "source_id": FieldEntry("来源对象编号：追溯", ADMINS, personal=False),
        "source_key": FieldEntry("来源唯一键：同一来源只记一次", "X", personal=False),
        "note": FieldEntry("说明（培训名称等）", "TE" + ADMINS),
        "evidence": FieldEntry("证明材料文件：审核", "T" + ADMINS),
        "reverses": FieldEntry("被冲销的条目（只追加，不修改）", ADMINS, personal=False),
        "recorded_state": FieldEntry("记入时状态（防篡改校验值覆盖）", "X", personal=False),
        "state": FieldEntry("审核状态", "TE" + ADMINS, personal=False),
        "created_at": FieldEntry("记账时间", "TE" + ADMINS, personal=False),
        "created_by": FieldEntry("记账人：问责", ADMINS),
        "decided_by": FieldEntry("认定人：问责", ADMINS),
        "decided_at": FieldEntry("认定时间", "TE" + ADMINS, personal=False),
        "school_checked_by": FieldEntry("学校初审人：问责", ADMINS),
        "school_checked_at": FieldEntry("学校初审时间", "TE" + ADMINS, personal=False),
        "checksum": FieldEntry("防篡改校验值", "X", personal=False),
    },
    "credits.LedgerDecision": {
        "id": FieldEntry("主键", "X", personal=False),
        "entry": FieldEntry("所审核的学时记录", "X", personal=False),
        "seq": FieldEntry("审核顺序", "X", personal=False),
        "stage": FieldEntry("审核环节（学校、县级、撤销、更正）", "X", personal=False),
        "state": FieldEntry("审核结果", "X", personal=False),
        "actor": FieldEntry("审核人：问责", "X"),
        "at": FieldEntry("审核时间", "X", personal=False),
        "note": FieldEntry("撤销或更正原因", "X"),
        "mac": FieldEntry("防篡改签名（链接前一审核）", "X", personal=False),
    },
    "credits.LedgerSeal": {
        "teacher": FieldEntry("封签所属教师", "X"),
        "entries": FieldEntry("学时记录条数", "X", personal=False),
        "decisions": FieldEntry("审核记录条数", "X", personal=False),
        "mac": FieldEntry("防篡改签名", "X", personal=False),
    },
    "credits.CycleTotal": {
        "id": FieldEntry("主键", "X", personal=False),
        "teacher": FieldEntry("教师：周期合计", "TE" + ADMINS),
        "cycle": FieldEntry("周期", "TE" + ADMINS, personal=False),
        "category": FieldEntry("学时类别", "TE" + ADMINS, personal=False),
        "approved_hours": FieldEntry("已认定学时合计：达标统计", "TE" + ADMINS),
        "pending_hours": FieldEntry("待审核学时合计", "TE" + ADMINS),
    },
    "credits.ExternalImport": {
        "id": FieldEntry("主键", "X", personal=False),
        "file_name": FieldEntry("上传文件名", "CMP", personal=False),
        "file_sha256": FieldEntry("文件摘要：重复导入识别", "X", personal=False),
        "actor": FieldEntry("导入人：问责", "CMP"),
        "scope_path": FieldEntry("导入人的数据范围", "X", personal=False),
        "rows": FieldEntry("行数", "CMP", personal=False),
        "created": FieldEntry("新记学时条数", "CMP", personal=False),
        "duplicates": FieldEntry("重复条数", "CMP", personal=False),
        "rejected": FieldEntry("拒收条数", "CMP", personal=False),
        "rejections": FieldEntry("拒收行（身份证号已脱敏）供导入人修改", "CMP", note="身份证号只存脱敏值"),
        "unmapped_organisers": FieldEntry("未对应机构的主办单位名称", "CMP", personal=False),
        "started_at": FieldEntry("开始时间", "CMP", personal=False),
        "finished_at": FieldEntry("完成时间", "CMP", personal=False),
    },
    "catalog.Enrolment": {
        "id": FieldEntry("主键（考勤上传时核对）", "T" + ADMINS + "I", personal=False),
        "project": FieldEntry("培训项目", "T" + ADMINS + "I", personal=False),
        "teacher": FieldEntry("报名教师（机构人员只见姓名、学校，不见证件号）", "T" + ADMINS + "I"),
        "state": FieldEntry("报名状态", "T" + ADMINS + "I", personal=False),
        "nominated_by": FieldEntry("推荐人：问责", ADMINS),
        "created_at": FieldEntry("报名时间：候补顺序", "T" + ADMINS + "I", personal=False),
        "decided_at": FieldEntry("审核时间", "T" + ADMINS + "I", personal=False),
        "waiting_since": FieldEntry("候补开始时间：递补顺序", "T" + ADMINS + "I", personal=False),
        "assessment_passed": FieldEntry("结业考核结果", "T" + ADMINS + "I"),
        "completed_at": FieldEntry("结业时间", "T" + ADMINS + "I"),
        "ledger_entry": FieldEntry("结业记入的学时条目", "T" + ADMINS, personal=False),
    },
    "catalog.Attendance": {
        "id": FieldEntry("主键", "X", personal=False),
        "session": FieldEntry("场次", "T" + ADMINS + "I", personal=False),
        "enrolment": FieldEntry("出勤学员（经报名关联教师）", "T" + ADMINS + "I"),
        "recorded_by": FieldEntry("记录人：问责", ADMINS + "I"),
        "recorded_at": FieldEntry("记录时间", "T" + ADMINS + "I", personal=False),
        "method": FieldEntry("记录方式（页面、上传、签到码）", "T" + ADMINS + "I", personal=False),
    },
}


# What the teacher API (people.api.TeacherOut) returns, and why; core/tests/test_data_dictionary.py
# keeps the two equal. Left out on purpose: the birth date and year (8 of the digits the mask
# hides; see TeacherOut's docstring).
TEACHER_API_FIELDS: dict[str, str] = {
    "id": "教师编号",
    "name": "姓名",
    "id_number_masked": "身份证号（脱敏：前3位与末位校验码）",
    "sex": "性别：性别结构统计",
    "stage": "学段",
    "subjects": "任教学科",
    "title": "职称",
    "hire_date": "入职日期：新教师认定、学时折算",
    "is_new_teacher": "是否新教师",
    "status": "在岗状态",
    "school_code": "学校代码",
    "school_name": "学校名称",
    "division_path": "所属区划路径",
    "honours": "荣誉（称号、级别、认定与有效日期）",
}
