"""The cards of a governed call, each a pure `state -> HTML` function plus a small widget."""
