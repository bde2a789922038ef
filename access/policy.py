"""The one access policy: for every model that belongs to a jurisdiction, which rows a
viewer may see and what they may do to a row, each rule written once (access.rules).

    visible(scope, Project, RUN)         -> the projects this viewer may run (a queryset)
    can(scope, DECIDE, enrolment)        -> may they decide this enrolment?
    require(scope, DECIDE, enrolment)    -> NotVisible (404) or Forbidden (403), else nothing
    fetch(scope, Enrolment, pk, DECIDE)  -> the row, or the same two refusals

Services call these themselves, so a view or API route that forgets cannot open a hole;
views and routes only let the refusals become 404 / 403. A model without a policy here
cannot be queried at all (its manager refuses, access.managers).
"""

from __future__ import annotations

from typing import Any

from django.db import models

from access.errors import Forbidden, NotVisible
from access.managers import ScopedManager
from access.rules import (
    ClientCovers,
    ClientReadsAll,
    DirectCounty,
    EnrolledIn,
    InJurisdiction,
    MemberOf,
    NamedIn,
    OfClient,
    OfInstitution,
    OpenTo,
    Own,
    OwnAccount,
    PathIs,
    RoleIn,
    Rule,
    Through,
    UnitOf,
    Where,
)
from access.scope import Scope

Rules = dict[str, Rule]


class Action:
    VIEW = "view"  # see the row
    CHANGE = "change"  # edit it (a teacher's record, a project, a plan being drafted)
    RUN = "run"  # run a project: sessions, attendance, assessment, completion, its enrolees
    DECIDE = "decide"  # approve or refuse what waits for a decision
    SCHOOL_CHECK = "school_check"  # the school's check of a teacher's own claim for hours
    REVOKE = "revoke"  # cancel approved hours
    REVEAL_ID = "reveal_id"  # see a full ID number (audited)
    NOMINATE = "nominate"  # put a teacher forward for a project
    RECORD_APPROVED = "record_approved"  # write hours to a teacher's ledger, approved
    RECORD_PENDING = "record_pending"  # write hours awaiting the county's decision
    CORRECT_CLOSED_CYCLE = "correct_closed_cycle"  # correct hours in a closed cycle (the province)
    CLAIM = "claim"  # a teacher claims hours for themself
    ENROL_SELF = "enrol_self"
    WITHDRAW = "withdraw"
    DOWNLOAD = "download"  # an approved export
    REVOKE_TOKEN = "revoke_token"  # noqa: S105 - an action name, not a secret
    ASSIGN = "assign"  # name an institution as a project's implementer; hand a question to an expert
    ANSWER = "answer"  # an expert of the team replies to a teacher's question
    CONSULT = "consult"  # read an answered question, anonymously, as an instant answer
    RESET_PASSWORD = "reset_password"  # noqa: S105 - an action name: an administrator sets a temporary password
    SCORE = "score"  # record a project's supervision visits and outcome reviews
    SELECT_NOMINEES = "select_nominees"  # rank a division's teachers for a high-end project (nominate for it)
    ENTER_FOR = "enter_for"  # enter a lower division's funding figures on its behalf (it has not reported)


ADMINS = RoleIn({"school_admin", "county_admin", "city_admin", "province_admin"})
DIVISION_ADMINS = RoleIn({"county_admin", "city_admin", "province_admin"})
SCHOOL_ADMIN = RoleIn({"school_admin"})
STAFF = RoleIn({"institution_staff"})


# --- people -------------------------------------------------------------------------------

TEACHER_VIEW = Own("id") | (ADMINS & InJurisdiction("division_path", "school_id"))
TEACHER_CHANGE = ADMINS & InJurisdiction("division_path", "school_id", write=True)
TEACHER: Rules = {
    Action.VIEW: TEACHER_VIEW,
    Action.CHANGE: TEACHER_CHANGE,
    Action.REVEAL_ID: TEACHER_VIEW,  # the teacher, and the administrators who see the record
    Action.NOMINATE: TEACHER_CHANGE,
    Action.RECORD_APPROVED: DIVISION_ADMINS & InJurisdiction("division_path", "school_id", write=True),
    # A school writes hours only for the county to decide on.
    Action.RECORD_PENDING: TEACHER_CHANGE,
    Action.CLAIM: Own("id"),
    Action.ENROL_SELF: Own("id"),
    # A closed cycle is corrected only by the province, by an audited compensating entry.
    Action.CORRECT_CLOSED_CYCLE: RoleIn({"province_admin"}) & InJurisdiction("division_path", "school_id", write=True),
}
TEACHER_CHILD: Rules = {
    Action.VIEW: Through("teacher", TEACHER_VIEW),
    Action.CHANGE: Through("teacher", TEACHER_CHANGE),
}

# --- org ----------------------------------------------------------------------------------

# Divisions are public reference data (names and codes); the rule says who administers one.
DIVISION: Rules = {
    Action.VIEW: InJurisdiction("path"),
    Action.CHANGE: DIVISION_ADMINS & InJurisdiction("path", write=True),
}
SCHOOL: Rules = {
    Action.VIEW: ADMINS & InJurisdiction("division_path", "id"),
    Action.CHANGE: ADMINS & InJurisdiction("division_path", "id", write=True),
}
INSTITUTION: Rules = {
    Action.VIEW: (DIVISION_ADMINS & InJurisdiction("division_path")) | (STAFF & OfInstitution("id")),
    Action.CHANGE: DIVISION_ADMINS & InJurisdiction("division_path", write=True),
    # Any institution of the province may implement a project (a university runs a county's).
    Action.ASSIGN: ADMINS,
}
COMMUNITY: Rules = {Action.VIEW: DIVISION_ADMINS & InJurisdiction("division_path")}

# --- catalog ------------------------------------------------------------------------------

PROJECT_CHANGE = ADMINS & InJurisdiction("division_path", "organiser_school_id", write=True)
PROJECT_RUN = PROJECT_CHANGE | (STAFF & OfInstitution("institution_id"))
PROJECT_VIEW = (~Where(state="draft") | (ADMINS & InJurisdiction("division_path", "organiser_school_id"))
                | (STAFF & OfInstitution("institution_id")))
# Scored (visits, outcome reviews) once published, by the administrators over its organiser or an
# account named to supervise it; never by the staff of an institution (it does not score itself).
PROJECT_SCORE_RULE = ~Where(state="draft") & ~STAFF & (PROJECT_CHANGE | NamedIn("supervisors"))
# Nominating for a project through a ranked list (quotas.selection): a division administrator whose
# division is the project's organiser or lies inside its area (the organiser's division is at or
# above the viewer's), for a project organised by a division (not a school) that the viewer sees.
# A school administrator, a teacher, a neighbour and a division above the organiser may not; nor
# may a 省直管县 for the projects of the city it lies in (it takes part in the province's, not the city's).
PROJECT_SELECT_NOMINEES = (PROJECT_VIEW & DIVISION_ADMINS & Where(organiser_school_id__isnull=True)
                           & OpenTo("division_path") & ~(DirectCounty() & Where(level="city")))
PROJECT: Rules = {Action.VIEW: PROJECT_VIEW, Action.CHANGE: PROJECT_CHANGE, Action.RUN: PROJECT_RUN,
                  Action.SCORE: PROJECT_SCORE_RULE, Action.SELECT_NOMINEES: PROJECT_SELECT_NOMINEES}
ENROLMENT: Rules = {
    Action.VIEW: Own("teacher_id") | Through("project", PROJECT_RUN) | Through("teacher", TEACHER_VIEW & ADMINS),
    # Admission is the organiser's: an implementing institution runs sessions, it does not admit.
    Action.DECIDE: Through("project", PROJECT_CHANGE),
    Action.RUN: Through("project", PROJECT_RUN),
    Action.WITHDRAW: Own("teacher_id") | Through("teacher", TEACHER_CHANGE),
}
SESSION: Rules = {
    # Sessions carry their check-in code: those who run the project, and its enrolees.
    Action.VIEW: Through("project", PROJECT_RUN) | EnrolledIn("project"),
    Action.RUN: Through("project", PROJECT_RUN),
}
ATTENDANCE: Rules = {
    Action.VIEW: Own("enrolment__teacher_id") | Through("session__project", PROJECT_RUN),
    Action.RUN: Through("session__project", PROJECT_RUN),
}
PLAN_VIEW = ADMINS & InJurisdiction("division_path", "school_id")
PLAN: Rules = {
    Action.VIEW: PLAN_VIEW,
    # Only the unit itself drafts and submits its plan.
    Action.CHANGE: ADMINS & UnitOf("division_path", "school_id"),
    # The level above decides (the county for a school, the province for a 省直管县), never
    # the person who submitted it (the province's own plan goes to another administrator).
    Action.DECIDE: DIVISION_ADMINS & PathIs("review_path") & ~OwnAccount("submitted_by_id"),
}
PLAN_CONFLICT: Rules = {Action.VIEW: Through("plan", PLAN_VIEW)}

# --- credits ------------------------------------------------------------------------------

LEDGER_VIEW = Own("teacher_id") | (ADMINS & InJurisdiction("teacher__division_path", "teacher__school_id"))
LEDGER_COUNTY = DIVISION_ADMINS & InJurisdiction("teacher__division_path", "teacher__school_id", write=True)
LEDGER: Rules = {
    Action.VIEW: LEDGER_VIEW,
    Action.SCHOOL_CHECK: SCHOOL_ADMIN & InJurisdiction("teacher__division_path", "teacher__school_id", write=True),
    Action.DECIDE: LEDGER_COUNTY,
    Action.REVOKE: LEDGER_COUNTY,
}
LEDGER_CHILD: Rules = {Action.VIEW: Through("entry", LEDGER_VIEW)}
LEDGER_SEAL: Rules = {Action.VIEW: Through("teacher", TEACHER_VIEW)}
COMPLIANCE: Rules = {Action.VIEW: ADMINS & InJurisdiction("division_path", "school_id")}
# An upload is seen by whoever made it, and by division administrators whose jurisdiction covers
# the uploader's (its rejected rows hold names of that jurisdiction's teachers, IDs masked).
OWN_UPLOAD: Rules = {Action.VIEW: OwnAccount("actor_id") | (DIVISION_ADMINS & InJurisdiction("scope_path"))}

# --- people: exports ----------------------------------------------------------------------

EXPORT_DECIDE = (ADMINS & InJurisdiction("scope_path", "school_id", write=True)
                 & ~OwnAccount("requested_by_id"))
EXPORT_REQUEST: Rules = {
    Action.VIEW: OwnAccount("requested_by_id") | EXPORT_DECIDE,
    # A second administrator whose writable jurisdiction covers the request's: a peer at the
    # same node or someone above it; not a city for its 省直管县 (it only reads there).
    Action.DECIDE: EXPORT_DECIDE,
    Action.DOWNLOAD: OwnAccount("requested_by_id"),
}

# --- learning records (lrs) --------------------------------------------------------------------

LRS_CLIENT_VIEW = DIVISION_ADMINS & InJurisdiction("division_path")
LRS_CLIENT: Rules = {
    Action.VIEW: LRS_CLIENT_VIEW,
    # Division administrators manage the clients their division owns (a city not its 省直管县's).
    Action.CHANGE: DIVISION_ADMINS & InJurisdiction("division_path", write=True),
}
# A client sees the statements it wrote (or all, if registered to read all); a teacher their
# own (matched) statements; administrators those of the clients their division owns.
STATEMENT_VIEW = (OfClient("client_id") | ClientReadsAll() | Own("teacher_id")
                  | Through("client", LRS_CLIENT_VIEW))
STATEMENT: Rules = {
    Action.VIEW: STATEMENT_VIEW,
    # Voiding is a client's write: only statements it may read.
    Action.CHANGE: RoleIn({"lrs_client"}) & (OfClient("client_id") | ClientReadsAll()),
}
STATEMENT_CHILD: Rules = {Action.VIEW: Through("statement", STATEMENT_VIEW)}
# Attachment content is found by its hash through statements a client may read.
STATEMENT_ATTACHMENT: Rules = {Action.VIEW: RoleIn({"lrs_client"})}
LRS_DOCUMENT: Rules = {Action.VIEW: ClientCovers("activity_id"), Action.CHANGE: ClientCovers("activity_id")}
# Credited activities: seen by division administrators above or at the owner (a county sees the
# province's list too: its teachers earn by it), changed by the owner's writable jurisdiction.
CREDITED_ACTIVITY: Rules = {
    Action.VIEW: DIVISION_ADMINS,
    Action.CHANGE: DIVISION_ADMINS & InJurisdiction("division_path", write=True),
}
# A teacher's registered xAPI identities: the teacher, and administrators who see the teacher.
LEARNER_IDENTITY: Rules = {
    Action.VIEW: Through("teacher", TEACHER_VIEW),
    Action.CHANGE: Own("teacher_id") | Through("teacher", TEACHER_CHANGE),
}
# What became of a credited completion: the teacher's own; the client owner's administrators;
# administrators over the (matched) teacher. Flagged ones are decided where the teacher's hours
# are decided: a division administrator writing for the teacher's division.
STATEMENT_CREDIT: Rules = {
    Action.VIEW: (Own("teacher_id") | Through("client", LRS_CLIENT_VIEW)
                  | (DIVISION_ADMINS & InJurisdiction("division_path"))),
    Action.DECIDE: DIVISION_ADMINS & InJurisdiction("division_path", write=True),
}
LRS_CLIENT_CHILD: Rules = {Action.VIEW: Through("client", LRS_CLIENT_VIEW)}

# --- course library (learning) -----------------------------------------------------------------

# Providers: every division administrator sees them (any may import a provider's catalogue);
# the registering division's writable jurisdiction changes one.
PROVIDER: Rules = {
    Action.VIEW: DIVISION_ADMINS,
    Action.CHANGE: DIVISION_ADMINS & InJurisdiction("division_path", write=True),
}
# Courses: division administrators see every course their jurisdiction owns (drafts, retired);
# anyone sees a published course owned by their own division or one above it (a county's
# course is open to that county, a province's to all); the owner's writable jurisdiction
# curates (publish, retire, merge, import over it).
COURSE: Rules = {
    Action.VIEW: (DIVISION_ADMINS & InJurisdiction("division_path")) | (Where(state="published") & OpenTo("division_path")),
    Action.CHANGE: DIVISION_ADMINS & InJurisdiction("division_path", write=True),
}

# A teacher's own study of a course on the platform's player: the teacher (who alone studies),
# and the administrators who see the teacher.
COURSE_ENROLMENT: Rules = {
    Action.VIEW: Through("teacher", TEACHER_VIEW),
    Action.CHANGE: Own("teacher_id"),
}
STUDY_SESSION: Rules = {
    Action.VIEW: Through("teacher", TEACHER_VIEW),
    Action.CHANGE: Own("teacher_id"),
}

# --- expert guidance -------------------------------------------------------------------------

# Teams: administrators of the owning division and above see and manage them; members see theirs.
TEAM_CHANGE = DIVISION_ADMINS & InJurisdiction("division_path", write=True)
TEAM_VIEW = (DIVISION_ADMINS & InJurisdiction("division_path")) | MemberOf("members")
GUIDANCE_TEAM: Rules = {Action.VIEW: TEAM_VIEW, Action.CHANGE: TEAM_CHANGE}
GUIDANCE_TEAM_CHILD: Rules = {Action.VIEW: Through("team", TEAM_VIEW), Action.CHANGE: Through("team", TEAM_CHANGE)}
# Questions: the asker; the experts of the team it went to; administrators over the asker (a
# school its teachers', a county its county's, whichever team answers). Only the asker follows
# up, resolves and rates; only the team's experts answer; the team's lead or its administrators
# hand it to another member. Answered questions the asker let be shared are read by teachers and
# experts as instant answers, never with the asker's name (guidance.selectors).
QUESTION_VIEW = (Own("teacher_id") | MemberOf("team__members")
                 | (ADMINS & InJurisdiction("division_path", "school_id")))
QUESTION: Rules = {
    Action.VIEW: QUESTION_VIEW,
    Action.CHANGE: Own("teacher_id"),
    Action.ANSWER: MemberOf("team__members"),
    Action.ASSIGN: MemberOf("team__members", lead=True) | Through("team", TEAM_CHANGE),
    Action.CONSULT: (RoleIn({"teacher", "expert"})
                     & Where(state__in=["answered", "resolved"], shareable=True, matched__isnull=True)),
}
QUESTION_MESSAGE: Rules = {
    Action.VIEW: Through("question", QUESTION_VIEW),
    Action.CONSULT: Where(is_answer=True) & Through("question", QUESTION[Action.CONSULT]),
}
PROBLEM_CLUSTER: Rules = {
    Action.VIEW: DIVISION_ADMINS & InJurisdiction("division_path"),
    Action.CHANGE: DIVISION_ADMINS & InJurisdiction("division_path", write=True),
}
# In-site messages: each account its own.
NOTIFICATION: Rules = {Action.VIEW: OwnAccount("recipient_id"), Action.CHANGE: OwnAccount("recipient_id")}
# An account's notice settings and its daily summaries: its own too.
NOTICE_OWN: Rules = {Action.VIEW: OwnAccount("user_id"), Action.CHANGE: OwnAccount("user_id")}

# --- training-institution accreditation (准入) ------------------------------------------------

# An institution's staff see and apply for their own institution's accreditations; division
# administrators see those of the institutions in their jurisdiction (a city its 省直管县's, read
# only) and may act for one of them (write jurisdiction) — but never the accrediting division
# itself: the side that decides does not also apply, submit or renew (four eyes).
ACCREDITATION_VIEW = (STAFF & OfInstitution("institution_id")) | (DIVISION_ADMINS & InJurisdiction("division_path"))
ACCREDITATION_CHANGE = ((STAFF & OfInstitution("institution_id"))
                        | (DIVISION_ADMINS & InJurisdiction("division_path", write=True) & ~PathIs("accrediting_path")))
# The accrediting division decides, with four eyes: never the account that applied or submitted,
# never an administrator of the unit that applied for the institution.
ACCREDITATION_DECIDE = (DIVISION_ADMINS & PathIs("accrediting_path") & ~OwnAccount("applied_by_id")
                        & ~OwnAccount("submitted_by_id") & ~PathIs("applicant_path"))
ACCREDITATION: Rules = {
    Action.VIEW: ACCREDITATION_VIEW,
    Action.CHANGE: ACCREDITATION_CHANGE,
    Action.DECIDE: ACCREDITATION_DECIDE,
}
ACCREDITATION_CHILD: Rules = {
    Action.VIEW: Through("accreditation", ACCREDITATION_VIEW),
    Action.CHANGE: Through("accreditation", ACCREDITATION_CHANGE),
}

# Training bases (培训基地) are the province's published registry: every administrator sees and
# may book any of them for a 跟岗 project, as any institution may implement a project; the staff of
# an institution that is a base see it; only the designating division (or one above, with write
# jurisdiction) edits it.
TRAINING_BASE: Rules = {
    Action.VIEW: ADMINS | (STAFF & OfInstitution("institution_id")),
    Action.CHANGE: DIVISION_ADMINS & InJurisdiction("division_path", write=True),
    Action.ASSIGN: ADMINS,
}

# --- the three-level trainer pool (培训专家库) -------------------------------------------------

# A pool is its division's: division administrators see the pools of their jurisdiction (a city
# its own and its counties', a 省直管县's read only; the province all; a county only its own) and
# a trainer who is a teacher their own record. School administrators, institution staff and other
# teachers see none (a school's or an institution's sessions are staffed by the division that
# runs them with it). The owning division and those above it with write jurisdiction add and edit
# trainers; only the owning division grades them (DECIDE: entry above 初级, and promotion).
TRAINER_VIEW = (DIVISION_ADMINS & InJurisdiction("division_path")) | Own("teacher_id")
TRAINER_CHANGE = DIVISION_ADMINS & InJurisdiction("division_path", write=True)
TRAINER: Rules = {
    Action.VIEW: TRAINER_VIEW,
    Action.CHANGE: TRAINER_CHANGE,
    Action.DECIDE: DIVISION_ADMINS & PathIs("division_path"),
}
TRAINER_CHILD: Rules = {Action.VIEW: Through("trainer", TRAINER_VIEW), Action.CHANGE: Through("trainer", TRAINER_CHANGE)}
TRAINER_LEVEL_CHANGE: Rules = {Action.VIEW: Through("trainer", TRAINER_VIEW)}
# A booking is seen with its trainer, and by those who run its project (who teaches their
# session); it is made or cancelled by an administrator who may change the project and has the
# trainer in their writable pool jurisdiction.
TRAINER_BOOKING: Rules = {
    Action.VIEW: Through("trainer", TRAINER_VIEW) | Through("project", PROJECT_RUN),
    Action.CHANGE: Through("project", PROJECT_CHANGE) & Through("trainer", TRAINER_CHANGE),
}

# --- evaluation ----------------------------------------------------------------------------

# Instruments and rubrics are a division's: its administrators (and those above) see all of
# theirs and edit them; any administrator sees the published ones of their own division or one
# above (a county uses the province's questionnaire); the staff of an institution see published
# ones too (what their projects are measured by).
INSTRUMENT_VIEW = ((DIVISION_ADMINS & InJurisdiction("division_path"))
                   | ((ADMINS | RoleIn({"expert"})) & Where(state="published") & OpenTo("division_path"))
                   | (STAFF & Where(state="published")))
INSTRUMENT: Rules = {
    Action.VIEW: INSTRUMENT_VIEW,
    Action.CHANGE: DIVISION_ADMINS & InJurisdiction("division_path", write=True),
}
INSTRUMENT_CHILD: Rules = {
    Action.VIEW: Through("instrument", INSTRUMENT_VIEW),
    Action.CHANGE: Through("instrument", INSTRUMENT[Action.CHANGE]),
}
# A project's evaluation is overseen by the administrators over its organiser (the school for a
# school's project) and read by its implementing institution; an institution never scores itself.
PROJECT_OVERSEE = (ADMINS & InJurisdiction("division_path", "organiser_school_id")) | (STAFF & OfInstitution("institution_id"))
PROJECT_INSTRUMENT: Rules = {
    Action.VIEW: Through("project", PROJECT_OVERSEE) | EnrolledIn("project"),
    Action.CHANGE: Through("project", PROJECT_RUN),
}
# A trainee's own answers; those who oversee the project see them (by name: they are a test).
ASSESSMENT_VIEW = Own("teacher_id") | Through("attachment__project", PROJECT_OVERSEE)
ASSESSMENT: Rules = {Action.VIEW: ASSESSMENT_VIEW, Action.CHANGE: Own("teacher_id")}
DIMENSION_SCORE: Rules = {Action.VIEW: Own("teacher_id") | Through("project", PROJECT_OVERSEE)}
# Outcome data (for the comparison with untrained peers) belong with the teacher's record.
TEACHING_OUTCOME: Rules = {
    Action.VIEW: ADMINS & InJurisdiction("teacher__division_path", "teacher__school_id"),
    Action.CHANGE: DIVISION_ADMINS & InJurisdiction("teacher__division_path", "teacher__school_id", write=True),
}
# Rating windows: opened by the organiser (never the rated institution); seen by the trainees.
RATING_WINDOW: Rules = {
    Action.VIEW: Through("project", PROJECT_OVERSEE) | EnrolledIn("project"),
    Action.CHANGE: Through("project", PROJECT_CHANGE),
}
# Who has rated: the trainee their own; the organiser's administrators (reminders, the rate).
RATING_PARTICIPATION: Rules = {
    Action.VIEW: Own("teacher_id") | Through("window__project", ADMINS & InJurisdiction("division_path",
                                                                                        "organiser_school_id")),
}
# Responses are never read one by one: only aggregated (evaluation.ratings), over the windows of
# projects the viewer oversees, once closed and above the minimum group.
RATING_RESPONSE: Rules = {Action.VIEW: Through("window__project", PROJECT_OVERSEE)}
RUBRIC: Rules = {
    Action.VIEW: INSTRUMENT_VIEW,
    Action.CHANGE: DIVISION_ADMINS & InJurisdiction("division_path", write=True),
}
# Supervisors are named by the project's organiser; an expert sees their own assignments.
SUPERVISOR: Rules = {
    Action.VIEW: Through("project", PROJECT_OVERSEE) | OwnAccount("user_id"),
    Action.CHANGE: Through("project", PROJECT_CHANGE),
}
# Visits, outcome reviews, stakeholder ratings: seen by who oversees the project and by their
# author; changed by their author only.
SUPERVISION_VISIT: Rules = {
    Action.VIEW: Through("project", PROJECT_OVERSEE) | OwnAccount("visitor_id"),
    Action.CHANGE: OwnAccount("visitor_id"),
}
OUTCOME_REVIEW: Rules = {
    Action.VIEW: Through("project", PROJECT_OVERSEE) | OwnAccount("reviewer_id"),
    Action.CHANGE: OwnAccount("reviewer_id"),
}
STAKEHOLDER_RATING: Rules = {
    Action.VIEW: Through("project", PROJECT_OVERSEE) | OwnAccount("rater_id"),
    Action.CHANGE: OwnAccount("rater_id"),
}
# The weights are the province's, and public to every administrator and institution.
SCORE_WEIGHTS: Rules = {
    Action.VIEW: ADMINS | STAFF,
    Action.CHANGE: RoleIn({"province_admin"}),
}
# Scores and ranks: the administrators over the organiser; the institution its own projects'.
SCORE_VIEW = (ADMINS & InJurisdiction("division_path", "organiser_school_id")) | (STAFF & OfInstitution("institution_id"))
PROJECT_SCORE: Rules = {Action.VIEW: SCORE_VIEW}
# An elimination is appealed by the institution or the organiser's administrators, and decided by
# the province, never by the account that appealed.
ELIMINATION_CASE: Rules = {
    Action.VIEW: Through("score", SCORE_VIEW),
    Action.CHANGE: Through("score", (STAFF & OfInstitution("institution_id"))
                           | (ADMINS & InJurisdiction("division_path", "organiser_school_id", write=True))),
    Action.DECIDE: RoleIn({"province_admin"}) & ~OwnAccount("appealed_by_id"),
}

# --- quotas — targets -------------------------------------------------------------------------

# The rates of the high-end task are the province's: every administrator reads them, only the
# province adds a version. Baselines (the frozen teacher counts) are read in the jurisdiction
# (a city its 省直管县's too) and frozen by the province only.
TARGET_RATE: Rules = {
    Action.VIEW: ADMINS,
    Action.CHANGE: RoleIn({"province_admin"}),
}
TARGET_BASELINE: Rules = {
    Action.VIEW: DIVISION_ADMINS & InJurisdiction("division_path"),
    Action.CHANGE: RoleIn({"province_admin"}),
}
# An allocation is read by its division and those above, and its header by the divisions and
# schools below it (what they received is in its shares); it is made by the division or one above
# with write jurisdiction (a city never allocates for its 省直管县, which reports to the province).
ALLOCATION_VIEW = (DIVISION_ADMINS & InJurisdiction("division_path")) | (ADMINS & OpenTo("division_path"))
ALLOCATION: Rules = {
    Action.VIEW: ALLOCATION_VIEW,
    Action.CHANGE: DIVISION_ADMINS & InJurisdiction("division_path", write=True),
}
# A share is seen by whoever received it (the division below and those above it; a school
# administrator their school's) and by those who see the whole allocation.
ALLOCATION_SHARE: Rules = {
    Action.VIEW: (ADMINS & InJurisdiction("child_path", "child_school_id"))
    | Through("allocation", DIVISION_ADMINS & InJurisdiction("division_path")),
}

# The progress table of the high-end task (one row per teacher, level and cycle, written by the
# system when completion is judged): read, as counts, by the division administrators whose
# jurisdiction holds the division where the teacher completed; nobody writes it through a route.
HIGH_END_COMPLETION: Rules = {
    Action.VIEW: DIVISION_ADMINS & InJurisdiction("division_path"),
}

# --- quotas — selection --------------------------------------------------------------------

# Priority rule sets: a division's administrators (and those above) see its versions; every
# division administrator sees those of its own division and above (the one in force for its
# projects may be the province's). Only the owning division publishes a new version.
RULE_SET_VIEW = DIVISION_ADMINS & (InJurisdiction("division_path") | OpenTo("division_path"))
RULE_SET: Rules = {
    Action.VIEW: RULE_SET_VIEW,
    Action.CHANGE: DIVISION_ADMINS & PathIs("division_path"),
}
RULE_SET_CHILD: Rules = {Action.VIEW: Through("rule_set", RULE_SET_VIEW)}
# Ranked nomination lists belong to the division that built them: its administrators change them
# (override, submit); those above read them; schools, teachers, experts and neighbours never.
NOMINATION_LIST_VIEW = DIVISION_ADMINS & InJurisdiction("division_path")
NOMINATION_LIST_CHANGE = DIVISION_ADMINS & PathIs("division_path")
NOMINATION_LIST: Rules = {Action.VIEW: NOMINATION_LIST_VIEW, Action.CHANGE: NOMINATION_LIST_CHANGE}
NOMINATION_LIST_CHILD: Rules = {
    Action.VIEW: Through("nomination_list", NOMINATION_LIST_VIEW),
    Action.CHANGE: Through("nomination_list", NOMINATION_LIST_CHANGE),
}
# --- funding -------------------------------------------------------------------------------

# Training funding figures are a division's: its administrators and those above read them (a city
# its counties', a 省直管县's too, the province all); only the division itself enters or corrects
# its own payroll, ratio, budget entries and the spend on the projects it organises (a 省直管县
# enters its own and reports to the province; its city reads them and never changes them).
FUNDING_VIEW = DIVISION_ADMINS & InJurisdiction("division_path")
FUNDING_OWN = DIVISION_ADMINS & PathIs("division_path")
# A division that has not reported: the level above may enter its payroll, ratio and direct budgets
# on its behalf (marked as such; the services check it has not reported and want a reason) — the
# province for any division, a city for its counties but not its 省直管县 (they report to the
# province: the city's scope holds them read-only), never a division outside the area or itself.
FUNDING_BELOW = DIVISION_ADMINS & InJurisdiction("division_path", write=True) & ~PathIs("division_path")
DIVISION_FUNDING: Rules = {Action.VIEW: FUNDING_VIEW, Action.CHANGE: FUNDING_OWN, Action.ENTER_FOR: FUNDING_BELOW}
# Direct budget entries and spend: the same, for live entries only (a deleted entry stays in the
# table with its reason and evidence, and leaves every list and sum).
FUNDING_LIVE = Where(deleted_at__isnull=True)
# A budget entry the level above entered for a division is also the level above's to correct or
# delete, until the division writes its own.
FUNDING_BUDGET: Rules = {Action.VIEW: FUNDING_VIEW & FUNDING_LIVE,
                         Action.CHANGE: (FUNDING_OWN | FUNDING_BELOW & Where(entered_above_at__isnull=False))
                         & FUNDING_LIVE,
                         Action.ENTER_FOR: FUNDING_BELOW & FUNDING_LIVE}
FUNDING_SPEND: Rules = {Action.VIEW: FUNDING_VIEW & FUNDING_LIVE, Action.CHANGE: FUNDING_OWN & FUNDING_LIVE}
# A school's figures: its own administrator sees and enters them, as does its county (which holds
# its budget); the divisions above read them.
SCHOOL_FUNDING: Rules = {
    Action.VIEW: ADMINS & InJurisdiction("division_path", "school_id"),
    Action.CHANGE: (SCHOOL_ADMIN & InJurisdiction("division_path", "school_id", write=True)) | FUNDING_OWN,
}
FUNDING_IMPORT: Rules = {Action.VIEW: OwnAccount("actor_id") | (DIVISION_ADMINS & InJurisdiction("scope_path"))}

# --- accounts and audit -------------------------------------------------------------------

API_TOKEN: Rules = {Action.VIEW: OwnAccount("user_id"), Action.REVOKE_TOKEN: OwnAccount("user_id")}


def _accounts_below(*, write: bool) -> Rule:
    """The accounts an administrator manages: of a lower level, in their jurisdiction (with
    `write`, not a city's 省直管县). A school its own teachers; a county its teachers, experts
    and school administrators; a city or the province also county administrators and
    institution staff; the province also city administrators. Nobody manages their peers."""
    teachers = Where(role__in=["teacher", "expert"]) & InJurisdiction("teacher__division_path", "teacher__school_id",
                                                                      write=write)
    schools = Where(role="school_admin") & InJurisdiction("school__division_path", "school_id", write=write)
    counties = Where(role="county_admin") & InJurisdiction("division__path", write=write)
    staff = Where(role="institution_staff") & InJurisdiction("institution__division_path", write=write)
    cities = Where(role="city_admin") & InJurisdiction("division__path", write=write)
    return ((SCHOOL_ADMIN & Where(role="teacher") & InJurisdiction("teacher__division_path", "teacher__school_id",
                                                                    write=write))
            | (RoleIn({"county_admin"}) & (teachers | schools))
            | (RoleIn({"city_admin"}) & (teachers | schools | counties | staff))
            | (RoleIn({"province_admin"}) & (teachers | schools | counties | staff | cities)))


USER: Rules = {
    Action.VIEW: _accounts_below(write=False),
    Action.RESET_PASSWORD: _accounts_below(write=True),
}
AUDIT_EVENT: Rules = {Action.VIEW: DIVISION_ADMINS & InJurisdiction("scope_path")}


def _registry() -> dict[type[models.Model], dict[str, Rule]]:
    from accounts.models import ApiToken
    from audit.models import AuditEvent
    from catalog.models import (
        AnnualPlan,
        Attendance,
        Enrolment,
        PlanConflict,
        Project,
        ProjectSession,
    )
    from credits.models import (
        CycleTotal,
        ExternalImport,
        LedgerDecision,
        LedgerEntry,
        LedgerSeal,
        SchoolCompliance,
    )
    from guidance.models import (
        GuidanceTeam,
        ProblemCluster,
        Question,
        QuestionMessage,
        TeamMember,
        TeamSchool,
    )
    from learning.models import Course, CourseEnrolment, Provider, StudySession, TeacherPush
    from lrs.models import (
        CreditedActivity,
        LearnerIdentity,
        LrsClient,
        LrsClientDay,
        LrsDocument,
        LrsRejection,
        Statement,
        StatementAttachment,
        StatementCredit,
        StatementIndex,
    )
    from notifications.models import Notification
    from org.models import Division, Institution, ResearchCommunity, School
    from people.models import (
        ExportRequest,
        ImportBatch,
        ImportRejection,
        Teacher,
        TeacherHonour,
        TeacherSubject,
    )

    return {
        Teacher: TEACHER, TeacherSubject: TEACHER_CHILD, TeacherHonour: TEACHER_CHILD,
        Division: DIVISION, School: SCHOOL, Institution: INSTITUTION, ResearchCommunity: COMMUNITY,
        Project: PROJECT, Enrolment: ENROLMENT, ProjectSession: SESSION, Attendance: ATTENDANCE,
        AnnualPlan: PLAN, PlanConflict: PLAN_CONFLICT,
        LedgerEntry: LEDGER, CycleTotal: TEACHER_CHILD, SchoolCompliance: COMPLIANCE,
        LedgerDecision: LEDGER_CHILD, LedgerSeal: LEDGER_SEAL,
        ExternalImport: OWN_UPLOAD, ImportBatch: OWN_UPLOAD,
        ImportRejection: {Action.VIEW: Through("batch", OWN_UPLOAD[Action.VIEW])},
        ExportRequest: EXPORT_REQUEST, ApiToken: API_TOKEN, AuditEvent: AUDIT_EVENT,
        LrsClient: LRS_CLIENT, Statement: STATEMENT, StatementIndex: STATEMENT_CHILD,
        StatementAttachment: STATEMENT_ATTACHMENT, LrsDocument: LRS_DOCUMENT,
        CreditedActivity: CREDITED_ACTIVITY, LearnerIdentity: LEARNER_IDENTITY, StatementCredit: STATEMENT_CREDIT,
        LrsClientDay: LRS_CLIENT_CHILD, LrsRejection: LRS_CLIENT_CHILD,
        Provider: PROVIDER, Course: COURSE, CourseEnrolment: COURSE_ENROLMENT, StudySession: STUDY_SESSION,
        TeacherPush: TEACHER_CHILD,
        GuidanceTeam: GUIDANCE_TEAM, TeamMember: GUIDANCE_TEAM_CHILD, TeamSchool: GUIDANCE_TEAM_CHILD,
        Question: QUESTION, QuestionMessage: QUESTION_MESSAGE, ProblemCluster: PROBLEM_CLUSTER,
        Notification: NOTIFICATION,
        **_later_models(),
    }


def _later_models() -> dict[type[models.Model], dict[str, Rule]]:
    """Models that later apps add register here (each app's rules beside the others)."""
    from django.apps import apps

    found: dict[type[models.Model], dict[str, Rule]] = {}
    for label, rules in EXTRA_POLICIES.items():
        found[apps.get_model(label)] = rules
    return found


# "app_label.ModelName" -> rules, for models whose app comes after this module was written.
EXTRA_POLICIES: dict[str, dict[str, Rule]] = {
    "institutions.Accreditation": ACCREDITATION,
    "institutions.AccreditationEvidence": ACCREDITATION_CHILD,
    "institutions.AccreditationScore": ACCREDITATION_CHILD,
    "institutions.AccreditationEvent": ACCREDITATION_CHILD,
    "institutions.TrainingBase": TRAINING_BASE,
    "trainers.Trainer": TRAINER,
    "trainers.TrainerUnavailability": TRAINER_CHILD,
    "trainers.TrainerLevelChange": TRAINER_LEVEL_CHANGE,
    "trainers.TrainerBooking": TRAINER_BOOKING,
    "accounts.User": USER,
    "notifications.NoticePreference": NOTICE_OWN,
    "notifications.NoticeDigest": NOTICE_OWN,
    "evaluation.Instrument": INSTRUMENT,
    "evaluation.InstrumentItem": INSTRUMENT_CHILD,
    "evaluation.ProjectInstrument": PROJECT_INSTRUMENT,
    "evaluation.AssessmentResponse": ASSESSMENT,
    "evaluation.DimensionScore": DIMENSION_SCORE,
    "evaluation.TeachingOutcome": TEACHING_OUTCOME,
    "evaluation.RatingWindow": RATING_WINDOW,
    "evaluation.RatingParticipation": RATING_PARTICIPATION,
    "evaluation.RatingResponse": RATING_RESPONSE,
    "evaluation.Rubric": RUBRIC,
    "evaluation.Supervisor": SUPERVISOR,
    "evaluation.SupervisionVisit": SUPERVISION_VISIT,
    "evaluation.OutcomeReview": OUTCOME_REVIEW,
    "evaluation.StakeholderRating": STAKEHOLDER_RATING,
    "evaluation.ScoreWeights": SCORE_WEIGHTS,
    "evaluation.ProjectScore": PROJECT_SCORE,
    "evaluation.EliminationCase": ELIMINATION_CASE,
    "quotas.TargetRate": TARGET_RATE,
    "quotas.TargetBaseline": TARGET_BASELINE,
    "quotas.Allocation": ALLOCATION,
    "quotas.AllocationShare": ALLOCATION_SHARE,
    "quotas.HighEndCompletion": HIGH_END_COMPLETION,
    "quotas.PriorityRuleSet": RULE_SET,
    "quotas.PriorityRule": RULE_SET_CHILD,
    "quotas.NominationList": NOMINATION_LIST,
    "quotas.NominationPick": NOMINATION_LIST_CHILD,
    "quotas.NominationOverride": NOMINATION_LIST_CHILD,
    "funding.DivisionFunding": DIVISION_FUNDING,
    "funding.SchoolFunding": SCHOOL_FUNDING,
    "funding.TrainingBudget": FUNDING_BUDGET,
    "funding.ProjectSpend": FUNDING_SPEND,
    "funding.FundingImport": FUNDING_IMPORT,
}
_POLICIES: dict[type[models.Model], dict[str, Rule]] | None = None


def policies() -> dict[type[models.Model], dict[str, Rule]]:
    global _POLICIES
    if _POLICIES is None:
        _POLICIES = _registry()
    return _POLICIES


def rule_for(model: type[models.Model], action: str) -> Rule:
    rules = policies().get(model)
    if rules is None:
        raise LookupError(f"{model.__name__} has no access policy")
    if action not in rules:
        raise LookupError(f"{model.__name__} has no rule for {action!r}")
    return rules[action]


def visible(scope: Scope, model: type[models.Model], action: str = Action.VIEW) -> models.QuerySet:
    """The rows of `model` this viewer may see (or act on, for another action)."""
    manager = model._default_manager
    if isinstance(manager, ScopedManager):
        return manager.visible_to(scope, action)
    return manager.filter(rule_for(model, action).q(scope))  # public reference data (divisions)


def can(scope: Scope, action: str, row: Any) -> bool:
    return rule_for(type(row), action).test(scope, row)


def require(scope: Scope, action: str, row: Any) -> None:
    """Refuse unless the viewer may do `action` to `row`: NotVisible (→ 404) when they may
    not even see it, Forbidden (→ 403) when they see it but may not do this."""
    if not can(scope, Action.VIEW, row):
        raise NotVisible("对象不存在或不在您的管辖范围内")
    if action != Action.VIEW and not can(scope, action, row):
        raise Forbidden("无权执行该操作")


def fetch(scope: Scope, model: type[models.Model], pk: Any, action: str = Action.VIEW, *,
          select_related: tuple[str, ...] = (), lock: bool = False) -> Any:
    """The row `pk` if the viewer sees it and may do `action` to it; else NotVisible /
    Forbidden. `lock` takes a row lock (select_for_update) for the caller's transaction."""
    rows = visible(scope, model)
    if select_related:
        rows = rows.select_related(*select_related)
    if lock:
        rows = rows.select_for_update(of=("self",))
    row = rows.filter(pk=pk).first() if _is_key(pk) else None
    if row is None:
        raise NotVisible("对象不存在或不在您的管辖范围内")
    if action != Action.VIEW and not can(scope, action, row):
        raise Forbidden("无权执行该操作")
    return row


def _is_key(pk: Any) -> bool:
    return isinstance(pk, int) and 0 < pk < 2**62
