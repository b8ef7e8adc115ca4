"""Multi-document YAML from untrusted files, with a safe loader and limits.

PyYAML's safe loader builds only plain data (no Python objects:
https://pyyaml.org/wiki/PyYAMLDocumentation, "safe_load"). Aliases share one node, so a
"billion laughs" file stays small in memory as long as nothing formats it whole; discovery only
reads the fields it needs. Deep nesting ends in RecursionError, reported like any other error.
"""

from __future__ import annotations

from typing import Any

import yaml

from service_runbooks.discovery.model import Limits, SourceProblem
from service_runbooks.errors import YamlProblem

try:  # the C parser is much faster on large outputs; same results
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader


def load_documents(data: bytes, shown_as: str, limits: Limits) -> list[Any]:
    """Every document of ``data`` (empty ones dropped); YamlProblem naming ``shown_as`` if not."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise YamlProblem(SourceProblem(shown_as, f"is not UTF-8 text ({error.reason})")) from None
    documents: list[Any] = []
    loader = _Loader(text)
    try:
        while loader.check_data():
            documents.append(loader.get_data())
            if len(documents) > limits.documents_per_file:
                message = f"holds more than {limits.documents_per_file} YAML documents; not read"
                raise YamlProblem(SourceProblem(shown_as, message))
    except yaml.YAMLError as error:
        message = str(error).replace('"<unicode string>", ', "").replace("\n", " ")
        raise YamlProblem(SourceProblem(shown_as, f"is not valid YAML: {message}")) from None
    except RecursionError:
        raise YamlProblem(SourceProblem(shown_as, "is nested too deeply to read")) from None
    finally:
        loader.dispose()
    return [document for document in documents if document is not None]


def load_mapping(data: bytes, shown_as: str, limits: Limits) -> dict[str, Any]:
    """A file that must hold one YAML mapping (a kustomization, a catalog entity)."""
    documents = load_documents(data, shown_as, limits)
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise YamlProblem(SourceProblem(shown_as, "must hold exactly one YAML mapping"))
    return documents[0]
