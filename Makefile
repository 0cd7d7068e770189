# The kit's commands. `make demo` and `make test` set everything up on a fresh machine (Python 3.11 to 3.13).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# nbgrader runs `alembic` from PATH when it creates a gradebook
export PATH := $(CURDIR)/$(BIN):$(PATH)
NOTEBOOKS := $(wildcard source/weight_init/*.ipynb)
HUB_PROXY := hub/node_modules/.bin/configurable-http-proxy

.PHONY: demo test bench hub release outputs clean

# The virtual environment, rebuilt when the pins change
$(VENV)/.installed: requirements.txt requirements-data.txt Makefile
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11 to 3.13 is needed (TensorFlow 2.21 has no wheels for others), found " + sys.version.split()[0]) if not (3, 11) <= sys.version_info[:2] <= (3, 13) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-data.txt
	# The kit's packages importable by the environment's programs (the Jupyter server loads grade_by_question),
	# and the grade-by-question view enabled in its Jupyter server
	$(BIN)/python -c 'import site, sys; open(site.getsitepackages()[0] + "/weight_init_kit.pth", "w").write(sys.argv[1] + "\n")' "$(CURDIR)"
	mkdir -p $(VENV)/etc/jupyter/jupyter_server_config.d
	echo '{"ServerApp": {"jpserver_extensions": {"grade_by_question": true}}}' > $(VENV)/etc/jupyter/jupyter_server_config.d/grade_by_question.json
	touch $@

# The student's environment, from the release's requirements alone (the browser tests run JupyterLab in
# it): what a student installs, nothing of the instructor's
STUDENT_VENV := .venv-student
$(STUDENT_VENV)/.installed: release/weight_init/requirements.txt
	$(PYTHON) -m venv --clear $(STUDENT_VENV)
	$(STUDENT_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r release/weight_init/requirements.txt
	touch $@

# Regenerate release/, autograde the sample submissions, print the grades
demo: $(VENV)/.installed /usr/bin/bwrap
	$(BIN)/python -m tools.demo

# The kit's own tests: notebooks (nbval), release, grading, and JupyterLab in a browser
test: $(VENV)/.installed $(STUDENT_VENV)/.installed $(HUB_PROXY) /usr/bin/chromium /usr/bin/bwrap /usr/bin/pg_ctlcluster /usr/bin/setfacl
	$(BIN)/python -m pytest

# The course on a JupyterHub on this machine, as root, until Ctrl-C (docs/hosting.md):
# `make hub HUB_PASSWORD=...` (8 characters or more; without it, a new password is printed)
hub: $(VENV)/.installed $(HUB_PROXY) /usr/bin/bwrap /usr/bin/setfacl
	$(BIN)/python -m hub $(if $(HUB_PASSWORD),--password=$(HUB_PASSWORD))

# The proxy in front of the hub, at the versions hub/package-lock.json pins
$(HUB_PROXY): hub/package.json hub/package-lock.json
	cd hub && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The hub lets its users through a private parent folder of the kit (as /root is) with an ACL
/usr/bin/setfacl:
	apt-get update -qq && apt-get install -y -qq acl

# The browser tests drive Debian's Chromium with Playwright, which downloads no browser of its own here
/usr/bin/chromium:
	apt-get update -qq && apt-get install -y -qq chromium

# Grading runs every student's code in a bubblewrap sandbox (grading_engine/sandbox.py)
/usr/bin/bwrap:
	apt-get update -qq && apt-get install -y -qq bubblewrap

# The gradebook tests and the bench's write rate start PostgreSQL servers of their own (course/postgres.py)
/usr/bin/pg_ctlcluster:
	apt-get update -qq && apt-get install -y -qq postgresql

# Speed, side by side in one run: the assignment's code against the kit's, grading time and throughput
bench: $(VENV)/.installed /usr/bin/bwrap /usr/bin/pg_ctlcluster
	$(BIN)/python -m benchmarks.run

# Regenerate the student version after editing source/
release: $(VENV)/.installed
	$(BIN)/python -m tools.notebooks normalize $(NOTEBOOKS)
	$(BIN)/python -m tools.student_requirements
	$(BIN)/nbgrader generate_assignment weight_init --force
	$(BIN)/python -m tools.marking_guide
	$(BIN)/python -m tools.lms_samples

# Re-execute the source notebooks and store the outputs that nbval checks
outputs: $(VENV)/.installed
	$(BIN)/python -m tools.notebooks refresh $(NOTEBOOKS)

clean:
	rm -rf submitted quarantine downloaded autograded/*/ feedback gradebook.db grades.csv grades_by_cell.csv copying_report.html copying_report.csv canvas_grades.csv moodle_grades.csv
