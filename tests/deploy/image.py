"""Replay a Dockerfile outside Docker: its builder's COPY and RUN, then its runtime command.

No Docker engine runs here, so the image's own commands are run on this machine instead, in a
directory standing for the image's filesystem (``/src`` -> ``<root>/src``, ``/app`` likewise): the
same ``uv sync`` lines against copies of only the files the Dockerfile copies, then the
runtime's ENTRYPOINT + CMD (tini included) and HEALTHCHECK with the runtime's ENV. What is
substituted, and why: the uv binary (the image copies it from uv's image; here the machine's uv of
the same lock-file format) and the base interpreter (the image's python:3.11; here this machine's).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.deploy.conftest import DEPLOY, ROOT, tool
from tests.deploy.dockerfile import Dockerfile, Stage, parse, split_flags
from tests.factories import run_captured

# The PATH of the python:3.11-slim image before the Dockerfile's ENV extends it.
IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# How this machine reaches the package index (a `docker build` has its own network settings).
NETWORK_VARIABLES = (
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "UV_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_NATIVE_TLS",
    "UV_CACHE_DIR",
)


def uv_launcher() -> list[str]:
    found = shutil.which("uv")
    if found:
        return [found]
    return [sys.executable, "-m", "uv"]  # .ci/run may install uv as a module only


@dataclass
class Image:
    """A replayed image: its filesystem root on this machine and its parsed Dockerfile."""

    service: str
    root: Path
    dockerfile: Dockerfile

    @property
    def owned(self) -> set[str]:
        """Top-level directories the Dockerfile makes (WORKDIRs), as opposed to the base image's."""
        return {
            i.args.strip("/").split("/")[0]
            for stage in self.dockerfile.stages
            for i in stage.all("WORKDIR")
        }

    def host_path(self, path: str) -> str:
        """Map an absolute path inside the image's own directories to the replay's root."""
        if path.startswith("/") and path.strip("/").split("/")[0] in self.owned:
            return str(self.root / path.lstrip("/"))
        return path

    def environment(self, stage: Stage, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The stage's ENV over a bare environment (nothing from this test process leaks in)."""
        env = {
            "PATH": IMAGE_PATH,
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8",
            # tini is PID 1 in the container; here it must ask to reap orphans explicitly
            "TINI_SUBREAPER": "1",
        }
        for key, value in stage.env().items():
            expanded = value.replace("$PATH", env["PATH"])
            if key == "PATH":
                env[key] = ":".join(self.host_path(p) for p in expanded.split(":"))
            else:
                env[key] = self.host_path(expanded)
        env.update(extra or {})
        return env

    @property
    def workdir(self) -> Path:
        workdir = self.dockerfile.runtime.last("WORKDIR")
        assert workdir is not None
        return Path(self.host_path(workdir.args))

    def run(self, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
        """The runtime command run to its end in the workdir, the runtime's ENV over ``env``."""
        return run_captured(
            self.command(),
            timeout=timeout,
            cwd=self.workdir,
            env=self.environment(self.dockerfile.runtime, env),
        )

    def command(self) -> list[str]:
        """ENTRYPOINT + CMD of the runtime stage, exactly as the image runs them."""
        runtime = self.dockerfile.runtime
        entrypoint = runtime.last("ENTRYPOINT")
        cmd = runtime.last("CMD")
        assert entrypoint is not None
        assert cmd is not None
        argv = (entrypoint.exec_form() or []) + (cmd.exec_form() or [])
        assert argv[0] == "/usr/bin/tini"
        tool("tini", "apt-get install -y tini (.ci/run does)")
        return argv

    def healthcheck(self) -> list[str] | None:
        instruction = self.dockerfile.runtime.last("HEALTHCHECK")
        if instruction is None or instruction.args == "NONE":
            return None
        _, command = split_flags(instruction.args)
        argv = json.loads(command.removeprefix("CMD "))  # exec form (test_dockerfiles checks)
        assert isinstance(argv, list)
        return [str(item) for item in argv]


def replay_build(service: str, root: Path) -> Image:
    """Run the builder stage's COPY and RUN lines; return the image with its /app/.venv."""
    dockerfile = parse(DEPLOY / f"{service}.Dockerfile")
    image = Image(service, root, dockerfile)
    builder = dockerfile.stage("builder")
    shim = root / ".shim"  # stands in for /usr/local/bin/uv, copied from uv's image
    shim.mkdir(parents=True)
    (shim / "uv").write_text("#!/bin/sh\nexec " + shlex.join(uv_launcher()) + ' "$@"\n')
    (shim / "uv").chmod(0o755)
    workdir = root
    for instruction in builder.instructions:
        if instruction.keyword == "WORKDIR":
            workdir = root / instruction.args.lstrip("/")
            workdir.mkdir(parents=True, exist_ok=True)
        elif instruction.keyword == "COPY":
            flags, paths = split_flags(instruction.args)
            if "from" in flags:
                continue  # the uv binary: the shim stands in
            *sources, destination = paths.split()
            for source in sources:
                target = workdir / destination
                if destination.endswith("/") or destination == "." or len(sources) > 1:
                    target = target / Path(source).name
                target.parent.mkdir(parents=True, exist_ok=True)
                origin = ROOT / source
                if origin.is_dir():
                    shutil.copytree(
                        origin,
                        target,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".venv"),
                    )
                else:
                    shutil.copy2(origin, target)
        elif instruction.keyword == "RUN":
            _, command = split_flags(instruction.args)  # drops BuildKit's --mount=...
            env = image.environment(builder)
            env.update({k: os.environ[k] for k in NETWORK_VARIABLES if k in os.environ})
            env["PATH"] = f"{shim}:{env['PATH']}"
            env["UV_PYTHON"] = sys._base_executable  # the base image's interpreter
            # never install into this machine's own /app
            assert env["UV_PROJECT_ENVIRONMENT"].startswith(str(root)), env

            result = run_captured(["/bin/sh", "-c", command], timeout=600, cwd=workdir, env=env)
            assert result.returncode == 0, f"RUN {command}\n{result.stdout}\n{result.stderr}"
    # the runtime copies the builder's paths unchanged (checked in test_dockerfiles), so the
    # replayed ones are already where the runtime expects them
    for instruction in dockerfile.runtime.all("COPY"):
        _, paths = split_flags(instruction.args)
        assert Path(image.host_path(paths.split()[0])).exists(), paths
    image.workdir.mkdir(parents=True, exist_ok=True)
    return image
