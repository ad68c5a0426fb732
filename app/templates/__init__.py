"""Task templates: built-in prompts for the jobs people bring to step-3.7-flash, plus the
user's own (kept in SQLite beside the history), merged into one catalogue."""
