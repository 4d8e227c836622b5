"""The browser folder's example project: one stack serves all its tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .harness import Stack, running_example


@pytest.fixture(scope="package")
def stack(tmp_path_factory) -> Iterator[Stack]:
    """The example's processes, shared by this package's tests."""
    with running_example(tmp_path_factory.mktemp("example")) as stack:
        yield stack
