from django.contrib import admin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: nobody edits or deletes the audit log through the product, superusers included."""

    list_display = ["created_at", "actor_username", "action", "object_type", "object_id", "outcome", "ip"]
    list_filter = ["outcome", "action"]
    search_fields = ["actor_username", "action", "object_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
