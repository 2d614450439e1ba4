"""The tag engine: runs a checked catalog on an engine, in dependency order."""
