"""Dependency cycles in the packaged templates, found before a deploy would fail on them.

cfn-lint does not look for a cycle through a SAM API's DefinitionBody (the API handler naming the API in its
environment while the API's integrations name the handler passed it), and Terraform only finds one at plan time.
Both templates are checked by `make package` (tools/package.py)."""
from __future__ import annotations

import re
from typing import Any, Iterator

_SUB = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")
# ${aws_x.name...}, ${local.name}, ${data.aws_x.name...}: any reference inside a Terraform template string
_TF = re.compile(r"\b(data\.[a-z0-9_]+\.[A-Za-z0-9_-]+|local\.[A-Za-z0-9_]+|aws_[a-z0-9_]+\.[A-Za-z0-9_-]+)")


def cloudformation_cycle(template: dict[str, Any]) -> list[str]:
    """A cycle among the template's resources (Ref, Fn::GetAtt, Fn::Sub, DependsOn) as a list of logical ids, or []."""
    resources = template.get("Resources", {})
    edges = {}
    for logical, resource in resources.items():
        found = set(_cfn_references(resource.get("Properties", {})))
        depends = resource.get("DependsOn", [])
        found.update([depends] if isinstance(depends, str) else depends)
        edges[logical] = {r for r in found if r in resources and r != logical}
    return _cycle(edges)


def _cfn_references(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                yield inner
            elif key == "Fn::GetAtt":
                yield inner[0] if isinstance(inner, list) else inner.split(".")[0]
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                yield from _SUB.findall(text)
                if isinstance(inner, list):
                    yield from _cfn_references(inner[1])
            else:
                yield from _cfn_references(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _cfn_references(inner)


def terraform_cycle(documents: list[dict[str, Any]]) -> list[str]:
    """A cycle among the resources and locals of Terraform JSON documents (one module), or []."""
    nodes: dict[str, Any] = {}
    for document in documents:
        for kind, named in document.get("resource", {}).items():
            nodes.update({f"{kind}.{name}": body for name, body in named.items()})
        for kind, named in document.get("data", {}).items():
            nodes.update({f"data.{kind}.{name}": body for name, body in named.items()})
        for name, body in document.get("locals", {}).items():
            nodes[f"local.{name}"] = body
    edges = {}
    for node, body in nodes.items():
        found = set(_TF.findall(_strings(body)))
        if isinstance(body, dict):
            found.update(body.get("depends_on", []))
        edges[node] = {r for r in found if r in nodes and r != node}
    return _cycle(edges)


def _strings(value: Any) -> str:
    if isinstance(value, dict):
        return " ".join(_strings(v) for v in value.values())
    if isinstance(value, list):
        return " ".join(_strings(v) for v in value)
    return value if isinstance(value, str) else ""


def _cycle(edges: dict[str, set[str]]) -> list[str]:
    """Depth-first: the first cycle found, closed (its first node repeated at the end), or []."""
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return []

    for start in sorted(edges):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return []
