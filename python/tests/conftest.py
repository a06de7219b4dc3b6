"""Shared fixtures of the bpatch Python tests, and two guards on the run.

* The package under test is the one CTest means: BPATCH_EXPECT_PACKAGE_DIR
  (the build tree's python/bpatch, or an installed prefix's) must be where
  `bpatch` was imported from, so a stray copy elsewhere cannot be tested by
  mistake.
* A skipped test fails the run: a test whose tool or module is missing must
  not pass silently. An empty collection already fails (pytest exit 5).
"""

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import bpatch

settings.register_profile(
    "bpatch",
    max_examples=40,
    deadline=None,
    database=None,  # write nothing into the working directory
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile("bpatch")

SOURCE_DIR = Path(__file__).resolve().parents[2]


def pytest_sessionstart(session):
    want = os.environ.get("BPATCH_EXPECT_PACKAGE_DIR")
    got = Path(bpatch.__file__).resolve().parent
    if want and got != Path(want).resolve():
        raise pytest.UsageError(f"bpatch imported from {got}, expected {want}")


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter and reporter.stats.get("skipped") and session.exitstatus == 0:
        session.exitstatus = 1


def package_path_env():
    """The environment for a child python3 that imports the same bpatch."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(bpatch.__file__).resolve().parent.parent)
    return env


@pytest.fixture
def root(tmp_path):
    """An empty root directory for a transaction."""
    d = tmp_path / "root"
    d.mkdir()
    return d


def snapshot(directory):
    """Every file under `directory` (the journal's LOCK aside) and its bytes."""
    out = {}
    for dirpath, _dirs, files in os.walk(directory):
        for name in files:
            p = Path(dirpath) / name
            rel = str(p.relative_to(directory))
            if rel == os.path.join(".bpatch", "LOCK"):
                continue
            out[rel] = p.read_bytes()
    return out


PYTHON = sys.executable
