#!/usr/bin/env bash
# Checks that everything the tests, scripts, demo and benchmarks use from the system comes from a
# Debian package that scripts/install-deps.sh installs, so that the README's two commands work on
# a bare Debian 12 machine and not only on ours, where something installed by hand can hide a gap.
#   scripts/check-deps.sh [-v]      (-v: one line per thing used, with its owner)
#
# What is used is found by scanning the sources, not listed by hand:
#   - commands: the programs the C++ tests start (runCommand/spawn argv lists, `argv = {...}`),
#     the commands of every shell script (command words, `$(...)`, `sh -c '...'`, `command -v
#     NAME`, the words of a `for X in ...` loop that checks `command -v "$X"`, and the command
#     arguments of the bench helpers listed in `wrappers` below), and what Python files run
#     through subprocess. Not seen: a command kept in an array and run as "${cmd[@]}" (so far
#     only apt-get, also run directly, and fresh-check's chroot, which every Debian system has);
#   - Python modules: the imports of every .py file and of Python heredocs in shell scripts,
#     resolved by /usr/bin/python3 (Debian's python3-* packages are for it, not for whatever
#     python3 is first on PATH);
#   - files: absolute /usr/... paths named in the sources (ZooKeeper's jars, nginx modules).
# Each is then owned (`dpkg -S`) by a package that is installed on every Debian system
# (Essential: yes, and apt), named by install-deps.sh, or pulled in by one of those through
# Depends/Pre-Depends (the first alternative, as apt picks). A script that installs packages for
# itself (fresh-check.sh) may use them: it answers `--list` too.
# Exit status: 0 when everything is accounted for, 1 otherwise (every gap named, with the file
# that uses it), 2 when the check itself cannot run.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=/usr/bin/python3  # Debian's: the modules checked are the ones it imports
verbose=0
for arg in "$@"; do
  case "$arg" in
    -v | --verbose) verbose=1 ;;
    -h | --help)
      sed -n '2,5p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) echo "check-deps: unknown argument '$arg' (want -v)" >&2; exit 2 ;;
  esac
done

if [[ ! -x $python ]] || ! command -v dpkg-query >/dev/null; then
  echo "check-deps: needs dpkg and $python (a Debian system after scripts/install-deps.sh)" >&2
  exit 2
fi

named=$("$root/scripts/install-deps.sh" --list)
own=$("$root/scripts/fresh-check.sh" --list)

"$python" - "$root" "$verbose" "$named" "$own" <<'PY'
import collections, importlib.util, os, re, subprocess, sys

root, verbose = sys.argv[1], sys.argv[2] == "1"
named = set(sys.argv[3].split())
# Packages a script installs for itself: allowed only for what that script uses.
own = {"scripts/fresh-check.sh": set(sys.argv[4].split())}

SCANNED = ["tests", "scripts", "bench", "examples", ".ci"]
# Places a package puts commands in (Debian 12 has merged /usr: /bin is /usr/bin).
BIN_DIRS = ["/usr/bin", "/usr/sbin", "/bin", "/sbin"]
# Shell functions of ours whose arguments include commands: name -> (index of the first command
# argument, whether every argument from there is a command rather than just the first).
wrappers = {
    "start_bg": (2, False),        # bench/lib/common.sh: start_bg NAME LOG CMD...
    "run_bounded": (2, False),     # bench/lib/common.sh: run_bounded SECONDS OUT CMD...
    "bench_require": (0, True),    # bench/lib/proxy_bench.sh: bench_require TOOL...
    "bench_init": (2, True),       # bench/lib/proxy_bench.sh: bench_init NAME KIND TOOL...
}
# System commands that run their arguments: name -> options that take a value.
RUNNERS = {"exec": set(), "nice": {"-n"}, "timeout": {"-s", "-k", "--signal", "--kill-after"},
           "env": {"-u"}, "setsid": set(), "stdbuf": set(), "taskset": set(), "xargs": set(),
           "unshare": set()}
# Words the scan finds in command position that are not programs: name -> why.
NOT_COMMANDS = {
    "announce": "a switchyard subcommand (tests/integration/announce_test.cc builds its argv)",
}
# Paths the scripts create themselves.
NOT_PACKAGED = {"/usr/sbin/policy-rc.d": "written by install-deps.sh while it installs"}
# Installed by our own .deb: tests/package/package_test.sh installs it, then checks these.
NOT_PACKAGED.update({path: "the switchyard package's own" for path in [
    "/usr/bin/switchyard",
    "/usr/share/doc/switchyard/changelog.gz",
    "/usr/share/doc/switchyard/copyright",
    "/usr/share/doc/switchyard/examples/announce.conf.example",
    "/usr/share/lintian/overrides/switchyard",
    "/usr/share/man/man1/switchyard.1.gz",
]})

BASH_WORDS = set("""alias bg bind break builtin caller cd command compgen complete compopt
continue declare dirs disown echo enable eval exec exit export false fc fg getopts hash help
history jobs kill let local logout mapfile popd printf pushd pwd read readarray readonly return
set shift shopt source suspend test times trap true type typeset ulimit umask unalias unset wait
. : [ [[ ]] ] if then else elif fi case esac for select while until do done in function time
coproc { } ! (( ))""".split())

uses = {"command": {}, "module": {}, "file": {}}  # name -> first file that uses it


def use(kind, name, path):
    users = uses[kind].setdefault(name, [])
    if os.path.relpath(path, root) not in users:
        users.append(os.path.relpath(path, root))


def scan_files():
    for top in SCANNED:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames[:] = [d for d in dirnames if d not in ("out", "__pycache__")]
            for f in sorted(filenames):
                yield os.path.join(dirpath, f)


def is_shell(path, text):
    return path.endswith(".sh") or text.startswith("#!/usr/bin/env bash") or \
        text.startswith("#!/bin/bash") or text.startswith("#!/bin/sh")


# ---- C++: the argv lists handed to the process launcher ----------------------------------------
CXX_ARGV = re.compile(
    r'(?<!::)(?:runCommand|spawn|run)\s*\(\s*\{\s*"([^"]+)"'  # runCommand({"curl", ...})
    r'|\bargv\s*=\s*\{\s*"([^"]+)"'                    # std::vector<std::string> argv = {"java",
    r'|resolveInPath\s*\(\s*"([^"]+)"')


def scan_cxx(path, text):
    text = re.sub(r"//[^\n]*", "", text)
    for m in CXX_ARGV.finditer(text):
        word = next(g for g in m.groups() if g)
        if word.startswith("/"):
            use("file", word, path)
        elif re.fullmatch(r"[A-Za-z0-9][\w.+-]*", word):
            use("command", word, path)


# ---- Python: imports and subprocess argv -------------------------------------------------------
PY_IMPORT = re.compile(r"^\s*(?:import\s+([\w., ]+)|from\s+([\w.]+)\s+import\b)", re.M)
PY_RUN = re.compile(r"(?:subprocess\.\w+|Popen|os\.exec\w+)\(\s*\[\s*[\"']([\w.+-]+)[\"']")


def scan_python(path, text):
    here = os.path.dirname(path)
    for m in PY_IMPORT.finditer(text):
        names = m.group(1).split(",") if m.group(1) else [m.group(2)]
        for name in names:
            top = name.strip().split(" ")[0].split(".")[0]
            # Modules of ours beside the file are not the system's.
            if top and not os.path.exists(os.path.join(here, top + ".py")) and \
                    not os.path.isdir(os.path.join(here, top)):
                use("module", top, path)
    for m in PY_RUN.finditer(text):
        use("command", m.group(1), path)


# ---- Shell: a small lexer that knows quotes, $(...), heredocs, case patterns, [[ ]] ------------
def lex(text):
    """Tokens: words (quotes kept), operators, '\n'. Also yields ('sub', text) for each $(...)."""
    out, subs, i, n = [], [], 0, len(text)
    ops = ["((", "))", "&&", "||", ";;", "&>", "|", ";", "&", "(", ")"]

    def skip_sub(j):  # j just after '$(' : returns the index after the matching ')'
        depth, start = 1, j
        while j < n and depth:
            c = text[j]
            if c == "\\":
                j += 2
                continue
            if c in "'\"":
                j = skip_quote(j)
                continue
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
            j += 1
        subs.append(text[start:j - 1])
        return j

    def skip_quote(j):  # j at the opening quote
        q, j = text[j], j + 1
        while j < n and text[j] != q:
            if q == '"' and text[j] == "\\":
                j += 2
                continue
            if q == '"' and text.startswith("$(", j) and not text.startswith("$((", j):
                j = skip_sub(j + 2)
                continue
            j += 1
        return j + 1

    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] == "\n":
            i += 2
        elif c in " \t":
            i += 1
        elif c == "\n":
            out.append("\n")
            i += 1
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
        else:
            op = next((o for o in ops if text.startswith(o, i)), None)
            if op:
                out.append(op)
                i += len(op)
                continue
            start = i
            while i < n and text[i] not in " \t\n;&|()":
                if text[i] == "\\":
                    i += 2
                elif text[i] in "'\"":
                    i = skip_quote(i)
                elif text.startswith("$((", i):
                    depth, i = 2, i + 3
                    while i < n and depth:
                        depth += {"(": 1, ")": -1}.get(text[i], 0)
                        i += 1
                elif text.startswith("$(", i):
                    i = skip_sub(i + 2)
                elif text[i] in "<>" and i + 1 < n and text[i + 1] == "(":
                    i = skip_sub(i + 2)  # process substitution
                elif text[i] in "<>" and i + 1 < n and text[i + 1] == "&":
                    i += 2  # 2>&1, >&2: one word with what it redirects to
                else:
                    i += 1
            out.append(text[start:i])
    return out, subs


def strip_heredocs(path, text):
    """The text without heredoc bodies; Python bodies (a python on the line) are scanned."""
    lines, kept, i = text.split("\n"), [], 0
    while i < len(lines):
        line = lines[i]
        kept.append(line)
        i += 1
        m = re.search(r"<<-?\s*(['\"]?)(\w+)\1", line) if "<<<" not in line else None
        if not m:
            continue
        body = []
        while i < len(lines) and lines[i].strip() != m.group(2):
            body.append(lines[i])
            i += 1
        i += 1
        kept.append("")
        if "python" in line:
            scan_python(path, "\n".join(body))
    return "\n".join(kept)


SEPARATORS = ("\n", ";", "|", "&&", "||", "&", ";;", ")", "))")


def plain(word):
    return word.strip("'\"") if re.fullmatch(r"(['\"]?)[A-Za-z0-9][\w.+-]*\1", word) else None


def scan_shell_tokens(path, tokens, defined):
    i, n = 0, len(tokens)
    expect_cmd, case_pattern, for_words = True, False, None

    def command_at(j):
        """Records the command starting at token j and returns the index after its name."""
        while j < n and re.fullmatch(r"[A-Za-z_]\w*\+?=.*", tokens[j]):  # VAR=value prefixes
            j += 2 if tokens[j].endswith("=") and j + 1 < n and tokens[j + 1] == "(" else 1
        if j >= n or tokens[j] in SEPARATORS:
            return j  # assignments only
        word = tokens[j]
        name = plain(word)
        if word.startswith("/") and re.fullmatch(r"/usr/[\w./+-]+", word):
            use("file", word, path)
        if name is None or name in BASH_WORDS or name in defined:
            if name in wrappers:
                first, every = wrappers[name]
                args = [t for t in tokens[j + 1:end_of_command(j)]]
                for k, a in enumerate(args[first:]):
                    # A function of ours run by the wrapper is no program to install.
                    if plain(a) and not a.startswith("-") and plain(a) not in defined:
                        use("command", plain(a), path)
                    if not every:
                        break
            if name in ("local", "declare", "typeset", "readonly", "export"):
                return end_of_command(j)  # variable names and values, no command
            if name == "command" and j + 2 < n and tokens[j + 1] in ("-v", "-V") and plain(tokens[j + 2]):
                use("command", plain(tokens[j + 2]), path)
            return j + 1
        use("command", name, path)
        if name == "chroot":  # what follows runs inside another root
            return end_of_command(j)
        if name in ("sh", "bash") and j + 2 < n and tokens[j + 1] == "-c":
            script = tokens[j + 2]
            if len(script) > 1 and script[0] == script[-1] and script[0] in "'\"":
                scan_shell(path, script[1:-1], defined)  # sh -c 'TEXT': TEXT's commands too
            return j + 3
        if name in RUNNERS:  # the command it runs
            k = j + 1
            while k < n and tokens[k].startswith("-"):
                k += 2 if tokens[k] in RUNNERS[name] else 1
            if name == "timeout" and k < n:
                k += 1  # the duration
            return command_at(k) if k < n and tokens[k] not in ("\n", ";", "|") else k
        return j + 1

    def end_of_command(j):
        while j < n and tokens[j] not in SEPARATORS:
            j += 1
        return j

    while i < n:
        t = tokens[i]
        if case_pattern:
            if t == ")":
                case_pattern, expect_cmd = False, True
            elif t == "esac":
                case_pattern, expect_cmd = False, False
            i += 1
            continue
        if t in ("\n", ";", "|", "&&", "||", "&", "(", "{", "!", "then", "do", "else", "elif",
                 "if", "while", "until", "time"):
            expect_cmd = True
            i += 1
            continue
        if t == ";;":
            case_pattern = True
            i += 1
            continue
        if not expect_cmd:
            i += 1
            continue
        expect_cmd = False
        if t == "case":
            while i < n and tokens[i] != "in":
                i += 1
            case_pattern = True
            i += 1
        elif t in ("[[", "[", "(("):
            close = {"[[": "]]", "[": "]", "((": "))"}[t]
            while i < n and tokens[i] != close:
                i += 1
            i += 1
        elif t == "for" and i + 1 < n and tokens[i + 1] == "((":
            while i < n and tokens[i] != "))":  # for ((i = 0; ...)): arithmetic
                i += 1
            i += 1
        elif t == "for":
            # for VAR in WORDS; do ... command -v "$VAR" ...: WORDS are commands.
            var = tokens[i + 1] if i + 1 < n else ""
            words, j = [], i + 2
            if j < n and tokens[j] == "in":
                j += 1
                while j < n and tokens[j] not in ("\n", ";"):
                    words.append(tokens[j])
                    j += 1
            for_words = (var, words)
            checks = f'command -v "${var}"', f"command -v ${var}"
            body = " ".join(tokens[j:j + 40])
            if any(c in body for c in checks):
                for w in words:
                    if plain(w):
                        use("command", plain(w), path)
            i = j
        elif t in ("function",):
            i += 2
        elif re.fullmatch(r"[A-Za-z_][\w-]*", t) and i + 2 < n and tokens[i + 1] == "(" and \
                tokens[i + 2] == ")":
            i += 3  # a function definition: name() { ... }
            expect_cmd = True
        elif re.fullmatch(r"[A-Za-z_]\w*\+?=", t) and i + 1 < n and tokens[i + 1] == "(":
            while i < n and tokens[i] != ")":  # array assignment: its words are data
                i += 1
            i += 1
        else:
            i = command_at(i)


def scan_shell(path, text, defined):
    tokens, subs = lex(strip_heredocs(path, text))
    scan_shell_tokens(path, tokens, defined)
    for sub in subs:
        scan_shell(path, sub, defined)


def main():
    files = [(p, open(p, errors="replace").read()) for p in scan_files()]
    # Functions defined in any script (bench/lib is sourced by the bench scripts).
    defined = set()
    for p, text in files:
        if is_shell(p, text):
            defined |= set(re.findall(r"^\s*(?:function\s+)?([A-Za-z_][\w-]*)\s*\(\)", text, re.M))
    for p, text in files:
        if p.endswith((".cc", ".h")):
            scan_cxx(p, text)
        elif p.endswith(".py"):
            scan_python(p, text)
        elif is_shell(p, text):
            scan_shell(p, text, defined)
            for m in re.finditer(r"(?<![\w$])/usr/(?:s?bin|share|lib)/[\w./+-]+", text):
                use("file", m.group(0).rstrip("."), p)
    for word in NOT_COMMANDS:
        uses["command"].pop(word, None)
    for path in NOT_PACKAGED:
        uses["file"].pop(path, None)
    return check()


# ---- ownership -----------------------------------------------------------------------------------
def installed_packages():
    fmt = "${Package}\t${Essential}\t${Pre-Depends}\t${Depends}\t${Provides}\t${db:Status-Abbrev}\n"
    out = subprocess.run(["dpkg-query", "-W", "-f", fmt], capture_output=True, text=True).stdout
    deps, essential, providers = {}, set(), {}
    for line in out.splitlines():
        pkg, ess, pre, dep, prov, status = (line.split("\t") + [""] * 6)[:6]
        if not status.startswith("ii"):
            continue
        essential |= {pkg} if ess == "yes" else set()
        firsts = []
        for d in (pre + "," + dep).split(","):
            d = d.split("|")[0].strip()
            if d:
                firsts.append(re.split(r"[\s(:]", d)[0])
        deps[pkg] = firsts
        for p in prov.split(","):
            if p.strip():
                providers.setdefault(re.split(r"[\s(]", p.strip())[0], []).append(pkg)
    return deps, essential, providers


def closure(start, deps, providers):
    """Package -> the start package that pulls it in (breadth first: the nearest one)."""
    via, todo = {}, collections.deque((p, p) for p in sorted(start))
    while todo:
        pkg, origin = todo.popleft()
        if pkg in via:
            continue
        via[pkg] = origin
        if pkg not in deps:  # virtual (or not installed here): its installed providers
            todo += [(p, origin) for p in providers.get(pkg, [])]
            continue
        todo += [(d, origin) for d in deps[pkg]]
    return via


def owners(paths):
    """Path -> the packages that own it, in one dpkg-query call (each call reads every list)."""
    r = subprocess.run(["dpkg-query", "-S"] + sorted(set(paths)), capture_output=True, text=True)
    found = {}
    for line in r.stdout.splitlines():
        if line.startswith("diversion") or ": " not in line:
            continue
        pkgs, path = line.split(": ", 1)
        found.setdefault(path, []).extend(p.strip().split(":")[0] for p in pkgs.split(","))
    return found


def candidates(kind, name):
    """Paths to ask dpkg about (the first owned one counts), or a reason there is none."""
    if kind == "command":
        found = [os.path.join(d, name) for d in BIN_DIRS if os.access(os.path.join(d, name), os.X_OK)]
        if not found:
            return None, (f"not found in {', '.join(BIN_DIRS)} (add the package that "
                          f"provides it to scripts/install-deps.sh)")
        # An alternatives symlink (/usr/bin/java) is owned by nobody: ask about its target too.
        return [p for f in found for p in (f, os.path.realpath(f))], None
    if kind == "module":
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            return None, ("not importable by /usr/bin/python3 (add the python3-* package that "
                          "provides it to scripts/install-deps.sh)")
        if spec.origin in (None, "built-in", "frozen"):
            return [os.path.realpath(sys.executable)], None
        return [spec.origin, os.path.realpath(spec.origin)], None
    if not os.path.exists(name):
        return None, "does not exist"
    return [name, os.path.realpath(name)], None


def check():
    deps, essential, providers = installed_packages()
    base = closure(essential | {"apt"}, deps, providers)
    ours = closure(named, deps, providers)
    missing_named = sorted(p for p in named if p not in deps)
    failures, lines = [], []
    label = {"command": "command", "module": "Python module", "file": "file"}
    found = {(k, name): candidates(k, name) for k in uses for name in uses[k]}
    owned = owners(p for paths, _ in found.values() for p in paths or [])
    for kind in ("command", "module", "file"):
        for name, users in sorted(uses[kind].items()):
            used_in = users[0]
            paths, reason = found[(kind, name)]
            owner = next(((p, owned[p]) for p in paths or [] if p in owned), None)
            if not owner and paths is None and all(u in own for u in users):
                # Used only by a script that installs its own packages before it runs them (on a
                # machine that never ran it, they are simply not there yet).
                lines.append(f"  {label[kind]:<13} {name:<28} (not installed: {used_in} "
                             f"installs {', '.join(sorted(own[used_in]))} itself)")
                continue
            if not owner:
                reason = reason or f"{paths[0]} is owned by no package (installed by hand?)"
                failures.append(f"{label[kind]} '{name}' (used in {used_in}): {reason}")
                continue
            p, pkgs = owner
            # A script's own packages count only when every user of the thing is that script.
            allowed = set.intersection(*(own.get(u, set()) for u in users))
            used_in = next((u for u in users if u not in own), used_in)
            why = None
            for pkg in pkgs:
                if pkg in named:
                    why = f"{pkg}"
                elif pkg in ours:
                    why = f"{pkg}, needed by {ours[pkg]}"
                elif pkg in base:
                    why = f"{pkg}, on every Debian system"
                elif pkg in closure(allowed, deps, providers):
                    why = f"{pkg}, installed by {used_in} for itself"
                if why:
                    break
            if why:
                lines.append(f"  {label[kind]:<13} {name:<28} {p}  ({why})")
            else:
                failures.append(
                    f"{label[kind]} '{name}' (used in {used_in}): {p} belongs to "
                    f"{', '.join(pkgs)}, which scripts/install-deps.sh does not install "
                    f"(add {pkgs[0]} to its package list)")
    if verbose:
        print("\n".join(lines))
    counts = ", ".join(f"{len(uses[k])} {label[k]}s" for k in ("command", "module", "file"))
    for p in missing_named:
        # Not a failure of the sources: install-deps.sh was not run (or failed) on this machine.
        print(f"check-deps: warning: {p} (named by install-deps.sh) is not installed here",
              file=sys.stderr)
    if failures:
        for f in failures:
            print(f"check-deps: FAIL: {f}", file=sys.stderr)
        print(f"check-deps: {len(failures)} of the {counts} used are not installed by "
              f"scripts/install-deps.sh", file=sys.stderr)
        return 1
    print(f"check-deps: ok: {counts} used, each from a package install-deps.sh installs")
    return 0


sys.exit(main())
PY
