"""Per-host table of isolation properties: which held, which did not.

Register it from tests/integration/conftest.py; a conftest below the rootdir
cannot use ``pytest_plugins`` when pytest is run without paths, so call::

    from . import report
    def pytest_configure(config):
        report.pytest_configure(config)
 Tag each test with the
property it checks::

    @pytest.mark.property("pid")
    def test_container_is_pid_1(...): ...

At the end of the session the plugin prints a table property -> PASS/FAIL for
the target (see targets.py) and writes it to ``results/isolation-<host>.md``
(plus a ``.json`` twin). When results of other hosts are in results/ already,
it also writes ``results/isolation.md``: every host side by side.

A property PASSes when all its tests passed (skips aside), FAILs when any of
them failed or errored, and is SKIP when all were skipped.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS_DIR = Path(os.environ.get("DEMO_RUNTIME_RESULTS", REPO_ROOT / "results"))

_ORDER = {"FAIL": 3, "ERROR": 3, "PASS": 1, "SKIP": 0}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "property(name, ...): isolation property the test checks (pid, mount, net, "
        "uts, ipc, user, cgroup, seccomp, caps, ...); summarised per host in "
        "results/isolation-<host>.md",
    )
    name = "demo-runtime-isolation-report"
    if not hasattr(config, "workerinput") and not config.pluginmanager.has_plugin(name):
        config.pluginmanager.register(IsolationReport(config), name)


class IsolationReport:
    def __init__(self, config: pytest.Config):
        self.config = config
        self.props: dict[str, list[str]] = {}  # nodeid -> properties
        self.outcomes: dict[str, str] = {}  # nodeid -> PASS/FAIL/SKIP
        self.started = time.time()

    # -- collection -----------------------------------------------------------
    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            names: list[str] = []
            for mark in item.iter_markers("property"):
                names.extend(str(a) for a in mark.args)
                if "name" in mark.kwargs:
                    names.append(str(mark.kwargs["name"]))
            if names:
                self.props[item.nodeid] = sorted(set(names))

    # -- results --------------------------------------------------------------
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.nodeid not in self.props:
            return
        if report.when == "call":
            if report.passed:
                outcome = "PASS"
            elif report.skipped:
                # an xfail that failed as expected is not a pass of the property
                outcome = "FAIL" if hasattr(report, "wasxfail") else "SKIP"
            else:
                outcome = "FAIL"
        elif report.failed:  # setup/teardown error
            outcome = "FAIL"
        elif report.skipped and report.when == "setup":
            outcome = "SKIP"
        else:
            return
        prev = self.outcomes.get(report.nodeid)
        if prev is None or _ORDER[outcome] > _ORDER[prev]:
            self.outcomes[report.nodeid] = outcome

    def _table(self) -> dict[str, dict]:
        table: dict[str, dict] = {}
        for nodeid, names in self.props.items():
            outcome = self.outcomes.get(nodeid)
            if outcome is None:  # deselected or not run
                continue
            for name in names:
                row = table.setdefault(name, {"passed": 0, "failed": 0, "skipped": 0, "failures": []})
                if outcome == "PASS":
                    row["passed"] += 1
                elif outcome == "FAIL":
                    row["failed"] += 1
                    row["failures"].append(nodeid)
                else:
                    row["skipped"] += 1
        for row in table.values():
            row["result"] = "FAIL" if row["failed"] else ("PASS" if row["passed"] else "SKIP")
        return dict(sorted(table.items()))

    # -- output ---------------------------------------------------------------
    def _target_info(self) -> dict:
        info = {"name": "local", "reason": "", "kernel": "", "os": ""}
        try:
            from .targets import get_target
        except ImportError:  # loaded under another package name
            try:
                from targets import get_target  # type: ignore
            except ImportError:
                return info
        target = get_target(self.config)
        if target is None:
            return info
        info["name"] = target.name
        info["reason"] = target.reason
        try:
            info["kernel"] = target.host.check_output("uname -r")
            info["os"] = target.host.check_output(
                ". /etc/os-release 2>/dev/null && echo \"$PRETTY_NAME\" || uname -s"
            )
        except Exception:
            pass
        return info

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter, exitstatus, config) -> None:
        table = self._table()
        if not table:
            return
        info = self._target_info()
        host = info["name"]
        tw = terminalreporter
        tw.section(f"isolation properties on {host}", sep="=")
        if info["kernel"]:
            tw.line(f"{info['os']}, kernel {info['kernel']}")
        lines = _markdown(host, info, table)
        for line in lines[_TABLE_START:]:
            tw.line(line)

        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", host).strip("-") or "host"
        md = RESULTS_DIR / f"isolation-{slug}.md"
        md.write_text("\n".join(lines) + "\n")
        data = {
            "host": host,
            "reason": info["reason"],
            "kernel": info["kernel"],
            "os": info["os"],
            "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
            "properties": table,
        }
        (RESULTS_DIR / f"isolation-{slug}.json").write_text(json.dumps(data, indent=2) + "\n")
        tw.line(f"written to {md}")
        combined = _combine(RESULTS_DIR)
        if combined:
            tw.line(f"all hosts so far: {combined}")


_TABLE_START = 4  # lines of _markdown() before the table itself


def _markdown(host: str, info: dict, table: dict[str, dict]) -> list[str]:
    lines = [
        f"# Isolation properties on {host}",
        "",
        f"{info['os']}, kernel {info['kernel']}; {time.strftime('%Y-%m-%d %H:%M')}".strip(", ;"),
        "",
    ]
    width = max(8, *(len(k) for k in table))
    lines.append(f"| {'property':<{width}} | result | tests (passed/failed/skipped) |")
    lines.append(f"|{'-' * (width + 2)}|--------|-------------------------------|")
    for name, row in table.items():
        counts = f"{row['passed']}/{row['failed']}/{row['skipped']}"
        lines.append(f"| {name:<{width}} | {row['result']:<6} | {counts:<29} |")
    failures = [(n, f) for n, row in table.items() for f in row["failures"]]
    if failures:
        lines += ["", "Failed:"]
        lines += [f"- {name}: `{nodeid}`" for name, nodeid in failures]
    return lines


def _combine(results: Path) -> Path | None:
    """results/isolation.md: one column per host whose JSON is in results/."""
    hosts = []
    for f in sorted(results.glob("isolation-*.json")):
        try:
            hosts.append(json.loads(f.read_text()))
        except (OSError, ValueError):
            continue
    if len(hosts) < 2:
        return None
    props = sorted({p for h in hosts for p in h.get("properties", {})})
    head = "| property | " + " | ".join(h["host"] for h in hosts) + " |"
    sep = "|---|" + "---|" * len(hosts)
    rows = [
        f"| {p} | "
        + " | ".join(h.get("properties", {}).get(p, {}).get("result", "-") for h in hosts)
        + " |"
        for p in props
    ]
    kernels = "| kernel | " + " | ".join(h.get("kernel", "") or "?" for h in hosts) + " |"
    when = "| run at | " + " | ".join(h.get("finished", "") for h in hosts) + " |"
    out = results / "isolation.md"
    out.write_text("\n".join(["# Isolation properties per host", "", head, sep, *rows, kernels, when]) + "\n")
    return out
