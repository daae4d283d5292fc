"""The cards of one governed call, each a pure `CallState -> HTML / Markdown / line` renderer."""
