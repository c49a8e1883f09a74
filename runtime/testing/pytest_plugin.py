"""pytest plugin (entry point `demo_runtime` in group pytest11): fixtures that start a
detached container and yield a testinfra Host on it, removed after the test, module or
session. Also registers `--hosts=demo-runtime://NAME`.

    @pytest.fixture(scope="module")
    def web(demo_runtime_module):
        return demo_runtime_module("web.img", hostname="web", env={"MODE": "prod"})

    def test_port(web):
        assert web.file("/etc/web.conf").contains("port=8080")

The factory takes the image, an optional command (default: an idle PID 1) and the
command line's options as keywords, as runtime.Container does.
"""

import pytest


def pytest_configure(config):
    try:
        from . import backend  # noqa: F401 (registers demo-runtime:// with testinfra)
    except ImportError:  # no testinfra here: the fixtures say so when used
        pass


def _factory():
    started = []

    def start(image, command=None, **options):
        import testinfra

        from ..api import IDLE, Container
        from . import backend

        container = Container(image, command or IDLE, **options).start()
        started.append(container)
        host = testinfra.get_host(f"{backend.NAME}://{container.name}")
        host.container = container  # for stop(), inspect()...
        return host

    return start, started


def _fixture(scope):
    @pytest.fixture(scope=scope)
    def fixture():
        start, started = _factory()
        yield start
        for container in reversed(started):
            container.remove()

    fixture.__doc__ = f"start(IMAGE, COMMAND=None, **OPTIONS) -> a testinfra Host; removed after the {scope}."
    return fixture


demo_runtime = _fixture("function")
demo_runtime_module = _fixture("module")
demo_runtime_session = _fixture("session")
