"""Where the shop keeps data that must survive host rebuilds: the shared data dir."""
import os
import re
from pathlib import Path

# The release dir: the parent of this package (on a host, /srv/apps/shop/releases/<id>).
RELEASE_DIR = Path(__file__).resolve().parent.parent

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def data_dir() -> Path:
    """$SHOP_DATA_DIR, relative to the release dir unless absolute (default: data, the shared dir linked into the release)."""
    return RELEASE_DIR / os.environ.get("SHOP_DATA_DIR", "data")


def queue_dir(state: str) -> Path:
    """queue/incoming, queue/processing and queue/done under the data dir."""
    return data_dir() / "queue" / state


def safe_name(name: str) -> str:
    """A file name that stays inside its directory, or ValueError."""
    if not NAME.match(name):
        raise ValueError(f"bad name {name!r}: use letters, digits, '.', '_' or '-'")
    return name


def write_atomically(path: Path, data: bytes) -> None:
    """Write through a temp file and rename, so readers on other hosts never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
