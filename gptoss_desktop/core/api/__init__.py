"""The local OpenAI-compatible API, Qt-free and HTTP-free.

* :mod:`.errors`: :class:`ApiError`, an OpenAI-style error with its HTTP status.
* :mod:`.requests`: chat-completions and responses request bodies to one :class:`TurnRequest`.
* :mod:`.gate`: :class:`EngineGate`, the fair, bounded queue in front of one worker.
* :mod:`.turn`: the one function that opens a session for a request, and the event stream.
* :mod:`.memo`: generated token ids and tool-call ids kept across requests (KV-cache reuse).
* :mod:`.host`: :class:`EngineHost`, the models the API may name and the loaded engine.
* :mod:`.service`: :class:`ApiService`, what the HTTP layer calls (prepare, run, store).
* :mod:`.keys`: the API key, kept in the OS keychain.

The HTTP layer (Starlette, uvicorn) lives in :mod:`gptoss_desktop.api`.
"""
