"""Run the course on a JupyterHub on this machine, until Ctrl-C (what `make hub` runs, as root):

    python -m hub --password=<for every account> [--root=/srv/weight-init-hub] [--port=8000]

It prepares the accounts, the exchange and the course folder (hub/accounts.py), prints who logs in where,
and becomes JupyterHub, which stops every server it started when it stops."""
import argparse
import os
import secrets
import shutil
import signal
import sys
from pathlib import Path

from hub.accounts import (COURSE, DEFAULT_ROOT, ENVIRONMENT, GRADER, INSTRUCTOR, PROXY, STUDENTS, TA, Hub, HubSetupError,
                          prepare)

HERE = Path(__file__).parent


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m hub", description=__doc__.split("\n")[0])
    parser.add_argument("--password", help="every account's password (8 characters or more); "
                        "default: a new one, printed")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="where the hub keeps everything")
    parser.add_argument("--port", type=int, default=8000, help="the hub's port on 127.0.0.1")
    parser.add_argument("--hub-port", type=int, default=8081, help="JupyterHub's own API (internal)")
    parser.add_argument("--proxy-port", type=int, default=8001, help="the proxy's API (internal)")
    parser.add_argument("--service-port", type=int, default=9999, help="the course's Formgrader service (internal)")
    args = parser.parse_args(argv)
    password = args.password or secrets.token_urlsafe(9)
    if len(password) < 8:
        parser.error("the password needs 8 characters or more")
    if not PROXY.exists():
        sys.exit(f"{PROXY} is missing: `make hub` installs it (cd hub && npm ci)")
    if not shutil.which("bwrap"):
        sys.exit("bubblewrap is missing: grading runs students' code in its sandbox (apt-get install bubblewrap)")

    hub = Hub(args.root.resolve())
    print(f"Preparing the hub in {hub.root}", flush=True)
    try:
        prepare(hub)
    except HubSetupError as error:
        sys.exit(str(error))
    url = f"http://127.0.0.1:{args.port}"
    print(f"""
The course `{COURSE}` on JupyterHub: {url}
  log in as {INSTRUCTOR} or {TA} (graders: the Formgrader at {url}/services/{COURSE}/formgrader,
  grading by question at {url}/services/{COURSE}/grade-by-question), or as {', '.join(STUDENTS)};
  every account's password: {password}
  the course folder: {hub.course} (the account {GRADER}'s); nbgrader's exchange: {hub.exchange}
Ctrl-C stops the hub and every server it started.
""", flush=True)
    env = {**os.environ, "WEIGHT_INIT_HUB_ROOT": str(hub.root), "WEIGHT_INIT_HUB_PASSWORD": password,
           "WEIGHT_INIT_HUB_PORT": str(args.port), "WEIGHT_INIT_HUB_HUB_PORT": str(args.hub_port),
           "WEIGHT_INIT_HUB_PROXY_PORT": str(args.proxy_port), "WEIGHT_INIT_HUB_SERVICE_PORT": str(args.service_port)}
    jupyterhub = str(ENVIRONMENT / "bin" / "jupyterhub")
    os.chdir(hub.state)
    # Started where SIGINT is ignored (a shell's background job), the hub would pass that on to the course's
    # service, whose Jupyter server, without a terminal, leaves it ignored: Ctrl-C then waited 30 s for
    # JupyterHub's SIGTERM. Its default, whoever started it
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.execve(jupyterhub, [jupyterhub, "-f", str(HERE / "jupyterhub_config.py")], env)


if __name__ == "__main__":
    main()
