"""``read_yaml`` builds PyYAML's safe loader's objects from the parser's events.

A seeded corpus of generated documents (every kind of plain scalar the resolver knows,
quoted scalars, flow and block styles, anchors, aliases, merge keys, empty values) must
load as PyYAML's ``SafeLoader`` loads it, alias identity included. Merge keys are
compared with PyYAML 6.0.2's rules (own keys win; in a list the earlier mapping wins),
which the installed PyYAML breaks for keys longer than one character (yaml/pyyaml#953).
Explicit tags, errors and the duplicate-key rule are checked against the full loader.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, SequenceNode

from mlvigil import yaml_events
from mlvigil.exceptions import ConfigError
from mlvigil.yaml_config import _UniqueKeyLoader, read_yaml

PLAIN = [
    "yes", "No", "on", "OFF", "y", "~", "null", "Null", "010", "0x1f", "0o17", "0b101",
    "1_000", "-7", "+12", "0", "1:30", "-1:30:15", "1e3", "1.5e3", "1.5e+3", "3.25", ".5",
    ".inf", "-.Inf", ".nan", "-.nan", "2026-01-01", "2026-01-01 10:00:00+02:00",
    "2026-1-1t10:00:00.5Z", "text", "two words", "window", "<<x", "true", "False",
]  # fmt: skip
KEYS = [
    "name", "a", "b", "k", "xyz", "window", "only", "yes", "off", "~", "010", "0x1f",
    "1_000", "1:30", "-7", "3.25", "2026-01-01", "two words",
]  # fmt: skip


class SpecMergeLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader with its flatten_mapping as of 6.0.2 (yaml/pyyaml#953)."""

    def flatten_mapping(self, node: MappingNode) -> None:
        merge: list[Any] = []
        index = 0
        while index < len(node.value):
            key_node, value_node = node.value[index]
            if key_node.tag == "tag:yaml.org,2002:merge":
                del node.value[index]
                if isinstance(value_node, MappingNode):
                    self.flatten_mapping(value_node)
                    merge.extend(value_node.value)
                elif isinstance(value_node, SequenceNode):
                    submerge = []
                    for subnode in value_node.value:
                        if not isinstance(subnode, MappingNode):
                            raise ConstructorError(None, None, "not a mapping", subnode.start_mark)
                        self.flatten_mapping(subnode)
                        submerge.append(subnode.value)
                    submerge.reverse()
                    for value in submerge:
                        merge.extend(value)
                else:
                    raise ConstructorError(None, None, "not a mapping", value_node.start_mark)
            elif key_node.tag == "tag:yaml.org,2002:value":
                key_node.tag = "tag:yaml.org,2002:str"
                index += 1
            else:
                index += 1
        if merge:
            node.value = merge + node.value


def pyyaml(text: str) -> Any:
    return yaml.load(text, Loader=SpecMergeLoader if "<<" in text else yaml.SafeLoader)


def same(a: Any, b: Any, ids: dict[int, int] | None = None, back: dict[int, int] | None = None):
    """Equal values of equal types, keys in the same order, shared where shared."""
    ids = {} if ids is None else ids
    back = {} if back is None else back
    if type(a) is not type(b):
        return False
    if not isinstance(a, dict | list):
        return repr(a) == repr(b)  # NaN equals NaN; timezones compared
    if id(a) in ids or id(b) in back:
        return ids.get(id(a)) == id(b) and back.get(id(b)) == id(a)
    ids[id(a)], back[id(b)] = id(b), id(a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y, ids, back) for x, y in zip(a, b, strict=True))
    return len(a) == len(b) and all(
        same(ka, kb, ids, back) and same(a[ka], b[kb], ids, back)
        for ka, kb in zip(a, b, strict=True)
    )


class Generator:
    """Random YAML text: nested mappings and lists of every scalar kind, in both styles."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.anchors: dict[str, list[str]] = {"map": [], "seq": [], "scalar": []}
        self.count = 0

    def anchor(self) -> str | None:
        if self.rng.random() < 0.3:
            self.count += 1
            return f"a{self.count}"
        return None

    def scalar(self) -> str:
        text = self.rng.choice(PLAIN)
        roll = self.rng.random()
        if roll < 0.15:
            return f"'{text}'"
        if roll < 0.25:
            return f'"{text}"'
        return text

    def keys(self, n: int) -> list[str]:
        """``n`` keys whose values differ (``yes`` and ``on`` are both True)."""
        chosen: list[str] = []
        values: list[Any] = []
        for text in self.rng.sample(KEYS, n):
            spelt = f'"{text}"' if self.rng.random() < 0.15 else text
            value = next(iter(yaml.safe_load(f"{spelt}: 0\n")))
            if value not in values:
                chosen.append(spelt)
                values.append(value)
        return chosen

    def alias(self, kind: str) -> str | None:
        names = self.anchors[kind]
        return f"*{self.rng.choice(names)}" if names else None

    def merge(self) -> str | None:
        maps = self.anchors["map"]
        if not maps or self.rng.random() < 0.5:
            return None
        roll = self.rng.random()
        if roll < 0.4:
            return f"*{self.rng.choice(maps)}"
        if roll < 0.8:
            picks = self.rng.sample(maps, min(len(maps), self.rng.randint(1, 3)))
            return "[" + ", ".join(f"*{name}" for name in picks) + "]"
        return self.flow_map(1)

    def flow(self, depth: int) -> str:
        roll = self.rng.random()
        if depth <= 0 or roll < 0.5:
            return (self.rng.random() < 0.2 and self.alias("scalar")) or self.scalar()
        if roll < 0.6:
            return self.alias("seq") or self.alias("map") or self.scalar()
        if roll < 0.8:
            return self.flow_seq(depth)
        return self.flow_map(depth)

    def flow_seq(self, depth: int) -> str:
        items = [self.flow(depth - 1) for _ in range(self.rng.randint(0, 4))]
        return "[" + ", ".join(items) + "]"

    def flow_map(self, depth: int) -> str:
        merge = self.merge()  # before the entries: its aliases are to anchors before them
        entries = [f"{key}: {self.flow(depth - 1)}" for key in self.keys(self.rng.randint(0, 4))]
        if merge is not None:
            entries.insert(self.rng.randint(0, len(entries)), f"<<: {merge}")
        return "{" + ", ".join(entries) + "}"

    def named(self, kind: str, text: str, name: str | None) -> str:
        if name is not None:
            self.anchors[kind].append(name)
        return text

    def value(self, depth: int, indent: int, in_map: bool) -> tuple[str, list[str]]:
        """The rest of a ``key:`` or ``-`` line, and the lines below it."""
        name = self.anchor()
        tag = f" &{name}" if name else ""
        roll = self.rng.random()
        if roll < 0.1:
            return tag, []  # empty: null
        if roll < 0.4 or depth <= 0:
            text = self.scalar()
            return f"{tag} {self.named('scalar', text, name)}", []
        if roll < 0.55:
            return f" {self.alias('map') or self.alias('seq') or self.scalar()}", []
        if roll < 0.7:
            kind = "seq" if self.rng.random() < 0.5 else "map"
            text = self.flow_seq(depth) if kind == "seq" else self.flow_map(depth)
            return f"{tag} {self.named(kind, text, name)}", []
        if roll < 0.85:
            lines = self.block_map(depth - 1, indent + 2)
            self.named("map", "", name)
            return tag, lines
        # Under a key, a block list may start at the key's own indentation.
        same_indent = in_map and self.rng.random() < 0.3
        lines = self.block_seq(depth - 1, indent if same_indent else indent + 2)
        self.named("seq", "", name)
        return tag, lines

    def block_map(self, depth: int, indent: int) -> list[str]:
        pad = " " * indent
        merges = (self.merge(), self.merge() if self.rng.random() < 0.2 else None)
        entries = []
        for key in self.keys(self.rng.randint(1, 5)):
            rest, below = self.value(depth, indent, in_map=True)
            entries.append([f"{pad}{key}:{rest}", *below])
        for merge in merges:
            if merge is not None:
                entries.insert(self.rng.randint(0, len(entries)), [f"{pad}<<: {merge}"])
        return [line for entry in entries for line in entry]

    def block_seq(self, depth: int, indent: int) -> list[str]:
        pad = " " * indent
        lines = []
        for _ in range(self.rng.randint(1, 4)):
            if depth > 0 and self.rng.random() < 0.3:  # `- key: value` starts a mapping
                inner = self.block_map(depth - 1, indent + 2)
                lines.append(pad + "- " + inner[0][indent + 2 :])
                lines.extend(inner[1:])
                continue
            rest, below = self.value(depth, indent, in_map=False)
            lines.append(f"{pad}-{rest}")
            lines.extend(below)
        return lines

    def document(self) -> str:
        roll = self.rng.random()
        if roll < 0.75:
            lines = self.block_map(3, 0)
        elif roll < 0.9:
            lines = self.block_seq(3, 0)
        else:
            lines = [self.flow(3)]
        return "\n".join(lines) + "\n"


def corpus(n: int = 300, seed: int = 20260101) -> list[str]:
    texts = [Generator(seed + i).document() for i in range(n)]
    assert sum("<<" in text for text in texts) > n // 6  # merges are exercised
    assert sum("*" in text for text in texts) > n // 4  # and aliases
    return texts


def write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        read_yaml(write(tmp_path, text), "configuration")
    return str(caught.value)


def full_loader_error(tmp_path: Path, text: str) -> str:
    """The message of the path through PyYAML's own loader: a tag forces it."""
    return error(tmp_path, text.replace("\n", "\nforce_full_loader: !!str x\n", 1))


def test_the_corpus_loads_as_pyyaml_loads_it(tmp_path: Path) -> None:
    for number, text in enumerate(corpus()):
        expected = pyyaml(text)
        assert same(read_yaml(write(tmp_path, text), "configuration"), expected), text
        fast = yaml_events.load(text)
        assert fast is not yaml_events.UNHANDLED, text  # the event builder read it
        assert same(fast, yaml.load(text, Loader=_UniqueKeyLoader)), (number, text)


def test_the_pure_python_parser_gives_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yaml_events, "_Loader", yaml.SafeLoader)
    for text in corpus(60, seed=7):
        assert same(yaml_events.load(text), pyyaml(text)), text


def test_each_plain_scalar_is_what_the_resolver_says(tmp_path: Path) -> None:
    text = "".join(f"- {value}\n" for value in PLAIN) + "-\n- ''\n- \"\"\n"
    loaded = read_yaml(write(tmp_path, text), "configuration")
    assert same(loaded, yaml.safe_load(text))
    assert loaded[:4] == [True, False, True, False]
    assert loaded[PLAIN.index("010")] == 8
    assert loaded[PLAIN.index("1:30")] == 90
    assert loaded[-3:] == [None, "", ""]


def test_an_alias_is_the_anchored_object(tmp_path: Path) -> None:
    text = "base: &b [1, {x: 2}]\nx: *b\nm: &m {a: [1]}\nl: [*m, *m, *b]\ns: &s two words\nt: *s\n"
    loaded = read_yaml(write(tmp_path, text), "configuration")
    assert loaded["x"] is loaded["base"] is loaded["l"][2]
    assert loaded["l"][0] is loaded["l"][1] is loaded["m"]
    assert same(loaded, yaml.safe_load(text))


def test_merge_precedence_own_keys_then_the_earlier_mapping(tmp_path: Path) -> None:
    text = """\
a: &a {xyz: 1, k: 1, only_a: 1}
b: &b {xyz: 2, k: 2, only_b: 2}
listed:
  <<: [*a, *b]
own:
  xyz: own
  <<: [*b, *a]
nested: &n
  <<: *a
  xyz: 3
deeper: {<<: *n, k: 4}
"""
    loaded = read_yaml(write(tmp_path, text), "configuration")
    assert loaded["listed"] == {"xyz": 1, "k": 1, "only_a": 1, "only_b": 2}
    assert list(loaded["listed"]) == ["xyz", "k", "only_b", "only_a"]  # PyYAML 6.0.2's order
    assert loaded["own"] == {"xyz": "own", "k": 2, "only_a": 1, "only_b": 2}
    assert loaded["deeper"] == {"xyz": 3, "k": 4, "only_a": 1}
    assert same(loaded, pyyaml(text))
    assert same(loaded, yaml.load(text, Loader=_UniqueKeyLoader))


def test_merges_do_not_multiply(tmp_path: Path) -> None:
    # Each level merges the one below twice: 2**40 pairs if merged as nodes.
    lines = ["l0: &l0 {k0: 0}"]
    lines += [f"l{i}: &l{i} {{<<: [*l{i - 1}, *l{i - 1}], k{i}: {i}}}" for i in range(1, 41)]
    text = "\n".join(lines) + "\n"
    start = time.perf_counter()
    loaded = read_yaml(write(tmp_path, text), "configuration")
    tagged = read_yaml(write(tmp_path, text + "t: !!str x\n"), "configuration")
    assert time.perf_counter() - start < 10
    assert loaded["l40"] == {f"k{i}": i for i in range(41)} == tagged["l40"]


def test_a_key_given_twice_names_its_line(tmp_path: Path) -> None:
    text = "a: 1\nb:\n  c: 1\n  d: [1, 2]\n  c: 2\n"
    message = error(tmp_path, text)
    assert message == f"{tmp_path / 'c.yaml'}: line 5: key 'c' is given twice"
    assert full_loader_error(tmp_path, text) == message.replace("line 5", "line 6")
    # `yes` and `on` are both True; an alias key is reported where its anchor is.
    assert "line 3: key True is given twice" in error(tmp_path, "m:\n  yes: 1\n  on: 2\n")
    text = "x: &k c\nm:\n  c: 1\n  *k : 2\n"
    assert error(tmp_path, text).endswith("line 1: key 'c' is given twice")


def test_keys_given_twice_in_two_mappings_report_the_full_loaders_first(tmp_path: Path) -> None:
    # PyYAML constructs list items last: m's duplicate is met first.
    assert error(tmp_path, "l:\n- {c: 1, c: 2}\nm: {d: 1, d: 2}\n").endswith(
        "line 3: key 'd' is given twice"
    )
    assert error(tmp_path, "a: 1\na: 2\nb: {c: 1, c: 2}\n").endswith(
        "line 2: key 'a' is given twice"
    )


def test_a_merged_key_is_not_given_twice(tmp_path: Path) -> None:
    text = "b: &b {a: 1}\nm:\n  <<: *b\n  a: 2\n  <<: {a: 3}\n"
    assert read_yaml(write(tmp_path, text), "configuration")["m"] == {"a": 2}
    # A mapping merged before it is met again (list items are built last by PyYAML).
    text = """\
first:
- <<: &d
    <<: &base {source: staging}
    source: production
second: {<<: *d}
third: *d
"""
    for body in (text, text + "tagged: !!str x\n"):
        loaded = read_yaml(write(tmp_path, body), "configuration")
        assert loaded["second"] == loaded["third"] == {"source": "production"}
    # Within a merged mapping a key still may not be given twice.
    assert error(tmp_path, "m:\n  <<: {a: 1, a: 2}\n").endswith("line 2: key 'a' is given twice")


@pytest.mark.parametrize(
    "text",
    [
        "a: !!str 1\nb: !!int '7'\nc: !!float 1\nd: !!bool yes\ne: !!null ''\n",
        "s: !!set {x, y}\nb: !!binary aGVsbG8=\nt: !!timestamp 2026-01-01\n",
        "o: !!omap [{x: 1}, {y: 2}]\np: !!pairs [{x: 1}, {x: 2}]\n",
        "m: !!map {a: [1]}\nq: !!seq [1]\n",
        "! {a: 1}\n",
    ],
)
def test_explicit_tags_give_pyyamls_result(tmp_path: Path, text: str) -> None:
    assert same(read_yaml(write(tmp_path, text), "configuration"), yaml.safe_load(text))


def test_explicit_tags_keep_the_merge_and_duplicate_rules(tmp_path: Path) -> None:
    text = "a: &a {k: 1, kk: 1}\nb: &b {k: 2, kk: 2, t: !!str 3}\nm: {<<: [*a, *b]}\n"
    assert read_yaml(write(tmp_path, text), "configuration")["m"] == {"k": 1, "kk": 1, "t": "3"}
    assert error(tmp_path, "a: !!str 1\nb: 1\nb: 2\n").endswith("line 3: key 'b' is given twice")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: [1, 2\n", "line 2: invalid YAML: did not find expected ',' or ']'"),
        ("a: 1\n---\nb: 2\n", "line 2: invalid YAML: but found another document"),
        ("a: 1\na: 2\n---\nb: 2\n", "line 3: invalid YAML: but found another document"),
        ("a: *x\n", "line 1: invalid YAML: found undefined alias"),
        ("a: &a 1\nb: &a 2\n", "line 2: invalid YAML: second occurrence"),
        ("&a {b: *a}\n", "line 1: invalid YAML: found unconstructable recursive node"),
        ("m:\n  <<: 1\n", "line 2: invalid YAML: expected a mapping or list of mappings for"),
        ("m:\n  <<: [1]\n", "line 2: invalid YAML: expected a mapping for merging, but found"),
        ("a: =\n", "line 1: invalid YAML: could not determine a constructor for the tag"),
        ("a: !mine 1\n", "line 1: invalid YAML: could not determine a constructor for the tag"),
    ],
)
def test_unusable_yaml_says_where(tmp_path: Path, text: str, expected: str) -> None:
    message = error(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'c.yaml'}: {expected}")


def test_other_documents_load_as_before(tmp_path: Path) -> None:
    for text, expected in [("", None), ("# nothing\n", None), ("---\n", None), ("--- 3\n", 3)]:
        assert read_yaml(write(tmp_path, text), "configuration") == expected
    assert read_yaml(write(tmp_path, "=: 1\n"), "configuration") == {"=": 1}
    recursive = read_yaml(write(tmp_path, "&a [*a]\n"), "configuration")
    assert recursive[0] is recursive  # as PyYAML builds it
    # PyYAML makes every .nan the same object: as a key, given twice.
    assert error(tmp_path, "{.nan: 1, .NaN: 2}\n").endswith("line 1: key nan is given twice")
    with pytest.raises(ValueError, match="day is out of range"):
        read_yaml(write(tmp_path, "a: 2026-02-30\n"), "configuration")
    with pytest.raises(TypeError, match="unhashable"):
        read_yaml(write(tmp_path, "? [a]\n: 1\n"), "configuration")
