"""Capture from anywhere: screen grabs, the region/window picker, global shortcuts, portals.

`grab` takes the pixels (own windows hidden first), `overlay` lets the user pick a region or
a window on top of a frozen grab, `x11_windows` knows where the other windows are,
`hotkeys` grabs a global shortcut per platform, `portal` talks to xdg-desktop-portal.
"""
