"""Names of bus channels, built in one place (they will carry a centre's id: issue 16).

`staff(staff_id)` carries events for every connection of one staff member:
- `{"kind": "assignments"}`: their list of conversations changed;
- `{"kind": "session_ended", "staff_id": hex, "reason": str}`: one or more of their
  sessions ended (`reason`: `logout`, `password_changed`, `password_reset`,
  `deactivated`).  As with every bus event the database is the source of truth: each
  connection of that person looks its own session up again and closes if it is gone
  (docs/API.md, "Events between processes").
"""

from __future__ import annotations

import uuid

SESSION_ENDED = "session_ended"


def staff(staff_id: uuid.UUID) -> str:
    """The channel of one staff member's connections."""
    return f"staff:{staff_id.hex}"
