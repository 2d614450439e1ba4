"""Read `tags/**/*.yaml` into Tag models, remembering the file and line of every tag and SQL block."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from portrait.catalog.model import Tag
from portrait.errors import CatalogError, CatalogErrors, Location


def _construct(node: yaml.Node):
    return yaml.SafeLoader("").construct_document(node)


def _tag_nodes(doc: yaml.Node, file: Path) -> list[yaml.MappingNode]:
    if isinstance(doc, yaml.MappingNode):
        for key, value in doc.value:
            if key.value == "tags" and isinstance(value, yaml.SequenceNode):
                return list(value.value)
        return [doc]
    if isinstance(doc, yaml.SequenceNode):
        return list(doc.value)
    raise CatalogError("a tag file holds a list of tags (or `tags: [...]`)", Location(str(file), 1))


def _sql_line(node: yaml.MappingNode) -> int | None:
    for key, value in node.value:
        if key.value == "sql":
            block = value.style in ("|", ">")
            return value.start_mark.line + 1 + (1 if block else 0)
    return None


def load_file(file: Path, root: Path) -> tuple[list[Tag], list[CatalogError]]:
    rel = str(file.relative_to(root)) if file.is_relative_to(root) else str(file)
    try:
        docs = list(yaml.compose_all(file.read_text(encoding="utf-8"), Loader=yaml.SafeLoader))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        loc = Location(rel, mark.line + 1 if mark else None, mark.column + 1 if mark else None)
        return [], [CatalogError(f"invalid YAML: {getattr(e, 'problem', e)}", loc)]
    tags, errors = [], []
    for doc in docs:
        if doc is None:
            continue
        try:
            nodes = _tag_nodes(doc, file)
        except CatalogError as e:
            errors.append(e)
            continue
        for node in nodes:
            line = node.start_mark.line + 1
            data = _construct(node)
            if not isinstance(data, dict):
                errors.append(CatalogError("each tag is a mapping of keys", Location(rel, line)))
                continue
            tag_id = data.get("id")
            if data.get("sql_file"):
                sql_path = file.parent / data["sql_file"]
                if not sql_path.exists():
                    errors.append(CatalogError(f"sql_file {data['sql_file']!r} not found", Location(rel, line, tag=tag_id)))
                    continue
                data["sql"] = sql_path.read_text(encoding="utf-8")
            try:
                tag = Tag.model_validate(data)
            except ValidationError as e:
                for err in e.errors():
                    key = ".".join(str(p) for p in err["loc"]) or "tag"
                    errors.append(CatalogError(f"{key}: {err['msg']}", Location(rel, line, tag=tag_id)))
                continue
            tag.file, tag.line = rel, line
            tag.sql_line = 1 if data.get("sql_file") else _sql_line(node)
            if data.get("sql_file"):
                tag.file = str((file.parent / data["sql_file"]).relative_to(root))
            tags.append(tag)
    return tags, errors


def load_tags(tags_dir: Path, root: Path | None = None) -> list[Tag]:
    """All tags of a project, in file order; every problem is collected before raising."""
    root = root or tags_dir.parent
    if not tags_dir.is_dir():
        raise CatalogError(f"no tags folder at {tags_dir}", hint="a project keeps its catalog in tags/*.yaml")
    tags: list[Tag] = []
    errors: list[CatalogError] = []
    seen: dict[str, Tag] = {}
    for file in sorted([*tags_dir.rglob("*.yaml"), *tags_dir.rglob("*.yml")]):
        found, errs = load_file(file, root)
        errors.extend(errs)
        for tag in found:
            if tag.id in seen:
                first = seen[tag.id]
                errors.append(
                    CatalogError(
                        f"duplicate tag id (first declared at {first.file}:{first.line})",
                        Location(tag.file, tag.line, tag=tag.id),
                    )
                )
                continue
            seen[tag.id] = tag
            tags.append(tag)
    if errors:
        raise errors[0] if len(errors) == 1 else CatalogErrors(errors)
    return tags
