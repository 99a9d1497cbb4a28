"""The chat core: the one place a turn is assembled and run, for every front end.

The chat window (ui/), compare mode (core/compare/runner.py), ``gptoss-desktop chat``
(cli/chat.py), the local API server and MCP tools all go through here. Qt-free.

Public API (import from the submodules named):

- **What a model speaks** (:mod:`.kind`): ``model_kind(special_tokens, chat_template)`` ->
  ``"harmony" | "template" | "completion"``; ``is_harmony_model(engine)``. Harmony means all
  six Harmony control tokens are in the vocabulary, the same rule as the GGUF header check.
- **Settings and the session rule** (:mod:`.session`): ``SessionSettings`` (instructions,
  model identity, reasoning effort, date, sampling, max_tokens, declared functions);
  ``SessionSettings.from_chat(ChatSettings)``; ``history_message(role, content, ...)`` and
  ``history_from_chat(...)`` make thread rows that are not stored. The module docstring states
  the rules (instructions -> developer ``# Instructions``; identity only on purpose; dates).
- **Opening a session** (:mod:`.sessions`): ``open_session(engine, settings, history,
  sampling=..., max_tokens=..., template_override=...)`` -> a session with
  ``send(text, on_event=..., cancel=CancelToken)``: Harmony ``ChatSession`` or a template
  session, chosen by :mod:`.kind`. Harmony only: :func:`.harmony_turns.open_harmony_session`
  (``toolbox=`` adds a ToolBox's tools, ``tooling=`` a chat's tool wiring).
  ``stream.run_turn(session, text, emit, cancel)`` sends one user message and reports it as
  the typed stream below; it returns a ``TurnResult``.
- **Running a turn** (:mod:`.runners`, :mod:`.events`, :mod:`.stream`): ``runner_for(client, tooling=...)``
  -> a ``TurnRunner`` whose ``run(history, chat_settings, emit)`` sends the thread's last user
  message and calls ``emit`` with ``PartStart`` / ``PartDelta`` / ``PartEnd`` (one typed
  stream) and returns a ``TurnResult`` (stop reason, metrics, context used); ``cancel()``
  from any thread stops it; ``count_tokens(history, settings)`` sizes a prompt.
  ContextOverflow when the prompt would not fit.
- **Saving a turn** (:mod:`.recorder`): ``TurnRecorder(store, chat_id, parent_id,
  on_update=...)`` is an ``emit``: it writes each part as it streams and calls ``on_update``
  with typed row updates (``RowStarted`` / ``RowDelta`` / ``RowEnded``; ``coalesce`` merges
  deltas).
- **The thread** (:mod:`.thread`): ``load_thread(store, chat_id)`` -> ``ThreadSnapshot`` of
  ``DisplayTurn`` (the store's one turn-grouping rule), versions, switch and delete;
  ``continue_thread(store, shown, chat_id, rows)`` after a turn, without reading it again.
- **Tools** (:mod:`.tools`): ``ChatTools(paths, chat_key, ask=..., human=...)`` holds a
  chat's python sandbox, browser and functions; ``toolbox(ChatToolConfig, ToolPreferences)``
  assembles a turn's ``ToolBox``; ``add_function(spec, handler)`` adds a function tool
  answered by ``handler(arguments) -> str`` (MCP tools, API clients' tools);
  ``add_to_session(options, box)`` puts a box into Harmony session options.
"""
