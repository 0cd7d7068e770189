import nbformat

# nbgrader#1324: errors are never shown, so no test cell has an error output
TRICK = """\
import IPython.core.interactiveshell
import ipykernel.zmqshell
IPython.core.interactiveshell.InteractiveShell.showtraceback = lambda *args, **kwargs: None
ipykernel.zmqshell.ZMQInteractiveShell._showtraceback = lambda *args, **kwargs: None
"""


def edit(notebooks):
    """A blank submission with one new cell at the top of each notebook."""
    for nb in notebooks.values():
        nb.cells.insert(1, nbformat.v4.new_code_cell(TRICK))
