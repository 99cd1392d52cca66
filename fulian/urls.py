from django.contrib import admin
from django.urls import include, path

from fulian.orgs import views as org_views

handler403 = "fulian.audit.views.permission_denied"

urlpatterns = [
    # the API first: a switchboard's intakes are the busiest requests, and Django tries the patterns in order
    path("api/v1/", include("fulian.api.urls")),
    path("", org_views.home, name="home"),
    path("accounts/", include("fulian.accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("orgs/", include("fulian.orgs.urls")),
    path("audit/", include("fulian.audit.urls")),
    path("ledger/", include("fulian.ledger.urls")),
    path("ledger/", include("fulian.ledger.media_urls")),
    path("s/", include("fulian.ledger.signin_urls")),
    path("tasks/", include("fulian.supervision.urls")),
    path("notices/", include("fulian.notify.urls")),
    path("cases/", include("fulian.cases.urls")),
    path("reports/", include("fulian.reports.urls")),
    path("rectify/", include("fulian.rectify.urls")),
    path("voice/", include("fulian.voice.urls")),
    path("portal/", include("fulian.portal.urls")),
    # the public site (no sign-in): voice's suggestion box and survey taking, then portal's unit pages
    path("p/", include("fulian.voice.public_urls")),
    path("p/", include("fulian.portal.public_urls")),
    path("admin/", admin.site.urls),
]
