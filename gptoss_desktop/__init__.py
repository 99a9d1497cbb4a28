"""gptoss-desktop: run gpt-oss-20B privately and offline on a laptop."""

__version__ = "0.1.0"
