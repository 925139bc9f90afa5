"""Lab-tier ordering: every test expects the lab as playbooks/main.yml left it (cloud1 and cloud2), so tests that
kill a cloud VM and bring it back (marker lab_destructive) run after the others, and tests that change the fleet
(marker lab_fleet) run last."""


def order(item):
    if item.get_closest_marker("lab_fleet") is not None:
        return 2
    return 1 if item.get_closest_marker("lab_destructive") is not None else 0


def pytest_collection_modifyitems(config, items):
    items.sort(key=order)  # stable: keeps file order within each group
