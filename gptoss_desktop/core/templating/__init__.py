"""Models that do not speak Harmony: their own chat template, run safely.

GGUF chat templates rendered in a sandboxed Jinja environment with placeholders instead of
message text (:mod:`.sandbox`, :mod:`.templates`), prompts built from them, ChatML or plain
completion (:mod:`.prompting`), ``<think>`` splitting (:mod:`.reasoning`) and
:class:`~.session.TemplateChatSession` with the same events as Harmony's ``ChatSession``.
core/chat uses it for chat-template models; compare mode through core/chat.
"""
