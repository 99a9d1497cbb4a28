"""Client side of the inference worker process (no Qt, no llama_cpp here)."""

from gptoss_desktop.core.engine.client import EngineClient, Generation
from gptoss_desktop.core.engine.options import (
    BackendInfo,
    GenerateRequest,
    GenerationMetrics,
    LoadOptions,
    ModelInfo,
    SamplingOptions,
    TokenBatch,
)

__all__ = [
    "BackendInfo",
    "EngineClient",
    "GenerateRequest",
    "Generation",
    "GenerationMetrics",
    "LoadOptions",
    "ModelInfo",
    "SamplingOptions",
    "TokenBatch",
]
