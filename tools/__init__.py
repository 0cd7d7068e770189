"""Scripts that build, grade and check the course kit (not student-facing)."""
