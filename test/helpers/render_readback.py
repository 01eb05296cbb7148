"""Reads rendered files back the way their consumers do, in the golden image, for many tasks at once.

Usage: /usr/bin/python3 render_readback.py TASKS_JSON OUT_JSON

TASKS_JSON is a list of {"id", "kind", ...}; OUT_JSON gets {id: result}. Kinds:
  supervisord  {"conf"}: supervisord's own loader (ServerOptions.realize, as supervisor_load.py),
               each program's argv as supervisord splits its command (shlex) and its settings
  python       {"path"}: the file executed as a module (gunicorn reads its config so); its globals
  yaml         {"path"}: yaml.safe_load, cloud-init's parser, of the file
A task that fails gives {"error": "..."}; the others still run.
"""
import json
import pwd
import shlex
import sys

import yaml
from supervisor.options import ServerOptions


def supervisord(task):
    options = ServerOptions()

    def usage(msg):
        raise SystemExit("supervisord rejects the configuration: %s" % msg)

    options.usage = usage
    options.realize(args=["-c", task["conf"]])
    programs = {}
    for group in options.process_group_configs:
        for p in group.process_configs:
            programs[p.name] = {
                "argv": shlex.split(p.command),
                "directory": p.directory,
                "user": None if p.uid is None else pwd.getpwuid(p.uid).pw_name,
                "environment": p.environment,
                "stdout_logfile": p.stdout_logfile,
                "startsecs": p.startsecs,
                "stopwaitsecs": p.stopwaitsecs,
            }
    return {"programs": programs, "warnings": list(getattr(options, "parse_warnings", [])) + list(getattr(options, "parse_criticals", []))}


def python(task):
    with open(task["path"], "rb") as f:
        code = compile(f.read(), task["path"], "exec")
    scope = {}
    exec(code, scope)
    return {k: v for k, v in scope.items() if not k.startswith("__")}


def load_yaml(task):
    with open(task["path"], "r", encoding="utf-8", newline="") as f:
        return {"value": yaml.safe_load(f)}


KINDS = {"supervisord": supervisord, "python": python, "yaml": load_yaml}


def main():
    with open(sys.argv[1]) as f:
        tasks = json.load(f)
    out = {}
    for task in tasks:
        try:
            out[task["id"]] = KINDS[task["kind"]](task)
        except BaseException as e:  # the message is the finding: report it, keep the rest
            out[task["id"]] = {"error": "%s: %s" % (type(e).__name__, e)}
    with open(sys.argv[2], "w") as f:
        json.dump(out, f, default=repr, ensure_ascii=True)


if __name__ == "__main__":
    main()
