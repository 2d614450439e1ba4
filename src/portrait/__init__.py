"""Portrait: user profiles (用户画像) from attribute tables and behaviour logs, governed by a tag catalog."""

__version__ = "0.1.0"
