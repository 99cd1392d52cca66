"""The API's URL table imports endpoint classes from each app's api.py."""

from fulian.accounts.api import MeView
from fulian.orgs.api import (
    CadreDetailView,
    CadreListCreateView,
    UnitChildrenView,
    UnitDetailView,
    UnitListView,
)

__all__ = [
    "CadreDetailView",
    "CadreListCreateView",
    "MeView",
    "UnitChildrenView",
    "UnitDetailView",
    "UnitListView",
]
