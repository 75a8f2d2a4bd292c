"""A variant: one way of answering (a generator, its rules, retrieval on or off, worked examples), and the one
resolver that turns a name into it. ``ask``, ``eval qa``, ``bakeoff``, ``tune eval`` and ``serve`` all go
through here, so a variant measured in a bake-off is the variant served under the same name.

Names: ``base`` (the project's generator, told to answer briefly or refuse), ``fewshot`` (it, with worked
examples first), ``rag`` (it, answering from the index with citations, after ragtune's built-in worked examples
where ``answer.worked_examples`` puts them), ``fewshot+rag`` (``rag`` with worked
examples first: each a question, its retrieved passages and a short cited answer), ``ft:<job-id>`` and
``ft+rag:<job-id>`` (a fine-tuned model without and with retrieval), and the remotes in ``serve.remotes``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from ragtune.config import AnswerConfig, ComponentSpec
from ragtune.documents.types import Hit
from ragtune.errors import RagtuneError
from ragtune.evaluation.answer_metrics import normalize
from ragtune.generation.protocol import Message
from ragtune.packaged import reader_adapter
from ragtune.project import Project
from ragtune.raft.format import target_system
from ragtune.rag.answer import grounded_prompt, token_cap
from ragtune.rag.focus import LOCAL_WORDS
from ragtune.rag.followup import standalone
from ragtune.rag.prompts import REFUSAL, STOP, SYSTEM, example_turns, grounded_user
from ragtune.rag.worked_examples import worked_shots

# The rules of a variant without retrieval: it must still say when it does not know, or refusals cannot be
# measured (bake-off) nor expected (server) of it.
BASE_SYSTEM = f"Answer the question briefly. If you do not know the answer, reply exactly: {REFUSAL}"
TUNED_PREFIXES = (("ft+rag:", True), ("ft:", False))
PACKAGED_MODEL = "smollm2-135m"
READER_TARGET = "answer"
"""The ``raft build --target`` the shipped reader was trained on (scripts/train_reader.py; its manifest records
it): the short cited answer, asked with the rules that data was built with."""
UNTRAINED = {"base": False, "fewshot": False, "rag": True, "fewshot+rag": True}
"""The variants of the project's own generator, by whether they retrieve; the ``fewshot`` ones need examples."""


def tuned_job(name: str) -> str | None:
    """The job id of a tuned variant's name (``ft:<id>`` or ``ft+rag:<id>``); None for any other name."""
    return next((name[len(p):] for p, _ in TUNED_PREFIXES if name.startswith(p)), None)


@dataclass(frozen=True)
class Variant:
    name: str
    generator: ComponentSpec
    retrieval: bool
    """Retrieve, answer under the grounded prompt, and cite; otherwise the conversation goes to the model."""
    system: str
    """The rules the variant's prompt opens with (a tuned model's are the ones it was trained with); empty
    leaves a conversation as the client sent it (a remote that does not retrieve)."""
    model: str
    """Shown name of the model, which prices are looked up by: a packaged model, an endpoint's model, ft:<id>."""
    shots: tuple[tuple[str, str], ...] = ()
    """Worked (user message, answer) pairs sent before the conversation; with retrieval the user message holds
    the example's passages and its question, as the grounded prompt puts them."""
    owned_by: str = "ragtune"
    ends_at_citation: bool = False
    """Its answer ends at its first citation group, where generation stops (``rag.citation_end``): the shipped
    reader's trained format, "short answer [n]"; a model that may cite mid-sentence is not cut."""
    context_words: int | None = None
    """The passages are cut to about this many words before the model reads them (``rag.focus``); None: whole."""

    def messages(self, conversation: Sequence[Message], hits: Sequence[Hit] = ()) -> list[Message]:
        """What the model is sent for a client's conversation. With retrieval: the rules, the passages ``hits``
        and the last user message (a follow-up joined to its topic question: rag/followup.py). Without: the
        rules and worked examples, then the conversation; a client that sent its own system message keeps it in
        their place."""
        if self.retrieval:
            question = standalone(conversation)
            return grounded_prompt(question, hits, self.system, self.shots, self.context_words)
        if _client_rules(conversation) or not self.system:
            return list(conversation)
        return [{"role": "system", "content": self.system}, *example_turns(self.shots), *conversation]

    def stop(self, conversation: Sequence[Message]) -> list[str]:
        """Stop sequences: ragtune's when its own rules frame the prompt (small models run on into a question
        of their own); none when the client's conversation goes through as sent."""
        framed = self.retrieval or (bool(self.system) and not _client_rules(conversation))
        return list(STOP) if framed else []

    def max_tokens(self, cfg: AnswerConfig) -> int:
        """The token cap of the answer format the variant's rules ask for (``rag.answer.token_cap``)."""
        return token_cap(self.system, cfg)


def question_of(conversation: Sequence[Message]) -> str:
    """The question a grounded variant answers: the last user message (earlier turns are not retrieved on)."""
    for m in reversed(conversation):
        if m["role"] == "user" and m["content"].strip():
            return m["content"]
    raise RagtuneError("the messages hold no user message to answer")


def single_question(question: str) -> list[Message]:
    """A client's conversation of one question, as the bake-off and ``ask`` put it to a variant."""
    return [{"role": "user", "content": question}]


def resolve(project: Project, name: str, *, model: str | None = None, base_url: str | None = None,
            shots: Sequence[tuple[str, str]] = (), examples: bool | None = None) -> Variant:
    """The variant called ``name``; a RagtuneError says why it cannot answer (unknown, or a job not usable).

    ``model`` / ``base_url`` (the CLI's --model / --base-url) replace the project's generator of ``base``,
    ``fewshot``, ``rag`` and ``fewshot+rag``; ``--model ft:<id>`` makes them that tuned model, asked with its
    trained rules. ``shots`` are (question, answer) pairs, which ``fewshot+rag`` retrieves passages for.
    ``examples`` (the CLI's --examples / --no-examples) overrides ``answer.worked_examples`` for ``rag`` and
    the remotes that retrieve."""
    cfg = project.config
    if name in UNTRAINED:
        retrieval = UNTRAINED[name]
        if name.startswith("fewshot") and not shots:
            raise RagtuneError(f"the {name} variant needs worked examples: pass --fewshot FILE.jsonl of "
                               "{question, answer}")
        trained, reader = bool(model and model.startswith("ft:") and not base_url), False
        if trained:
            tuned = _tuned(project, str(model)[len("ft:"):], retrieval, name)
        else:
            spec = _override(project, model, base_url) or cfg.generator
            reader = name == "rag" and cfg.answer.reader and _packaged_smollm2(spec)
            tuned = (_reader(spec) if reader else Variant(name, spec, retrieval, SYSTEM if retrieval else BASE_SYSTEM,
                                                          model or _model_name(spec)))
        if retrieval and not trained and not reader:  # a tuned model or the reader is asked as it was trained
            tuned = replace(tuned, context_words=context_words(cfg.answer, tuned.generator))
            if name == "rag":
                return replace(tuned, shots=builtin_shots(cfg.answer, tuned.generator, examples))
        if not name.startswith("fewshot"):
            return replace(tuned, shots=())
        return replace(tuned, shots=_grounded_shots(project, shots) if retrieval else tuple(shots))
    for prefix, retrieval in TUNED_PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix):
            return _tuned(project, name[len(prefix):], retrieval, name)
    if name in cfg.serve.remotes:
        remote = cfg.serve.remotes[name]
        return Variant(name, remote.generator, remote.rag, SYSTEM if remote.rag else "",
                       str(remote.generator.params.get("model") or name),
                       builtin_shots(cfg.answer, remote.generator, examples) if remote.rag else (), owned_by="remote",
                       context_words=context_words(cfg.answer, remote.generator) if remote.rag else None)
    raise RagtuneError(f"unknown model {name!r}; known: base, fewshot, rag, fewshot+rag, ft:<job-id>, ft+rag:<job-id>"
                       + "".join(f", {r}" for r in cfg.serve.remotes))


def builtin_shots(cfg: AnswerConfig, generator: ComponentSpec, on: bool | None = None) -> tuple[tuple[str, str], ...]:
    """ragtune's worked examples for a variant that retrieves, when ``on`` (--examples) or else the config asks
    for them; unset, for a local llama.cpp model only. Measured in bench/worked_examples (docs/architecture.md):
    they lifted SmolLM2's F1 and EM on the demo and mini-wiki questions; an endpoint's model could not be
    measured here, so it is asked as before unless the config turns them on."""
    on = cfg.worked_examples if on is None else on
    return worked_shots() if (generator.type == "llamacpp" if on is None else on) else ()


def context_words(cfg: AnswerConfig, generator: ComponentSpec) -> int | None:
    """The word budget of the passages the model reads (``rag.focus``): the config's, where 0 means whole
    passages; unset, ``LOCAL_WORDS`` for the packaged SmolLM2, whose prefill on a CPU is most of an answer's
    time, and whole passages for other models. Measured (bench/reader_default): the cut kept SmolLM2's F1 on
    mini-wiki and the demo and cut its p95 by a third; Qwen2.5-Coder-0.5B, which reads the demo's tables, lost
    demo F1 with it (0.75 to 0.61); an endpoint's model could not be measured here."""
    if cfg.context_words is None:
        return LOCAL_WORDS if _packaged_smollm2(generator) else None
    return cfg.context_words or None


def untuned(variant: Variant) -> Variant:
    """A locally tuned variant's base model, on the same engine and asked the same way: what the tuning is
    measured against (``tune eval``)."""
    params = {k: v for k, v in variant.generator.params.items() if k != "adapter"}
    return replace(variant, name=f"{variant.name} (base)", generator=ComponentSpec(type=variant.generator.type,
                                                                                   params=params))


def available(project: Project) -> list[Variant]:
    """Every variant a server can answer with now: base, rag, both forms of each succeeded fine-tuning job,
    remotes (``fewshot`` and ``fewshot+rag`` need examples a request does not carry)."""
    names = ["base", "rag"]
    from ragtune.finetune.jobs import list_jobs

    for job in list_jobs(project.root):
        if job.status == "succeeded":
            names += [f"ft:{job.id}", f"ft+rag:{job.id}"]
    names += list(project.config.serve.remotes)
    found = []
    for name in names:
        try:
            found.append(resolve(project, name))
        except RagtuneError:  # e.g. a succeeded job whose adapter folder was deleted: not offered
            continue
    return found


def check_weights(project: Project) -> None:
    """The A/B weights must name variants that resolve and give some traffic; checked before a config is used."""
    weights = project.config.serve.variants
    if not any(w > 0 for w in weights.values()):
        raise RagtuneError("serve.variants needs at least one variant with a weight above 0")
    for name in weights:
        resolve(project, name)


def _grounded_shots(project: Project, shots: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Each example as ``rag`` would be asked it: its question's retrieved passages, and its answer citing the
    first passage that contains it (uncited when none does: a citation the passages do not back would teach
    the model to cite anything). The passages stay whole where the question's are cut (``context_words``):
    cut as well, they cost SmolLM2 F1 for no speed (docs/architecture.md)."""
    cfg = project.config
    made = []
    for question, reply in shots:
        hits = project.retriever.search(question, k=cfg.answer.k, mode=cfg.retrieval.mode)
        n = next((i for i, h in enumerate(hits, start=1) if normalize(reply) in normalize(h.chunk.text)), None)
        made.append((grounded_user(question, hits), f"{reply} [{n}]" if n else reply))
    return tuple(made)


def _tuned(project: Project, job_id: str, retrieval: bool, name: str) -> Variant:
    from ragtune.finetune.registry import trained_system_prompt, tuned_model_spec

    # asked the way it was taught: its training examples' system message, or none when they had none (the
    # grounded prompt cannot go without rules, so retrieval falls back to ragtune's)
    trained = trained_system_prompt(project, job_id) or ""
    spec, engine = tuned_model_spec(project, job_id), project.config.generator
    if spec.type == engine.type == "llamacpp":  # the engine's settings (threads, context) hold for tuned weights too
        engine_params = {k: v for k, v in engine.params.items() if k not in ("model", "adapter")}
        spec = ComponentSpec(type=spec.type, params={**engine_params, **spec.params})
    return Variant(name, spec, retrieval, trained or (SYSTEM if retrieval else ""), f"ft:{job_id}")


def _client_rules(conversation: Sequence[Message]) -> bool:
    return any(m["role"] in ("system", "developer") for m in conversation)


def _override(project: Project, model: str | None, base_url: str | None) -> ComponentSpec | None:
    """--model / --base-url: an OpenAI-compatible endpoint, or another local model on the project's engine."""
    if base_url:
        return ComponentSpec(type="openai", params={"model": model or "default", "base_url": base_url})
    if model:
        base = project.config.generator
        params = dict(base.params) if base.type == "llamacpp" else {}
        return ComponentSpec(type="llamacpp", params={**params, "model": model})
    return None


def _reader(spec: ComponentSpec) -> Variant:
    """``rag`` on the packaged SmolLM2 with the reader that ships for it, asked the way the reader was trained."""
    adapter = reader_adapter()
    if not adapter.exists():
        raise RagtuneError(f"the packaged reader {adapter} is missing (a broken install?); reinstall ragtune, or set "
                           "answer.reader to false")
    return Variant("rag", ComponentSpec(type=spec.type, params={**spec.params, "adapter": str(adapter)}), True,
                   target_system(READER_TARGET), f"{_model_name(spec)}+reader", ends_at_citation=True)


def _packaged_smollm2(spec: ComponentSpec) -> bool:
    """The packaged SmolLM2 on llama.cpp with no adapter of its own: what the shipped reader was trained for."""
    return (spec.type == "llamacpp" and not spec.params.get("adapter")
            and str(spec.params.get("model") or PACKAGED_MODEL) == PACKAGED_MODEL)


def _model_name(spec: ComponentSpec) -> str:
    default = PACKAGED_MODEL if spec.type == "llamacpp" else spec.type
    return str(spec.params.get("model") or default)
