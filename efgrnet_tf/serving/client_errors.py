"""The one error type of the serving clients: a message meant for the person running them."""


class ServingClientError(RuntimeError):
    """TF Serving could not be reached, or it rejected the request; the message says which."""
