import os


def make_files(folder):
    """The correct Parts 2 and 3 handed in with the whole folder, as students do, but with a damaged
    `data/mnist.npz` of the full size (11 MiB of zeros): grading reads the shipped copy, so Part 3 still
    gets full marks, and the student's copy does not make the result 11 MiB bigger."""
    os.makedirs(os.path.join(folder, "data"), exist_ok=True)
    with open(os.path.join(folder, "data", "mnist.npz"), "wb") as file:
        file.write(bytes(11 * 2**20))
