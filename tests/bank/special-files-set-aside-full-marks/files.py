import os
import socket
import stat


def make_files(folder):
    """A correct Part 1 with everything a folder can hold that is not a file: a FIFO where nbgrader reads
    the submission time (opening it would wait forever), a socket, links to /dev/zero (copying it would
    fill the disk) and to /etc, and, made as root, a character device (the kit's tests run as root)."""
    os.mkfifo(os.path.join(folder, "timestamp.txt"))
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(os.path.join(folder, "kernel.sock"))
    os.symlink("/dev/zero", os.path.join(folder, "zeros.bin"))
    os.makedirs(os.path.join(folder, "data"), exist_ok=True)
    os.symlink("/etc", os.path.join(folder, "data", "etc"))
    if os.geteuid() == 0:
        os.mknod(os.path.join(folder, "data", "null"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
