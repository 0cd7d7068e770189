"""A throwaway PostgreSQL server, for the gradebook tests and `make bench`'s write rate."""
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def postgres_binary(name):
    """A PostgreSQL server program, from PATH or Debian's versioned folder."""
    found = shutil.which(name) or next(iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)), None)
    return str(found) if found else None


@contextlib.contextmanager
def postgres_server():
    """A throwaway PostgreSQL server on a Unix socket; yields its gradebook URL."""
    if not postgres_binary("initdb"):
        raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql); make test and make bench install it")
    # outside pytest's private temp folder, which the server's user could not enter
    folder = Path(tempfile.mkdtemp(prefix="weight-init-pg-"))
    # the server refuses to run as root: run it as the `postgres` user when we are root
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(folder, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data, log = folder / "data", folder / "server.log"
    subprocess.run([*as_user, postgres_binary("initdb"), "-D", str(data), "-A", "trust", "-U", "grader"],
                   check=True, capture_output=True)
    subprocess.run([*as_user, postgres_binary("pg_ctl"), "-D", str(data), "-l", str(log), "-w", "start",
                    "-o", f"-k {folder} -p {port} -c listen_addresses=''"], check=True, capture_output=True)
    try:
        import psycopg

        with psycopg.connect(host=str(folder), port=port, user="grader", dbname="postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE weight_init")  # autocommit: it cannot run in a transaction
        yield f"postgresql://grader@/weight_init?host={folder}&port={port}"
    finally:
        subprocess.run([*as_user, postgres_binary("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
