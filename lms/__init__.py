"""Courses run from an LMS: nbgrader plugins that collect the zip of uploads that Canvas or Moodle
downloads (`nbgrader zip_collect`, `collect.py`) and export the grades as the CSV each imports
(`nbgrader export`, `export.py`). docs/hosting.md walks through it; nbgrader_config.py plugs them in."""
