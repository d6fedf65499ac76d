"""The Docker and Compose files, checked without Docker (images cannot be pulled here): the
rules hadolint would enforce that matter to us, and `docker-compose config` where installed
(CI installs Debian's docker-compose)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import services_required

REPO = Path(__file__).resolve().parents[2]
DOCKERFILES = sorted((REPO / "docker").glob("Dockerfile.*"))
COMPOSE = REPO / "docker-compose.yml"
SECRET_NAME = re.compile(r"(SECRET|PASSWORD|TOKEN|API_KEY|CREDENTIALS)", re.I)
DUMMY = {"POSTGRES_PASSWORD": "x", "RABBITMQ_PASSWORD": "x", "QTS_JWT_SECRET": "x",
         "QTS_CREDENTIALS_KEY": "x"}  # fmt: skip


def _instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _final_stage(steps: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def test_the_images_the_design_needs_exist() -> None:
    names = {p.name for p in DOCKERFILES}
    assert {"Dockerfile.api", "Dockerfile.worker", "Dockerfile.ml"} <= names
    assert (REPO / ".dockerignore").is_file()


@pytest.mark.parametrize("path", DOCKERFILES, ids=[p.name for p in DOCKERFILES])
def test_dockerfile_rules(path: Path) -> None:
    steps = _instructions(path)
    args = {
        rest.split("=", 1)[0]: rest.split("=", 1)[1]
        for w, rest in steps
        if w == "ARG" and "=" in rest
    }
    for word, rest in steps:
        if word == "FROM":
            image = rest.split()[0]
            image = args.get(image.strip("${}"), image)
            assert ":" in image and not image.endswith(":latest"), f"{path.name}: unpinned {image}"
        if word in ("ENV", "ARG"):
            for name in re.findall(r"([A-Z_][A-Z0-9_]*)=", rest):
                assert not SECRET_NAME.search(name), f"{path.name}: {name} baked into a layer"
        if word == "COPY":
            assert ".env" not in rest.split(), f"{path.name} copies .env"
        if word == "RUN" and "apt-get install" in rest:
            assert "--no-install-recommends" in rest and "rm -rf /var/lib/apt/lists" in rest
            assert re.search(r"\S+=\S+", rest.split("install", 1)[1]), "apt packages unpinned"
        if word == "RUN" and "pip install" in rest:
            assert "torch" not in rest or "torch==2.13.0" in rest
    final = _final_stage(steps)
    users = [rest for word, rest in final if word == "USER"]
    assert users and users[-1] not in ("root", "0"), f"{path.name}: runs as root"
    assert any(word == "HEALTHCHECK" for word, _ in final), f"{path.name}: no health check"
    assert any(word == "CMD" for word, _ in final)
    env = " ".join(rest for word, rest in steps if word == "ENV")
    assert "PIP_NO_CACHE_DIR=1" in env  # no wheel cache left in a layer


def test_dockerignore_keeps_secrets_and_data_out() -> None:
    lines = (REPO / ".dockerignore").read_text().split()
    assert lines[lines.index("**")] == "**"  # everything excluded first, then a short allow-list
    allowed = [line[1:] for line in lines if line.startswith("!")]
    assert set(allowed) <= {"pyproject.toml", "README.md", "src/"}


def _compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_topology() -> None:
    services = _compose()["services"]
    wanted = {"postgres", "redis", "rabbitmq", "mlflow", "api", "proxy", "worker", "ml-worker",
              "beat", "serve-models", "prometheus", "grafana", "ml-worker-gpu"}  # fmt: skip
    assert wanted <= set(services)
    assert "--serve-artifacts" in (REPO / "docker" / "Dockerfile.mlflow").read_text()
    queues = services["worker"]["command"][services["worker"]["command"].index("--queues") + 1]
    assert set(queues.split(",")) == {"market", "strategy", "orders", "features", "system"}
    assert services["ml-worker"]["command"][-3:] == ["ml", "--concurrency", "1"]
    gpu = services["ml-worker-gpu"]
    assert gpu["profiles"] == ["gpu"]
    assert gpu["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["monitoring"]
    for name in ("postgres", "redis", "rabbitmq"):
        assert "healthcheck" in services[name]
    for name, service in services.items():
        image = service.get("image", "")
        if "build" not in service and not image.startswith("qts-"):
            assert ":" in image and not image.endswith(":latest"), f"{name}: unpinned {image}"
    assert "ports" not in services["api"]  # only through the proxy, so it can scale


def test_compose_has_no_literal_secrets() -> None:
    def walk(value: object, where: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if isinstance(k, str) and SECRET_NAME.search(k) and isinstance(v, str):
                    assert v.startswith("${") or "${" in v, f"{where}.{k} is a literal secret"
                walk(v, f"{where}.{k}")
        elif isinstance(value, list):
            for item in value:
                walk(item, where)

    walk(_compose(), "compose")
    assert ":?" in COMPOSE.read_text()  # a missing required secret stops `compose up`


def _compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


def test_docker_compose_config_validates() -> None:
    command = _compose_command()
    if command is None:
        message = "docker-compose is not installed (.ci/run installs Debian's docker-compose)"
        if services_required():
            pytest.fail(message)
        pytest.skip(message)
    env = {**os.environ, **DUMMY}
    for profiles in ([], ["--profile", "gpu", "--profile", "monitoring"]):
        r = subprocess.run([*command, "-f", str(COMPOSE), *profiles, "config", "-q"],
                           capture_output=True, text=True, env=env, cwd=REPO)  # fmt: skip
        assert r.returncode == 0, r.stderr
    missing = {k: v for k, v in env.items() if k != "POSTGRES_PASSWORD"}
    r = subprocess.run([*command, "-f", str(COMPOSE), "config", "-q"], capture_output=True,
                       text=True, env=missing, cwd=REPO)  # fmt: skip
    assert r.returncode != 0 and "POSTGRES_PASSWORD" in r.stderr


def test_ml_production_profile_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    from qts.config import Settings
    from qts.workers.schedule import load_schedule
    from qts.workers.settings import WorkerSettings

    monkeypatch.setenv("QTS_CONFIG_FILE", str(REPO / "configs" / "ml_production.yaml"))
    monkeypatch.delenv("QTS_PROFILE", raising=False)
    settings = Settings(_env_file=None, jwt_secret="x" * 40)
    assert settings.profile == "production" and settings.run_scheduler is False
    workers = WorkerSettings(_env_file=None)
    assert workers.ml_task_time_limit_seconds == 6 * 3600
    assert workers.visibility_timeout > workers.ml_task_time_limit_seconds
    jobs = {job.name: job for job in load_schedule(workers)}
    assert {jobs[n].queue for n in ("batch_inference", "retraining", "evaluation")} == {"ml"}
    assert "XKRX" in jobs["retraining"].trigger.describe()
