"""The one refusal of read-only mode, whichever layer refuses.

`--read-only` means the engine cannot write: a registry session refuses znode writes
(`zk.session.RegistryReadOnlyError`, also a `RegistryError`), the deploy runner refuses every
plan. Both are this error, so one `except ReadOnlyError` covers them."""


class ReadOnlyError(RuntimeError):
    """A write was attempted in read-only mode (a znode write, a deploy step, ...)."""
