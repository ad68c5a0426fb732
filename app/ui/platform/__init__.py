"""Desktop integration: screen capture, single instance, file-open events, appearance."""
