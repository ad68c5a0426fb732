"""The look: theme tokens applied through the palette and one style sheet; tinted icons."""
