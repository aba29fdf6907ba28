"""Plugging and unplugging VIFs on the host through the real os-vif library.

The os-vif object of a VIF is chosen in `offpath.ports.osvif` (a
remote-managed VIF gets the `noop` plugin: the DPU plugs its representor);
this module loads os-vif's plugins once and runs them, translating their
failures into offpath's errors.
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

from offpath.errors import VifPlugFailed

with warnings.catch_warnings():
    # os-vif's plugins pull in oslo libraries that warn about eventlet on
    # import, which says nothing about offpath: silenced for the import only.
    warnings.simplefilter("ignore")
    import os_vif
    import os_vif.exception
    from os_vif.objects import instance_info as osv_instance_info

_initialized = threading.Lock()
_loaded = False


def initialize() -> None:
    """Load os-vif's plugins (once per process)."""
    global _loaded  # noqa: PLW0603 - os-vif itself keeps its plugins process-wide
    with _initialized:
        if _loaded:
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            os_vif.initialize()
        _loaded = True


def instance_info(instance_uuid: str, *, name: str, project_id: str) -> Any:
    """The os-vif description of the instance a VIF is plugged for."""
    return osv_instance_info.InstanceInfo(uuid=instance_uuid, name=name, project_id=project_id)


def plug(vif: Any, instance: Any) -> None:
    """Plug `vif` (an os-vif object) with its plugin; VifPlugFailed if the plugin fails."""
    initialize()
    try:
        os_vif.plug(vif, instance)
    except os_vif.exception.ExceptionBase as exc:
        raise VifPlugFailed(str(vif.id), str(vif.plugin), _problem(exc)) from exc


def unplug(vif: Any, instance: Any) -> None:
    """Unplug `vif` with its plugin; VifPlugFailed if the plugin fails."""
    initialize()
    try:
        os_vif.unplug(vif, instance)
    except os_vif.exception.ExceptionBase as exc:
        raise VifPlugFailed(str(vif.id), str(vif.plugin), _problem(exc)) from exc


def _problem(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    text = str(cause if cause is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
