"""The kernel calls of a local host's start that no command-line tool of Debian 12 makes.

Run by the machine's python3 as root, from src/local/host.ts's launch script:

  host-launch.py idmap BASE COUNT SOURCE TARGET ro|rw [SOURCE TARGET ro|rw ...]
      Bind-mounts each SOURCE at TARGET through an idmapped mount: a file owned by uid (gid) N
      on disk is seen as BASE+N, so root inside a host whose user namespace maps 0 to BASE owns
      what the machine's root owns there, and nobody else's files become a host's.

  host-launch.py enter ROOT HOSTNAME CAPS BASE COUNT -- INIT [NAME=VALUE ...]
      Becomes the host's pid 1: new UTS and IPC namespaces, and when COUNT > 0 a user namespace
      mapping 0..COUNT-1 to BASE..BASE+COUNT-1 with its own mount namespace (every mount made
      before is locked in: root there can neither unmount nor remount them). Then pivot_root
      into ROOT, the old root detached, the hostname set, the bounding set cut to CAPS (comma
      separated names, or all), and INIT executed with exactly the environment given.

Facts, not guesses: syscall numbers are x86_64's and aarch64's (the new mount API and
pivot_root share one table since 5.2 on both but for pivot_root itself).
"""

import ctypes
import os
import platform
import sys

libc = ctypes.CDLL(None, use_errno=True)

ARCH = platform.machine()
SYS = {
    "x86_64": {"open_tree": 428, "move_mount": 429, "mount_setattr": 442, "pivot_root": 155, "unshare": 272},
    "aarch64": {"open_tree": 428, "move_mount": 429, "mount_setattr": 442, "pivot_root": 41, "unshare": 97},
}[ARCH]

AT_FDCWD = -100
AT_EMPTY_PATH = 0x1000
AT_RECURSIVE = 0x8000
OPEN_TREE_CLONE = 1
OPEN_TREE_CLOEXEC = 0o2000000
MOVE_MOUNT_F_EMPTY_PATH = 0x4
MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2
MOUNT_ATTR_NODEV = 0x4
MOUNT_ATTR_IDMAP = 0x100000
MNT_DETACH = 2
MS_BIND = 0x1000
MS_REC = 0x4000
CLONE_NEWNS = 0x20000
CLONE_NEWUTS = 0x4000000
CLONE_NEWIPC = 0x8000000
CLONE_NEWUSER = 0x10000000
PR_CAPBSET_DROP = 24
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4

CAPS = [
    "chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid", "setuid",
    "setpcap", "linux_immutable", "net_bind_service", "net_broadcast", "net_admin", "net_raw",
    "ipc_lock", "ipc_owner", "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct",
    "sys_admin", "sys_boot", "sys_nice", "sys_resource", "sys_time", "sys_tty_config", "mknod",
    "lease", "audit_write", "audit_control", "setfcap", "mac_override", "mac_admin", "syslog",
    "wake_alarm", "block_suspend", "audit_read", "perfmon", "bpf", "checkpoint_restore",
]


class MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64), ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def fail(what):
    err = ctypes.get_errno()
    sys.stderr.write(f"host-launch: {what}: {os.strerror(err)}\n")
    sys.exit(1)


def syscall(name, *args):
    libc.syscall.restype = ctypes.c_long
    return libc.syscall(SYS[name], *args)


def write_maps(pid, base, count):
    for name in ("uid_map", "gid_map"):
        with open(f"/proc/{pid}/{name}", "w") as f:
            f.write(f"0 {base} {count}\n")


def userns_fd(base, count):
    """A user namespace with the host's mapping, held by a child that waits until it is opened."""
    ready_r, ready_w = os.pipe()
    done_r, done_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(ready_r)
        os.close(done_w)
        if syscall("unshare", CLONE_NEWUSER) != 0:
            os._exit(1)
        os.write(ready_w, b"1")
        os.read(done_r, 1)
        os._exit(0)
    os.close(ready_w)
    os.close(done_r)
    if os.read(ready_r, 1) != b"1":
        sys.stderr.write("host-launch: could not make a user namespace for the idmapped mounts\n")
        sys.exit(1)
    write_maps(pid, base, count)
    fd = os.open(f"/proc/{pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    os.write(done_w, b"1")
    os.waitpid(pid, 0)
    return fd


def idmap(base, count, triples):
    ns = userns_fd(base, count)
    for source, target, mode in triples:
        tree = syscall("open_tree", AT_FDCWD, source.encode(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE)
        if tree < 0:
            fail(f"open_tree {source}")
        attr = MountAttr(MOUNT_ATTR_IDMAP | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (MOUNT_ATTR_RDONLY if mode == "ro" else 0), 0, 0, ns)
        if syscall("mount_setattr", tree, b"", AT_EMPTY_PATH, ctypes.byref(attr), ctypes.sizeof(attr)) != 0:
            fail(f"idmapping {source} to {base}+")
        if syscall("move_mount", tree, b"", AT_FDCWD, target.encode(), MOVE_MOUNT_F_EMPTY_PATH) != 0:
            fail(f"mounting {source} at {target}")
        os.close(tree)
    os.close(ns)


def enter(root, hostname, caps, base, count, init, env):
    flags = CLONE_NEWUTS | CLONE_NEWIPC
    if count > 0:
        # The maps are written by a child that stays in the machine's user namespace: a process
        # inside a new one may map only its own uid.
        go_r, go_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(go_w)
            if os.read(go_r, 1) != b"1":
                os._exit(1)
            try:
                write_maps(os.getppid(), base, count)
            except OSError as e:
                sys.stderr.write(f"host-launch: writing the user namespace's maps: {e}\n")
                os._exit(1)
            os._exit(0)
        os.close(go_r)
        if syscall("unshare", flags | CLONE_NEWUSER | CLONE_NEWNS) != 0:
            fail("unshare")
        os.write(go_w, b"1")
        _, status = os.waitpid(pid, 0)
        if status != 0:
            sys.exit(1)
        os.setgroups([])
        os.setresgid(0, 0, 0)
        os.setresuid(0, 0, 0)
    elif syscall("unshare", flags) != 0:
        fail("unshare")
    # Mounts that came from the machine's namespace are locked and cannot be a new root: a
    # recursive bind of the root, made here, can (its children stay locked to it).
    if count > 0 and libc.mount(root.encode(), root.encode(), None, MS_BIND | MS_REC, None) != 0:
        fail(f"binding {root}")
    os.chdir(root)
    if syscall("pivot_root", b".", b".") != 0:
        fail(f"pivot_root {root}")
    if libc.umount2(b".", MNT_DETACH) != 0:
        fail("detaching the machine's root")
    os.chdir("/")
    if libc.sethostname(hostname.encode(), len(hostname.encode())) != 0:
        fail(f"sethostname {hostname}")
    keep = set(CAPS) if caps == "all" else set(caps.split(",")) if caps else set()
    unknown = keep - set(CAPS)
    if unknown:
        sys.stderr.write(f"host-launch: unknown capabilities {sorted(unknown)}\n")
        sys.exit(1)
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    for number, name in enumerate(CAPS):
        # A kernel older than the list knows fewer capabilities: EINVAL for those is no failure.
        if name not in keep and libc.prctl(PR_CAPBSET_DROP, number, 0, 0, 0) != 0 and ctypes.get_errno() != 22:
            fail(f"dropping cap_{name}")
    os.execve(init, [init], dict(kv.split("=", 1) for kv in env))


def main(argv):
    if len(argv) >= 5 and argv[0] == "idmap" and (len(argv) - 3) % 3 == 0:
        triples = [tuple(argv[i:i + 3]) for i in range(3, len(argv), 3)]
        if any(mode not in ("ro", "rw") for _, _, mode in triples):
            sys.exit("host-launch: idmap: each mount ends in ro or rw")
        idmap(int(argv[1]), int(argv[2]), triples)
        return
    if len(argv) >= 8 and argv[0] == "enter" and argv[6] == "--":
        enter(argv[1], argv[2], argv[3], int(argv[4]), int(argv[5]), argv[7], argv[8:])
        return
    sys.exit("usage: host-launch.py idmap BASE COUNT (SOURCE TARGET ro|rw)... | enter ROOT HOSTNAME CAPS BASE COUNT -- INIT [NAME=VALUE...]")


if __name__ == "__main__":
    main(sys.argv[1:])
