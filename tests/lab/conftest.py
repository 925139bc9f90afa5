"""Lab-tier ordering: tests that change the fleet (marker lab_fleet) run after every other lab test, which
expect the lab as playbooks/main.yml left it (cloud1 and cloud2)."""


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: item.get_closest_marker("lab_fleet") is not None)  # stable: keeps file order
