"""Review: libvirt errors whose text is not UTF-8 are LibvirtUnavailable, not SystemError.

libvirt's test driver quotes the file it cannot parse; libvirt-python then
fails to decode the message and raises SystemError from inside its error
handler. `offpath inventory --source libvirt --libvirt-uri test:///a/binary/file`
showed that traceback before the review.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from offpath.compute.libvirt_nodedev import discover_libvirt
from offpath.errors import LibvirtUnavailable


def test_a_libvirt_message_that_is_not_utf8_is_still_a_typed_error(tmp_path: Path) -> None:
    node = tmp_path / "node.xml"
    node.write_bytes(b"\xb6\x0f\xfd not XML \xe8\xd4")
    uri = f"test://{node}"
    with pytest.raises(LibvirtUnavailable) as info:
        discover_libvirt(uri)
    # The readable part of libvirt's message survives; the undecodable bytes do not.
    assert info.value.message.startswith(f"libvirt at {uri}: cannot connect: {node}:1: ")
    assert "\n" not in info.value.message
