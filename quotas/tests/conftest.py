import pytest


@pytest.fixture(autouse=True)
def _initial_rates(request):
    """The migration seeds the 4/7/20 % rates; a transactional test elsewhere on the same worker
    truncates every table, so each database test here starts with them again."""
    if request.node.get_closest_marker("django_db") is None and "db" not in request.fixturenames:
        return
    request.getfixturevalue("db")
    from quotas.targets import initial_rates_ensure

    initial_rates_ensure()
