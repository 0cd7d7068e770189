"""Answers to one question that a grader can grade together, and the graders' decisions about them.

Made again each time a question opens, from the answers' texts, so that they always describe what the
students handed in:

- **blank**: empty, whitespace, or the release's placeholder left as it is (`YOUR ANSWER HERE`);
- **identical**: the same text once case, whitespace, punctuation and Markdown are set aside;
- **near**: proposed, not made: answers of at least `NEAR_MIN_WORDS` words whose words are at least
  `NEAR_SIMILARITY` % alike with the group's first answer (RapidFuzz's token-sort ratio, which forgives
  reordered sentences and typos). The grader accepts a proposal by grading it, or splits it.

What graders decided is kept in the gradebook's database beside the marks (`marks.GROUPS`): an answer graded
with a group (`member`, with the group's key) or taken out of one (`single`), each with the hash of the
text it was decided on. An answer whose text has changed since (a regrade after a resubmission) has
left its group: its row no longer applies, and the view shows it on its own, flagged.
"""
import hashlib
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from course.words import BLANK, normalise

NEAR_SIMILARITY = 88  # percent, RapidFuzz token-sort ratio to the group's first answer
NEAR_MIN_WORDS = 8  # shorter answers are grouped only when identical: "He for ReLU" is 82% "He for tanh"


def text_hash(text):
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class Group:
    key: str  # "blank", "same-<hash>" or "near-<hash>": stable while its members' texts stay
    kind: str  # "blank", "identical" or "near"
    members: list = field(default_factory=list)  # answer ids, in the view's order
    proposed: bool = False  # a near group no grader has accepted yet

    def as_json(self):
        return {"key": self.key, "kind": self.kind, "members": self.members, "proposed": self.proposed}


def automatic_groups(answers):
    """The groups of `answers` (answer id, text), in their order: blank first, then identical, then near
    proposals, each of at least two answers (blank: one)."""
    blank, by_text, order = [], {}, []
    for answer, text in answers:
        words = normalise(text)
        if words in BLANK:
            blank.append(answer)
            continue
        if words not in by_text:
            by_text[words] = []
            order.append(words)
        by_text[words].append(answer)
    groups = [Group("blank", "blank", blank)] if blank else []
    groups += [Group(f"same-{text_hash(words)[:16]}", "identical", by_text[words]) for words in order if len(by_text[words]) > 1]
    # Near-identical: each text compared once with every other (a 300 x 300 matrix takes RapidFuzz milliseconds);
    # an answer joins the first earlier leader it is alike enough to, so that every member is alike to the leader
    long_texts = [words for words in order if len(words.split()) >= NEAR_MIN_WORDS]
    similar = process.cdist(long_texts, long_texts, scorer=fuzz.token_sort_ratio, score_cutoff=NEAR_SIMILARITY) \
        if len(long_texts) > 1 else []
    leader_of, near = {}, {}
    for i, words in enumerate(long_texts):
        leader = next((j for j in range(i) if leader_of.get(j) == j and similar[i][j] >= NEAR_SIMILARITY), i)
        leader_of[i] = leader
        near.setdefault(leader, []).append(words)
    for leader, texts in near.items():
        if len(texts) > 1:
            members = [answer for words in texts for answer in by_text[words]]
            groups.append(Group(f"near-{text_hash(long_texts[leader])[:16]}", "near", members, proposed=True))
    # an identical group inside a near one is part of it
    inside = {a for g in groups if g.kind == "near" for a in g.members}
    return [g for g in groups if g.kind != "identical" or not set(g.members) <= inside]


def groups_for(answers, decisions):
    """The groups of `answers` (answer id, text) once graders' `decisions` ({answer: row of GROUPS}) are
    applied; returns (groups, left), `left` the answers whose text changed since a decision on them."""
    hashes = {answer: text_hash(text) for answer, text in answers}
    current = {a: d for a, d in decisions.items() if a in hashes and d["text_hash"] == hashes[a]}
    left = sorted(a for a, d in decisions.items() if a in hashes and d["text_hash"] != hashes[a])
    groups = automatic_groups(answers)
    by_key = {g.key: g for g in groups}
    for group in groups:  # taken out by a grader, or changed since: on its own
        group.members = [a for a in group.members if a not in left and current.get(a, {}).get("how") != "single"
                         and (current.get(a, {}).get("how") != "member" or current[a]["key"] == group.key)]
    order = {answer: index for index, (answer, _) in enumerate(answers)}
    for answer, decision in current.items():  # graded with a group its text no longer falls into by itself
        if decision["how"] == "member" and answer not in by_key.get(decision["key"], Group("", "")).members:
            kind = "blank" if decision["key"] == "blank" else "identical" if decision["key"].startswith("same-") else "near"
            group = by_key.setdefault(decision["key"], Group(decision["key"], kind))
            if group not in groups:
                groups.append(group)
            group.members = sorted(group.members + [answer], key=order.get)
    for group in groups:
        group.proposed = group.kind == "near" and not any(current.get(a, {}).get("how") == "member" for a in group.members)
    return [g for g in groups if len(g.members) > 1 or (g.kind == "blank" and g.members)], left
