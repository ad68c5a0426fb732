"""Controllers: own state and asyncio tasks, reach the core through `Library`; never hold the
window."""
