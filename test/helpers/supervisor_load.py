"""Loads a supervisord configuration with supervisord's own loader and prints what it would run.

Usage: /usr/bin/python3 supervisor_load.py SUPERVISORD_CONF GUNICORN_CONFS_JSON

GUNICORN_CONFS_JSON maps app name -> path of its gunicorn.conf.py; each is read the way gunicorn
reads a config file (executed as a module, its lowercase setting names applied through gunicorn's
validators) so the caller can compare stopwaitsecs with the graceful_timeout gunicorn would use.
Prints one JSON object; exits 1 with the loader's message when supervisord rejects the config.
"""
import importlib.util
import json
import sys

from supervisor.options import ServerOptions


def load_supervisord(conf):
    options = ServerOptions()

    def usage(msg):
        # realize() reports a bad file through usage(), which would print help and exit 2.
        raise SystemExit("supervisord rejects the configuration: %s" % msg)

    options.usage = usage
    # realize() parses argv and calls process_config(), which reads every [include]d file.
    options.realize(args=["-c", conf])
    programs = []
    for group in options.process_group_configs:
        for p in group.process_configs:
            programs.append({
                "group": group.name,
                "name": p.name,
                "kind": type(p).__name__,
                "command": p.command,
                "directory": p.directory,
                "uid": p.uid,
                "autostart": p.autostart,
                "startsecs": p.startsecs,
                "stopsignal": p.stopsignal,
                "stopwaitsecs": p.stopwaitsecs,
                "stopasgroup": p.stopasgroup,
                "killasgroup": p.killasgroup,
                "environment": p.environment,
                "stdout_logfile": p.stdout_logfile,
                "stderr_logfile": p.stderr_logfile,
                "redirect_stderr": p.redirect_stderr,
            })
    return {
        "programs": programs,
        "criticals": list(getattr(options, "parse_criticals", [])),
        "warnings": list(getattr(options, "parse_warnings", [])),
    }


def load_gunicorn(path):
    """What gunicorn's Application.load_config_from_file does with a config file."""
    from gunicorn.config import Config

    spec = importlib.util.spec_from_file_location("__config__", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cfg = Config()
    for key, value in vars(module).items():
        if key in cfg.settings:
            cfg.set(key.lower(), value)
    return {"graceful_timeout": cfg.graceful_timeout, "keepalive": cfg.keepalive, "bind": cfg.bind}


def main():
    result = load_supervisord(sys.argv[1])
    result["gunicorn"] = {}
    for app, path in json.loads(sys.argv[2]).items():
        try:
            result["gunicorn"][app] = load_gunicorn(path)
        except Exception as e:  # the message is the finding: report it, keep the rest
            result["gunicorn"][app] = {"error": "%s: %s" % (type(e).__name__, e)}
    json.dump(result, sys.stdout, default=str)


if __name__ == "__main__":
    main()
