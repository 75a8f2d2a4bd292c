from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ragtune.generation.protocol import GENERATORS, Completion, GeneratorBase, Message


@GENERATORS.register("transformers")
@dataclass
class TransformersGenerator(GeneratorBase):
    """A base model in transformers, optionally with a LoRA adapter on top: how fine-tuned models
    (ft:<job-id>) answer, with the very chat template they were trained with."""

    base: str = "smollm2-135m"
    """Packaged model name, GGUF path, or model folder."""
    adapter: str = ""
    """Folder of a peft LoRA adapter (a fine-tuning job's output); empty for the base model alone."""
    _model: Any = field(default=None, init=False, repr=False)
    _tok: Any = field(default=None, init=False, repr=False)

    def warm_up(self) -> None:
        if self._model is None:
            from ragtune.generation.transformers_base import load_base

            model, self._tok = load_base(self.base)
            if self.adapter:
                from peft import PeftModel

                model = PeftModel.from_pretrained(model, self.adapter)
            self._model = model.eval()

    def loaded(self) -> tuple[Any, Any]:
        """The model and its tokenizer, loaded (what a loss computation needs besides ``generate``)."""
        self.warm_up()
        return self._model, self._tok

    def generate(self, messages: list[Message], max_tokens: int = 256, temperature: float = 0.0,
                 stop: list[str] | None = None) -> Completion:
        import torch

        model, _ = self.loaded()
        inputs = self._tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                               return_dict=True)
        with torch.no_grad():
            out = model.generate(**inputs, max_new_tokens=max_tokens, do_sample=temperature > 0,
                                 temperature=temperature or None, top_p=None, top_k=None,
                                 pad_token_id=self._tok.pad_token_id, stop_strings=stop or None,
                                 tokenizer=self._tok)
        new = out[0, inputs["input_ids"].shape[1]:]
        text = self._tok.decode(new, skip_special_tokens=True)
        for s in stop or []:
            text = text.split(s)[0]
        return Completion(text, int(inputs["input_ids"].shape[1]), int(new.shape[0]))
