"""JupyterHub's settings for the course on this machine (`python -m hub` passes it with -f and says
where things are in WEIGHT_INIT_HUB_* variables). What a real course changes is marked "A real course"
and explained in docs/hosting.md."""
import os
from pathlib import Path

from hub.accounts import COURSE, ENVIRONMENT, GRADER, INSTRUCTOR, PROXY, STUDENTS, TA, Hub, server_path

c = get_config()  # noqa: F821  (provided by JupyterHub when it loads this file)
hub = Hub(Path(os.environ["WEIGHT_INIT_HUB_ROOT"]))
port, hub_port, proxy_port, service_port = (int(os.environ[f"WEIGHT_INIT_HUB_{name}"])
                                            for name in ("PORT", "HUB_PORT", "PROXY_PORT", "SERVICE_PORT"))

# This machine only. A real course binds its public address behind HTTPS (JupyterHub's ssl_cert/ssl_key,
# or a reverse proxy)
c.JupyterHub.bind_url = f"http://127.0.0.1:{port}"
c.JupyterHub.hub_port = hub_port
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{proxy_port}"
c.ConfigurableHTTPProxy.command = [str(PROXY)]
c.JupyterHub.db_url = f"sqlite:///{hub.state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(hub.state / "cookie_secret")
# Ctrl-C stops every user's server and the course's service with the hub
c.JupyterHub.cleanup_servers = True

# For trying the course out: one password, given on the command line, for every account. A real course
# uses its institution's logins (PAM for the machine's accounts, or OAuth: `oauthenticator`)
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = os.environ["WEIGHT_INIT_HUB_PASSWORD"]
c.Authenticator.allowed_users = {INSTRUCTOR, TA, *STUDENTS}

# Each user's server runs as their system user, in their home, from the kit's environment. A real course
# of more than a few students runs each in a container (DockerSpawner, or KubeSpawner on Kubernetes)
c.Spawner.cmd = [str(ENVIRONMENT / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.environment = {"PATH": server_path()}
c.Spawner.http_timeout = 120  # a first start on 2 busy cores takes a while

# The Formgrader and the grade-by-question view: a Jupyter server run by the course's own account in the
# course folder, as a service that only the instructor and the TA may open (nbgrader's "one class,
# multiple graders" set-up)
c.JupyterHub.services = [{
    "name": COURSE,
    "url": f"http://127.0.0.1:{service_port}",
    "command": [str(ENVIRONMENT / "bin" / "jupyterhub-singleuser")],
    "user": GRADER,
    "cwd": str(hub.course),
    "environment": {"JUPYTERHUB_DEFAULT_URL": "/formgrader", "PATH": server_path(),
                    "HOME": str(hub.home(GRADER))},
    "oauth_no_confirm": True,
}]
c.JupyterHub.load_groups = {f"graders-{COURSE}": {"users": [INSTRUCTOR, TA]}}
c.JupyterHub.load_roles = [{
    "name": f"grade-{COURSE}",
    "groups": [f"graders-{COURSE}"],
    "scopes": [f"access:services!service={COURSE}", "list:services", f"read:services!service={COURSE}"],
}]
