"""Roles (DESIGN.md §4, 三员分立) and what each may do. Later apps add capabilities here."""

from enum import StrEnum

from django.db import models


class Role(models.TextChoices):
    LEADER = "leader", "主席/分管领导"
    STAFF = "staff", "工作人员"
    CASEWORKER = "caseworker", "维权专干"
    SYSADMIN = "sysadmin", "系统管理员"
    AUDITOR = "auditor", "审计管理员"


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
        }
    ),
    Role.STAFF: frozenset(
        {Cap.VIEW_ORG, Cap.VIEW_CADRES, Cap.EDIT_CADRES, Cap.VIEW_WORK, Cap.EDIT_WORK, Cap.ASSIGN_WORK}
    ),
    Role.CASEWORKER: frozenset({Cap.VIEW_ORG}),
    Role.SYSADMIN: frozenset(
        {Cap.VIEW_ORG, Cap.MANAGE_ORG, Cap.VIEW_CADRES, Cap.EDIT_CADRES, Cap.MANAGE_ACCOUNTS}
    ),
    Role.AUDITOR: frozenset({Cap.VIEW_ORG, Cap.VIEW_AUDIT}),
}
