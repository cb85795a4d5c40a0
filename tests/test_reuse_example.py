"""Another infrastructure repository reuses the components: the package is built into a wheel,
installed into a fresh virtualenv outside this repository, and examples/reuse (a service that is
not Phoenix) runs under Pulumi's mocks with that install — nothing imported from this checkout."""

import json
import shutil
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from offline.mocks import ROOT

EXAMPLE = ROOT / "examples" / "reuse"
PIP = (sys.executable, "-m", "pip")
DRIVER = """
import json, runpy, sys
import yaml
sys.path.insert(0, sys.argv[3])  # the copied offline runner
from offline import mocks
import phoenix_aws
config = yaml.safe_load(open(sys.argv[1] + "/stacks/Pulumi.staging.yaml"))["config"]
program = lambda: runpy.run_path(sys.argv[1] + "/__main__.py")
run = mocks.run(program, config, stack="staging", project="metrics-api")
json.dump(
    {
        "package": phoenix_aws.__file__,
        "resources": [{"type": r.type, "name": r.name, "inputs": r.inputs} for r in run.resources],
        "exports": run.exports,
    },
    open(sys.argv[2], "w"),
    default=str,
)
"""


@pytest.fixture(scope="module")
def reuse(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("reuse")
    wheels = tmp / "dist"
    subprocess.run(
        [*PIP, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("phoenix_aws-*.whl")
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    target = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    subprocess.run(
        [*PIP, "install", "-q", "--no-deps", "--no-index", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    # The package's dependencies (pulumi, pulumi-aws, ...) come from this environment, added as
    # a plain path: its .pth files (this checkout's editable install among them) are not read.
    (target / "dependencies.pth").write_text(site.getsitepackages()[0] + "\n")
    runner = tmp / "runner"
    shutil.copytree(ROOT / "offline", runner / "offline")
    workdir = tmp / "work"
    shutil.copytree(EXAMPLE, workdir / "reuse")
    result = tmp / "result.json"
    done = subprocess.run(
        [python, "-c", DRIVER, str(workdir / "reuse"), str(result), str(runner)],
        cwd=workdir,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(result.read_text())


def test_the_package_is_the_installed_wheel_not_this_checkout(reuse):
    assert "/venv/lib/" in reuse["package"]
    assert not reuse["package"].startswith(str(ROOT))


def test_the_program_gets_a_network_a_database_and_an_edge(reuse):
    types = {r["type"] for r in reuse["resources"]}
    for component in ("Network", "Database", "LoadBalancer", "TrafficRouting"):
        assert f"phoenix-aws:index:{component}" in types
    assert {
        "aws:ecs/service:Service",
        "aws:rds/instance:Instance",
        "aws:lb/loadBalancer:LoadBalancer",
    } <= types


def test_the_components_follow_the_consumers_settings(reuse):
    by_name = {r["name"]: r["inputs"] for r in reuse["resources"]}
    assert by_name["net-vpc"]["cidrBlock"] == "10.60.0.0/20"
    assert by_name["db-instance"]["engineVersion"] == "16"
    assert by_name["db-instance"]["iamDatabaseAuthenticationEnabled"] is True
    assert by_name["edge-blue"]["port"] == 8080
    assert by_name["edge-blue"]["healthCheck"]["path"] == "/healthz"
    assert reuse["exports"]["url"] == "https://metrics.example.com"
