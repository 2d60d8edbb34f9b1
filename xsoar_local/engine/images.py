"""One Python environment per Docker image: an integration or script runs with the packages its `dockerimage` has.

On a server each integration runs in its `dockerimage` container. Locally each image name gets a virtual
environment, created on first use from the package index and reused after; its package list is pinned here.

The lists are this project's own pins of the packages the published images install, as listed in the public
`demisto/dockerfiles` repository (`docker/<image>/Pipfile`):
- `demisto/python3`: requests[socks], olefile, python-dateutil, dateparser, pyyaml, funcy, tldextract ~=2.2.
- `demisto/python3-deb`: the same plus more-itertools, defusedxml, setuptools, wheel.
- `demisto/crypto`: cryptography >=39.0.1, cffi, msal, bs4, pyOpenSSL.
The versions are those the package index resolves for those requirements (transitive dependencies pinned too).
An unknown image falls back to the `demisto/python3` set, with a one-line notice. The environment uses the
local Python; the image's Python version is not emulated.

Set XSOAR_LOCAL_IMAGES=off to run everything in the toolkit's own environment instead (no package index needed),
and XSOAR_LOCAL_IMAGES_DIR to keep the environments elsewhere (default: xsoar-local/images in the user's cache
folder, $XDG_CACHE_HOME or ~/.cache, so every checkout shares them).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from xsoar_local.errors import EngineError

BASE_IMAGE = "demisto/python3"
IMAGES_VARIABLE = "XSOAR_LOCAL_IMAGES"
IMAGES_DIR_VARIABLE = "XSOAR_LOCAL_IMAGES_DIR"
READY_MARK = ".ready"

# CommonServerPython imports distutils, which setuptools provides on Python 3.12 and later (the images ship it).
_ENGINE_NEEDS = ("setuptools==84.2.1",)

_PYTHON3 = (
    "requests==2.34.2",
    "PySocks==1.7.1",
    "urllib3==2.8.0",
    "certifi==2026.10.19.post1",
    "charset-normalizer==3.5.3",
    "idna==3.20",
    "olefile==0.47",
    "python-dateutil==4.0.0",
    "dateparser==1.5.0",
    "pytz==2026.6",
    "regex==2026.11.19",
    "tzlocal==5.4.5",
    "tzdata==2026.6",
    "PyYAML==6.0.4",
    "funcy==2.1",
    "tldextract==2.2.3",
    "requests-file==3.0.1",
)

IMAGE_PACKAGES: Mapping[str, tuple[str, ...]] = {
    BASE_IMAGE: _PYTHON3,
    "demisto/python3-deb": (*_PYTHON3, "more-itertools==10.8.0", "defusedxml==0.7.1", "wheel==0.47.0"),
    "demisto/crypto": (
        "cryptography==50.0.2",
        "cffi==2.1.1",
        "pycparser==3.12",
        "msal==1.39.0",
        "PyJWT==2.15.1",
        "requests==2.34.2",
        "urllib3==2.8.0",
        "certifi==2026.10.19.post1",
        "charset-normalizer==3.5.3",
        "idna==3.20",
        "bs4==0.0.2",
        "beautifulsoup4==4.15.0",
        "soupsieve==4.1.3",
        "pyOpenSSL==26.4.0",
        "typing_extensions==4.16.0",
    ),
}


def default_images_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Where environments live unless XSOAR_LOCAL_IMAGES_DIR says: the user's cache folder."""
    cache = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "xsoar-local" / "images"


class ImageError(EngineError):
    """An image's environment cannot be created (the message says how to proceed)."""


def image_name(docker_image: str) -> str:
    """`demisto/python3:3.11.10.1` -> `demisto/python3` (the tag does not change the package list here)."""
    name = docker_image.strip()
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    return name


class ImageEnvironments:
    """Environments per image under `folder`; `python_for(docker_image)` is the interpreter to run code with.

    `notice` receives one line per unknown image (once each). Creation is serialised with a lock, so parallel
    runs create an environment once; an environment is used only after it was completely installed.
    """

    def __init__(
        self,
        folder: Path | None = None,
        *,
        notice: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
        base_python: str = sys.executable,
        packages: Mapping[str, tuple[str, ...]] = IMAGE_PACKAGES,
    ) -> None:
        self.folder = Path(folder or os.environ.get(IMAGES_DIR_VARIABLE) or default_images_dir())
        self.notice = notice
        self.base_python = base_python
        self.packages = packages
        self._noticed: set[str] = set()

    def requirements(self, docker_image: str) -> tuple[str, tuple[str, ...]]:
        """The image whose package list applies, and that list (unknown or missing images: the base set)."""
        name = image_name(docker_image)
        if name in self.packages:
            return name, self.packages[name]
        if name not in self._noticed:
            self._noticed.add(name)
            what = f"image {docker_image!r}" if docker_image else "no dockerimage"
            self.notice(f"notice: {what} has no local package list; running with the {BASE_IMAGE} packages")
        return BASE_IMAGE, self.packages[BASE_IMAGE]

    def python_for(self, docker_image: str) -> str:
        """The interpreter of the image's environment, created on first use."""
        name, packages = self.requirements(docker_image)
        pinned = (*packages, *_ENGINE_NEEDS)
        digest = hashlib.sha256("\n".join(sorted(pinned)).encode()).hexdigest()[:12]
        target = self.folder / f"{name.replace('/', '_')}-{digest}"
        python = target / "bin" / "python"
        if (target / READY_MARK).is_file():
            return str(python)
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / ".create.lock", "a", encoding="utf-8") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (target / READY_MARK).is_file():
                self._create(name, target, pinned)
        return str(python)

    def _create(self, name: str, target: Path, pinned: tuple[str, ...]) -> None:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(target)  # a half-made environment from an interrupted run
        print(f"setting up the environment of {name} in {target} (once)", file=sys.stderr)
        steps = [
            [self.base_python, "-m", "venv", str(target)],
            [str(target / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *pinned],
        ]
        for step in steps:
            try:
                completed = subprocess.run(step, capture_output=True, text=True, check=False)
                failure = (
                    (completed.stderr.strip().splitlines() or ["unknown error"])[-1] if completed.returncode else ""
                )
            except OSError as error:
                failure = f"cannot start {step[0]}: {error.strerror or error}"
            if failure:
                shutil.rmtree(target, ignore_errors=True)
                reason = failure
                raise ImageError(
                    f"cannot create the environment of {name} ({reason}): reach the package index once, or set "
                    f"{IMAGES_VARIABLE}=off to run in the toolkit's own environment"
                )
        (target / READY_MARK).write_text("\n".join(pinned) + "\n", encoding="utf-8")


def python_chooser(environ: Mapping[str, str] = os.environ) -> Callable[[str], str]:
    """What the engine runs code with: the image's environment, or (XSOAR_LOCAL_IMAGES=off) this interpreter."""
    if environ.get(IMAGES_VARIABLE, "").strip().lower() in ("off", "0", "false", "no"):
        return lambda _image: sys.executable
    return ImageEnvironments().python_for
