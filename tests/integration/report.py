"""Per-host table of isolation properties: which held, which did not.

Register it from tests/conftest.py (a conftest below the rootdir cannot use
``pytest_plugins``, and under pytest -n the controller, which writes the tables,
loads no conftest below the paths given, or below tests/ when given none)::

    from .integration import report
    def pytest_configure(config):
        report.pytest_configure(config)

Tag each test with the property it checks::

    @pytest.mark.property("pid")
    def test_container_is_pid_1(...): ...

At the end of the session the plugin prints a table property -> PASS/FAIL for
each target (see targets.py) and writes it to ``results/isolation-<host>.md``
(plus a ``.json`` twin). When results of several hosts are in results/ (the
targets of this run, or earlier runs' files), it also writes
``results/isolation.md``: every host side by side, its kernel in the column's
header, with the properties and tests whose results differ between hosts
marked and listed (a skip says why).

A property PASSes when all its tests passed (skips aside), FAILs when any of
them failed or errored, and is SKIP when all were skipped.

With ``--kernel-only`` (the VM lab) the tests marked ``kernel_independent`` are
skipped; they count for no property and the tables list them under "Not
kernel-dependent, run locally", with the marker's reason. ``--report-as NAME``
names the host (the VM lab runs pytest inside each VM, whose target is "local").

``python -m tests.integration.report [DIR]`` writes DIR/isolation.md (default
results/) from the hosts' JSON files there, as a run with several hosts does.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Optional

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
    config.addinivalue_line(
        "markers",
        "kernel_independent(reason): the test says nothing about the kernel (argument "
        "parsing, messages, host-side tooling); --kernel-only skips it, and the report "
        "lists it as not kernel-dependent, run locally",
    )
    if not config.pluginmanager.has_plugin("demo-runtime-isolation-properties"):
        config.pluginmanager.register(PropertiesOnReports(config), "demo-runtime-isolation-properties")
    name = "demo-runtime-isolation-report"
    if not hasattr(config, "workerinput") and not config.pluginmanager.has_plugin(name):
        config.pluginmanager.register(IsolationReport(config), name)


class PropertiesOnReports:
    """Where the tests run (in pytest -n's workers too): each test's report carries its
    properties, its target and id, or why it says nothing about a kernel, to the process
    that writes the tables (xdist sends a report's attributes along)."""

    def __init__(self, config: pytest.Config):
        self.kernel_only = config.getoption("kernel_only", False)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call):
        report = yield
        independent = item.get_closest_marker("kernel_independent")
        if self.kernel_only and independent is not None:
            report.isolation_run_locally = [_where(item)[1], independent.args[0]]
            return report
        names: list[str] = []
        for mark in item.iter_markers("property"):
            names.extend(str(a) for a in mark.args)
            if "name" in mark.kwargs:
                names.append(str(mark.kwargs["name"]))
        if names:
            report.isolation_properties = sorted(set(names))
            report.isolation_where = list(_where(item))
        return report


class IsolationReport:
    def __init__(self, config: pytest.Config):
        self.config = config
        self.props: dict[str, list[str]] = {}  # nodeid -> properties
        self.where: dict[str, tuple[Optional[str], str]] = {}  # nodeid -> (target name or None, test id)
        self.outcomes: dict[str, str] = {}  # nodeid -> PASS/FAIL/SKIP
        self.reasons: dict[str, str] = {}  # nodeid -> why it was skipped
        self.run_locally: dict[str, str] = {}  # test id -> why it says nothing about a kernel
        self.started = time.time()

    # -- results --------------------------------------------------------------
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if hasattr(report, "isolation_run_locally"):
            test, reason = report.isolation_run_locally
            self.run_locally[test] = reason
            return
        if not hasattr(report, "isolation_properties"):
            return
        self.props[report.nodeid] = report.isolation_properties
        self.where[report.nodeid] = tuple(report.isolation_where)
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
        if outcome == "SKIP" and isinstance(report.longrepr, tuple):
            self.reasons[report.nodeid] = str(report.longrepr[2]).removeprefix("Skipped: ")
        prev = self.outcomes.get(report.nodeid)
        if prev is None or _ORDER[outcome] > _ORDER[prev]:
            self.outcomes[report.nodeid] = outcome

    def _tests(self, host: Optional[str]) -> dict[str, dict]:
        """test id -> outcome (and skip reason) of the tests that ran on host."""
        tests = {}
        for nodeid, (where, test) in self.where.items():
            outcome = self.outcomes.get(nodeid)
            if outcome is None or where != host:  # deselected, not run, or another host's
                continue
            tests[test] = {"outcome": outcome, "properties": self.props[nodeid]}
            if nodeid in self.reasons:
                tests[test]["reason"] = self.reasons[nodeid]
        return tests

    # -- output ---------------------------------------------------------------
    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter, exitstatus, config) -> None:
        if not self.props:
            return
        from .targets import select_targets

        targets = select_targets(config)  # (chosen again in pytest -n's controller: its workers ran the tests)
        parametrized = len(targets) > 1
        written = False
        for target in targets:
            tests = self._tests(target.name if parametrized else None)
            if tests:
                self._write(terminalreporter, _target_info(target, self.config.getoption("report_as", None)), tests)
                written = True
        if written:
            combined = _combine(RESULTS_DIR)
            if combined:
                terminalreporter.line(f"all hosts so far, side by side: {combined}")

    def _write(self, tw, info: dict, tests: dict[str, dict]) -> None:
        host = info["name"]
        table = _table(tests)
        tw.section(f"isolation properties on {host}", sep="=")
        if info["kernel"]:
            tw.line(f"{info['os']}, kernel {info['kernel']}")
        lines = _markdown(host, info, table, self.run_locally)
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
            "tests": tests,
            "run_locally": self.run_locally,
        }
        (RESULTS_DIR / f"isolation-{slug}.json").write_text(json.dumps(data, indent=2) + "\n")
        tw.line(f"written to {md}")


def _where(item: pytest.Item) -> tuple[Optional[str], str]:
    """(target name, test id without it) for a test parametrized over targets, else (None, nodeid)."""
    callspec = getattr(item, "callspec", None)
    target = callspec.params.get("target") if callspec is not None else None
    if target is None or not hasattr(target, "name"):
        return None, item.nodeid
    ids, name = callspec.id, target.name
    if ids == name:
        rest = ""
    elif ids.startswith(name + "-"):
        rest = ids[len(name) + 1 :]
    elif ids.endswith("-" + name):
        rest = ids[: -len(name) - 1]
    else:
        rest = ids.replace(f"-{name}-", "-", 1)
    base = item.nodeid[: item.nodeid.rindex("[")]
    return name, f"{base}[{rest}]" if rest else base


def _target_info(target, name: Optional[str] = None) -> dict:
    info = {"name": name or target.name, "reason": target.reason, "kernel": "", "os": ""}
    try:
        info["kernel"] = target.host.check_output("uname -r")
        info["os"] = target.host.check_output(". /etc/os-release 2>/dev/null && echo \"$PRETTY_NAME\" || uname -s")
    except Exception:
        pass
    return info


def _table(tests: dict[str, dict]) -> dict[str, dict]:
    table: dict[str, dict] = {}
    for test, result in tests.items():
        for name in result["properties"]:
            row = table.setdefault(name, {"passed": 0, "failed": 0, "skipped": 0, "failures": []})
            if result["outcome"] == "PASS":
                row["passed"] += 1
            elif result["outcome"] == "FAIL":
                row["failed"] += 1
                row["failures"].append(test)
            else:
                row["skipped"] += 1
    for row in table.values():
        row["result"] = "FAIL" if row["failed"] else ("PASS" if row["passed"] else "SKIP")
    return dict(sorted(table.items()))


_TABLE_START = 4  # lines of _markdown() before the table itself


def _run_locally(tests: dict[str, str]) -> list[str]:
    """The tests a --kernel-only run left to the local stage, one line per reason."""
    if not tests:
        return []
    by_reason: dict[str, list[str]] = {}
    for test, reason in sorted(tests.items()):
        by_reason.setdefault(reason, []).append(test.split("::")[0])
    lines = ["", f"Not kernel-dependent, run locally ({len(tests)} tests):"]
    for reason, files in by_reason.items():
        counted = ", ".join(f"`{f}` ({files.count(f)})" for f in sorted(set(files)))
        lines.append(f"- {counted}: {reason}")
    return lines


def _markdown(host: str, info: dict, table: dict[str, dict], run_locally: dict[str, str]) -> list[str]:
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
    return lines + _run_locally(run_locally)


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
    head = "| property | " + " | ".join(f"{h['host']}<br>kernel {h.get('kernel') or '?'}" for h in hosts) + " |"
    sep = "|---|" + "---|" * len(hosts)
    rows = []
    for p in sorted({p for h in hosts for p in h.get("properties", {})}):
        results_p = [h.get("properties", {}).get(p, {}).get("result", "-") for h in hosts]
        differs = len(set(results_p) - {"-"}) > 1  # "-": not run on that host
        cells = [f"**{r}**" if differs else r for r in results_p]
        rows.append(f"| {'**' + p + '** (differs)' if differs else p} | " + " | ".join(cells) + " |")
    when = "| run at | " + " | ".join(h.get("finished", "") for h in hosts) + " |"
    lines = ["# Isolation properties per host", "", head, sep, *rows, when]
    differences = _differences(hosts)
    lines += ["", "## Tests whose results differ between hosts", ""]
    lines += differences or ["None: every test that ran on more than one host had the same result on each."]
    lines += _run_locally({t: r for h in hosts for t, r in h.get("run_locally", {}).items()})
    out = results / "isolation.md"
    out.write_text("\n".join(lines) + "\n")
    return out


def _differences(hosts: list[dict]) -> list[str]:
    """One line per test whose outcome is not the same on every host that ran it."""
    lines = []
    for test in sorted({t for h in hosts for t in h.get("tests", {})}):
        seen = [(h["host"], h["tests"][test]) for h in hosts if test in h.get("tests", {})]
        if len(seen) < 2 or len({r["outcome"] for _, r in seen}) == 1:
            continue
        each = "; ".join(
            f"{r['outcome']} on {host}" + (f" ({r['reason']})" if r.get("reason") else "") for host, r in seen
        )
        lines.append(f"- `{test}`: {each}")
    return lines


if __name__ == "__main__":
    written = _combine(Path(sys.argv[1]) if len(sys.argv) > 1 else RESULTS_DIR)
    print(written or "fewer than two hosts' results: nothing to put side by side")
