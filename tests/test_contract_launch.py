"""Contract: ``ftclient prepare`` -> ``ftclient launch`` through Prism's validating proxy.

Every request ftclient sends (file upload and lookup, job lookup by metadata, create, polls, events) and
every response the emulator gives is checked against the official OpenAPI spec; with ``--errors`` a
violation becomes an error status, and ftclient runs here with no retries, so any violation fails the
launch. Skipped when node/Prism or the spec is absent.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from conftest import EXAMPLES
from launch_support import route_count
from test_contract_emulator import SPEC, find_prism, prism_proxy, trimmed_spec

from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread

pytestmark = [pytest.mark.contract, pytest.mark.skipif(not SPEC.exists(), reason="the OpenAPI spec is not present")]


def _cached_spec(routes: list[str], cache_dir: Path) -> Path:
    """The trimmed spec, kept between runs (reading the 3 MB YAML takes seconds), keyed by spec, routes and
    the live-shape amendments applied to it."""
    stat = SPEC.stat()
    amendments = (Path(__file__).parent / "live_shapes.py").read_text(encoding="utf-8")
    parts = [stat.st_size, stat.st_mtime_ns, sorted(routes), hashlib.sha256(amendments.encode()).hexdigest()]
    key = hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]
    path = cache_dir / f"openai-{key}.json"
    return path if path.exists() else trimmed_spec(routes, path)


@pytest.fixture
def through_prism(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Emulator, str]]:
    prism = find_prism()
    if shutil.which("node") is None:
        pytest.skip("node is not installed: Prism cannot run")
    if prism is None:
        pytest.skip("Prism is not installed (npm install --prefix .ci/node @stoplight/prism-cli@5)")
    with run_in_thread(EmulatorConfig(speed=5000.0, seed=11)) as emu:
        used = [r for r in emu.core.router.routes() if any(p in r for p in ("/files", "/uploads", "/fine_tuning/"))]
        cache_plugin = getattr(pytestconfig, "cache", None)  # absent with -p no:cacheprovider
        cache = cache_plugin.mkdir("ftclient-prism") if cache_plugin else tmp_path_factory.mktemp("prism")
        spec = _cached_spec(used, cache)
        with prism_proxy(prism, spec, emu.base_url) as url:
            yield emu, url


def test_prepare_then_launch_through_the_validating_proxy(
    through_prism: tuple[Emulator, str], run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu, proxy_url = through_prism
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_BASE_URL", proxy_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-contract")
    monkeypatch.setenv("FTCLIENT_MAX_RETRIES", "0")  # a spec violation must fail, not be retried away
    monkeypatch.setenv("FTCLIENT_POLL_INTERVAL_S", "0.05")
    prepared = run_cli(
        "prepare", str(EXAMPLES / "support_tickets.csv"), "--task", "classify", "--model", "gpt-4o-mini-2024-07-18"
    )
    assert prepared.exit_code == 0, prepared.stderr
    # An account that already holds a fine-tuning file: the emulator answers an empty file list with null
    # first_id/last_id, which the spec's ListFilesResponse does not allow (it requires strings).
    seed_file = tmp_path / "earlier.jsonl"
    seed_file.write_text((tmp_path / "ftdata" / "support_tickets" / "train.jsonl").read_text().splitlines()[0] + "\n")
    httpx2.post(
        f"{emu.base_url}/files",
        headers={"authorization": "Bearer sk-contract"},
        data={"purpose": "fine-tune"},
        files={"file": ("earlier.jsonl", seed_file.read_bytes())},
    ).raise_for_status()
    launched = run_cli("launch", "--epochs", "2", "--suffix", "contract", "--seed", "7", "--json")
    assert launched.exit_code == 0, launched.stderr
    [job] = launched.json()["jobs"]
    assert job["status"] == "succeeded" and job["fine_tuned_model"].startswith("ft:gpt-4o-mini-2024-07-18:")
    assert job["hyperparameters"]["n_epochs"] == 2 and job["seed"] == 7
    relaunched = run_cli("launch", "--epochs", "3", "--json")  # reuses both files, one new job
    assert relaunched.exit_code == 0, relaunched.stderr
    stats = emu.stats()
    assert stats["jobs_created"] == 2
    assert route_count(emu, "POST /v1/files") == 3  # the earlier file, then train and validation once
    assert set(stats["requests"]["by_status"]) == {"200"}
