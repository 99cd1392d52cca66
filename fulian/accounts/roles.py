"""Roles (DESIGN.md §4, 三员分立) and what each may do. Later apps add capabilities here."""

from enum import StrEnum

from django.db import models


class Role(models.TextChoices):
    LEADER = "leader", "主席/分管领导"
    STAFF = "staff", "工作人员"
    CASEWORKER = "caseworker", "维权专干"
    SYSADMIN = "sysadmin", "系统管理员"
    AUDITOR = "auditor", "审计管理员"
    HOTLINE = "hotline", "热线接线员"


class Cap(StrEnum):
    VIEW_ORG = "view_org"  # the tree, unit pages, counts and coverage
    MANAGE_ORG = "manage_org"  # create/import/move org units
    VIEW_CADRES = "view_cadres"
    EDIT_CADRES = "edit_cadres"
    MANAGE_ACCOUNTS = "manage_accounts"
    VIEW_AUDIT = "view_audit"
    VIEW_WORK = "view_work"  # ledger records, tasks and submissions of the subtree
    EDIT_WORK = "edit_work"  # record the own unit's work, submit tasks
    ASSIGN_WORK = "assign_work"  # send tasks down, accept/return submissions, grant 补录 exceptions
    # rights-protection cases (维权): staff, sysadmin and auditor have none of these (no case content)
    VIEW_CASES = "view_cases"  # case lists and details of the subtree, identities masked
    HANDLE_CASES = "handle_cases"  # accept, assign, record actions, request closure
    INTAKE_CASES = "intake_cases"  # register cases in the subtree (hotline: sees its own open ones)
    REVEAL_CASE_IDENTITY = "reveal_case_identity"  # show a party's name/phone/ID with a reason (audited)
    APPROVE_CASES = "approve_cases"  # approve or return a closure, reopen
    # the public site (公开栏): only a leader reviews a disclosure item before it is published
    PUBLISH = "publish"


ROLE_CAPS: dict[str, frozenset[Cap]] = {
    Role.LEADER: frozenset(
        {
            Cap.VIEW_ORG,
            Cap.MANAGE_ORG,
            Cap.VIEW_CADRES,
            Cap.EDIT_CADRES,
            Cap.VIEW_WORK,
            Cap.EDIT_WORK,
            Cap.ASSIGN_WORK,
            Cap.VIEW_CASES,
            Cap.HANDLE_CASES,
            Cap.INTAKE_CASES,
            Cap.REVEAL_CASE_IDENTITY,
            Cap.APPROVE_CASES,
            Cap.PUBLISH,
        }
    ),
    Role.STAFF: frozenset(
        {Cap.VIEW_ORG, Cap.VIEW_CADRES, Cap.EDIT_CADRES, Cap.VIEW_WORK, Cap.EDIT_WORK, Cap.ASSIGN_WORK}
    ),
    Role.CASEWORKER: frozenset(
        {Cap.VIEW_ORG, Cap.VIEW_CASES, Cap.HANDLE_CASES, Cap.INTAKE_CASES, Cap.REVEAL_CASE_IDENTITY}
    ),
    Role.SYSADMIN: frozenset(
        {Cap.VIEW_ORG, Cap.MANAGE_ORG, Cap.VIEW_CADRES, Cap.EDIT_CADRES, Cap.MANAGE_ACCOUNTS}
    ),
    Role.AUDITOR: frozenset({Cap.VIEW_ORG, Cap.VIEW_AUDIT}),
    Role.HOTLINE: frozenset({Cap.VIEW_ORG, Cap.INTAKE_CASES}),
}
