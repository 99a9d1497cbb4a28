"""The local OpenAI-compatible HTTP server (Starlette on uvicorn): routes, SSE, access checks.

The logic under it (request mapping, sessions, the queue) is Qt-free in
:mod:`gptoss_desktop.core.api`; this package adds HTTP and is imported only when the API is
switched on or ``gptoss-desktop serve`` runs. See docs/API.md.
"""
