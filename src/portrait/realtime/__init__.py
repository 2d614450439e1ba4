"""Real-time events: a durable inbox (`warehouse/inbox.sqlite`) and tags computed from it at once.

The API appends validated events to the inbox (fsync'd before it answers 202, deduplicated by
event id); profile reads overlay real-time tags computed from the inbox on the snapshot profile;
the next `portrait build` folds the inbox into its events exactly once (`fold.fold_inbox`).
"""

from portrait.realtime.inbox import Inbox
from portrait.realtime.model import EventIn

__all__ = ["EventIn", "Inbox"]
