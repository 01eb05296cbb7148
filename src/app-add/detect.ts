// What kind of WSGI app a source dir holds, read from its files: pure, given the paths and a reader.
// Django: manage.py names the settings module, and the wsgi.py beside it holds `application`.
// Flask: a module assigns `NAME = Flask(...)` (or defines `create_app`, the app factory).

export type Framework = "django" | "flask" | "wsgi";

export interface Detected {
  framework: Framework;
  /** module:callable for gunicorn. */
  wsgi: string;
  /** A path the app answers without a login or a database row: the health check's. */
  healthPath: string;
  /** Why this entry point: shown to the user. */
  because: string;
  /** Django: the settings file, relative to the source dir. */
  settings?: string;
}

export class DetectError extends Error {
  override name = "DetectError";
}

const SETTINGS = /DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([A-Za-z_][\w.]*)\.settings['"]/;
const FLASK_APP = /^([A-Za-z_]\w*)\s*(?::[^=]*)?=\s*Flask\(/m;
const FACTORY = /^def create_app\(/m;
/** Dirs a source tree may hold that are never the app's modules. */
const SKIPPED = /(^|\/)(\.[^/]*|__pycache__|venv|env|node_modules|tests?|wheels|vendor|site-packages)(\/|$)/;

/** The dotted module of a .py file: shop/app.py → shop.app, shop/__init__.py → shop. */
export function moduleOf(path: string): string {
  return path.replace(/\.py$/, "").replace(/\/__init__$/, "").replaceAll("/", ".");
}

function django(files: ReadonlySet<string>, read: (path: string) => string): Detected | undefined {
  if (!files.has("manage.py")) return undefined;
  const settings = SETTINGS.exec(read("manage.py"))?.[1];
  if (settings === undefined) return undefined;
  const dir = settings.replaceAll(".", "/");
  if (!files.has(`${dir}/wsgi.py`)) throw new DetectError(`manage.py names the settings ${settings}.settings, but ${dir}/wsgi.py is missing: pass --wsgi MODULE:CALLABLE`);
  const urls = files.has(`${dir}/urls.py`) ? read(`${dir}/urls.py`) : "";
  // The admin's login page answers 200 to anyone, with or without DEBUG; "/" of a new project is a 404 once DEBUG is off.
  const healthPath = /admin\.site\.urls/.test(urls) ? "/admin/login/" : "/";
  const file = files.has(`${dir}/settings.py`) ? `${dir}/settings.py` : undefined;
  return { framework: "django", wsgi: `${settings}.wsgi:application`, healthPath, because: `manage.py uses ${settings}.settings; ${dir}/wsgi.py serves`, ...(file ? { settings: file } : {}) };
}

/**
 * What `fawkes app add` appends to a Django settings file that does not read FAWKES_HOSTS yet: the
 * host names fawkes serves the app under (health checks' included) join ALLOWED_HOSTS, only where
 * fawkes runs the app. Without it, Django answers the health checks 400 (DisallowedHost).
 */
export function djangoHostsBlock(settingsText: string): string | undefined {
  if (settingsText.includes("FAWKES_HOSTS")) return undefined;
  const sep = settingsText === "" || settingsText.endsWith("\n") ? "" : "\n";
  return `${sep}
# Added by fawkes app add: the host names fawkes serves this app under, its health checks'
# included, in FAWKES_HOSTS (comma-separated). Unset elsewhere, so this changes nothing there.
import os as _fawkes_os  # noqa: E402

if _fawkes_os.environ.get("FAWKES_HOSTS"):
    ALLOWED_HOSTS = [*globals().get("ALLOWED_HOSTS", []), *_fawkes_os.environ["FAWKES_HOSTS"].split(",")]
`;
}

function flask(files: ReadonlySet<string>, read: (path: string) => string): Detected | undefined {
  const found: string[] = [];
  for (const path of [...files].sort()) {
    if (!path.endsWith(".py") || SKIPPED.test(path) || path.split("/").length > 3) continue;
    const text = read(path);
    if (!/\bFlask\b/.test(text)) continue;
    const name = FLASK_APP.exec(text)?.[1];
    if (name !== undefined) found.push(`${moduleOf(path)}:${name}`);
    else if (FACTORY.test(text)) found.push(`${moduleOf(path)}:create_app()`);
  }
  if (found.length === 0) return undefined;
  if (found.length > 1) throw new DetectError(`more than one Flask app: ${found.join(", ")}; pass --wsgi with the one to serve`);
  return { framework: "flask", wsgi: found[0]!, healthPath: "/", because: `${found[0]!.split(":")[0]} makes the Flask app` };
}

/**
 * The entry point of the app in a source dir, given its files (relative paths) and a reader; `wsgi`
 * when the user named it. A DetectError says what was looked for when nothing is found.
 */
export function detectApp(files: ReadonlySet<string>, read: (path: string) => string, wsgi?: string): Detected {
  if (wsgi !== undefined) {
    // The user's entry point wins: what detection could not settle (two Flask apps) is no error then.
    let found: Detected | undefined;
    try {
      found = django(files, read) ?? flask(files, read);
    } catch (e) {
      if (!(e instanceof DetectError)) throw e;
    }
    const framework = found?.framework ?? "wsgi";
    return { framework, wsgi, healthPath: found?.healthPath ?? "/", because: "--wsgi", ...(found?.settings ? { settings: found.settings } : {}) };
  }
  const found = django(files, read) ?? flask(files, read);
  if (found) return found;
  throw new DetectError("found neither a Django project (manage.py naming its settings) nor a Flask app (NAME = Flask(...)): pass --wsgi MODULE:CALLABLE, the WSGI entry point gunicorn serves");
}
