"""The course on a JupyterHub, as a hosted course runs it (`make hub`, docs/hosting.md): an instructor, a
TA and three students, each a system user of this machine, so that the operating system keeps students
out of each other's files, the course folder and the gradebook.

    accounts.py            the hub's folder, its users and their homes, nbgrader's exchange, the course
                           folder of the course's grader account (who runs the Formgrader), each user's
                           Jupyter settings
    jupyterhub_config.py   JupyterHub's settings: who logs in how, what each server runs, the Formgrader
                           and grade-by-question view as a service that only the instructor and TA reach
    __main__.py            `python -m hub`: prepares the above and runs JupyterHub until Ctrl-C
    package.json           the proxy in front of the hub (configurable-http-proxy), pinned with its lock
"""
