"""What goes on the wire: JSON primitives only, and the request context as a JSON object."""

from __future__ import annotations

import json
from collections.abc import Mapping

from offpath.rpc.context import RequestContext


class NotJson(TypeError):
    """An RPC argument that is not made of JSON primitives: a bug in the caller."""


class JsonSerializer:
    """oslo.messaging's serializer for offpath: records travel as their `to_primitive()`."""

    def serialize_entity(self, _ctxt: object, entity: object) -> object:
        """`entity` unchanged once checked to be JSON; a record sent as is fails here, not later."""
        # The in-process transport would carry any object, RabbitMQ only JSON:
        # checking here makes both behave alike.
        try:
            json.dumps(entity, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise NotJson(f"an RPC argument is not JSON: {exc}") from exc
        return entity

    def deserialize_entity(self, _ctxt: object, entity: object) -> object:
        """`entity` as received: the endpoint reads it with the record's `from_primitive`."""
        return entity

    def serialize_context(self, ctxt: RequestContext) -> dict[str, object]:
        """The context as a JSON object."""
        return dict(ctxt.to_dict())

    def deserialize_context(self, ctxt: Mapping[str, object]) -> RequestContext:
        """The context back from its JSON object."""
        return RequestContext.from_dict(ctxt)
