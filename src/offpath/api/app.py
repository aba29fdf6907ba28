"""The API application: every router, the one error mapping, auth, microversions, request ids."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import Depends, FastAPI, Request, Response

from offpath.api import admin, identity, image
from offpath.api.auth import authenticate
from offpath.api.compute import (
    external_events,
    flavors,
    keypairs,
    migrations,
    server_actions,
    server_extensions,
    server_metadata,
    servers,
    services,
)
from offpath.api.compute import versions as compute_versions
from offpath.api.deps import ApiDeps
from offpath.api.errors import UNEXPECTED, HttpFault, error_response, install_error_handlers
from offpath.api.microversion import requested_version, version_headers
from offpath.rpc.context import new_request_id

LOG = logging.getLogger(__name__)

COMPUTE_PREFIX = "/compute/v2.1/"
# Version documents clients fetch without a token.
DISCOVERY_PATHS = frozenset(
    {"/compute", "/compute/v2", "/compute/v2.1", "/image", "/image/v2", "/identity", "/identity/v3"}
)

Handler = Callable[[Request], Awaitable[Response]]


def create_app(deps: ApiDeps) -> FastAPI:
    """An API worker over `deps`; any number of them serve the same deployment."""
    app = FastAPI(
        title="offpath",
        summary="OpenStack-compatible compute API for VMs with remote-managed (DPU) ports",
        version="2.1",
        docs_url=None,
        redoc_url=None,
    )
    app.state.deps = deps
    app.state.discovery_paths = DISCOVERY_PATHS | {
        prefix.rstrip("/") for prefix, _ in deps.extra_routers
    }
    install_error_handlers(app)
    for router in (
        compute_versions.router,
        servers.router,
        server_extensions.router,
        server_metadata.router,
        server_actions.router,
        migrations.router,
        flavors.router,
        keypairs.router,
        services.router,
        external_events.router,
        image.router,
        identity.router,
        admin.router,
    ):
        app.include_router(router)
    for prefix, router in deps.extra_routers:
        app.include_router(router, prefix=prefix, dependencies=[Depends(authenticate)])

    @app.middleware("http")
    async def compute_microversion(request: Request, call_next: Handler) -> Response:
        request_id = new_request_id()
        request.state.request_id = request_id
        headers = {"X-OpenStack-Request-ID": request_id}
        path = request.url.path
        if path.startswith(COMPUTE_PREFIX) and path.rstrip("/") not in DISCOVERY_PATHS:
            headers["X-Compute-Request-ID"] = request_id
            try:
                version = requested_version(request.headers)
            except HttpFault as fault:
                response: Response = error_response(
                    request, fault.status, fault.message, error_type=fault.error_type
                )
                response.headers.update(headers)
                return response
            request.state.microversion = version
            headers.update(version_headers(version))
        try:
            response = await call_next(request)
        except Exception:
            # Answered here rather than by the outermost handler, so that the
            # request id travels with the 500 too.
            LOG.exception("%s %s failed", request.method, path)
            response = error_response(request, 500, UNEXPECTED, error_type="InternalError")
        response.headers.update(headers)
        return response

    return app
