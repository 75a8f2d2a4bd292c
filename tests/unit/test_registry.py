import json

import pytest

from ragtune.chunking import CHUNKERS
from ragtune.config import ComponentSpec, ProjectConfig
from ragtune.documents.loaders import LOADERS, loader_for
from ragtune.embedding import EMBEDDERS
from ragtune.errors import RagtuneError
from ragtune.evaluation.judge import JUDGES
from ragtune.generation import GENERATORS
from ragtune.project import Project
from ragtune.retrieval.rerank import RERANKERS
from ragtune.stores import STORES

REGISTRIES = {"embedder": EMBEDDERS, "chunker": CHUNKERS, "generator": GENERATORS, "store": STORES,
              "reranker": RERANKERS, "loader": LOADERS, "judge": JUDGES}

# Non-default constructor values for the built-ins, so the round trip proves parameters survive.
SAMPLE_PARAMS = {
    ("embedder", "hashing"): {"dimension": 64},
    ("embedder", "onnx"): {"model": "/m/model.onnx", "tokenizer": "/m/tokenizer.json", "max_tokens": 128,
                           "batch_size": 8, "threads": 2, "dimension": 384},
    ("embedder", "sentence-transformers"): {"model": "/models/st", "batch_size": 4, "dimension": 768},
    ("embedder", "openai"): {"model": "emb", "base_url": "http://127.0.0.1:1/v1", "api_key_env": "K",
                             "dimension": 8},
    ("chunker", "sentence"): {"max_tokens": 120, "overlap_sentences": 2, "tokenizer": "whitespace"},
    ("chunker", "token"): {"max_tokens": 100, "overlap": 10, "tokenizer": "whitespace"},
    ("chunker", "fixed"): {"size": 300, "overlap": 20},
    ("generator", "scripted"): {"script": ["one [1]", "two"]},
    ("generator", "llamacpp"): {"model": "/x.gguf", "context": 1024, "threads": 1, "seed": 7, "slots": 2},
    ("generator", "openai"): {"model": "m", "base_url": "http://127.0.0.1:1/v1", "api_key_env": "K",
                              "timeout": 5.0},
    ("store", "chroma"): {"path": "elsewhere", "collection": "c2"},
    ("reranker", "cross-encoder"): {"model": "/models/ce", "batch_size": 4},
    ("reranker", "overlap"): {},
    ("judge", "scripted"): {"script": ['{"correct": true}'], "parse_retries": 1},
    ("judge", "openai"): {"model": "m", "base_url": "http://127.0.0.1:1/v1", "api_key_env": "K", "parse_retries": 0,
                          "json_schema": False},
}

CASES = [(kind, name) for kind, reg in REGISTRIES.items() for name in reg.names()]


def test_builtins_are_registered():
    assert {"hashing", "onnx", "sentence-transformers", "openai"} <= set(EMBEDDERS.names())
    assert {"sentence", "token", "fixed"} <= set(CHUNKERS.names())
    assert {"scripted", "llamacpp", "openai"} <= set(GENERATORS.names())
    assert "chroma" in STORES.names()
    assert {"overlap", "cross-encoder"} <= set(RERANKERS.names())
    assert {"text", "markdown", "html", "pdf", "beir"} <= set(LOADERS.names())
    assert {"scripted", "openai"} <= set(JUDGES.names())
    assert set(SAMPLE_PARAMS) <= set(CASES)


@pytest.mark.parametrize("kind, name", CASES, ids=[f"{k}-{n}" for k, n in CASES])
@pytest.mark.parametrize("custom", [False, True], ids=["defaults", "custom"])
def test_round_trip(kind, name, custom):
    reg = REGISTRIES[kind]
    params = SAMPLE_PARAMS.get((kind, name), {}) if custom else {}
    obj = reg.create(name, **params)
    d = obj.to_dict()
    assert d["type"] == name
    for key, value in params.items():
        assert d["params"][key] == value
    again = reg.from_dict(json.loads(json.dumps(d)))  # through JSON, as config.json stores it
    assert type(again) is type(obj)
    assert again.to_dict() == d
    assert again == obj
    # and through the project's typed config
    spec = ComponentSpec.model_validate(d)
    assert reg.from_dict(spec.model_dump()).to_dict() == d


def test_project_config_round_trip(tmp_path):
    cfg = ProjectConfig(embedder=ComponentSpec(type="hashing", params={"dimension": 32}),
                        chunker=ComponentSpec(type="fixed", params={"size": 64, "overlap": 8}),
                        generator=ComponentSpec(type="scripted", params={"script": ["x"], "piecewise": True}),
                        reranker=ComponentSpec(type="overlap"))
    Project(tmp_path, cfg).save()
    p = Project(tmp_path)
    assert p.config == cfg
    assert p.embedder.to_dict() == cfg.embedder.model_dump()
    assert p.chunker.to_dict() == cfg.chunker.model_dump()
    assert p.generator().to_dict() == cfg.generator.model_dump()


@pytest.mark.parametrize("kind", sorted(REGISTRIES))
def test_unknown_name_lists_known_names(kind):
    reg = REGISTRIES[kind]
    with pytest.raises(RagtuneError) as e:
        reg.create("no-such-thing")
    msg = str(e.value)
    assert "no-such-thing" in msg and kind in msg
    for name in reg.names():
        assert name in msg


def test_from_dict_needs_a_type():
    with pytest.raises(RagtuneError, match="'type'"):
        EMBEDDERS.from_dict({"params": {}})


@pytest.mark.parametrize("kind, name, params", [
    ("embedder", "hashing", {"dimension": 2}),
    ("chunker", "sentence", {"max_tokens": 3}),
    ("chunker", "sentence", {"overlap_sentences": -2}),
    ("chunker", "token", {"max_tokens": 64, "overlap": 32}),
    ("chunker", "fixed", {"size": 8}),
    ("chunker", "fixed", {"size": 100, "overlap": -1}),
    ("judge", "scripted", {"parse_retries": -1}),
    ("judge", "openai", {"parse_retries": -1}),
])
def test_bad_constructor_values(kind, name, params):
    with pytest.raises(RagtuneError):
        REGISTRIES[kind].create(name, **params)


@pytest.mark.parametrize("section, spec", [
    ("embedder", ComponentSpec(type="hashing", params={"dimensions": 64})),   # misspelt parameter
    ("embedder", ComponentSpec(type="hashing", params={"dimension": "big"})),  # wrong type
    ("chunker", ComponentSpec(type="fixed", params={"size": 10})),
    ("embedder", ComponentSpec(type="nope")),
])
def test_project_reports_bad_component_config_as_ragtune_error(tmp_path, section, spec):
    p = Project(tmp_path, ProjectConfig(**{section: spec}))
    with pytest.raises(RagtuneError):
        getattr(p, section)


@pytest.mark.parametrize("kind, data, named", [
    ("generator", {"type": "llamacpp", "params": {"slots": "four"}}, "slots: Input should be a valid integer"),
    ("generator", {"type": "llamacpp", "params": {"threads": 1.5}}, "threads: Input should be a valid integer"),
    ("generator", {"type": "openai", "params": {"timeout": "soon"}}, "timeout: Input should be a valid number"),
    ("chunker", {"type": "sentence", "params": {"max_tokens": [120]}}, "max_tokens: Input should be a valid integer"),
])
def test_a_parameter_of_the_wrong_type_is_refused_by_name_before_construction(kind, data, named):
    with pytest.raises(RagtuneError) as e:
        REGISTRIES[kind].from_dict(data)
    assert named in str(e.value) and repr(next(iter(data["params"].values()))) in str(e.value)


def test_a_value_that_reads_as_its_type_is_converted():
    """A number written as text in config.json ("4") is the number, as pydantic reads the rest of the config."""
    g = GENERATORS.from_dict({"type": "llamacpp", "params": {"slots": "4", "context": 1024.0}})
    assert (g.slots, g.context) == (4, 1024) and type(g.slots) is int and type(g.context) is int


def test_invalid_config_file_is_a_ragtune_error(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"embedder": {"type": "hashing"}, "colour": "red"}))
    with pytest.raises(RagtuneError, match="not a valid ragtune config"):
        _ = Project(tmp_path).config


def test_onnx_embedder_rejects_unknown_quantize_mode():
    from ragtune.embedding.onnx import OnnxEmbedder

    with pytest.raises(RagtuneError, match="quantize"):
        OnnxEmbedder(quantize="fp8")


@pytest.mark.parametrize("suffix, name", [(".txt", "text"), (".MD", "markdown"), (".htm", "html"), (".pdf", "pdf"),
                                          (".jsonl", "beir"), (".docx", None)])
def test_loaders_are_found_by_extension_through_the_registry(suffix, name, tmp_path):
    loader = loader_for(tmp_path / f"a{suffix}")
    assert (loader.to_dict()["type"] if loader else None) == name


class _RstLoader:
    """A third-party loader, as a plugin package would ship it."""

    extensions = (".rst", ".md")  # takes .md over from the built-in

    def load(self, path, doc_id):
        from ragtune.documents.types import Document

        yield Document(doc_id=doc_id, text=path.read_text(), source=str(path), title="rst")


def test_a_loader_plugin_from_its_entry_point_group_claims_its_extensions(tmp_path, monkeypatch):
    from importlib.metadata import EntryPoint

    import ragtune.registry

    groups = []

    def entry_points(group):
        groups.append(group)
        return [EntryPoint("rst", f"{__name__}:_RstLoader", group)] if group == "ragtune.loader" else []

    monkeypatch.setattr(ragtune.registry, "entry_points", entry_points)
    monkeypatch.setattr(LOADERS, "_classes", dict(LOADERS._classes))
    monkeypatch.setattr(LOADERS, "_plugins_loaded", False)
    path = tmp_path / "guide.md"
    path.write_text("Plugins are found by entry point.")
    assert isinstance(loader_for(path), _RstLoader) and isinstance(loader_for(tmp_path / "x.rst"), _RstLoader)
    assert [d.title for d in loader_for(path).load(path, "guide.md")] == ["rst"]
    assert groups == ["ragtune.loader"] and "rst" in LOADERS.names()
    assert type(loader_for(tmp_path / "x.txt")).__name__ == "TextLoader"


def _protocol_methods(protocol: type) -> set[str]:
    return {n for n, v in vars(protocol).items() if callable(v) and not n.startswith("_")}


@pytest.mark.parametrize("kind, name", CASES, ids=[f"{k}-{n}" for k, n in CASES])
def test_every_builtin_has_every_method_its_protocol_declares(kind, name):
    """Callers use only what the protocols declare (mypy checks that), so every built-in must have it all."""
    from ragtune.chunking.protocol import Chunker
    from ragtune.documents.loaders import Loader
    from ragtune.embedding.protocol import Embedder
    from ragtune.evaluation.judge import AnswerJudge
    from ragtune.generation.protocol import Generator
    from ragtune.retrieval.rerank import Reranker
    from ragtune.stores.protocol import VectorStore

    protocol = {"embedder": Embedder, "chunker": Chunker, "generator": Generator, "store": VectorStore,
                "reranker": Reranker, "loader": Loader, "judge": AnswerJudge}[kind]
    cls = REGISTRIES[kind].get(name)
    assert {"warm_up", "to_dict"} <= _protocol_methods(protocol) or kind in ("chunker", "loader", "judge")
    assert not {m for m in _protocol_methods(protocol) if not callable(getattr(cls, m, None))}


def test_warm_up_is_public_idempotent_and_cheap_for_the_fakes(tmp_path):
    from ragtune.retrieval.bm25 import BM25Index

    for component in (EMBEDDERS.create("hashing"), GENERATORS.create("scripted"), RERANKERS.create("overlap"),
                      STORES.create("chroma").bind(tmp_path)):
        component.warm_up()
        component.warm_up()
    index = BM25Index(tmp_path / "bm25")
    index.rebuild([[]])
    index.warm_up()
    assert index.search("anything", 3) == []
