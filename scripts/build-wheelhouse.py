#!/usr/bin/python3
"""Builds an app's wheelhouse offline: every requirement of a requirements.txt, and everything it
needs, as a wheel, so that `pip install --no-index --find-links WHEELHOUSE -r requirements.txt`
works with no package index.

Where a requirement comes from: the first of these routes with a version that fits it.
  1. a library of the repository (--lib DIR: a dir with a pyproject.toml [project] table), the
     highest version that satisfies the requirement;
  2. the app's committed wheels and sdists (--wheels DIR, the app's wheels/), the highest version
     that fits (a wheel before an sdist of the same version; a wheel for another Python or
     platform is passed over); an sdist is built into a wheel offline, its build backend from
     Debian's setuptools wheel or from the same dir;
  3. a wheel Debian already ships in /usr/share/python-wheels (pip, setuptools: python3-venv's);
  4. a distribution Debian installed in /usr/lib/python3/dist-packages (python3-flask, ...);
  5. the package index (--index-urls FILE: PyPI or a private index, one URL a line, the first pip's
     index-url, the rest extra-index-url; a file, so a token in a URL is in no argv), pinned by hash:
     the committed lock (--lock, the app's requirements.lock) names the version and sha256 of
     each package taken from it, and pip downloads exactly that file with --require-hashes. A
     package the lock does not pin (or pins at a version that no longer fits) is an error, unless
     --write-lock FILE is given: then pip picks the highest fitting version, its sha256 is taken,
     and FILE receives the lock of this resolution ("lockChanged" in the report says whether it
     differs from --lock's).
Wheels of routes 2 and 5 bring their own requirements (Requires-Dist), resolved the same way.
Debian strips install_requires from the metadata it installs and moves them into the package's
Depends, so a Debian distribution's dependencies are its metadata's requirements plus the
python3-* packages its Debian package depends on; the wheel's METADATA lists both.

Wheels are pure (py3-none-any) where possible. A distribution with compiled extensions
(python3-psycopg2, python3-yaml) becomes a platform wheel tagged for the running interpreter
(cp313-cp313-linux_x86_64 on Debian 13), with Root-Is-Purelib: false and its .so files: fawkes
build runs this script in the golden image, where the venv is built too, so the same Python loads
them, and the Debian packages they link against
(libpq5, ...) are reported as needsDebianPackages for the image to install. A compiled file
built for another Python fails the build. An optional accelerator with a pure-Python fallback
(OPTIONAL_ACCELERATORS) is left out instead, so that package stays pure, and reported. Every
wheel is byte-for-byte reproducible: fixed timestamps, sorted entries, fixed modes.

fawkes build runs it in the golden image; by hand, with a Debian's /usr/bin/python3 (it reads
Debian's dist-packages and asks dpkg-query):
  /usr/bin/python3 scripts/build-wheelhouse.py --requirements examples/flask-shop/requirements.txt \
      --lib examples/libs/fawkes-greeting-1 --lib examples/libs/fawkes-greeting-2 --out /tmp/wh
Prints a JSON report (also written to --report FILE); exit 1 with a message on any problem.
"""
import argparse
import base64
import functools
import hashlib
import importlib.metadata
import json
import os
import re
import email.parser
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import tomllib
import zipfile
from pathlib import Path

try:
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.tags import sys_tags
    from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, parse_sdist_filename, parse_wheel_filename
    from packaging.version import InvalidVersion, Version
except ImportError:
    sys.exit("error: the Python module 'packaging' is missing: apt-get install python3-packaging")

SITE = Path("/usr/lib/python3/dist-packages")
PYTHON_WHEELS = Path("/usr/share/python-wheels")
# 1980-01-01, the earliest time a zip entry can hold: every wheel entry gets it.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
# Compiled files left out of a pure wheel because the package falls back to pure Python without them.
OPTIONAL_ACCELERATORS = {"markupsafe": re.compile(r"^markupsafe/_speedups\..*\.so$")}
# Debian packages that install a Python package without its distribution metadata.
DEBIAN_WITHOUT_METADATA = {"python3-pkg-resources": "setuptools"}
COMPILED = re.compile(r"\.(so|pyd|dylib)$|\.so\.")
# The ABI an extension module's name says it was built for: _psycopg.cpython-311-x86_64-linux-gnu.so.
EXTENSION_ABI = re.compile(r"\.(cpython-[^./]+)\.so$")
PURE_TAG = "py3-none-any"
SDIST = re.compile(r"\.(tar\.gz|zip)$")
LOCK_HEADER = (
    "# Packages this app takes from the package index, each pinned to one file by its sha256.\n"
    "# Written by fawkes build (scripts/build-wheelhouse.py --write-lock); commit it with the app:\n"
    "# the release id covers it, and builds download exactly these files.\n"
)
INTERPRETER = re.compile(r"^python3(\.\d+)?(-minimal)?$")


class Problem(Exception):
    pass


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def escaped(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def dpkg(*args: str) -> str:
    r = subprocess.run(["dpkg-query", *args], capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else ""


@functools.cache
def platform_tag() -> str:
    """The running interpreter's tag for its plain platform: cp313-cp313-linux_x86_64.

    Not the first of sys_tags() (manylinux_2_36_x86_64): Debian's extensions link against Debian's
    shared libraries (libpq.so.5) instead of bundling them, so they run on this Debian release only.
    """
    plain = re.sub(r"[-.]", "_", sysconfig.get_platform())
    tag = next((t for t in sys_tags() if t.platform == plain), None)
    if tag is None:
        raise Problem(f"this Python ({sys.executable}) has no wheel tag for its platform {plain}")
    return str(tag)


def extras_of(requires: list[str]) -> list[str]:
    return sorted({m for r in requires for m in re.findall(r"extra\s*==\s*[\"']([^\"']+)[\"']", r)})


def applies(req: Requirement, extras: set[str]) -> bool:
    """Whether a requirement applies on this Python (the golden image's) for the given extras."""
    if req.marker is None:
        return True
    return any(req.marker.evaluate({"extra": e}) for e in (extras or {""}) | {""})


class Provider:
    """One distribution that goes into the wheelhouse, and how to make its wheel."""

    source = ""

    def __init__(self, name: str, version: str):
        self.name, self.version = name, version
        self.required_by: list[str] = []
        self.dropped: list[str] = []
        self.extra_info: dict[str, str] = {}

    def requirements(self) -> list[str]:
        return []

    def build(self, out: Path) -> Path:
        raise NotImplementedError


class RepoLibrary(Provider):
    source = "repository"

    def __init__(self, root: Path):
        try:
            project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
            super().__init__(project["name"], str(project["version"]))
        except (OSError, KeyError, tomllib.TOMLDecodeError) as e:
            raise Problem(f"{root}/pyproject.toml: needs a [project] table with name and version ({e})") from None
        self.root, self.project = root, project
        self.extra_info = {"path": str(root)}

    def requirements(self) -> list[str]:
        return list(self.project.get("dependencies", []))

    def build(self, out: Path) -> Path:
        files: dict[str, Path] = {}
        for entry in sorted(self.root.iterdir()):
            if entry.is_dir() and (entry / "__init__.py").is_file():
                for f in entry.rglob("*"):
                    if f.is_file() and "__pycache__" not in f.parts and f.suffix != ".pyc":
                        files[f.relative_to(self.root).as_posix()] = f
            elif entry.suffix == ".py" and entry.name != "setup.py":
                files[entry.name] = entry
        if not files:
            raise Problem(f"{self.root}: no Python package (a dir with __init__.py) or module to put in a wheel")
        p = self.project
        meta = ["Metadata-Version: 2.1", f"Name: {p['name']}", f"Version: {p['version']}"]
        if p.get("description"):
            meta.append(f"Summary: {p['description']}")
        if p.get("requires-python"):
            meta.append(f"Requires-Python: {p['requires-python']}")
        meta += [f"Requires-Dist: {r}" for r in self.requirements()]
        return write_wheel(out, self.name, self.version, files, "\n".join(meta) + "\n\n", {})


class PythonWheel(Provider):
    """A wheel Debian ships as a file (python3-pip-whl, python3-setuptools-whl): copied as it is."""

    source = "python-wheels"

    def __init__(self, path: Path):
        name, version = path.name.split("-")[:2]
        super().__init__(name, version)
        self.path = path
        self.extra_info = {"path": str(path)}

    def build(self, out: Path) -> Path:
        target = out / self.path.name
        target.write_bytes(self.path.read_bytes())
        return target


class DebianDistribution(Provider):
    source = "debian"

    def __init__(self, dist: importlib.metadata.Distribution):
        super().__init__(dist.metadata["Name"], dist.version)
        self.dist = dist
        self.meta_dir = Path(str(dist._path))  # type: ignore[attr-defined]
        owner = dpkg("-S", str(self.meta_dir)).split(":")[0].strip()
        if not owner:
            raise Problem(f"{self.name} {self.version} in {self.meta_dir} belongs to no Debian package: fawkes takes only Debian's")
        self.package = owner
        version, _, depends = dpkg("-W", "-f", "${Version}\n${Depends}", owner).partition("\n")
        self.depends = depends
        self.extra_info = {"debianPackage": owner, "debianVersion": version}

    @functools.cached_property
    def debian_requirements(self) -> list[str]:
        """Distributions the Debian package depends on (Debian's stand-in for install_requires)."""
        names = []
        for group in filter(None, (g.strip() for g in self.depends.split(","))):
            alternatives = [re.split(r"[\s(:]", a.strip())[0] for a in group.split("|")]
            if any(INTERPRETER.match(a) for a in alternatives):
                continue  # satisfied by the interpreter itself (python3, python3 (>> 3.10), ...)
            for alt in alternatives:
                if not alt.startswith("python3-"):
                    continue  # not Python: libc6, libjs-jquery, ...
                if "install ok installed" not in dpkg("-W", "-f", "${Status}", alt):
                    continue
                names.append(dist_name_of_package(alt, self.package))
                break
        return names

    def requirements(self) -> list[str]:
        return list(self.dist.requires or []) + self.debian_requirements

    def build(self, out: Path) -> Path:
        listed = [Path(p) for p in dpkg("-L", self.package).splitlines()]
        meta_dirs = [p for p in listed if p.parent == SITE and p.suffix in (".dist-info", ".egg-info")]
        top = None
        if len(meta_dirs) > 1:
            top = set((self.meta_dir / "top_level.txt").read_text().split()) if (self.meta_dir / "top_level.txt").exists() else None
        files: dict[str, Path] = {}
        compiled: list[str] = []
        for path in listed:
            if SITE not in path.parents or any(m == path or m in path.parents for m in meta_dirs):
                continue
            rel = path.relative_to(SITE).as_posix()
            if (top is not None and rel.split("/")[0].split(".")[0] not in top) or "__pycache__" in rel:
                continue
            if path.is_symlink() and not path.exists():
                raise Problem(f"{self.name}: {path} links to {os.readlink(path)}, which is missing: install the Debian package that ships it")
            if not path.is_file():
                continue
            if COMPILED.search(rel):
                accel = OPTIONAL_ACCELERATORS.get(canonical(self.name))
                if accel and accel.match(rel):
                    self.dropped.append(rel)
                    continue
                abi = EXTENSION_ABI.search(rel)
                if abi and not rel.endswith(sysconfig.get_config_var("EXT_SUFFIX")):
                    raise Problem(
                        f"{self.name} {self.version} (Debian package {self.package}) ships {rel}, built for {abi.group(1)}, "
                        f"not for this Python ({sysconfig.get_config_var('EXT_SUFFIX')}): run with the golden image's Python"
                    )
                compiled.append(rel)
            files[rel] = path
        meta_text = self.metadata_text()
        info = {n: (self.meta_dir / n).read_text() for n in ("entry_points.txt", "top_level.txt") if (self.meta_dir / n).is_file()}
        if not compiled:
            return write_wheel(out, self.name, self.version, files, meta_text, info)
        self.extra_info = {**self.extra_info, "tag": platform_tag(), "compiled": compiled, "needsDebianPackages": self.native_depends()}
        return write_wheel(out, self.name, self.version, files, meta_text, info, platform_tag())

    def native_depends(self) -> list[str]:
        """Debian's non-Python dependencies (libc6, libpq5): what the compiled files link against."""
        groups = []
        for group in filter(None, (g.strip() for g in self.depends.split(","))):
            alternatives = [re.split(r"[\s(:]", a.strip())[0] for a in group.split("|")]
            if not any(INTERPRETER.match(a) or a.startswith("python3-") for a in alternatives):
                groups.append(" | ".join(alternatives))
        return sorted(set(groups))

    def metadata_text(self) -> str:
        """The installed PKG-INFO/METADATA with Requires-Dist restored (Debian's dependencies included)."""
        raw = (self.meta_dir / ("METADATA" if self.meta_dir.suffix == ".dist-info" else "PKG-INFO")).read_text()
        head, sep, body = raw.partition("\n\n")
        headers: list[str] = []
        for line in head.splitlines():
            if line[:1] in (" ", "\t") and headers:
                headers[-1] += "\n" + line
            else:
                headers.append(line)
        drop = ("metadata-version:", "requires-dist:", "provides-extra:")
        kept = [h for h in headers if not h.lower().startswith(drop)]
        requires = self.requirements()
        version = re.search(r"^Metadata-Version:\s*(\S+)", raw, re.M)
        mv = version.group(1) if version and Version(version.group(1)) >= Version("2.1") else "2.1"
        lines = [f"Metadata-Version: {mv}", *kept, *(f"Provides-Extra: {e}" for e in extras_of(requires)), *(f"Requires-Dist: {r}" for r in requires)]
        return "\n".join(lines) + "\n\n" + (body if sep else "")


def wheel_requirements(path: Path) -> list[str]:
    """Requires-Dist of a wheel file, from its METADATA."""
    try:
        with zipfile.ZipFile(path) as z:
            meta = [n for n in z.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)]
            if len(meta) != 1:
                raise Problem(f"{path.name} is not a wheel: it holds {len(meta)} .dist-info/METADATA files")
            text = z.read(meta[0]).decode()
    except (OSError, zipfile.BadZipFile, UnicodeDecodeError) as e:
        raise Problem(f"{path.name} is not a readable wheel: {e}") from None
    return email.parser.Parser().parsestr(text, headersonly=True).get_all("Requires-Dist") or []


def fits_here(wheel: Path) -> bool:
    """Whether this Python (the golden image's) can install the wheel."""
    _, _, _, tags = parse_wheel_filename(wheel.name)
    return bool(set(map(str, tags)) & here_tags())


@functools.cache
def here_tags() -> frozenset[str]:
    return frozenset(map(str, sys_tags()))


class Pip:
    """pip from Debian's own wheel (python3-pip-whl), run by this Python: no pip is installed anywhere."""

    def __init__(self) -> None:
        found = sorted(PYTHON_WHEELS.glob("pip-*.whl"))
        self.wheel = found[-1] if found else None

    def run(self, args: list[str], what: str, index: list[str] | None = None) -> None:
        """pip with `args`; the index URLs, when given, in its environment (never its argv), else none at all."""
        if self.wheel is None:
            raise Problem(f"{what}: needs pip, and {PYTHON_WHEELS} holds no pip wheel (Debian's python3-pip-whl)")
        env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1", "PIP_NO_CACHE_DIR": "1", "PIP_CONFIG_FILE": os.devnull}
        for k in ("PIP_NO_INDEX", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
            env.pop(k, None)
        if index:
            env["PIP_INDEX_URL"] = index[0]
            env["PIP_EXTRA_INDEX_URL"] = " ".join(index[1:])
        else:
            env["PIP_NO_INDEX"] = "1"
        r = subprocess.run([sys.executable, f"{self.wheel}/pip", *args], capture_output=True, text=True, env=env)
        if r.returncode != 0:
            tail = "\n".join((r.stderr.strip() or r.stdout.strip()).splitlines()[-12:])
            raise PipFailed(what, tail)


class PipFailed(Problem):
    def __init__(self, what: str, output: str):
        super().__init__(f"{what}: pip failed:\n{output}")
        self.output = output


def build_sdist(pip: Pip, sdist: Path, find_links: list[Path], what: str) -> Path:
    """An sdist built into a wheel offline: its build backend from find_links only (Debian's setuptools wheel, the app's wheels/)."""
    out = Path(tempfile.mkdtemp(prefix="fawkes-sdist-"))
    links = [a for d in find_links if d.is_dir() for a in ("--find-links", str(d))]
    pip.run(["wheel", "--no-deps", "--wheel-dir", str(out), *links, str(sdist)], f"building {what} into a wheel")
    built = sorted(out.glob("*.whl"))
    if len(built) != 1:
        raise Problem(f"building {what} into a wheel gave {len(built)} wheels")
    return built[0]


class WheelFile(Provider):
    """A wheel file as it is: committed in the app's wheels/, built from an sdist there, or downloaded from the index."""

    def __init__(self, path: Path, source: str, info: dict[str, str]):
        name, version, _, _ = parse_wheel_filename(path.name)
        meta_name = wheel_metadata_name(path)
        super().__init__(meta_name or str(name), str(version))
        self.path, self.source = path, source
        self.extra_info = info
        self._requires = wheel_requirements(path)

    def requirements(self) -> list[str]:
        return self._requires

    def build(self, out: Path) -> Path:
        target = out / self.path.name
        shutil.copyfile(self.path, target)
        return target


def wheel_metadata_name(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as z:
            meta = next(n for n in z.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n))
            return email.parser.Parser().parsestr(z.read(meta).decode(), headersonly=True).get("Name")
    except (StopIteration, OSError, zipfile.BadZipFile, UnicodeDecodeError):
        return None


class Committed:
    """The app's committed wheels and sdists (route 2), by canonical name."""

    def __init__(self, root: Path | None, pip: Pip):
        self.root, self.pip = root, pip
        self.files: dict[str, list[tuple[Version, int, Path]]] = {}
        self.passed_over: list[str] = []
        if root is None or not root.is_dir():
            return
        for f in sorted(root.iterdir()):
            try:
                if f.suffix == ".whl":
                    name, version, _, _ = parse_wheel_filename(f.name)
                    if not fits_here(f):
                        self.passed_over.append(f.name)
                        continue
                    rank = 1
                elif SDIST.search(f.name):
                    name, version = parse_sdist_filename(f.name)
                    rank = 0
                else:
                    continue
            except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion) as e:
                raise Problem(f"{root.name}/{f.name}: not a wheel or sdist file name ({e}); name them as pip does, like demo-1.0-py3-none-any.whl or demo-1.0.tar.gz") from None
            self.files.setdefault(canonical(str(name)), []).append((version, rank, f))

    def find(self, req: Requirement, by: str) -> Provider | None:
        fits = sorted(c for c in self.files.get(canonical(req.name), []) if req.specifier.contains(c[0], prereleases=True))
        if not fits:
            return None
        _, rank, path = fits[-1]
        where = f"{self.root.name}/{path.name}"  # type: ignore[union-attr]
        if rank == 1:
            return WheelFile(path, "wheels", {"path": where})
        wheel = build_sdist(self.pip, path, [PYTHON_WHEELS, self.root], f"{by}'s requirement {req} from the committed sdist {where}")  # type: ignore[list-item]
        return WheelFile(wheel, "wheels", {"path": where, "builtFrom": "sdist"})


class Index:
    """The package index (route 5): only files the lock pins by sha256, unless a new lock is being written."""

    def __init__(self, urls: list[str], lock: dict[str, tuple[str, str]], lock_name: str, pip: Pip, writing: bool, committed: Path | None):
        self.urls, self.lock, self.lock_name, self.pip, self.writing, self.committed = urls, lock, lock_name, pip, writing, committed
        self.used: dict[str, tuple[str, str, str]] = {}

    def shown(self) -> str:
        return ", ".join(redacted(u) for u in self.urls) if self.urls else "none configured"

    def find(self, req: Requirement, by: str) -> Provider:
        name = canonical(req.name)
        locked = self.lock.get(name)
        route = f"the package index ({self.shown()})"
        if not self.urls:
            raise Problem(
                f"{by} requires {req}: no route has it: no repository library, nothing in the app's wheels/, no Debian package in the image "
                f"(apt-cache search python3-{name}; add it to image/recipe.yaml), and no package index is configured (index-url in pip's configuration, or PIP_INDEX_URL)"
            )
        dest = Path(tempfile.mkdtemp(prefix="fawkes-index-"))
        if locked is not None and req.specifier.contains(locked[0], prereleases=True):
            version, sha = locked
            pins = dest / "pinned.txt"
            pins.write_text(f"{req.name}=={version} --hash=sha256:{sha}\n")
            try:
                self.pip.run(["download", "--no-deps", "--require-hashes", "--dest", str(dest / "dl"), "--retries", "1", "--timeout", "20", "--find-links", str(PYTHON_WHEELS), "-r", str(pins)], f"{req.name} {version} from {route}", self.urls)
            except PipFailed as e:
                if "DO NOT MATCH THE HASHES" in e.output:
                    raise Problem(f"{by} requires {req}: {route} serves {req.name} {version} with another sha256 than {self.lock_name} pins ({sha}); nothing was installed. If the new file is trusted, remove its line from {self.lock_name} and build again to pin it anew:\n{e.output}") from None
                raise Problem(f"{by} requires {req}: {self.lock_name} pins {req.name} {version}, which {route} did not give:\n{e.output}") from None
        elif self.writing:
            try:
                self.pip.run(["download", "--no-deps", "--dest", str(dest / "dl"), "--retries", "1", "--timeout", "20", "--find-links", str(PYTHON_WHEELS), f"{req.name}{req.specifier}"], f"{req.name}{req.specifier} from {route}", self.urls)
            except PipFailed as e:
                if "No matching distribution" in e.output or "from versions: none" in e.output:
                    raise Problem(f"{by} requires {req}: no route has it: no repository library, nothing in the app's wheels/, no Debian package in the image, and {route} has no version that fits:\n{e.output}") from None
                raise Problem(f"{by} requires {req}: {route} failed:\n{e.output}") from None
        else:
            pinned = f" at {locked[0]}, which does not fit" if locked is not None else ""
            raise Problem(f"{by} requires {req}: it comes from {route}, and {self.lock_name} pins no file of {req.name}{pinned}: fawkes build writes the pins; commit {self.lock_name} and build again")
        files = sorted((dest / "dl").iterdir())
        if len(files) != 1:
            raise Problem(f"{req.name} from {route}: pip downloaded {len(files)} files")
        got = files[0]
        sha = hashlib.sha256(got.read_bytes()).hexdigest()
        info = {"downloaded": got.name, "index": self.shown(), "downloadSha256": sha}
        wheel = got if got.suffix == ".whl" else build_sdist(self.pip, got, [PYTHON_WHEELS, *([self.committed] if self.committed else [])], f"{by}'s requirement {req} from the sdist {got.name} of {route}")
        if got.suffix != ".whl":
            info["builtFrom"] = "sdist"
        p = WheelFile(wheel, "index", info)
        self.used[name] = (p.name, p.version, sha)
        return p

    def lock_text(self) -> str:
        return LOCK_HEADER + "".join(f"{n}=={v} --hash=sha256:{h}\n" for n, v, h in sorted(self.used.values(), key=lambda e: canonical(e[0])))


def redacted(url: str) -> str:
    """A URL without the user and password it may carry (a private index's token)."""
    return re.sub(r"^([a-z+]+://)[^/@]*@", r"\1", url)


def read_lock(path: Path | None) -> dict[str, tuple[str, str]]:
    if path is None or not path.is_file():
        return {}
    pins: dict[str, tuple[str, str]] = {}
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)\s+--hash=sha256:([0-9a-f]{64})", line)
        if m is None:
            raise Problem(f"{path.name}:{n}: {line!r} is not a pin; each line is NAME==VERSION --hash=sha256:<64 hex>")
        pins[canonical(m.group(1))] = (m.group(2), m.group(3))
    return pins


def dist_name_of_package(package: str, wanted_by: str) -> str:
    if package in DEBIAN_WITHOUT_METADATA:
        return DEBIAN_WITHOUT_METADATA[package]
    for line in dpkg("-L", package).splitlines():
        p = Path(line)
        if p.parent == SITE and p.suffix in (".dist-info", ".egg-info"):
            return importlib.metadata.Distribution.at(p).metadata["Name"]
    raise Problem(f"Debian package {package} (a dependency of {wanted_by}) installs no Python distribution metadata; fawkes cannot name it in a wheel")


def write_wheel(out: Path, name: str, version: str, files: dict[str, Path], metadata: str, info: dict[str, str], tag: str = PURE_TAG) -> Path:
    """A reproducible wheel (pure unless a platform tag is given): fixed times and modes, sorted entries, RECORD last."""
    dist_info = f"{escaped(name)}-{version}.dist-info"
    entries: list[tuple[str, bytes, int]] = []
    for rel in sorted(files):
        path = files[rel]
        entries.append((rel, path.read_bytes(), 0o755 if os.stat(path).st_mode & 0o111 else 0o644))
    purelib = "true" if tag == PURE_TAG else "false"
    wheel = f"Wheel-Version: 1.0\nGenerator: fawkes scripts/build-wheelhouse.py\nRoot-Is-Purelib: {purelib}\nTag: {tag}\n"
    meta = {"METADATA": metadata, "WHEEL": wheel, **info}
    entries += [(f"{dist_info}/{n}", meta[n].encode(), 0o644) for n in sorted(meta)]
    record = "".join(
        f"{rel},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}\n" for rel, data, _ in entries
    ) + f"{dist_info}/RECORD,,\n"
    entries.append((f"{dist_info}/RECORD", record.encode(), 0o644))
    target = out / f"{escaped(name)}-{version.replace('-', '_')}-{tag}.whl"
    tmp = target.with_suffix(".partial")
    with zipfile.ZipFile(tmp, "w") as z:
        for rel, data, mode in entries:
            zi = zipfile.ZipInfo(rel, ZIP_TIME)
            zi.create_system = 3
            zi.external_attr = (0o100000 | mode) << 16
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, data, compresslevel=9)
    tmp.rename(target)
    return target


class Resolver:
    def __init__(self, libs: list[Path], committed: "Committed | None", index: "Index"):
        self.libs = [RepoLibrary(p) for p in libs]
        self.committed, self.index = committed, index
        self.wheels = {canonical(p.name.split("-")[0]): p for p in sorted(PYTHON_WHEELS.glob("*.whl"))} if PYTHON_WHEELS.is_dir() else {}
        self.debian = {canonical(d.metadata["Name"]): d for d in importlib.metadata.distributions(path=[str(SITE)])}
        self.chosen: dict[str, Provider] = {}
        self.extras: dict[str, set[str]] = {}

    def find(self, req: Requirement, by: str) -> Provider:
        name = canonical(req.name)
        libs = [lib for lib in self.libs if canonical(lib.name) == name]
        fits = sorted((lib for lib in libs if req.specifier.contains(lib.version, prereleases=True)), key=lambda lib: Version(lib.version))
        if fits:
            return fits[-1]
        if libs:
            have = ", ".join(f"{lib.version} ({lib.root})" for lib in libs)
            raise Problem(f"{by} requires {req}; the repository's {req.name} libraries are {have}: none fits")
        committed = self.committed.find(req, by) if self.committed else None
        if committed is not None:
            return committed
        if name in self.wheels:
            wheel = PythonWheel(self.wheels[name])
            if req.specifier.contains(wheel.version, prereleases=True):
                return wheel
        if name in self.debian:
            dist = DebianDistribution(self.debian[name])
            if req.specifier.contains(dist.version, prereleases=True):
                return dist
            if not self.index.urls:
                raise Problem(f"{by} requires {req}; Debian has {dist.name} {dist.version} ({dist.package}), which does not fit, and no package index is configured")
        return self.index.find(req, by)

    def add(self, req: Requirement, by: str, extras: set[str]) -> None:
        if not applies(req, extras):
            return
        name = canonical(req.name)
        have = self.chosen.get(name)
        if have is None:
            have = self.chosen[name] = self.find(req, by)
            self.extras[name] = set()
        elif not req.specifier.contains(have.version, prereleases=True):
            raise Problem(f"{by} requires {req}, but {have.name} {have.version} was chosen for {', '.join(have.required_by)}")
        have.required_by.append(by)
        new = set(req.extras) - self.extras[name]
        if new or len(have.required_by) == 1:
            self.extras[name] |= new
            for r in have.requirements():
                self.add(parse(r, f"{have.name} {have.version}"), f"{have.name} {have.version}", self.extras[name])


def parse(line: str, where: str) -> Requirement:
    try:
        return Requirement(line)
    except InvalidRequirement as e:
        raise Problem(f"{where}: {line!r} is not a requirement: {e}") from None


def read_requirements(path: Path) -> list[Requirement]:
    reqs = []
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        if line.startswith("-"):
            raise Problem(f"{path}:{n}: {line!r}: options (-r, -e, --index-url, ...) are not supported; list requirements only")
        reqs.append(parse(line, f"{path}:{n}"))
    return reqs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requirements", required=True, type=Path, help="the app's requirements.txt")
    ap.add_argument("--out", required=True, type=Path, help="the wheelhouse dir to create (must not hold wheels yet)")
    ap.add_argument("--lib", action="append", default=[], type=Path, help="a repository library dir (pyproject.toml); repeatable")
    ap.add_argument("--report", type=Path, help="also write the JSON report here")
    ap.add_argument("--wheels", type=Path, help="the app's committed wheels and sdists (route 2); a missing dir is none")
    ap.add_argument("--index-urls", type=Path, help="the package index (route 5): a file of URLs, one a line, the first pip's index-url, the rest extra-index-url")
    ap.add_argument("--lock", type=Path, help="the committed lock: NAME==VERSION --hash=sha256:HEX per package from the index; a missing file pins nothing")
    ap.add_argument("--write-lock", type=Path, help="pin what the lock lacks from the index, and write the lock of this resolution here")
    args = ap.parse_args()
    try:
        if Path(sys.prefix) != Path("/usr"):
            raise Problem(f"run with Debian's /usr/bin/python3 (this is {sys.executable}): the wheels come from Debian's dist-packages")
        if args.out.exists() and any(args.out.glob("*.whl")):
            raise Problem(f"{args.out} already holds wheels; give an empty or new dir")
        pip = Pip()
        lock = read_lock(args.lock)
        committed = Committed(args.wheels, pip) if args.wheels else None
        urls = [u.strip() for u in args.index_urls.read_text().splitlines() if u.strip()] if args.index_urls else []
        index = Index(urls, lock, args.lock.name if args.lock else "the lock", pip, args.write_lock is not None, args.wheels)
        resolver = Resolver(args.lib, committed, index)
        for req in read_requirements(args.requirements):
            resolver.add(req, args.requirements.name, set())
        args.out.mkdir(parents=True, exist_ok=True)
        wheels = []
        for name in sorted(resolver.chosen):
            p = resolver.chosen[name]
            path = p.build(args.out)
            wheels.append({
                "name": p.name, "version": p.version, "file": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                "source": p.source, **p.extra_info, "requiredBy": sorted(set(p.required_by)), **({"dropped": p.dropped} if p.dropped else {}),
            })
    except Problem as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    extra: dict[str, object] = {}
    if committed and committed.passed_over:
        extra["passedOver"] = committed.passed_over
    if args.write_lock is not None:
        text = index.lock_text()
        args.write_lock.write_text(text)
        extra["lockChanged"] = {k: (v[1], v[2]) for k, v in index.used.items()} != lock
    report = json.dumps({"python": ".".join(map(str, sys.version_info[:3])), "wheels": wheels, **extra}, indent=2) + "\n"
    if args.report:
        args.report.write_text(report)
    sys.stdout.write(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
