"""The one exception type the CLI and the app turn into a one-line message."""


class RagError(Exception):
    """A user-facing error: the message says what is wrong and what to do."""
