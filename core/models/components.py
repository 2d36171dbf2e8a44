"""Which part of an objective's loss a slice, cut or curve shows."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import HillwalkError


@dataclass(frozen=True)
class Component:
    """What a slice shows: ``total``, ``data``, ``reg``, ``example`` (one example's data
    loss, ``index``) or ``accuracy`` (training accuracy)."""

    kind: str = "total"
    index: int | None = None

    @classmethod
    def parse(cls, text: str) -> "Component":
        """'total', 'data', 'reg', 'accuracy' or 'example:K'."""
        text = str(text).strip()
        if text.startswith("example:") or text.startswith("example="):
            try:
                return cls("example", int(text.split(text[7], 1)[1]))
            except ValueError:
                raise HillwalkError(f"component {text!r}: give the example as a whole number, e.g. example:3") from None
        if text in ("total", "data", "reg", "accuracy"):
            return cls(text)
        raise HillwalkError(f"unknown component {text!r}; choose total, data, reg, accuracy or example:K")

    def __str__(self):
        return f"example:{self.index}" if self.kind == "example" else self.kind

    def check(self, objective):
        if self.kind == "example":
            n = objective.n_train
            if self.index is None or not 0 <= self.index < n:
                raise HillwalkError(f"example index {self.index} is out of range: the training set has {n} "
                                    f"examples (0..{n - 1})")
        elif self.kind != "total" and not objective.has_components:
            raise HillwalkError(f"component {self} needs a data set; this objective only has a total loss")
