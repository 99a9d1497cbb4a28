"""The offline browser tool: search, open and find over a folder of the user's documents."""

from gptoss_desktop.core.tools.browser.citations import Citation, LinkedAnswer, link_citations
from gptoss_desktop.core.tools.browser.index import DocumentIndex, default_index_path
from gptoss_desktop.core.tools.browser.session import BrowserSession

__all__ = [
    "BrowserSession",
    "Citation",
    "DocumentIndex",
    "LinkedAnswer",
    "default_index_path",
    "link_citations",
]
