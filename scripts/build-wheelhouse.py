#!/usr/bin/python3
"""Builds an app's wheelhouse offline: every requirement of a requirements.txt, and everything it
needs, as a wheel, so that `pip install --no-index --find-links WHEELHOUSE -r requirements.txt`
works with no package index.

Where a requirement comes from, in this order:
  1. a library of the repository (--lib DIR: a dir with a pyproject.toml [project] table), the
     highest version that satisfies the requirement;
  2. a wheel Debian already ships in /usr/share/python-wheels (pip, setuptools: python3-venv's);
  3. a distribution Debian installed in /usr/lib/python3/dist-packages (python3-flask, ...).
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
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

try:
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.tags import sys_tags
    from packaging.version import Version
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
    def __init__(self, libs: list[Path]):
        self.libs = [RepoLibrary(p) for p in libs]
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
        if name in self.wheels:
            wheel = PythonWheel(self.wheels[name])
            if req.specifier.contains(wheel.version, prereleases=True):
                return wheel
        if name not in self.debian:
            raise Problem(
                f"{by} requires {req}: no repository library (--lib) and no Debian-installed distribution is named {req.name}; "
                f"install its Debian package (apt-cache search python3-{name}) and add it to scripts/debian-packages.txt"
            )
        dist = DebianDistribution(self.debian[name])
        if not req.specifier.contains(dist.version, prereleases=True):
            raise Problem(f"{by} requires {req}; Debian has {dist.name} {dist.version} ({dist.package}), which does not fit")
        return dist

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
    args = ap.parse_args()
    try:
        if Path(sys.prefix) != Path("/usr"):
            raise Problem(f"run with Debian's /usr/bin/python3 (this is {sys.executable}): the wheels come from Debian's dist-packages")
        if args.out.exists() and any(args.out.glob("*.whl")):
            raise Problem(f"{args.out} already holds wheels; give an empty or new dir")
        resolver = Resolver(args.lib)
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
    report = json.dumps({"python": ".".join(map(str, sys.version_info[:3])), "wheels": wheels}, indent=2) + "\n"
    if args.report:
        args.report.write_text(report)
    sys.stdout.write(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
