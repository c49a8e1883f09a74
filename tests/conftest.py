# Command-line options must be known before pytest collects anything, so the
# integration target's options are registered here, at the root of the tests; and the
# isolation report, which pytest -n's controller must load (report.py says why).
from .integration import report
from .integration.targets import add_options


def pytest_addoption(parser):
    add_options(parser)


def pytest_configure(config):
    report.pytest_configure(config)
