"""The demo tasks: realistic, re-runnable, with on-time, late and missing townships."""

from fulian.supervision import queries
from fulian.supervision.demo import seed_demo_tasks
from fulian.supervision.models import Task


def test_demo_tasks_are_created_once(cast, ledger):
    seed_demo_tasks(cast.county)
    seed_demo_tasks(cast.county)
    titles = set(Task.objects.values_list("title", flat=True))
    assert titles == {
        "报送三八节活动开展情况",
        "报送一季度巾帼建功培训开展情况",
        "报送甲镇妇联妇女之家建设情况",
    }
    sanba = Task.objects.get(title="报送三八节活动开展情况")
    total = queries.reporting_rates(sanba).total
    # two townships: one on time (and accepted), one late
    assert (total.expected, total.on_time, total.late, total.accepted) == (2, 1, 1, 1)
    villages = Task.objects.get(title="报送甲镇妇联妇女之家建设情况")
    assert queries.reporting_rates(villages).total.reported == 2
