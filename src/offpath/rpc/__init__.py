"""RPC between offpath's services over oslo.messaging: transport, context, clients, servers."""

import warnings

with warnings.catch_warnings():
    # oslo.messaging loads oslo.service's eventlet backend, which warns on import
    # that eventlet is deprecated; offpath runs the threading executor only.
    warnings.simplefilter("ignore")
    import oslo_messaging  # noqa: F401
