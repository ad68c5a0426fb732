"""Token counts of a reply: shared by the API client (which parses them), the store (which
keeps them) and the front ends (which show them), so it belongs to none of those layers.

Leaf module: imports nothing of the app.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts so far (StepFun sends cumulative usage on every chunk).

    `reasoning` is the part of `completion` spent thinking, when the server says so (the
    OpenAI-style `completion_tokens_details.reasoning_tokens`; StepFun's Chat docs show none).
    """

    prompt: int
    completion: int
    cached: int = 0
    reasoning: int | None = None
