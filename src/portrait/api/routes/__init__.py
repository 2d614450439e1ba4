"""One router per noun; each route parses, calls one service function and wraps the result."""
