"""Admin: only the editable lists (category tree, holiday calendar). Cases, parties and timelines are not in the
admin: their content is for caseworkers and leaders, through the scoped pages, never for a superuser's table."""

from django.contrib import admin

from .models import CaseCategory, Holiday


@admin.register(CaseCategory)
class CaseCategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "parent", "code", "is_violence", "active", "sort_order"]
    list_filter = ["parent", "active", "is_violence"]
    list_editable = ["active", "sort_order"]
    search_fields = ["name", "code"]


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["date", "is_workday", "name"]
    list_filter = ["is_workday"]
    date_hierarchy = "date"
    search_fields = ["name"]
