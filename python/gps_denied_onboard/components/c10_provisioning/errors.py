"""Errors of c10_provisioning: every error this component raises derives from `ProvisioningError`."""


class ProvisioningError(Exception):
    """Base class of c10_provisioning errors."""
