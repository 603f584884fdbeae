"""Writes ``src/breakouts/meetings/upstream.py`` from the official schema (``tests/data``).

    .venv/bin/python -m tests.meetings.generate_upstream

The module types every field of upstream's ``CreateMeetingObject``, ``UpdateMeetingObject`` and
``PatchMeetingObject`` that ``schemas.py`` does not declare itself (those it declares are the
fields this server acts on, with its own, tighter rules). ``test_upstream_fields.py`` fails when
the checked-in module is not what this writes from the checked-in specification.
"""

from __future__ import annotations

import inspect
import json
import keyword
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "tests" / "data" / "webex-meetings-subset.openapi.json"
MODULE_PATH = ROOT / "src" / "breakouts" / "meetings" / "upstream.py"

HEADER = '''\
"""The fields of upstream's meeting request objects that this server type-checks and ignores.

GENERATED from the official Webex Meetings OpenAPI specification (the trimmed copy in
``tests/data/webex-meetings-subset.openapi.json``, CC BY 4.0, (c) Cisco Systems) by
``python -m tests.meetings.generate_upstream``; do not edit (``tests/meetings/
test_upstream_fields.py`` fails when this module and the specification differ).

Every field of ``CreateMeetingObject``, ``UpdateMeetingObject`` and ``PatchMeetingObject`` that
``schemas.py`` does not declare itself has its upstream type here: nested objects (with their
required fields), arrays, enums, booleans, numbers. A value of another type is a 400 naming the
field, ``null`` included (upstream marks nothing nullable); a well-typed value changes nothing.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from breakouts.meetings.options import MeetingOptions

IGNORED = Meta(
    description="Upstream field not applied here: a value of another type is refused (400), "
    "a well-typed one is accepted and ignored."
)
'''


def load_spec() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return spec


def strip(node: Any) -> Any:
    """A schema without its prose (description, example): what a value must be."""
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k not in ("description", "example")}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def snake(name: str) -> str:
    attr = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
    return attr + "_" if keyword.iskeyword(attr) else attr


def camel(attr: str) -> str:
    """What msgspec's ``rename="camel"`` makes of an attribute name."""
    first, *rest = attr.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def capital(name: str) -> str:
    return name[:1].upper() + name[1:]


def acted_on(struct: type[msgspec.Struct]) -> set[str]:
    """JSON names of the fields ``struct`` declares itself, and of the plain settings."""
    from breakouts.meetings.options import MeetingOptions

    names = {f.name: f.encode_name for f in msgspec.structs.fields(struct)}
    own = inspect.get_annotations(struct)  # this class's own, not its bases'
    options = {f.encode_name for f in msgspec.structs.fields(MeetingOptions)}
    return options | {names[attr] for attr in own}


class Generator:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.components: dict[str, Any] = spec["components"]["schemas"]
        self.seen: dict[str, Any] = {}  # struct name -> the stripped schema it was made from
        self.blocks: list[str] = []  # class definitions, each after the structs it uses

    def annotation(self, schema: dict[str, Any], prop: str, owner: str) -> str:
        """The Python type of a value of ``schema`` (property ``prop`` of ``owner``)."""
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            return self.struct(name, self.components[name], f"Upstream's ``{name}``")
        kind = schema.get("type")
        if kind == "object" and "properties" in schema:
            return self.struct(f"{capital(prop)}Object", schema, f"Upstream's ``{prop}`` object")
        if kind == "array":
            item = schema["items"]
            if item.get("type") == "object" and "$ref" not in item:
                name = f"{owner}{capital(prop)}Item"
                text = f"An item of ``{prop}`` in ``{owner}``"
                return f"list[{self.struct(name, item, text)}]"
            return f"list[{self.annotation(item, prop, owner)}]"
        if kind == "string" and "enum" in schema:
            return "Literal[" + ", ".join(json.dumps(v) for v in schema["enum"]) + "]"
        simple = {"string": "str", "boolean": "bool", "number": "float", "integer": "int"}
        if kind in simple and set(strip(schema)) == {"type"}:
            return simple[kind]
        raise ValueError(f"{owner}.{prop}: no type for {strip(schema)}")

    def struct(self, name: str, schema: dict[str, Any], what: str) -> str:
        if name in self.seen:
            if self.seen[name] != strip(schema):
                raise ValueError(f"two different upstream objects would be named {name}")
            return name
        self.seen[name] = strip(schema)
        required = set(schema.get("required", []))
        lines = [
            f'class {name}(msgspec.Struct, rename="camel", kw_only=True):',
            f'    """{what}: type-checked, not applied here."""',
            "",
        ]
        for prop, sub in schema["properties"].items():
            lines.append(self.field(prop, self.annotation(sub, prop, name), prop in required))
        self.blocks.append("\n".join(lines))
        return name

    @staticmethod
    def field(prop: str, annotation: str, required: bool, note: bool = False) -> str:
        attr = snake(prop)
        if note:
            annotation = f"Annotated[{annotation}, IGNORED]"
        if required:
            default = f' = msgspec.field(name="{prop}")' if camel(attr) != prop else ""
            return f"    {attr}: {annotation}{default}"
        default = "UNSET" if camel(attr) == prop else f'msgspec.field(default=UNSET, name="{prop}")'
        return f"    {attr}: {annotation} | UnsetType = {default}"

    def mixin(self, name: str, base: str, fields: dict[str, Any], owners: str, obj: str) -> None:
        lines = [
            f"class {name}({base}, kw_only=True):",
            f'    """The fields of upstream\'s {owners} that ``schemas.py`` does not declare."""',
            "",
        ]
        for prop, sub in fields.items():
            lines.append(self.field(prop, self.annotation(sub, prop, obj), False, note=True))
        self.blocks.append("\n".join(lines))


def ignored_fields(spec: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(update-only, create-only) ignored fields: every update one is a create one as well."""
    from breakouts.meetings import schemas

    components = spec["components"]["schemas"]
    create = components["CreateMeetingObject"]["properties"]
    update = components["UpdateMeetingObject"]["properties"]
    patch = components["PatchMeetingObject"]["properties"]
    if strip(patch) != strip(update):
        raise ValueError("PatchMeetingObject differs from UpdateMeetingObject: generate both")
    ours_create = acted_on(schemas.CreateMeetingObject)
    ours_update = acted_on(schemas.UpdateMeetingObject)
    ignored_update = {k: v for k, v in update.items() if k not in ours_update}
    ignored_create = {k: v for k, v in create.items() if k not in ours_create}
    for prop, sub in ignored_update.items():
        if prop not in ignored_create or strip(ignored_create[prop]) != strip(sub):
            raise ValueError(f"{prop}: ignored on update but not ignored alike on create")
    return ignored_update, {k: v for k, v in ignored_create.items() if k not in ignored_update}


def render(spec: dict[str, Any]) -> str:
    """The module's text, formatted as ``ruff format`` leaves it."""
    update, create = ignored_fields(spec)
    gen = Generator(spec)
    gen.mixin(
        "IgnoredUpdateFields",
        "MeetingOptions",
        update,
        "``UpdateMeetingObject`` and ``PatchMeetingObject``",
        "UpdateMeetingObject",
    )
    gen.mixin(
        "IgnoredCreateFields",
        "IgnoredUpdateFields",
        create,
        "``CreateMeetingObject`` (beside those of updates)",
        "CreateMeetingObject",
    )
    text = HEADER + "\n\n" + "\n\n\n".join(gen.blocks) + "\n"
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(MODULE_PATH), "-"],
        input=text,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return done.stdout


def main() -> None:
    MODULE_PATH.write_text(render(load_spec()), encoding="utf-8")
    print(f"wrote {MODULE_PATH.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
