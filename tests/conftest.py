# Command-line options must be known before pytest collects anything, so the
# integration target's options are registered here, at the root of the tests.
from .integration.targets import add_options


def pytest_addoption(parser):
    add_options(parser)
