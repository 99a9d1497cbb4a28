"""The local API's stored responses, so a client can continue with ``previous_response_id``.

Each row holds the conversation up to and including one response (Harmony messages as JSON,
written by :mod:`core.api.requests`), the function-call ids it contains and the response
object. Rows older than ``max_age_s`` are deleted when the store opens; :meth:`clear` deletes
all of them (the Local API settings' "Forget stored responses", and ``serve --forget``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from gptoss_desktop.core.store.database import Database

DEFAULT_MAX_AGE_S = 30 * 24 * 3600.0


@dataclass(frozen=True)
class StoredResponse:
    id: str
    created_at: float
    model: str
    history: list[dict[str, Any]]
    call_names: dict[str, str]
    response: dict[str, Any]


class ResponseStore:
    def __init__(self, db: Database, *, max_age_s: float = DEFAULT_MAX_AGE_S) -> None:
        self.db = db
        self.max_age_s = max_age_s
        self.expire()

    def put(self, item: StoredResponse) -> None:
        with self.db.transaction("save an API response in") as conn:
            conn.execute(
                "INSERT OR REPLACE INTO api_responses"
                " (id, created_at, model, history, call_names, response) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    item.id,
                    item.created_at,
                    item.model,
                    json.dumps(item.history, ensure_ascii=False),
                    json.dumps(item.call_names, ensure_ascii=False),
                    json.dumps(item.response, ensure_ascii=False),
                ),
            )

    def get(self, response_id: str) -> StoredResponse | None:
        with self.db.reading("read an API response from") as conn:
            row = conn.execute(
                "SELECT id, created_at, model, history, call_names, response"
                " FROM api_responses WHERE id = ?",
                (response_id,),
            ).fetchone()
        if row is None:
            return None
        return StoredResponse(
            row["id"],
            float(row["created_at"]),
            row["model"],
            json.loads(row["history"]),
            json.loads(row["call_names"]),
            json.loads(row["response"]),
        )

    def delete(self, response_id: str) -> bool:
        with self.db.transaction("delete an API response from") as conn:
            cur = conn.execute("DELETE FROM api_responses WHERE id = ?", (response_id,))
            return cur.rowcount > 0

    def count(self) -> int:
        with self.db.reading() as conn:
            return int(conn.execute("SELECT count(*) FROM api_responses").fetchone()[0])

    def clear(self) -> int:
        """Delete every stored response; returns how many there were."""
        with self.db.transaction("clear the API responses in") as conn:
            return conn.execute("DELETE FROM api_responses").rowcount

    def expire(self, now: float | None = None) -> int:
        cutoff = (now if now is not None else time.time()) - self.max_age_s
        with self.db.transaction("expire API responses in") as conn:
            return conn.execute(
                "DELETE FROM api_responses WHERE created_at < ?", (cutoff,)
            ).rowcount
